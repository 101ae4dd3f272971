// What a Heat resource type is: its property and attribute schemas and its few lifecycle hooks
// (Heat's handle_create / check_create_complete / handle_delete ...), plus the property checks the
// engine applies before any hook runs. Each resource type is one file that exports one of these.
import type { RequestContext } from '../../platform/auth/context.ts';
import { TemplateError, type ResourceDefinition } from '../template/model.ts';
import type { Siblings } from './implicit.ts';
import type { Clients } from '../clients.ts';
import type { StackSpec } from '../engine/model.ts';

/** The child-stack machinery nested resource types (provider templates, ResourceGroup) use. */
export interface NestedStacks {
  /** Creates this resource's child stack and waits until it is complete; returns its id. */
  create(spec: StackSpec): Promise<string>;
  update(childId: string, spec: StackSpec): Promise<void>;
  /** Deletes the child stack and waits; done when it is already gone. */
  delete(childId: string): Promise<void>;
  suspend(childId: string): Promise<void>;
  resume(childId: string): Promise<void>;
  outputs(childId: string): Promise<Record<string, unknown>>;
  /** Each child resource's reference (get_resource), by name. */
  references(childId: string): Promise<Record<string, unknown>>;
  attribute(childId: string, resource: string, attribute: string): Promise<unknown>;
}

export type PropertyType = 'string' | 'integer' | 'number' | 'boolean' | 'list' | 'map' | 'any';

export interface PropertyConstraint {
  allowed_values?: unknown[];
  range?: { min?: number; max?: number };
  length?: { min?: number; max?: number };
  allowed_pattern?: string;
  /** Checked against the other services at validation: glance.image, nova.flavor, neutron.network ... */
  custom_constraint?: string;
  description?: string;
}

export interface PropertySchema {
  type: PropertyType;
  description?: string;
  required?: boolean;
  default?: unknown;
  /** Changing it updates the resource in place; any other change replaces the resource. */
  update_allowed?: boolean;
  immutable?: boolean;
  constraints?: PropertyConstraint[];
  /** Keys of a map, or the schema of each list item when `type` is list. */
  schema?: Record<string, PropertySchema>;
  items?: PropertySchema;
  /** Refused for callers who are not cloud admins (isolation: privileged, devices, host mounts). */
  admin_only?: boolean;
}

export interface AttributeSchema {
  description: string;
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'list' | 'map';
}

/** What a hook is handed: who acts, which stack and resource, clients, and the resource's own data. */
export interface ResourceHandle {
  ctx: RequestContext;
  stack: { id: string; name: string; projectId: string };
  /** The logical name in the template. */
  name: string;
  /** A name for what the resource makes: `<stack>-<resource>-<random>`, stable across retries. */
  physicalName: string;
  clients: Clients;
  /** Private state kept with the resource row (e.g. a generated value), saved after every hook. */
  data: Record<string, unknown>;
  /** The resource's template metadata. */
  metadata: Record<string, unknown>;
  /** The request id to pass on to other services. */
  requestId: string;
  /** Resolved to a physical id as soon as something exists, so a crash cannot orphan it. */
  setPhysicalId(id: string): Promise<void>;
  /** Set when the operation is cancelled or timed out; long waits should end. */
  signal: AbortSignal;
  nested: NestedStacks;
  /** The environment and files of the stack (for nested templates). */
  spec: StackSpec;
  /** Where the cloud's API answers (signal URLs). */
  publicUrl: string;
  /** Another resource of the same stack, by its reference or name (WaitCondition reads its handle). */
  sibling(ref: string): Promise<{ name: string; data: Record<string, unknown> } | undefined>;
}

