// OS::Zun::Container: a container of the container service (Zun), made through that service's
// client as the stack's caller, so Zun's policy, quotas, image look-up, networks and compute's
// isolation apply as they do to `openstack appcontainer run`. Heat's properties and attributes;
// creation waits for Running (or Stopped, unless interactive), delete stops and removes it.
import { ConflictError, isNotFound } from '../../../platform/errors.ts';
import type { ContainersClient } from '../../../containers/client.ts';
import { TemplateError } from '../../template/model.ts';
import { isDeferred, type ResourceHandle, type ResourceType } from '../types.ts';
import { subnetsOfNics } from '../implicit.ts';

/** Heat's Zun client plugin creates at 1.12 (command a string) and deletes with stop. */
const CREATE_MICROVERSION = 12;
const RESTART = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/;

interface NetworkProps {
  network?: string;
  fixed_ip?: string;
  port?: string;
}

class ResourceInError extends Error {
  override readonly name = 'ResourceInErrorError';
}

class ResourceUnknownStatus extends Error {
  override readonly name = 'ResourceUnknownStatus';
}

function zun(h: ResourceHandle): ContainersClient {
  if (!h.clients.containers) throw new Error('The container service (Zun) is not available.');
  return h.clients.containers;
}

/** Heat's _parse_restart_policy: `no`, `always`, `unless-stopped`, `on-failure[:max-retry]`. */
function restartPolicy(text: string): { Name: string; MaximumRetryCount: string } | null {
  const m = RESTART.exec(text);
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) return null;
  return { Name: m[1]!, MaximumRetryCount: m[2] ?? '0' };
}

/** The name of a container whose template gives none: the resource's physical name, as Zun spells names. */
const generatedName = (h: ResourceHandle) => h.physicalName.replace(/[^a-zA-Z0-9_.-]/g, '-').replace(/^[^a-zA-Z0-9]+/, '');

const strings = (m: unknown) => Object.fromEntries(Object.entries((m as Record<string, unknown> | undefined) ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));

/** Zun's `nets` from Heat's `networks`. */
function nets(networks: NetworkProps[]): Record<string, string>[] {
  return networks.map((n): Record<string, string> => (n.port ? { port: n.port } : { network: n.network!, ...(n.fixed_ip ? { 'v4-fixed-ip': n.fixed_ip } : {}) }));
}

const sameNic = (a: NetworkProps, b: NetworkProps) => (a.port ?? null) === (b.port ?? null) && (a.network ?? null) === (b.network ?? null) && (a.fixed_ip ?? null) === (b.fixed_ip ?? null);

