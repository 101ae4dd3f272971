// Stack environments: parameters, parameter_defaults and the resource_registry that maps a type to
// another type or to a template file (which becomes a nested stack), as heatclient sends them.
import { parseDocument } from './parse.ts';
import { TemplateError } from './model.ts';

export interface Environment {
  parameters: Record<string, unknown>;
  parameter_defaults: Record<string, unknown>;
  /** Type name -> another type name or a template file name (a key of `files`). */
  resource_registry: Record<string, string>;
  /** Per-resource overrides: resource name -> { type -> mapping }. */
  resource_overrides: Record<string, Record<string, string>>;
  event_sinks: unknown[];
}

const SECTIONS = ['parameters', 'parameter_defaults', 'resource_registry', 'event_sinks', 'encrypted_param_names', 'parameter_merge_strategies'];

export function emptyEnvironment(): Environment {
  return { parameters: {}, parameter_defaults: {}, resource_registry: {}, resource_overrides: {}, event_sinks: [] };
}

export function parseEnvironment(input: unknown): Environment {
  if (input === undefined || input === null || input === '') return emptyEnvironment();
  const doc = parseDocument(input, 'environment');
  for (const key of Object.keys(doc)) if (!SECTIONS.includes(key)) throw new TemplateError(`environment has an invalid section "${key}"`);
  const env = emptyEnvironment();
  for (const section of ['parameters', 'parameter_defaults'] as const) {
    const v = doc[section];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw new TemplateError(`environment.${section}: must be a mapping.`);
    env[section] = v as Record<string, unknown>;
  }
  const reg = doc.resource_registry;
  if (reg !== undefined && reg !== null) {
    if (typeof reg !== 'object' || Array.isArray(reg)) throw new TemplateError('environment.resource_registry: must be a mapping.');
    for (const [k, v] of Object.entries(reg as Record<string, unknown>)) {
      if (k === 'resources') {
        if (!v || typeof v !== 'object') throw new TemplateError('environment.resource_registry.resources: must be a mapping.');
        for (const [res, map] of Object.entries(v as Record<string, unknown>)) {
          if (!map || typeof map !== 'object') throw new TemplateError(`environment.resource_registry.resources.${res}: must be a mapping.`);
          env.resource_overrides[res] = Object.fromEntries(Object.entries(map as Record<string, unknown>).map(([t, m]) => [t, String(m)]));
        }
      } else if (typeof v === 'string') {
        env.resource_registry[k] = v;
      } else {
        throw new TemplateError(`environment.resource_registry.${k}: must be a type name or a template file.`);
      }
    }
  }
  if (Array.isArray(doc.event_sinks)) env.event_sinks = doc.event_sinks;
  return env;
}

/** Later environments override earlier ones, section by section (as `-e a.yaml -e b.yaml`). */
export function mergeEnvironments(...envs: Environment[]): Environment {
  const out = emptyEnvironment();
  for (const e of envs) {
    Object.assign(out.parameters, e.parameters);
    Object.assign(out.parameter_defaults, e.parameter_defaults);
    Object.assign(out.resource_registry, e.resource_registry);
    for (const [r, m] of Object.entries(e.resource_overrides)) out.resource_overrides[r] = { ...(out.resource_overrides[r] ?? {}), ...m };
    out.event_sinks.push(...e.event_sinks);
  }
  return out;
}

/**
 * What a resource's type resolves to: another registered type, or a template file. Wildcards
 * (`OS::Networking::*`) map a prefix as Heat's registry does.
 */
export function resolveType(env: Environment, resourceName: string, type: string): string {
  const seen = new Set<string>();
  let current = type;
  for (;;) {
    if (seen.has(current)) throw new TemplateError(`resources.${resourceName}: the resource_registry maps type ${type} in a loop`);
    seen.add(current);
    const override = env.resource_overrides[resourceName]?.[current];
    let next = override ?? env.resource_registry[current];
    if (next === undefined) {
      const wildcard = Object.keys(env.resource_registry).find((k) => k.endsWith('*') && current.startsWith(k.slice(0, -1)));
      if (wildcard) {
        const target = env.resource_registry[wildcard]!;
        next = target.endsWith('*') ? target.slice(0, -1) + current.slice(wildcard.length - 1) : target;
      }
    }
    if (next === undefined || next === current) return current;
    current = next;
  }
}

export function isTemplateFile(type: string): boolean {
  return /\.(ya?ml|template|json)$/i.test(type) || /^(file|https?):\/\//.test(type);
}
