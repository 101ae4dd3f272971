// Parameter values: from the caller, the environment and the defaults, coerced to their types and
// checked against their constraints. Custom constraints (image, flavor...) need the other services,
// and allowed_pattern a worker thread (a user's pattern never runs on the event loop), so they are
// returned for the caller to check.
import { TemplateError, type ParameterConstraint, type ParameterSchema, type Template } from './model.ts';

export interface CustomCheck {
  parameter: string;
  /** A custom constraint's name (glance.image ...), or `allowed_pattern`. */
  constraint: string;
  value: unknown;
  /** allowed_pattern: the pattern, and the constraint's description for its failure. */
  pattern?: string;
  description?: string;
}

export interface ResolvedParameters {
  values: Record<string, unknown>;
  customChecks: CustomCheck[];
}

/**
 * `strict`: refuse values for parameters the template does not declare (top-level stacks).
 * `allowMissing`: leave out what is not given (validating a nested template before its parent's
 * resources exist).
 */
export function resolveParameters(template: Template, given: Record<string, unknown>, defaults: Record<string, unknown> = {}, strict = true, allowMissing = false): ResolvedParameters {
  const values: Record<string, unknown> = {};
  const customChecks: CustomCheck[] = [];
  if (strict) {
    for (const key of Object.keys(given)) {
      if (!(key in template.parameters)) throw new TemplateError(`The Parameter (${key}) was not defined in template.`);
    }
  }
  for (const [name, schema] of Object.entries(template.parameters)) {
    let value = given[name] ?? defaults[name] ?? schema.default;
    if (value === undefined || value === null) {
      if (allowMissing) continue;
      throw new TemplateError(`The Parameter (${name}) was not provided.`);
    }
    value = coerceParameter(name, schema, value);
    for (const c of schema.constraints) {
      checkConstraint(name, value, c);
      if (c.allowed_pattern !== undefined) customChecks.push({ parameter: name, constraint: 'allowed_pattern', value: String(value), pattern: c.allowed_pattern, ...(c.description ? { description: c.description } : {}) });
      if (c.custom_constraint) {
        for (const v of Array.isArray(value) ? value : [value]) customChecks.push({ parameter: name, constraint: c.custom_constraint, value: v });
      }
    }
    values[name] = value;
  }
  return { values, customChecks };
}

export function coerceParameter(name: string, schema: ParameterSchema, v: unknown): unknown {
  const type = schema.type;
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
      if (typeof v !== 'object') throw new TemplateError(`Parameter '${name}' is invalid: Value must be valid JSON`);
      return v;
    case 'comma_delimited_list':
      if (Array.isArray(v)) return v.map(String);
      if (typeof v === 'object') throw new TemplateError(`Parameter '${name}' is invalid: Value must be a comma-delimited list string`);
      return String(v) === '' ? [] : String(v).split(',').map((s) => s.trim());
    default: {
      const never: never = type;
      return never;
    }
  }
}

function checkConstraint(name: string, value: unknown, c: ParameterConstraint): void {
  const fail = (why: string) => new TemplateError(`Parameter '${name}' is invalid: ${c.description ?? why}`);
  if (c.range) {
    const n = value as number;
    if ((c.range.min !== undefined && n < c.range.min) || (c.range.max !== undefined && n > c.range.max)) throw fail(`${n} is out of range (min: ${c.range.min ?? 'None'}, max: ${c.range.max ?? 'None'}).`);
  }
  if (c.length) {
    const len = typeof value === 'string' || Array.isArray(value) ? value.length : Object.keys(value as object).length;
    if ((c.length.min !== undefined && len < c.length.min) || (c.length.max !== undefined && len > c.length.max)) throw fail(`length (${len}) is out of range (min: ${c.length.min ?? 'None'}, max: ${c.length.max ?? 'None'}).`);
  }
  if (c.modulo) {
    const n = value as number;
    if (((n - c.modulo.offset) % c.modulo.step + c.modulo.step) % c.modulo.step !== 0) throw fail(`${n} is not a multiple of ${c.modulo.step} with an offset of ${c.modulo.offset}.`);
  }
  if (c.allowed_values) {
    const allowed = c.allowed_values.map(String);
    const list = Array.isArray(value) ? value : [value];
    for (const v of list) if (!allowed.includes(String(v))) throw fail(`"${String(v)}" is not an allowed value [${c.allowed_values.join(', ')}]`);
  }
}

/** Parameters as `stack show` prints them: hidden ones masked, lists joined as Heat does. */
export function displayParameters(template: Template, values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(values)) {
    const schema = template.parameters[name];
    if (schema?.hidden) out[name] = '******';
    else if (Array.isArray(v) && schema?.type === 'comma_delimited_list') out[name] = v.join(',');
    else out[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}
