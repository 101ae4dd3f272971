// A stack as the engine works on it: template, environment, files and parameters resolved into
// typed resource definitions and their graph. Building one validates the whole template, so that a
// bad template is refused (400, with the path of the offending element) before anything is made.
import type { RequestContext } from '../../platform/auth/context.ts';
import { MAX_NESTED_DEPTH, MAX_RESOURCES_PER_STACK, TemplateError, type ResourceDefinition, type Template } from '../template/model.ts';
import { parseTemplate } from '../template/parse.ts';
import { resolveParameters, type CustomCheck } from '../template/parameters.ts';
import { attributeReferences, evaluate, evaluateConditions, isEnabled, references, type FunctionContext } from '../template/functions.ts';
import { isTemplateFile, resolveType, type Environment } from '../template/environment.ts';
import { checkProperties, isDeferred, type PropertySchema, type ResourceType } from '../resources/types.ts';
import type { ResourceRegistry } from '../resources/registry.ts';
import { assertAcyclic, type Graph } from './graph.ts';

export interface StackSpec {
  template: Record<string, unknown>;
  environment: Environment;
  files: Record<string, string>;
  /** The caller's values (environment `parameters` merged in). */
  parameters: Record<string, unknown>;
}

export interface ResourceModel {
  name: string;
  definition: ResourceDefinition;
  type: ResourceType;
  /** The type as the template names it (before the registry mapped it). */
  declaredType: string;
}

export interface StackModel {
  spec: StackSpec;
  template: Template;
  parameters: Record<string, unknown>;
  conditions: Record<string, boolean>;
  resources: Map<string, ResourceModel>;
  graph: Graph;
  customChecks: CustomCheck[];
}

export interface StackIdentity {
  id: string;
  name: string;
  projectId: string;
  region: string;
}

/** Whether `from` already needs `to`, directly or not (an edge to -> from would close a cycle). */
function reaches(graph: Graph, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const n = stack.pop()!;
    if (n === to) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(graph.get(n) ?? []));
  }
  return false;
}

/** Placeholder for what only exists once resources do (validation before create). */
const deferred = (what: string) => ({ __deferred: true, what });
const containsDeferred = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && ((v as { __deferred?: boolean }).__deferred === true || Object.values(v).some(containsDeferred));

/**
 * `validating`: parameters that hold references to not-yet-made resources are left out.
 * `unsetParameters`: parameters with no value and no default are allowed (template validate).
 */
export function buildModel(spec: StackSpec, stack: StackIdentity, registry: ResourceRegistry, depth = 0, validating = false, unsetParameters = false): StackModel {
  if (depth > MAX_NESTED_DEPTH) throw new TemplateError(`Recursion depth exceeds ${MAX_NESTED_DEPTH}.`);
  const template = parseTemplate(spec.template);
  const given = validating ? Object.fromEntries(Object.entries(spec.parameters).filter(([, v]) => !containsDeferred(v))) : spec.parameters;
  const { values, customChecks } = resolveParameters(template, given, spec.environment.parameter_defaults, depth === 0, (validating && depth > 0) || unsetParameters);
  for (const name of Object.keys(template.parameters)) if (!(name in values)) values[name] = deferred('parameter');
  const base: Omit<FunctionContext, 'conditions'> = {
    template,
    parameters: values,
    stack,
    files: spec.files,
    resourceId: () => deferred('resource'),
    attribute: () => deferred('attribute'),
  };
  const conditions = evaluateConditions(template, base);
  const fctx: FunctionContext = { ...base, conditions };
  const section = template.format === 'hot' ? 'resources' : 'Resources';
  const enabled = Object.entries(template.resources).filter(([name, def]) => isEnabled(def.condition, fctx, `${section}.${name}`));
  const names = new Set(enabled.map(([n]) => n));
  const declared = new Set(Object.keys(template.resources));
  const resources = new Map<string, ResourceModel>();
  const graph: Graph = new Map();
  for (const [name, definition] of enabled) {
    const at = `${section}.${name}`;
    const mapped = resolveType(spec.environment, name, definition.type);
    const type = registry.typeFor(mapped, spec.files, at);
    resources.set(name, { name, definition, type, declaredType: definition.type });
    const deps = new Set<string>();
    for (const d of definition.depends_on) {
      if (!names.has(d)) throw new TemplateError(`${at}.depends_on: The specified reference "${d}" (in ${name}) is incorrect.`);
      deps.add(d);
    }
    for (const r of references([definition.properties, definition.metadata], declared)) {
      if (!names.has(r)) throw new TemplateError(`${at}.properties: The specified reference "${r}" (in ${name}) is incorrect.`);
      deps.add(r);
    }
    graph.set(name, deps);
  }
  assertAcyclic(graph);
  for (const [name, r] of resources) {
    for (const dep of r.type.implicitDependencies?.(r.definition, resources) ?? []) {
      if (dep !== name && resources.has(dep) && !reaches(graph, dep, name)) graph.get(name)!.add(dep);
    }
  }
  const attrCheck = (value: unknown, at: string) => {
    for (const ref of attributeReferences(value, at)) {
      const target = resources.get(ref.resource);
      if (!target) {
        if (ref.resource in template.resources) continue; // disabled by a condition: Heat resolves it to null
        throw new TemplateError(`${ref.at}: The specified reference "${ref.resource}" is incorrect.`);
      }
      if (!target.type.dynamicAttributes && ref.attribute !== 'show' && !(ref.attribute in target.type.attributes)) {
        throw new TemplateError(`${ref.at}: The Referenced Attribute (${ref.resource} ${ref.attribute}) is incorrect.`);
      }
    }
  };
  for (const [name, r] of resources) attrCheck(r.definition.properties, `${section}.${name}.properties`);
  const outSection = template.format === 'hot' ? 'outputs' : 'Outputs';
  for (const [name, o] of Object.entries(template.outputs)) {
    attrCheck(o.value, `${outSection}.${name}.value`);
    for (const ref of references(o.value, declared)) {
      if (!(ref in template.resources)) throw new TemplateError(`${outSection}.${name}.value: The specified reference "${ref}" is incorrect.`);
    }
  }
  return { spec, template, parameters: values, conditions, resources, graph, customChecks };
}

