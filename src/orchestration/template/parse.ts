// Reads a template (YAML or JSON text, or an already parsed object) into the common Template shape:
// HOT by `heat_template_version`, CFN by `AWSTemplateFormatVersion`, with each format's sections.
import YAML from 'yaml';
import { MAX_RESOURCES_PER_STACK, MAX_TEMPLATE_BYTES, TemplateError, type ParameterConstraint, type ParameterSchema, type ParameterType, type ResourceDefinition, type Template } from './model.ts';

export const HOT_VERSIONS = [
  '2013-05-23', '2014-10-16', '2015-04-30', '2015-10-15', '2016-04-08', '2016-10-14',
  '2017-02-24', '2017-09-01', '2018-03-02', '2018-08-31', '2021-04-16',
];
/** Release-name aliases Heat accepts for HOT versions. */
export const HOT_ALIASES: Record<string, string> = {
  newton: '2016-10-14', ocata: '2017-02-24', pike: '2017-09-01', queens: '2018-03-02', rocky: '2018-08-31', wallaby: '2021-04-16',
};
export const CFN_VERSIONS = ['2010-09-09'];

const HOT_SECTIONS = ['heat_template_version', 'description', 'parameters', 'parameter_groups', 'resources', 'outputs', 'conditions'];
const CFN_SECTIONS = ['AWSTemplateFormatVersion', 'Description', 'Parameters', 'Mappings', 'Conditions', 'Resources', 'Outputs', 'Metadata', 'HeatTemplateFormatVersion'];
const HOT_RESOURCE_KEYS = ['type', 'properties', 'metadata', 'depends_on', 'deletion_policy', 'update_policy', 'description', 'condition', 'external_id'];
const CFN_RESOURCE_KEYS = ['Type', 'Properties', 'Metadata', 'DependsOn', 'DeletionPolicy', 'UpdatePolicy', 'Description', 'Condition'];