export interface ResourceType {
  type: string;
  description: string;
  properties: Record<string, PropertySchema>;
  attributes: Record<string, AttributeSchema>;
  /** Attributes beyond the fixed ones (ResourceGroup's `resource.0.x`, nested stacks' outputs). */
  dynamicAttributes?: boolean;
  /** A nested stack type: the engine hands it the child stack machinery. */
  nested?: boolean;
  /** For nested types: the child stack a resource with these properties stands for. */
  childSpec?(props: Record<string, unknown>, parent: StackSpec): StackSpec;
  /**
   * Resources of the same stack this one needs although its properties do not name them (Heat's
   * implicit dependencies); the engine adds those that make no cycle.
   */
  implicitDependencies?(definition: ResourceDefinition, others: Siblings): string[];
  /** Extra checks of the resolved properties at validation (beyond the schema). */
  validate?(props: Record<string, unknown>, ctx: RequestContext, at: string): void | Promise<void>;
  /** Makes the thing; returns its physical id (or null when there is none, like OS::Heat::None). */
  create(h: ResourceHandle, props: Record<string, unknown>): Promise<string | null>;
  /**
   * Finds what a create cut short (by a crash) made before its physical id was recorded, so that a
   * rollback or delete removes it too.
   */
  adopt?(h: ResourceHandle): Promise<string | null>;
  /** Polled until true after create (a server reaching ACTIVE); throws when creation failed. */
  checkCreateComplete?(h: ResourceHandle, id: string): Promise<boolean>;
  /** Removes it. Guarantee: succeeds when it is already gone. */
  delete?(h: ResourceHandle, id: string): Promise<void>;
  checkDeleteComplete?(h: ResourceHandle, id: string): Promise<boolean>;
  /** In-place update of the `update_allowed` properties that changed. */
  update?(h: ResourceHandle, id: string, props: Record<string, unknown>, old: Record<string, unknown>, changed: string[]): Promise<void>;
  checkUpdateComplete?(h: ResourceHandle, id: string): Promise<boolean>;
  suspend?(h: ResourceHandle, id: string): Promise<void>;
  resume?(h: ResourceHandle, id: string): Promise<void>;
  checkSuspendComplete?(h: ResourceHandle, id: string): Promise<boolean>;
  checkResumeComplete?(h: ResourceHandle, id: string): Promise<boolean>;
  /** Throws when the real thing is missing or unhealthy (stack check). */
  check?(h: ResourceHandle, id: string): Promise<void>;
  /** An attribute's value; `show` falls back to this with 'show'. */
  attribute?(h: ResourceHandle, id: string | null, name: string): Promise<unknown>;
  /** A signal from outside (WaitConditionHandle, SoftwareDeployment). */
  signal?(h: ResourceHandle, id: string | null, details: unknown): Promise<void>;
  /** Where the resource's reference (get_resource) is something else than its physical id. */
  reference?(h: ResourceHandle, id: string | null): unknown;
}

/** Schema defaults filled in, values coerced and checked; throws TemplateError naming the path. */
export function checkProperties(type: ResourceType, props: Record<string, unknown>, at: string, opts: { admin: boolean; partial?: boolean }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(props)) {
    if (!(key in type.properties)) throw new TemplateError(`${at}: Unknown Property ${key}`);
  }
  for (const [key, schema] of Object.entries(type.properties)) {
    const v = props[key];
    if (v === undefined || v === null) {
      if (schema.required && !opts.partial) throw new TemplateError(`${at}: Property ${key} not assigned`);
      if (schema.default !== undefined) out[key] = structuredClone(schema.default);
      continue;
    }
    if (schema.admin_only && !opts.admin && v !== false && !(Array.isArray(v) && v.length === 0)) {
      throw new TemplateError(`${at}.${key}: Property ${key} is refused: it would break the isolation of tenant containers (allowed for cloud admins only).`);
    }
    out[key] = checkValue(schema, v, `${at}.${key}`);
  }
  return out;
}

/** Whether a value still holds an unresolved function (validation before resources exist). */
export function isDeferred(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('"__deferred":true');
  return typeof v === 'object' && v !== null && (v as { __deferred?: boolean }).__deferred === true;
}

