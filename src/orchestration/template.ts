// HOT templates: parsing (YAML or JSON, size-limited), the version check, parameters with their
// types, defaults and constraints, and the intrinsic functions evaluated against a stack.
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import { BadRequestError } from '../platform/errors.ts';

export const HOT_VERSIONS = [
  '2013-05-23', '2014-10-16', '2015-04-30', '2015-10-15', '2016-04-08', '2016-10-14',
  '2017-02-24', '2017-09-01', '2018-03-02', '2018-08-31', '2021-04-16',
  'newton', 'ocata', 'pike', 'queens', 'rocky', 'wallaby',
];
export const MAX_TEMPLATE_BYTES = 512 * 1024;

export interface ResourceDefinition {
  type: string;
  properties: Record<string, unknown>;
  depends_on: string[];
}

export interface Template {
  version: string;
  description: string;
  parameters: Record<string, ParameterSchema>;
  resources: Record<string, ResourceDefinition>;
  outputs: Record<string, { value: unknown; description?: string }>;
  raw: Record<string, unknown>;
}

export interface ParameterSchema {
  type: 'string' | 'number' | 'boolean' | 'json' | 'comma_delimited_list';
  default?: unknown;
  description?: string;
  hidden?: boolean;
  constraints?: { range?: { min?: number; max?: number }; length?: { min?: number; max?: number }; allowed_values?: unknown[]; allowed_pattern?: string; description?: string }[];
}

export class TemplateError extends BadRequestError {
  override readonly name: string = 'StackValidationFailed';
}

export function parseTemplate(input: unknown): Template {
  let raw: unknown = input;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input) > MAX_TEMPLATE_BYTES) throw new TemplateError(`Template size (${Buffer.byteLength(input)} bytes) exceeds maximum allowed size (${MAX_TEMPLATE_BYTES} bytes).`);
    try {
      raw = YAML.parse(input);
    } catch (err) {
      throw new TemplateError(`Error parsing template: ${(err as Error).message}`);
    }
  } else if (JSON.stringify(input ?? null).length > MAX_TEMPLATE_BYTES) {
    throw new TemplateError(`Template exceeds maximum allowed size (${MAX_TEMPLATE_BYTES} bytes).`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new TemplateError('The template is not a JSON object or YAML mapping.');
  const t = raw as Record<string, unknown>;
  const version = String(t.heat_template_version ?? '');
  if (!version) throw new TemplateError('Template format version not found.');
  if (!HOT_VERSIONS.includes(version)) throw new TemplateError(`"heat_template_version: ${version}". "heat_template_version" should be one of: ${HOT_VERSIONS.join(', ')}`);
  for (const key of Object.keys(t)) {
    if (!['heat_template_version', 'description', 'parameters', 'parameter_groups', 'resources', 'outputs', 'conditions'].includes(key)) {
      throw new TemplateError(`The template section is invalid: ${key}`);
    }
  }
  const resources: Record<string, ResourceDefinition> = {};
  for (const [name, def] of Object.entries((t.resources ?? {}) as Record<string, unknown>)) {
    if (!def || typeof def !== 'object') throw new TemplateError(`Resource ${name}: must be a mapping.`);
    const d = def as Record<string, unknown>;
    if (typeof d.type !== 'string') throw new TemplateError(`Resource ${name}: "type" is a required property.`);
    const deps = d.depends_on === undefined ? [] : Array.isArray(d.depends_on) ? d.depends_on.map(String) : [String(d.depends_on)];
    if (d.properties !== undefined && (typeof d.properties !== 'object' || Array.isArray(d.properties) || d.properties === null)) {
      throw new TemplateError(`resources.${name}.properties: must be a mapping.`);
    }
    resources[name] = { type: d.type, properties: (d.properties ?? {}) as Record<string, unknown>, depends_on: deps };
  }
  const parameters = (t.parameters ?? {}) as Record<string, ParameterSchema>;
  for (const [name, p] of Object.entries(parameters)) {
    if (!p || !['string', 'number', 'boolean', 'json', 'comma_delimited_list'].includes(String(p.type))) {
      throw new TemplateError(`parameters.${name}: Invalid type (${String(p?.type)})`);
    }
  }
  return {
    version,
    description: typeof t.description === 'string' ? t.description : '',
    parameters,
    resources,
    outputs: (t.outputs ?? {}) as Template['outputs'],
    raw: t,
  };
}

/** Parameter values from the caller and defaults, typed and checked against their constraints. */
export function resolveParameters(template: Template, given: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (!(key in template.parameters)) throw new TemplateError(`The Parameter (${key}) was not defined in template.`);
  }
  for (const [name, schema] of Object.entries(template.parameters)) {
    let value = given[name] ?? schema.default;
    if (value === undefined) throw new TemplateError(`The Parameter (${name}) was not provided.`);
    value = coerce(name, schema.type, value);
    for (const c of schema.constraints ?? []) checkConstraint(name, value, c);
    out[name] = value;
  }
  return out;
}

