// OS::Nova::Server: a server (a container) booted from an image (name or id) with a flavor (name or
// id) on the networks the template lists. Creation waits for ACTIVE; name and metadata change in
// place, a new flavor resizes (and confirms), a new image rebuilds; delete waits until it is gone.
//
// Compute binds one port at boot and leaves security groups to the ports, so: networks after the
// first are attached once the server is ACTIVE, and when security_groups (or a subnet) are given
// the resource makes the ports itself with those groups and deletes them after the server.
import { Buffer } from 'node:buffer';
import type { Workload } from '../../../compute/client.ts';
import { isNotFound } from '../../../platform/errors.ts';
import { TemplateError } from '../../template/model.ts';
import { isDeferred, type ResourceHandle, type ResourceType } from '../types.ts';
import { ReplaceRequired } from '../heat/test-resource.ts';
import { awaitStackSubnet, definitions, flavorId, gone, imageId, neutronId } from '../lookup.ts';
import { securityGroupIds } from '../neutron/port.ts';
import { subnetsOfNics } from '../implicit.ts';

interface NetworkProps {
  uuid?: string;
  network?: string;
  fixed_ip?: string;
  port?: string;
  subnet?: string;
  floating_ip?: string;
  allocate_network?: 'none' | 'auto';
  tag?: string;
}

type Nic = { port: string; floatingIp?: string } | { uuid: string; fixed_ip?: string; floatingIp?: string };

/** Heat's ResourceInError; the engine drops one "Error" suffix from error names in its messages. */
class ResourceInError extends Error {
  override readonly name = 'ResourceInErrorError';
}

class ResourceUnknownStatus extends Error {
  override readonly name = 'ResourceUnknownStatus';
}

function faultOf(s: Workload): string {
  const f: { code?: number; message?: string } = s.fault ?? {};
  return `Message: ${f.message ?? 'Unknown'}, Code: ${f.code ?? 'Unknown'}`;
}

