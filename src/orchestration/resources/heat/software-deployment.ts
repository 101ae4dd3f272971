// OS::Heat::SoftwareDeployment: a software config deployed to a server, as Heat does it: a derived
// config (the config with its inputs' values and deploy_* inputs) and a deployment of it through
// the software configuration API. A `script` config runs in the server's container (see
// software/service.ts); the resource completes when the deployment does, fails with its reason,
// and its attributes are the deployment's outputs (deploy_stdout, deploy_stderr,
// deploy_status_code and the config's declared outputs).
import type { ResourceHandle, ResourceType } from '../types.ts';
import { isNotFound, NotFoundError } from '../../../platform/errors.ts';
import { gone } from '../lookup.ts';

const ACTIONS = ['CREATE', 'UPDATE', 'DELETE', 'SUSPEND', 'RESUME'];
const TRANSPORTS = ['CFN_SIGNAL', 'TEMP_URL_SIGNAL', 'HEAT_SIGNAL', 'NO_SIGNAL', 'ZAQAR_SIGNAL'];

type Body = Record<string, unknown>;

function software(h: ResourceHandle) {
  if (!h.clients.software) throw new Error('The software configuration service is not available.');
  return h.clients.software;
}

/** The server by id or name, among the caller's. */
async function serverId(h: ResourceHandle, ref: string): Promise<string> {
  try {
    return (await h.clients.compute.show(h.ctx, ref)).id;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const named = (await h.clients.compute.list(h.ctx)).filter((s) => s.name === ref);
  if (named.length !== 1) throw new NotFoundError(`The server (${ref}) could not be found.`);
  return named[0]!.id;
}

/** What a deployment type makes of its source config's text, given the inputs with their values. */
type Derive = (config: string, inputs: Body[], props: Record<string, unknown>) => string;

/** Heat's derived config: the source config, its inputs given their values, and the deploy_* inputs. */
async function derivedConfig(h: ResourceHandle, props: Record<string, unknown>, server: string, action: string, derive: Derive): Promise<string> {
  const source: Body = props.config ? await software(h).showConfig(h.ctx, String(props.config)) : { group: 'Heat::Ungrouped', config: '', inputs: [], outputs: [], options: {} };
  const values = { ...((props.input_values as Body | undefined) ?? {}) };
  const inputs: Body[] = ((source.inputs as Body[] | undefined) ?? []).map((i) => {
    const name = String(i.name);
    const value = name in values ? values[name] : i.default;
    delete values[name];
    return { ...i, value };
  });
  for (const [name, value] of Object.entries(values)) inputs.push({ name, type: 'String', value });
  const deploy = (name: string, description: string, value: unknown) => inputs.push({ name, description, type: 'String', value });
  deploy('deploy_server_id', 'ID of the server being deployed to', server);
  deploy('deploy_action', 'Name of the current action being deployed', action);
  deploy('deploy_stack_id', 'ID of the stack this deployment belongs to', `${h.stack.name}/${h.stack.id}`);
  deploy('deploy_resource_name', 'Name of this deployment resource in the stack', h.name);
  deploy('deploy_signal_transport', 'How the server should signal to heat with the deployment output values.', String(props.signal_transport));
  const made = await software(h).createConfig(h.ctx, {
    name: props.name ? String(props.name) : h.physicalName,
    group: String(source.group ?? 'Heat::Ungrouped'),
    config: derive(String(source.config ?? ''), inputs, props),
    options: (source.options as Body | null) ?? {},
    outputs: (source.outputs as unknown[] | undefined) ?? [],
    inputs,
  });
  return String(made.id);
}

/** Deploys (or redeploys) for `action`: waited for when the action is one of the resource's. */
async function deploy(h: ResourceHandle, props: Record<string, unknown>, action: string, derive: Derive, id?: string): Promise<string> {
  const server = await serverId(h, String(props.server));
  const runs = (props.actions as string[]).includes(action);
  const previousConfig = h.data.derivedConfigId as string | undefined;
  const configId = await derivedConfig(h, props, server, action, derive);
  h.data.derivedConfigId = configId;
  h.data.actions = props.actions;
  h.data.wait = runs && props.signal_transport !== 'NO_SIGNAL';
  const body = {
    config_id: configId,
    action,
    status: runs ? 'IN_PROGRESS' : 'COMPLETE',
    status_reason: runs ? '' : `Not deployed: ${action} is not one of the deployment's actions`,
    input_values: (props.input_values as Body | undefined) ?? {},
  } as const;
  const actor = async () => h.ctx;
  const made = id ? await software(h).updateDeployment(h.ctx, id, body, actor) : await software(h).createDeployment(h.ctx, { ...body, server_id: server }, actor);
  if (previousConfig && previousConfig !== configId) await gone(() => software(h).deleteConfig(h.ctx, previousConfig));
  return String(made.id);
}

async function settled(h: ResourceHandle, id: string): Promise<boolean> {
  if (!h.data.wait) return true;
  const d = await software(h).showDeployment(h.ctx, id);
  if (d.status === 'IN_PROGRESS') return false;
  if (d.status === 'FAILED') throw new Error(`Deployment to server failed: ${String(d.status_reason)}`);
  return true;
}

async function removeRows(h: ResourceHandle, id: string): Promise<void> {
  await gone(() => software(h).deleteDeployment(h.ctx, id));
  if (h.data.derivedConfigId) await gone(() => software(h).deleteConfig(h.ctx, String(h.data.derivedConfigId)));
}

/** A deployment resource type: SoftwareDeployment, or StructuredDeployment with its own derivation. */
export function deploymentType(type: string, description: string, derive: Derive, extra: ResourceType['properties'] = {}): ResourceType {
  return {
  type,
  description,
  properties: {
    ...extra,
    config: { type: 'string', update_allowed: true, description: 'ID of software configuration resource to execute when applying to the server.' },
    server: { type: 'string', required: true, description: 'ID of resource to apply configuration to.' },
    input_values: { type: 'map', default: {}, update_allowed: true, description: 'Input values to apply to the software configuration on this server.' },
    actions: {
      type: 'list',
      default: ['CREATE', 'UPDATE'],
      update_allowed: true,
      items: { type: 'string', constraints: [{ allowed_values: ACTIONS }] },
      description: 'Which lifecycle actions of the deployment resource will result in this deployment being triggered.',
    },
    signal_transport: { type: 'string', default: 'CFN_SIGNAL', constraints: [{ allowed_values: TRANSPORTS }], description: 'How the server signals its outputs: hafen runs script configs itself; NO_SIGNAL does not wait for them.' },
    name: { type: 'string', description: 'Name of the derived config associated with this deployment.' },
  },
  attributes: {
    deploy_stdout: { description: 'Captured stdout from the configuration execution.', type: 'string' },
    deploy_stderr: { description: 'Captured stderr from the configuration execution.', type: 'string' },
    deploy_status_code: { description: 'Returned status code from the configuration execution.', type: 'integer' },
  },
  dynamicAttributes: true,
  create: (h, props) => deploy(h, props, 'CREATE', derive),
  checkCreateComplete: settled,
  async update(h, id, props) {
    await deploy(h, props, 'UPDATE', derive, id);
  },
  checkUpdateComplete: settled,
  async delete(h, id) {
    const actions = (h.data.actions as string[] | undefined) ?? [];
    if (!actions.includes('DELETE') || h.data.deleting) return removeRows(h, id);
    try {
      await software(h).updateDeployment(h.ctx, id, { action: 'DELETE', status: 'IN_PROGRESS', status_reason: '' }, async () => h.ctx);
      h.data.deleting = true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await removeRows(h, id);
    }
  },
  async checkDeleteComplete(h, id) {
    if (!h.data.deleting) return true;
    try {
      if ((await software(h).showDeployment(h.ctx, id)).status === 'IN_PROGRESS') return false;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await removeRows(h, id);
    return true;
  },
  async signal(h, id, details) {
    if (!id) return;
    const values = details && typeof details === 'object' && !Array.isArray(details) ? (details as Body) : {};
    await software(h).updateDeployment(h.ctx, id, { output_values: values });
  },
  async attribute(h, id, name) {
    if (!id) return null;
    const d = await software(h).showDeployment(h.ctx, id);
    if (name === 'show') return d;
    return ((d.output_values as Body | null) ?? {})[name] ?? null;
  },
  };
}

export const heatSoftwareDeployment = deploymentType('OS::Heat::SoftwareDeployment', 'This resource associates a server with some configuration.', (config) => config);