export const zunContainer: ResourceType = {
  type: 'OS::Zun::Container',
  description: 'A container of the container service (Zun), run as `openstack appcontainer run` would run it.',
  properties: {
    name: { type: 'string', update_allowed: true, description: 'Name of the container.' },
    image: { type: 'string', required: true, description: 'Name or ID of the image.' },
    command: { type: 'string', description: 'Send command to the container.' },
    cpu: { type: 'number', update_allowed: true, description: 'The number of virtual cpus.' },
    memory: { type: 'integer', update_allowed: true, description: 'The container memory size in MiB.' },
    environment: { type: 'map', description: 'The environment variables.' },
    workdir: { type: 'string', description: 'The working directory for commands to run in.' },
    labels: { type: 'map', description: 'Adds a map of labels to a container. May be used multiple times.' },
    image_pull_policy: {
      type: 'string',
      description: 'The policy which determines if the image should be pulled prior to starting the container.',
      constraints: [{ allowed_values: ['ifnotpresent', 'always', 'never'] }],
    },
    restart_policy: { type: 'string', description: 'Restart policy to apply when a container exits. Possible values are "no", "on-failure[:max-retry]", "always", and "unless-stopped".' },
    interactive: { type: 'boolean', description: 'Keep STDIN open even if not attached.' },
    image_driver: { type: 'string', description: 'The image driver to use to pull container image.', constraints: [{ allowed_values: ['docker', 'glance'] }] },
    hints: { type: 'map', description: 'Arbitrary key-value pairs for scheduler to select host.' },
    hostname: { type: 'string', description: 'The hostname of the container.' },
    security_groups: { type: 'list', default: [], description: 'List of security group names or IDs.' },
    mounts: {
      type: 'list',
      description: 'A list of volumes mounted inside the container.',
      schema: {
        volume_id: { type: 'string', description: 'The ID or name of the cinder volume mount to the container.' },
        volume_size: { type: 'integer', description: 'The size of the cinder volume to create.' },
        mount_path: { type: 'string', required: true, description: 'The filesystem path inside the container.' },
      },
    },
    networks: {
      type: 'list',
      update_allowed: true,
      description: 'An ordered list of nics to be added to this server, with information about connected networks, fixed ips, port etc.',
      schema: {
        network: { type: 'string', description: 'Name or ID of network to create a port on.', constraints: [{ custom_constraint: 'neutron.network' }] },
        fixed_ip: { type: 'string', description: 'Fixed IP address to specify for the port created on the requested network.' },
        port: { type: 'string', description: 'ID of an existing port to associate with this container.', constraints: [{ custom_constraint: 'neutron.port' }] },
      },
    },
  },
  attributes: {
    name: { description: 'Name of the container.', type: 'string' },
    addresses: {
      description: 'A dict of all network addresses with corresponding port_id. Each network will have two keys in dict, they are network name and network id. The port ID may be obtained through the following expression: "{get_attr: [<container>, addresses, <network name_or_id>, 0, port]}".',
      type: 'map',
    },
  },
  implicitDependencies: (d, others) => subnetsOfNics(d.properties.networks, others),
  validate(props, _ctx, at) {
    const policy = props.restart_policy;
    if (typeof policy === 'string' && !isDeferred(policy) && policy !== '' && !restartPolicy(policy)) {
      throw new TemplateError(`${at}.restart_policy: restart_policy "${policy}" is invalid. Valid values are "no", "on-failure[:max-retry]", "always", and "unless-stopped".`);
    }
    for (const [i, m] of ((props.mounts as Record<string, unknown>[] | undefined) ?? []).entries()) {
      if (isDeferred(m)) continue;
      if (m.volume_id === undefined && m.volume_size === undefined) throw new TemplateError(`${at}.mounts[${i}]: One of the properties "volume_id" or "volume_size" should be set for the specified mount.`);
      if (m.volume_id !== undefined && m.volume_size !== undefined) throw new TemplateError(`${at}.mounts[${i}]: Cannot define the following properties at the same time: mounts.volume_id, mounts.volume_size`);
      // Zun mounts Cinder volumes; this cloud runs no block storage service.
      throw new TemplateError(`${at}.mounts[${i}]: volume mounts need the block storage service (Cinder), which this cloud does not run.`);
    }
    for (const [i, n] of ((props.networks as NetworkProps[] | undefined) ?? []).entries()) {
      if (isDeferred(n)) continue;
      if (n.network === undefined && n.port === undefined) throw new TemplateError(`${at}.networks[${i}]: At least one of the following properties must be specified: network, port.`);
      if (n.fixed_ip !== undefined && n.port !== undefined) throw new TemplateError(`${at}.networks[${i}]: Cannot define the following properties at the same time: networks.fixed_ip, networks.port.`);
    }
  },
  async create(h, props) {
    const body: Record<string, unknown> = {
      name: props.name ?? generatedName(h),
      image: props.image,
      ...(props.command !== undefined ? { command: props.command } : {}),
      ...(props.cpu !== undefined ? { cpu: props.cpu } : {}),
      ...(props.memory !== undefined ? { memory: props.memory } : {}),
      ...(props.environment !== undefined ? { environment: strings(props.environment) } : {}),
      ...(props.workdir !== undefined ? { workdir: props.workdir } : {}),
      ...(props.labels !== undefined ? { labels: strings(props.labels) } : {}),
      ...(props.image_pull_policy !== undefined ? { image_pull_policy: props.image_pull_policy } : {}),
      ...(props.restart_policy ? { restart_policy: restartPolicy(String(props.restart_policy)) } : {}),
      ...(props.interactive !== undefined ? { interactive: props.interactive } : {}),
      ...(props.image_driver !== undefined ? { image_driver: props.image_driver } : {}),
      ...(props.hints !== undefined ? { hints: props.hints } : {}),
      ...(props.hostname !== undefined ? { hostname: props.hostname } : {}),
      ...((props.security_groups as string[]).length ? { security_groups: props.security_groups } : {}),
      ...((props.networks as NetworkProps[] | undefined)?.length ? { nets: nets(props.networks as NetworkProps[]) } : {}),
    };
    const created = await zun(h).create(h.ctx, body, { run: true, minor: CREATE_MICROVERSION }, h.requestId);
    await h.setPhysicalId(created.uuid);
    return created.uuid;
  },
  async adopt(h) {
    // A create cut short before its id was recorded made a container of the resource's physical name.
    try {
      return (await zun(h).show(h.ctx, generatedName(h))).uuid;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  },
  async checkCreateComplete(h, id) {
    const c = await zun(h).show(h.ctx, id);
    switch (c.status) {
      case 'Creating':
      case 'Created':
        return false;
      case 'Running':
        return true;
      case 'Stopped':
        if (c.interactive) throw new ResourceInError(`Error in creating container '${h.name}' - interactive mode was enabled but the container has stopped running`);
        return true;
      case 'Error':
        throw new ResourceInError(`Error in creating container '${h.name}' - ${c.status_reason ?? 'unknown'}`);
      default:
        throw new ResourceUnknownStatus(`Unknown status Container '${h.name}' - ${c.status_reason ?? c.status}`);
    }
  },
  async update(h, id, props, old, changed) {
    const patch: Record<string, unknown> = {};
    for (const k of ['name', 'cpu', 'memory'] as const) if (changed.includes(k) && props[k] !== undefined && props[k] !== null) patch[k] = props[k];
    if (changed.includes('name') && (props.name === undefined || props.name === null)) patch.name = generatedName(h);
    if (Object.keys(patch).length) await zun(h).update(h.ctx, id, patch, h.requestId);
    if (!changed.includes('networks')) return;
    const before = (old.networks as NetworkProps[] | undefined) ?? [];
    const after = (props.networks as NetworkProps[] | undefined) ?? [];
    const removed = before.filter((b) => !after.some((a) => sameNic(a, b)));
    const added = after.filter((a) => !before.some((b) => sameNic(a, b)));
    for (const n of removed) {
      try {
        await zun(h).detachNetwork(h.ctx, id, n.port ? { port: n.port } : { network: n.network! }, h.requestId);
      } catch (err) {
        // Already detached (a repeated update): nothing to do.
        if (!(err instanceof Error && err.name === 'InvalidValue' && /is not attached/.test(err.message))) throw err;
      }
    }
    for (const n of added) await zun(h).attachNetwork(h.ctx, id, n.port ? { port: n.port } : { network: n.network!, ...(n.fixed_ip ? { fixed_ip: n.fixed_ip } : {}) }, h.requestId);
  },
  async delete(h, id) {
    try {
      await zun(h).delete(h.ctx, id, { stop: true }, h.requestId);
    } catch (err) {
      if (isNotFound(err)) return;
      // Still being made or being deleted: checkDeleteComplete asks again.
      if (!(err instanceof ConflictError)) throw err;
      h.data.deleteAgain = true;
    }
  },
  async checkDeleteComplete(h, id) {
    let c;
    try {
      c = await zun(h).show(h.ctx, id);
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
    if (c.status === 'Deleting') return false;
    if (h.data.deleteAgain) {
      h.data.deleteAgain = false;
      await zunContainer.delete!(h, id);
      return false;
    }
    if (typeof c.status_reason === 'string' && c.status_reason.startsWith('Delete failed')) throw new ResourceInError(`Container '${h.name}' delete failed: ${c.status_reason}`);
    return false;
  },
  async check(h, id) {
    const c = await zun(h).show(h.ctx, id);
    if (c.status === 'Error' || c.status === 'Unknown') throw new ResourceInError(`Container '${h.name}' is ${c.status}: ${c.status_reason ?? ''}`);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    let c;
    try {
      c = await zun(h).show(h.ctx, id);
    } catch (err) {
      if (isNotFound(err)) return '';
      throw err;
    }
    if (name === 'show') return c;
    if (name === 'name') return c.name;
    if (name === 'addresses') {
      // Heat's _extend_addresses: each network's entries also under its name.
      const byId = (c.addresses as Record<string, unknown[]> | undefined) ?? {};
      const out: Record<string, unknown[]> = structuredClone(byId);
      const names = new Map((await h.clients.network.list(h.ctx, 'network')).map((n) => [n.id, typeof n.name === 'string' ? n.name : '']));
      for (const [netId, list] of Object.entries(byId)) {
        const netName = names.get(netId);
        if (!netName) continue;
        out[netName] = [...(out[netName] ?? []), ...structuredClone(list)];
      }
      return out;
    }
    return null;
  },
};