export function checkValue(schema: PropertySchema, v: unknown, at: string): unknown {
  if (isDeferred(v)) return v;
  const wrong = (what: string) => new TemplateError(`${at}: Value '${typeof v === 'object' ? JSON.stringify(v) : String(v)}' is not ${what}`);
  let value: unknown = v;
  switch (schema.type) {
    case 'string':
      if (typeof v === 'object') throw wrong('a string');
      value = String(v);
      break;
    case 'integer': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isInteger(n)) throw wrong('an integer');
      value = n;
      break;
    }
    case 'number': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isNaN(n)) throw wrong('a number');
      value = n;
      break;
    }
    case 'boolean':
      if (typeof v === 'boolean') value = v;
      else if (['true', 'false'].includes(String(v).toLowerCase())) value = String(v).toLowerCase() === 'true';
      else throw wrong('a boolean');
      break;
    case 'list':
      if (typeof v === 'string' && !schema.items) value = v === '' ? [] : v.split(',');
      else if (!Array.isArray(v)) throw wrong('a list');
      if (schema.items) value = (value as unknown[]).map((item, i) => checkValue(schema.items!, item, `${at}[${i}]`));
      else if (schema.schema) value = (value as unknown[]).map((item, i) => checkValue({ type: 'map', schema: schema.schema }, item, `${at}[${i}]`));
      break;
    case 'map':
      if (typeof v !== 'object' || Array.isArray(v)) throw wrong('a map');
      if (schema.schema) {
        const m = v as Record<string, unknown>;
        const o: Record<string, unknown> = {};
        for (const key of Object.keys(m)) if (!(key in schema.schema)) throw new TemplateError(`${at}: Unknown Property ${key}`);
        for (const [key, s] of Object.entries(schema.schema)) {
          if (m[key] === undefined || m[key] === null) {
            if (s.required) throw new TemplateError(`${at}: Property ${key} not assigned`);
            if (s.default !== undefined) o[key] = structuredClone(s.default);
          } else o[key] = checkValue(s, m[key], `${at}.${key}`);
        }
        value = o;
      }
      break;
    case 'any':
      break;
    default: {
      const never: never = schema.type;
      return never;
    }
  }
  for (const c of schema.constraints ?? []) {
    const fail = (why: string) => new TemplateError(`${at}: ${c.description ?? why}`);
    if (c.allowed_values && !c.allowed_values.map(String).includes(String(value))) throw fail(`"${String(value)}" is not an allowed value [${c.allowed_values.join(', ')}]`);
    if (c.range) {
      const n = value as number;
      if ((c.range.min !== undefined && n < c.range.min) || (c.range.max !== undefined && n > c.range.max)) throw fail(`${n} is out of range (min: ${c.range.min ?? 'None'}, max: ${c.range.max ?? 'None'})`);
    }
    if (c.length) {
      const len = (value as string | unknown[]).length;
      if ((c.length.min !== undefined && len < c.length.min) || (c.length.max !== undefined && len > c.length.max)) throw fail(`length (${len}) is out of range (min: ${c.length.min ?? 'None'}, max: ${c.length.max ?? 'None'})`);
    }
    if (c.allowed_pattern && !new RegExp(`^(?:${c.allowed_pattern})$`).test(String(value))) throw fail(`"${String(value)}" does not match pattern "${c.allowed_pattern}"`);
  }
  return value;
}

/** The resource type schema as `GET /resource_types/{type}` shows it. */
export function typeSchema(type: ResourceType): Record<string, unknown> {
  const prop = (s: PropertySchema): Record<string, unknown> => ({
    type: s.type === 'any' ? 'string' : s.type,
    required: s.required ?? false,
    update_allowed: s.update_allowed ?? false,
    immutable: s.immutable ?? false,
    description: s.description ?? '',
    ...(s.default !== undefined ? { default: s.default } : {}),
    ...(s.constraints?.length ? { constraints: s.constraints } : {}),
    ...(s.schema ? { schema: Object.fromEntries(Object.entries(s.schema).map(([k, v]) => [k, prop(v)])) } : {}),
    ...(s.items ? { schema: { '*': prop(s.items) } } : {}),
  });
  return {
    resource_type: type.type,
    description: type.description,
    properties: Object.fromEntries(Object.entries(type.properties).map(([k, s]) => [k, prop(s)])),
    attributes: {
      ...Object.fromEntries(Object.entries(type.attributes).map(([k, a]) => [k, { description: a.description, ...(a.type ? { type: a.type } : {}) }])),
      show: { description: 'Detailed information about resource.', type: 'map' },
    },
    support_status: { status: 'SUPPORTED', version: null, message: null, previous_status: null },
  };
}

/**
 * The lifecycle of a nested-stack type: its child stack made, updated, deleted, suspended and resumed
 * from `childSpec`. Provider templates and ResourceGroup spread these into their definitions.
 */
export function nestedStackHooks(childSpec: NonNullable<ResourceType['childSpec']>): Pick<ResourceType, 'nested' | 'childSpec' | 'create' | 'update' | 'delete' | 'suspend' | 'resume'> {
  return {
    nested: true,
    childSpec,
    create: (h, props) => h.nested.create(childSpec(props, h.spec)),
    update: (h, id, props) => h.nested.update(id, childSpec(props, h.spec)),
    delete: (h, id) => h.nested.delete(id),
    suspend: (h, id) => h.nested.suspend(id),
    resume: (h, id) => h.nested.resume(id),
  };
}