function stringMap(m: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries((m as Record<string, unknown> | undefined) ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

async function userData(h: ResourceHandle, props: Record<string, unknown>): Promise<string | undefined> {
  let text = (props.user_data as string | undefined) ?? '';
  if (props.user_data_format === 'SOFTWARE_CONFIG' && text) {
    // The user_data names a software config (the caller's): its config is the user data. Configs kept
    // with their resource before the software configuration API existed are read from the sibling.
    const sibling = (await h.sibling(text))?.data.config as { config?: unknown } | undefined;
    if (typeof sibling?.config === 'string') text = sibling.config;
    else if (h.clients.software) {
      try {
        text = String((await h.clients.software.showConfig(h.ctx, text)).config ?? '');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
  return text ? Buffer.from(text, 'utf8').toString('base64') : undefined;
}

/** Reaches `want` (after an action set task_state); throws when the server went to ERROR or the action failed. */
async function reached(h: ResourceHandle, id: string, want: string, what: string): Promise<boolean> {
  const s = await h.clients.compute.show(h.ctx, id);
  const st = s.status;
  if (st === 'ERROR') throw new ResourceInError(`Went to status ERROR due to "${faultOf(s)}"`);
  if (s.taskState) return false;
  if (st === want) return true;
  throw new ResourceUnknownStatus(`${what} of server ${id} failed - Unknown status ${st} due to "${faultOf(s)}"`);
}

export const novaServer: ResourceType = {
  type: 'OS::Nova::Server',
  description: 'A resource for managing Nova instances.',
  properties: {
    name: { type: 'string', update_allowed: true, description: 'Server name.' },
    image: { type: 'string', update_allowed: true, description: 'The ID or name of the image to boot with.', constraints: [{ custom_constraint: 'glance.image' }] },
    image_update_policy: { type: 'string', default: 'REBUILD', update_allowed: true, description: 'Policy on how to apply an image-id update; either by requesting a server rebuild or by replacing the entire server.', constraints: [{ allowed_values: ['REBUILD', 'REPLACE', 'REBUILD_PRESERVE_EPHEMERAL'] }] },
    flavor: { type: 'string', required: true, update_allowed: true, description: 'The ID or name of the flavor to boot onto.', constraints: [{ custom_constraint: 'nova.flavor' }] },
    flavor_update_policy: { type: 'string', default: 'RESIZE', update_allowed: true, description: 'Policy on how to apply a flavor update; either by requesting a server resize or by replacing the entire server.', constraints: [{ allowed_values: ['RESIZE', 'REPLACE'] }] },
    key_name: { type: 'string', description: 'Name of keypair to inject into the server.', constraints: [{ custom_constraint: 'nova.keypair' }] },
    availability_zone: { type: 'string', description: 'Name of the availability zone for server placement.' },
    security_groups: { type: 'list', default: [], items: { type: 'string' }, description: 'List of security group names or IDs.' },
    networks: {
      type: 'list',
      description: 'An ordered list of nics to be added to this server, with information about connected networks, fixed ips, port etc.',
      schema: {
        uuid: { type: 'string', description: 'Deprecated: use network.', constraints: [{ custom_constraint: 'neutron.network' }] },
        network: { type: 'string', description: 'Name or ID of network to create a port on.', constraints: [{ custom_constraint: 'neutron.network' }] },
        allocate_network: { type: 'string', description: 'The special string values of network, auto: means either a network that is already available to the project will be used, or if one does not exist, will be automatically created for the project; none: means no networking will be allocated for the created server.', constraints: [{ allowed_values: ['none', 'auto'] }] },
        fixed_ip: { type: 'string', description: 'Fixed IP address to specify for the port created on the requested network.' },
        port: { type: 'string', description: 'ID of an existing port to associate with this server.', constraints: [{ custom_constraint: 'neutron.port' }] },
        subnet: { type: 'string', description: 'Subnet in which to allocate the IP address for port.', constraints: [{ custom_constraint: 'neutron.subnet' }] },
        floating_ip: { type: 'string', description: 'ID of the floating IP to associate.' },
        tag: { type: 'string', description: 'Port tag (not used by this cloud).' },
      },
    },
    scheduler_hints: { type: 'map', description: 'Arbitrary key-value pairs specified by the client to help boot a server (group, same_host, different_host).' },
    metadata: { type: 'map', update_allowed: true, description: 'Arbitrary key/value metadata to store for this server.' },
    user_data_format: { type: 'string', default: 'HEAT_CFNTOOLS', description: 'How the user_data should be formatted for the server (hafen passes it as given; SOFTWARE_CONFIG takes the config of an OS::Heat::SoftwareConfig).', constraints: [{ allowed_values: ['HEAT_CFNTOOLS', 'RAW', 'SOFTWARE_CONFIG'] }] },
    software_config_transport: { type: 'string', default: 'POLL_SERVER_CFN', description: 'How the server should receive the metadata required for software configuration (not used by this cloud).', constraints: [{ allowed_values: ['POLL_SERVER_CFN', 'POLL_SERVER_HEAT', 'POLL_TEMP_URL', 'ZAQAR_MESSAGE'] }] },
    user_data: { type: 'string', default: '', description: 'User data script to be executed by cloud-init (delivered on the config drive).' },
    config_drive: { type: 'boolean', description: 'If True, enable config drive on the server (servers here always have one).' },
  },
  attributes: {
    name: { description: 'Name of the server.', type: 'string' },
    addresses: { description: 'A dict of all network addresses with corresponding port_id and subnets.', type: 'map' },
    networks: { description: 'A dict of assigned network addresses of the form: {"public": [ip1, ip2...], "private": [ip3, ip4], "public_uuid": [ip1, ip2...], "private_uuid": [ip3, ip4]}.', type: 'map' },
    first_address: { description: 'Convenience attribute to fetch the first assigned network address, or an empty string if nothing has been assigned at this time.', type: 'string' },
    instance_name: { description: 'AWS compatible instance name.', type: 'string' },
    accessIPv4: { description: 'The manually assigned alternative public IPv4 address of the server.', type: 'string' },
    accessIPv6: { description: 'The manually assigned alternative public IPv6 address of the server.', type: 'string' },
  },
  implicitDependencies: (d, others) => subnetsOfNics(d.properties.networks, others),
  validate(props, _ctx, at) {
    if (props.image === undefined) throw new TemplateError(`${at}: Property image not assigned (servers here boot from images; block devices are not supported)`);
    const nets = Array.isArray(props.networks) ? (props.networks as NetworkProps[]) : [];
    for (const [i, n] of nets.entries()) {
      if (isDeferred(n)) continue;
      const given = ['network', 'uuid', 'port', 'allocate_network'].filter((k) => n[k as keyof NetworkProps] !== undefined);
      if (n.network !== undefined && n.uuid !== undefined) throw new TemplateError(`${at}.networks[${i}]: Cannot define the following properties at the same time: network, uuid`);
      if (given.length === 0 && n.subnet === undefined) throw new TemplateError(`${at}.networks[${i}]: One of the properties "network", "port", "allocate_network" or "subnet" should be set.`);
      if (n.port !== undefined && (n.network !== undefined || n.uuid !== undefined || n.fixed_ip !== undefined || n.subnet !== undefined)) throw new TemplateError(`${at}.networks[${i}]: Properties "network", "fixed_ip" and "subnet" cannot be used with "port".`);
      if (n.allocate_network !== undefined && Object.keys(n).some((k) => k !== 'allocate_network' && n[k as keyof NetworkProps] !== undefined)) throw new TemplateError(`${at}.networks[${i}]: allocate_network cannot be used with other network properties.`);
    }
  },
  async create(h, props) {
    const image = await imageId(h.clients, h.ctx, String(props.image));
    const flavor = await flavorId(h.clients, h.ctx, String(props.flavor));
    const groups = (props.security_groups as string[]) ?? [];
    const groupIds = groups.length ? await securityGroupIds(h.clients, h.ctx, groups) : [];
    const internalPorts: string[] = [];
    h.data.internalPorts = internalPorts;
    const makePort = async (networkId: string, subnet: string | undefined, fixedIp: string | undefined) => {
      const fixed = subnet || fixedIp ? [{ ...(subnet ? { subnet_id: await neutronId(h.clients, h.ctx, 'subnet', subnet) } : {}), ...(fixedIp ? { ip_address: fixedIp } : {}) }] : undefined;
      const port = await h.clients.network.createPort(h.ctx, { network_id: networkId, name: `${h.physicalName}-port-${internalPorts.length}`, ...(fixed ? { fixed_ips: fixed } : {}), ...(groups.length ? { security_groups: groupIds } : {}) });
      internalPorts.push(port.id);
      return port.id;
    };
    try {
      let networks: 'auto' | 'none' | Nic[] = [];
      const raw = definitions(h)[h.name]?.properties.networks;
      for (const [i, n] of ((props.networks as NetworkProps[] | undefined) ?? []).entries()) {
        if (n.allocate_network) {
          networks = n.allocate_network;
          break;
        }
        if (n.port) {
          networks.push({ port: await neutronId(h.clients, h.ctx, 'port', n.port), ...(n.floating_ip ? { floatingIp: n.floating_ip } : {}) });
          continue;
        }
        const ref = n.network ?? n.uuid;
        const networkId = ref ? await neutronId(h.clients, h.ctx, 'network', ref) : ((await h.clients.network.find(h.ctx, 'subnet', await neutronId(h.clients, h.ctx, 'subnet', n.subnet!))).network_id as string);
        if (!n.subnet && Array.isArray(raw)) {
          const item = raw[i] as Record<string, unknown> | undefined;
          await awaitStackSubnet(h, networkId, item?.network ?? item?.uuid);
        }
        if (groups.length || n.subnet) networks.push({ port: await makePort(networkId, n.subnet, n.fixed_ip), ...(n.floating_ip ? { floatingIp: n.floating_ip } : {}) });
        else networks.push({ uuid: networkId, ...(n.fixed_ip ? { fixed_ip: n.fixed_ip } : {}), ...(n.floating_ip ? { floatingIp: n.floating_ip } : {}) });
      }
      // The project's default network, with the template's groups on a port of our own.
      if (Array.isArray(networks) && networks.length === 0 && groups.length) networks.push({ port: await makePort(await h.clients.network.defaultNetworkId(h.ctx), undefined, undefined) });
      const nics = Array.isArray(networks) ? networks : [];
      h.data.pendingNics = nics.slice(1);
      h.data.floatingIps = nics[0]?.floatingIp ? [{ nic: 0, ...nics[0] }] : [];
      const first = nics[0] ? [Object.fromEntries(Object.entries(nics[0]).filter(([k]) => k !== 'floatingIp'))] : undefined;
      const data = await userData(h, props);
      const [row] = await h.clients.compute.boot(
        h.ctx,
        {
          server: {
            name: props.name ?? h.physicalName,
            imageRef: image,
            flavorRef: flavor,
            ...(props.key_name !== undefined ? { key_name: props.key_name } : {}),
            ...(props.metadata !== undefined ? { metadata: stringMap(props.metadata) } : {}),
            ...(data ? { user_data: data } : {}),
            ...(props.availability_zone !== undefined ? { availability_zone: props.availability_zone } : {}),
            ...(typeof networks === 'string' ? { networks } : first ? { networks: first } : {}),
            ...(groups.length ? { security_groups: groups.map((name) => ({ name })) } : {}),
          },
          ...(props.scheduler_hints ? { 'os:scheduler_hints': props.scheduler_hints } : {}),
        },
        h.requestId,
      );
      return row!.id;
    } catch (err) {
      for (const p of internalPorts) await gone(() => h.clients.network.deletePort(h.ctx, p)).catch(() => undefined);
      h.data.internalPorts = [];
      throw err;
    }
  },
  async checkCreateComplete(h, id) {
    const s = await h.clients.compute.show(h.ctx, id);
    const st = s.status;
    if (st === 'ERROR') throw new ResourceInError(`Went to status ERROR due to "${faultOf(s)}"`);
    if (st !== 'ACTIVE' || s.taskState) {
      if (st !== 'BUILD' && st !== 'ACTIVE') throw new ResourceUnknownStatus(`Server is not active - Unknown status ${st} due to "${faultOf(s)}"`);
      return false;
    }
    // Networks after the first, and floating IPs, once the server runs.
    const pending = (h.data.pendingNics as Nic[] | undefined) ?? [];
    while (pending.length) {
      const nic = pending[0]!;
      const att = 'port' in nic ? { port_id: nic.port } : { net_id: nic.uuid, ...(nic.fixed_ip ? { fixed_ips: [{ ip_address: nic.fixed_ip }] } : {}) };
      const binding = await h.clients.compute.attachInterface(h.ctx, id, att, h.requestId);
      if (nic.floatingIp) (h.data.floatingIps as unknown[]).push({ port: binding.portId, floatingIp: nic.floatingIp });
      pending.shift();
    }
    const fips = (h.data.floatingIps as { port?: string; uuid?: string; floatingIp: string }[] | undefined) ?? [];
    h.data.fipDeadline ??= Date.now() + 60_000;
    while (fips.length) {
      const f = fips[0]!;
      let port = f.port;
      if (!port) port = (await h.clients.network.bindingsOf(id)).find((b) => b.networkId === f.uuid)?.portId;
      try {
        if (port) await h.clients.network.updateFloatingIp(h.ctx, f.floatingIp, { port_id: port });
      } catch (err) {
        // The router interface that makes the port reachable may still be on its way.
        if ((err as Error).name === 'ExternalGatewayForFloatingIPNotFound' && Date.now() < Number(h.data.fipDeadline)) return false;
        throw err;
      }
      fips.shift();
    }
    delete h.data.fipDeadline;
    return true;
  },
  async update(h, id, props, old, changed) {
    if (changed.includes('flavor') && props.flavor_update_policy === 'REPLACE') throw new ReplaceRequired();
    if (changed.includes('image') && props.image_update_policy === 'REPLACE') throw new ReplaceRequired();
    if (changed.includes('name')) await h.clients.compute.rename(h.ctx, id, String(props.name ?? h.physicalName));
    if (changed.includes('metadata')) await h.clients.compute.setMetadata(h.ctx, id, stringMap(props.metadata), true);
    if (changed.includes('flavor')) {
      const flavor = await flavorId(h.clients, h.ctx, String(props.flavor));
      const current = await h.clients.compute.show(h.ctx, id);
      if (current.flavorId !== flavor) {
        await h.clients.compute.act(h.ctx, id, { resize: { flavorRef: flavor } }, h.requestId);
        await h.clients.compute.act(h.ctx, id, { confirmResize: null }, h.requestId);
      }
    }
    if (changed.includes('image')) {
      const image = await imageId(h.clients, h.ctx, String(props.image));
      await h.clients.compute.act(h.ctx, id, { rebuild: { imageRef: image } }, h.requestId);
      h.data.rebuilding = true;
    }
    void old;
  },
  async checkUpdateComplete(h, id) {
    if (!h.data.rebuilding) return true;
    const done = await reached(h, id, 'ACTIVE', 'Rebuild');
    if (done) delete h.data.rebuilding;
    return done;
  },
  async suspend(h, id) {
    const s = await h.clients.compute.show(h.ctx, id);
    if (s.status === 'SUSPENDED') return;
    await h.clients.compute.act(h.ctx, id, { suspend: null }, h.requestId);
  },
  async checkSuspendComplete(h, id) {
    return reached(h, id, 'SUSPENDED', 'Suspend');
  },
  async resume(h, id) {
    const s = await h.clients.compute.show(h.ctx, id);
    if (s.status === 'ACTIVE') return;
    await h.clients.compute.act(h.ctx, id, { resume: null }, h.requestId);
  },
  async checkResumeComplete(h, id) {
    return reached(h, id, 'ACTIVE', 'Resume');
  },
  async delete(h, id) {
    await gone(() => h.clients.compute.delete(h.ctx, id, h.requestId));
  },
  async checkDeleteComplete(h, id) {
    try {
      const s = await h.clients.compute.show(h.ctx, id);
      if (s.vmState === 'error' && !s.taskState && s.fault?.message.startsWith('Delete failed')) {
        throw new ResourceInError(`Server ${s.name} delete failed: (${faultOf(s)})`);
      }
      return false;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    for (const p of (h.data.internalPorts as string[] | undefined) ?? []) await gone(() => h.clients.network.deletePort(h.ctx, p));
    h.data.internalPorts = [];
    return true;
  },
  async check(h, id) {
    const s = await h.clients.compute.show(h.ctx, id);
    const st = s.status;
    if (st !== 'ACTIVE') throw new Error(`Server ${s.name} is not ACTIVE: ${st}`);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    const s = await h.clients.compute.show(h.ctx, id);
    const addresses = (await h.clients.compute.addresses(h.ctx, id)) as Record<string, { addr: string; version: number; 'OS-EXT-IPS:type'?: string; 'OS-EXT-IPS-MAC:mac_addr'?: string }[]>;
    switch (name) {
      case 'name':
        return s.name;
      case 'accessIPv4':
      case 'accessIPv6':
        return '';
      case 'instance_name':
        return h.clients.compute.isAdmin(h.ctx) ? `hafen-${s.id}` : null;
      case 'first_address': {
        for (const list of Object.values(addresses)) {
          const fixed = list.find((a) => a['OS-EXT-IPS:type'] !== 'floating') ?? list[0];
          if (fixed) return fixed.addr;
        }
        return '';
      }
      case 'networks': {
        const out: Record<string, string[]> = {};
        const bindings = await h.clients.network.bindingsOf(id);
        for (const [net, list] of Object.entries(addresses)) {
          out[net] = list.map((a) => a.addr);
          const b = bindings.find((x) => list.some((a) => a['OS-EXT-IPS-MAC:mac_addr'] === x.macAddress));
          if (b) out[b.networkId] = out[net];
        }
        return out;
      }
      case 'addresses': {
        const bindings = await h.clients.network.bindingsOf(id);
        return Object.fromEntries(Object.entries(addresses).map(([net, list]) => [net, list.map((a) => {
          const b = bindings.find((x) => x.macAddress === a['OS-EXT-IPS-MAC:mac_addr']);
          return { ...a, port: b?.portId ?? null, subnets: b ? b.fixedIps.map((f) => ({ id: f.subnetId })) : [] };
        })]));
      }
      case 'show':
        return h.clients.compute.novaView(h.ctx, id);
      default:
        return null;
    }
  },
};