function coerce(name: string, type: ParameterSchema['type'], v: unknown): unknown {
  switch (type) {
    case 'string':
      if (typeof v === 'object') throw new TemplateError(`Parameter '${name}' is invalid: Value must be a string`);
      return String(v);
    case 'number': {
      const n = typeof v === 'number' ? v : Number(v);
      if (typeof v === 'boolean' || v === '' || Number.isNaN(n)) throw new TemplateError(`Parameter '${name}' is invalid: Value '${String(v)}' is not an integer or a number`);
      return n;
    }
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (['true', 't', 'yes', 'y', '1', 'on'].includes(String(v).toLowerCase())) return true;
      if (['false', 'f', 'no', 'n', '0', 'off'].includes(String(v).toLowerCase())) return false;
      throw new TemplateError(`Parameter '${name}' is invalid: Unrecognized value "${String(v)}", acceptable values are: true, false.`);
    case 'json':
      if (typeof v === 'string') {
        try {
          return JSON.parse(v);
        } catch {
          throw new TemplateError(`Parameter '${name}' is invalid: Value must be valid JSON`);
        }
      }
      return v;
    case 'comma_delimited_list':
      return Array.isArray(v) ? v.map(String) : String(v).split(',').map((s) => s.trim()).filter((s, i, a) => s !== '' || a.length > 1);
    default: {
      const never: never = type;
      return never;
    }
  }
}

function checkConstraint(name: string, value: unknown, c: NonNullable<ParameterSchema['constraints']>[number]): void {
  const fail = (why: string) => new TemplateError(`Parameter '${name}' is invalid: ${c.description ?? why}`);
  if (c.range) {
    const n = value as number;
    if ((c.range.min !== undefined && n < c.range.min) || (c.range.max !== undefined && n > c.range.max)) throw fail(`${n} is out of range (min: ${c.range.min}, max: ${c.range.max}).`);
  }
  if (c.length) {
    const len = (value as string | unknown[]).length;
    if ((c.length.min !== undefined && len < c.length.min) || (c.length.max !== undefined && len > c.length.max)) throw fail(`length (${len}) is out of range (min: ${c.length.min}, max: ${c.length.max}).`);
  }
  if (c.allowed_values && !c.allowed_values.map(String).includes(String(value))) throw fail(`"${String(value)}" is not an allowed value [${c.allowed_values.join(', ')}]`);
  if (c.allowed_pattern && !new RegExp(`^(?:${c.allowed_pattern})$`).test(String(value))) throw fail(`"${String(value)}" does not match pattern "${c.allowed_pattern}"`);
}

// ---- intrinsic functions

export interface FunctionContext {
  parameters: Record<string, unknown>;
  /** The physical id of a resource (get_resource). */
  resourceId(name: string): unknown;
  /** An attribute of a resource (get_attr). */
  attribute(name: string, attr: string, path: (string | number)[]): unknown;
  stack: { id: string; name: string; projectId: string };
}

const FUNCTIONS = ['get_param', 'get_resource', 'get_attr', 'str_replace', 'list_join', 'str_split', 'digest', 'repeat', 'map_merge', 'list_concat', 'equals', 'not', 'and', 'or', 'contains', 'if', 'yaql', 'get_file', 'map_replace', 'filter', 'make_url'];

/** The resources a value refers to (get_resource / get_attr), for the dependency graph. */
export function references(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && (entries[0]![0] === 'get_resource' || entries[0]![0] === 'get_attr')) {
      const arg = entries[0]![1];
      const name = Array.isArray(arg) ? arg[0] : arg;
      if (typeof name === 'string') out.add(name);
    }
    for (const [, v] of entries) references(v, out);
  }
  return out;
}

