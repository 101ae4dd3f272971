// OS::Heat::StructuredDeployment: a SoftwareDeployment of a StructuredConfig, whose derived config
// has every `{<input_key>: name}` replaced with the value of input `name` (deploy_* inputs too);
// with input_values_validate STRICT a name that is no input fails the deployment.
import { TemplateError } from '../../template/model.ts';
import { deploymentType } from './software-deployment.ts';

/** Bounds the walk of a user's map (depth and nodes), like every user-given structure. */
const MAX_DEPTH = 64;
const MAX_NODES = 100_000;

function substitute(config: string, inputs: Record<string, unknown>[], props: Record<string, unknown>): string {
  let doc: unknown;
  try {
    doc = JSON.parse(config || '{}');
  } catch {
    return config;
  }
  const key = String(props.input_key ?? 'get_input');
  const strict = props.input_values_validate === 'STRICT';
  const values = new Map(inputs.map((i) => [String(i.name), i.value === undefined ? i.default : i.value]));
  let nodes = 0;
  const walk = (v: unknown, depth: number): unknown => {
    if (++nodes > MAX_NODES || depth > MAX_DEPTH) throw new TemplateError('The structured config is too large or too deep to derive.');
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === key) {
        const name = String(o[key]);
        if (values.has(name)) return values.get(name) ?? null;
        if (strict) throw new TemplateError(`Unknown input ${name}`);
        return v;
      }
      return Object.fromEntries(keys.map((k) => [k, walk(o[k], depth + 1)]));
    }
    return v;
  };
  return JSON.stringify(walk(doc, 0));
}

export const heatStructuredDeployment = deploymentType(
  'OS::Heat::StructuredDeployment',
  'A resource which has same logic with OS::Heat::SoftwareDeployment, whose derived config has its get_input references replaced with the input values.',
  substitute,
  {
    input_key: { type: 'string', default: 'get_input', description: 'Name of key to use for substituting inputs during deployment.' },
    input_values_validate: { type: 'string', default: 'LAX', constraints: [{ allowed_values: ['LAX', 'STRICT'] }], description: 'Perform a check on the input values passed to verify that each required input has a corresponding value.' },
  },
);