export function parseDocument(input: unknown, what = 'template'): Record<string, unknown> {
  let raw: unknown = input;
  if (typeof input === 'string') {
    const size = Buffer.byteLength(input);
    if (size > MAX_TEMPLATE_BYTES) throw new TemplateError(`Template size (${size} bytes) exceeds maximum allowed size (${MAX_TEMPLATE_BYTES} bytes).`);
    try {
      // YAML 1.2 is a superset of JSON: one parser reads both. Dates stay strings (versions are dates).
      raw = YAML.parse(input, { schema: 'core', maxAliasCount: 1000 });
    } catch (err) {
      throw new TemplateError(`Error parsing ${what}: ${(err as Error).message.split('\n')[0]}`);
    }
  } else if (input !== undefined && JSON.stringify(input).length > MAX_TEMPLATE_BYTES) {
    throw new TemplateError(`Template exceeds maximum allowed size (${MAX_TEMPLATE_BYTES} bytes).`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new TemplateError(`The ${what} is not a JSON object or YAML mapping.`);
  return raw as Record<string, unknown>;
}

export function parseTemplate(input: unknown): Template {
  const t = parseDocument(input);
  if ('heat_template_version' in t) return parseHot(t);
  if ('AWSTemplateFormatVersion' in t || 'HeatTemplateFormatVersion' in t) return parseCfn(t);
  throw new TemplateError('Template format version not found.');
}

function mapping(v: unknown, at: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new TemplateError(`${at}: must be a mapping.`);
  return v as Record<string, unknown>;
}

function dependsOn(v: unknown, at: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw new TemplateError(`${at}: must be a resource name or a list of them.`);
}

function parseHot(t: Record<string, unknown>): Template {
  const given = String(t.heat_template_version);
  const version = HOT_ALIASES[given] ?? given;
  if (!HOT_VERSIONS.includes(version)) {
    throw new TemplateError(`"heat_template_version: ${given}". "heat_template_version" should be one of: ${[...HOT_VERSIONS, ...Object.keys(HOT_ALIASES)].join(', ')}`);
  }
  for (const key of Object.keys(t)) if (!HOT_SECTIONS.includes(key)) throw new TemplateError(`The template section is invalid: ${key}`);
  if ('conditions' in t && version < '2016-10-14') throw new TemplateError(`The template section is invalid: conditions (needs heat_template_version 2016-10-14 or newer)`);
  const resources: Record<string, ResourceDefinition> = {};
  for (const [name, def] of Object.entries(mapping(t.resources, 'resources'))) {
    const at = `resources.${name}`;
    const d = mapping(def, at);
    if (def === null) throw new TemplateError(`${at}: must be a mapping.`);
    for (const key of Object.keys(d)) if (!HOT_RESOURCE_KEYS.includes(key)) throw new TemplateError(`${at}: "${key}" is not a valid keyword inside a resource definition`);
    if (typeof d.type !== 'string' || !d.type) throw new TemplateError(`${at}: "type" is a required property.`);
    resources[name] = {
      type: d.type,
      properties: mapping(d.properties, `${at}.properties`),
      depends_on: dependsOn(d.depends_on, `${at}.depends_on`),
      metadata: mapping(d.metadata, `${at}.metadata`),
      ...(d.condition !== undefined ? { condition: d.condition } : {}),
      ...(typeof d.deletion_policy === 'string' ? { deletion_policy: d.deletion_policy } : {}),
      ...(d.update_policy !== undefined ? { update_policy: mapping(d.update_policy, `${at}.update_policy`) } : {}),
    };
  }
  checkResourceCount(resources);
  const parameters: Record<string, ParameterSchema> = {};
  for (const [name, p] of Object.entries(mapping(t.parameters, 'parameters'))) {
    const at = `parameters.${name}`;
    const d = mapping(p, at);
    const type = String(d.type) as ParameterType;
    if (!['string', 'number', 'boolean', 'json', 'comma_delimited_list'].includes(type)) throw new TemplateError(`${at}: Invalid type (${String(d.type)})`);
    const constraints = d.constraints ?? [];
    if (!Array.isArray(constraints)) throw new TemplateError(`${at}.constraints: must be a list.`);
    parameters[name] = {
      type,
      constraints: constraints.map((c, i) => hotConstraint(c, `${at}.constraints[${i}]`)),
      ...(d.default !== undefined ? { default: d.default } : {}),
      ...(typeof d.description === 'string' ? { description: d.description } : {}),
      ...(typeof d.label === 'string' ? { label: d.label } : {}),
      ...(d.hidden !== undefined ? { hidden: d.hidden === true || d.hidden === 'true' } : {}),
      ...(d.immutable !== undefined ? { immutable: d.immutable === true } : {}),
    };
  }
  const groups = t.parameter_groups ?? [];
  if (!Array.isArray(groups)) throw new TemplateError('parameter_groups: must be a list.');
  const parameterGroups = groups.map((g, i) => {
    const d = mapping(g, `parameter_groups[${i}]`);
    const ps = d.parameters ?? [];
    if (!Array.isArray(ps)) throw new TemplateError(`parameter_groups[${i}].parameters: must be a list.`);
    for (const p of ps) if (!(String(p) in parameters)) throw new TemplateError(`parameter_groups[${i}]: The grouped parameter ${String(p)} does not reference a valid parameter.`);
    return { parameters: ps.map(String), ...(typeof d.label === 'string' ? { label: d.label } : {}), ...(typeof d.description === 'string' ? { description: d.description } : {}) };
  });
  const outputs: Template['outputs'] = {};
  for (const [name, o] of Object.entries(mapping(t.outputs, 'outputs'))) {
    const d = mapping(o, `outputs.${name}`);
    if (!('value' in d)) throw new TemplateError(`outputs.${name}: Each output definition must contain a value key.`);
    outputs[name] = { value: d.value, ...(typeof d.description === 'string' ? { description: d.description } : {}), ...(d.condition !== undefined ? { condition: d.condition } : {}) };
  }
  return {
    format: 'hot',
    version,
    description: typeof t.description === 'string' ? t.description : '',
    parameters,
    parameterGroups,
    conditions: mapping(t.conditions, 'conditions'),
    mappings: {},
    resources,
    outputs,
    raw: t,
  };
}

function hotConstraint(c: unknown, at: string): ParameterConstraint {
  const d = mapping(c, at);
  const out: ParameterConstraint = {};
  if (typeof d.description === 'string') out.description = d.description;
  const known = ['range', 'length', 'modulo', 'allowed_values', 'allowed_pattern', 'custom_constraint', 'description'];
  for (const key of Object.keys(d)) if (!known.includes(key)) throw new TemplateError(`${at}: Invalid key ${key}`);
  if (d.range !== undefined) out.range = numericBounds(d.range, `${at}.range`);
  if (d.length !== undefined) out.length = numericBounds(d.length, `${at}.length`);
  if (d.modulo !== undefined) {
    const m = mapping(d.modulo, `${at}.modulo`);
    out.modulo = { step: Number(m.step), offset: Number(m.offset) };
  }
  if (d.allowed_values !== undefined) {
    if (!Array.isArray(d.allowed_values)) throw new TemplateError(`${at}.allowed_values: must be a list.`);
    out.allowed_values = d.allowed_values;
  }
  // Checked (as RE2) with the value, in a worker: see template/patterns.ts.
  if (d.allowed_pattern !== undefined) out.allowed_pattern = String(d.allowed_pattern);
  if (d.custom_constraint !== undefined) out.custom_constraint = String(d.custom_constraint);
  return out;
}

function numericBounds(v: unknown, at: string): { min?: number; max?: number } {
  const d = mapping(v, at);
  const out: { min?: number; max?: number } = {};
  if (d.min !== undefined) out.min = Number(d.min);
  if (d.max !== undefined) out.max = Number(d.max);
  if (Number.isNaN(out.min) || Number.isNaN(out.max)) throw new TemplateError(`${at}: min and max must be numbers.`);
  return out;
}

function checkResourceCount(resources: Record<string, unknown>): void {
  const n = Object.keys(resources).length;
  if (n > MAX_RESOURCES_PER_STACK) throw new TemplateError(`The template has ${n} resources, more than the maximum of ${MAX_RESOURCES_PER_STACK}.`);
}

function parseCfn(t: Record<string, unknown>): Template {
  const version = String(t.AWSTemplateFormatVersion ?? '2010-09-09');
  if (!CFN_VERSIONS.includes(version)) throw new TemplateError(`"AWSTemplateFormatVersion: ${version}". "AWSTemplateFormatVersion" should be: ${CFN_VERSIONS.join(', ')}`);
  for (const key of Object.keys(t)) if (!CFN_SECTIONS.includes(key)) throw new TemplateError(`The template section is invalid: ${key}`);
  const resources: Record<string, ResourceDefinition> = {};
  for (const [name, def] of Object.entries(mapping(t.Resources, 'Resources'))) {
    const at = `Resources.${name}`;
    const d = mapping(def, at);
    for (const key of Object.keys(d)) if (!CFN_RESOURCE_KEYS.includes(key)) throw new TemplateError(`${at}: "${key}" is not a valid keyword inside a resource definition`);
    if (typeof d.Type !== 'string' || !d.Type) throw new TemplateError(`${at}: "Type" is a required property.`);
    resources[name] = {
      type: d.Type,
      properties: mapping(d.Properties, `${at}.Properties`),
      depends_on: dependsOn(d.DependsOn, `${at}.DependsOn`),
      metadata: mapping(d.Metadata, `${at}.Metadata`),
      ...(d.Condition !== undefined ? { condition: d.Condition } : {}),
      ...(typeof d.DeletionPolicy === 'string' ? { deletion_policy: d.DeletionPolicy } : {}),
    };
  }
  checkResourceCount(resources);
  const types: Record<string, ParameterType> = { String: 'string', Number: 'number', CommaDelimitedList: 'comma_delimited_list', Json: 'json', Boolean: 'boolean' };
  const parameters: Record<string, ParameterSchema> = {};
  for (const [name, p] of Object.entries(mapping(t.Parameters, 'Parameters'))) {
    const at = `Parameters.${name}`;
    const d = mapping(p, at);
    const type = types[String(d.Type)];
    if (!type) throw new TemplateError(`${at}: Invalid type (${String(d.Type)})`);
    const constraint: ParameterConstraint = {};
    if (Array.isArray(d.AllowedValues)) constraint.allowed_values = d.AllowedValues;
    if (d.AllowedPattern !== undefined) constraint.allowed_pattern = String(d.AllowedPattern);
    if (d.MinLength !== undefined || d.MaxLength !== undefined) constraint.length = { ...(d.MinLength !== undefined ? { min: Number(d.MinLength) } : {}), ...(d.MaxLength !== undefined ? { max: Number(d.MaxLength) } : {}) };
    if (d.MinValue !== undefined || d.MaxValue !== undefined) constraint.range = { ...(d.MinValue !== undefined ? { min: Number(d.MinValue) } : {}), ...(d.MaxValue !== undefined ? { max: Number(d.MaxValue) } : {}) };
    if (typeof d.ConstraintDescription === 'string') constraint.description = d.ConstraintDescription;
    parameters[name] = {
      type,
      constraints: Object.keys(constraint).some((k) => k !== 'description') ? [constraint] : [],
      ...(d.Default !== undefined ? { default: d.Default } : {}),
      ...(typeof d.Description === 'string' ? { description: d.Description } : {}),
      ...(d.NoEcho !== undefined ? { hidden: String(d.NoEcho).toLowerCase() === 'true' } : {}),
    };
  }
  const outputs: Template['outputs'] = {};
  for (const [name, o] of Object.entries(mapping(t.Outputs, 'Outputs'))) {
    const d = mapping(o, `Outputs.${name}`);
    if (!('Value' in d)) throw new TemplateError(`Outputs.${name}: Each output definition must contain a Value key.`);
    outputs[name] = { value: d.Value, ...(typeof d.Description === 'string' ? { description: d.Description } : {}), ...(d.Condition !== undefined ? { condition: d.Condition } : {}) };
  }
  return {
    format: 'cfn',
    version,
    description: typeof t.Description === 'string' ? t.Description : '',
    parameters,
    parameterGroups: [],
    conditions: mapping(t.Conditions, 'Conditions'),
    mappings: mapping(t.Mappings, 'Mappings'),
    resources,
    outputs,
    raw: t,
  };
}