export function evaluate(value: unknown, ctx: FunctionContext, path = ''): unknown {
  if (Array.isArray(value)) return value.map((v, i) => evaluate(v, ctx, `${path}[${i}]`));
  if (!value || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1 && FUNCTIONS.includes(entries[0]![0])) {
    const [fn, rawArg] = entries[0]!;
    const at = `${path}.${fn}`;
    const arg = fn === 'if' ? rawArg : evaluate(rawArg, ctx, at);
    const bad = (why: string) => new TemplateError(`${at}: ${why}`);
    switch (fn) {
      case 'get_param': {
        const [name, ...keys] = Array.isArray(arg) ? arg : [arg];
        const builtins: Record<string, unknown> = { 'OS::stack_id': ctx.stack.id, 'OS::stack_name': ctx.stack.name, 'OS::project_id': ctx.stack.projectId };
        if (typeof name !== 'string' || !(name in ctx.parameters || name in builtins)) throw bad(`The Parameter (${String(name)}) was not defined in template.`);
        let v: unknown = name in builtins ? builtins[name] : ctx.parameters[name];
        for (const k of keys) v = (v as Record<string | number, unknown>)?.[k as string];
        return v;
      }
      case 'get_resource':
        return ctx.resourceId(String(arg));
      case 'get_attr': {
        if (!Array.isArray(arg) || arg.length < 2) throw bad('Arguments to "get_attr" must be of the form [resource_name, attribute, (path), ...]');
        return ctx.attribute(String(arg[0]), String(arg[1]), arg.slice(2) as (string | number)[]);
      }
      case 'str_replace': {
        const a = arg as { template?: unknown; params?: Record<string, unknown> };
        if (typeof a?.template !== 'string' || !a.params || typeof a.params !== 'object') throw bad('"str_replace" needs "template" and "params"');
        let out = a.template;
        for (const [k, v] of Object.entries(a.params).sort((x, y) => y[0].length - x[0].length)) out = out.split(k).join(typeof v === 'string' ? v : JSON.stringify(v));
        return out;
      }
      case 'list_join': {
        if (!Array.isArray(arg) || typeof arg[0] !== 'string') throw bad('Incorrect arguments to "list_join"');
        const lists = arg.slice(1).flatMap((l) => (Array.isArray(l) ? l : [l]));
        return lists.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(arg[0]);
      }
      case 'str_split': {
        if (!Array.isArray(arg) || arg.length < 2) throw bad('Incorrect arguments to "str_split"');
        const parts = String(arg[1]).split(String(arg[0]));
        return arg.length > 2 ? parts[Number(arg[2])] : parts;
      }
      case 'digest': {
        if (!Array.isArray(arg) || arg.length !== 2) throw bad('Incorrect arguments to "digest"');
        return createHash(String(arg[0])).update(String(arg[1])).digest('hex');
      }
      case 'repeat': {
        const a = arg as { template: unknown; for_each: Record<string, unknown[]> };
        const [[key, list]] = Object.entries(a.for_each ?? {}) as [[string, unknown[]]];
        const replace = (v: unknown, x: unknown): unknown =>
          typeof v === 'string' ? v.split(key).join(String(x)) : Array.isArray(v) ? v.map((e) => replace(e, x)) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, e]) => [replace(k, x) as string, replace(e, x)])) : v;
        return (list ?? []).map((x) => replace(a.template, x));
      }
      case 'map_merge':
        if (!Array.isArray(arg)) throw bad('Incorrect arguments to "map_merge"');
        return Object.assign({}, ...arg);
      case 'list_concat':
        if (!Array.isArray(arg)) throw bad('Incorrect arguments to "list_concat"');
        return arg.flat();
      case 'equals':
        return Array.isArray(arg) && JSON.stringify(arg[0]) === JSON.stringify(arg[1]);
      case 'not':
        return !arg;
      case 'and':
        return Array.isArray(arg) && arg.every(Boolean);
      case 'or':
        return Array.isArray(arg) && arg.some(Boolean);
      case 'contains':
        return Array.isArray(arg) && Array.isArray(arg[1]) && arg[1].map((x) => JSON.stringify(x)).includes(JSON.stringify(arg[0]));
      case 'if': {
        if (!Array.isArray(rawArg) || rawArg.length !== 3) throw bad('Incorrect arguments to "if"');
        return evaluate(evaluate(rawArg[0], ctx, at) ? rawArg[1] : rawArg[2], ctx, at);
      }
      default:
        throw bad(`The function ${fn} is not supported by hafen yet.`);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, evaluate(v, ctx, `${path}.${k}`)]));
}