/** The limit on the resources of a stack and all its nested stacks together (Heat's max_resources_per_stack). */
export function treeLimitError(total: number): TemplateError {
  return new TemplateError(`The stack and its nested stacks would have ${total} resources, more than the maximum of ${MAX_RESOURCES_PER_STACK}.`);
}

/**
 * Static property checks (required, types, constraints, isolation) with references deferred, and the
 * nested templates' own validation; run once before a stack is created or updated. `budget` counts
 * the resources of the whole tree (nested stacks too) against the limit.
 */
export function validateProperties(model: StackModel, stack: StackIdentity, ctx: RequestContext, admin: boolean, registry: ResourceRegistry, depth = 0, budget = { used: 0 }): { customChecks: CustomCheck[]; typeChecks: Promise<void>[] } {
  budget.used += model.resources.size;
  if (budget.used > MAX_RESOURCES_PER_STACK) throw treeLimitError(budget.used);
  const section = model.template.format === 'hot' ? 'resources' : 'Resources';
  const fctx: FunctionContext = {
    template: model.template,
    parameters: model.parameters,
    stack,
    files: model.spec.files,
    conditions: model.conditions,
    resourceId: () => deferred('resource'),
    attribute: () => deferred('attribute'),
  };
  const customChecks = [...model.customChecks];
  const typeChecks: Promise<void>[] = [];
  for (const [name, r] of model.resources) {
    const at = `${section}.${name}.properties`;
    const evaluated = evaluate(r.definition.properties, fctx, at) as Record<string, unknown>;
    const props = checkProperties(r.type, evaluated, at, { admin });
    if (r.type.validate) {
      const res = r.type.validate(props, ctx, at);
      if (res) typeChecks.push(res);
    }
    for (const [key, schema] of Object.entries(r.type.properties)) customChecks.push(...customChecksOf(schema, props[key], `${at}.${key}`));
    if (r.type.childSpec) {
      const child = r.type.childSpec(props, model.spec);
      {
        const childModel = buildModel(child, { ...stack, name: `${stack.name}-${name}` }, registry, depth + 1, true);
        const inner = validateProperties(childModel, stack, ctx, admin, registry, depth + 1, budget);
        customChecks.push(...inner.customChecks);
        typeChecks.push(...inner.typeChecks);
      }
    }
  }
  return { customChecks, typeChecks };
}

/** The custom constraints of a property's value, and of the values inside its lists and maps (a server's networks[0].port). */
function customChecksOf(schema: PropertySchema, v: unknown, at: string): CustomCheck[] {
  if (v === undefined || v === null || isDeferred(v)) return [];
  if (typeof v !== 'object') return (schema.constraints ?? []).filter((c) => c.custom_constraint).map((c) => ({ parameter: at, constraint: c.custom_constraint!, value: v }));
  const out: CustomCheck[] = [];
  if (Array.isArray(v)) {
    const item = schema.items ?? (schema.schema ? ({ type: 'map', schema: schema.schema } as PropertySchema) : undefined);
    if (item) v.forEach((x, i) => out.push(...customChecksOf(item, x, `${at}[${i}]`)));
  } else if (schema.type === 'map' && schema.schema) {
    for (const [key, s] of Object.entries(schema.schema)) out.push(...customChecksOf(s, (v as Record<string, unknown>)[key], `${at}.${key}`));
  }
  return out;
}

export { isTemplateFile };
