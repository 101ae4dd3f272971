// Compute's side of ports: binding ports to a server (made for it on a network, or given), unbinding,
// the bindings as the agent needs them, and the addresses Nova shows. Which ports a server has is what
// these bindings say, never a port's device fields; each binding's port is of the binding's project.
import { requireProject, type RequestContext } from '../platform/auth/context.ts';
import type { PortBinding } from '../agent/net/contract.ts';
import type { BindOptions, NicRequest, NovaAddress } from './client.ts';
import { NetworkCore } from './core.ts';
import { NeutronBadRequest, NeutronConflict, NeutronNotFound } from './errors.ts';
import { announceRemoved, makePort, removePort, type MadePort } from './ports.ts';
import { defaultSecurityGroup } from './security-groups.ts';
import type { NetworkRow, PortRow, ServerAddressRow, SubnetRow } from './store/index.ts';

/** Engine network names carry no tenant data: a prefix and the Neutron network id. */
export function engineNetworkName(networkId: string): string {
  return `hafen-net-${networkId}`;
}

/** Security groups named by id or, as Nova's server create names them, by name in the project. */
async function groupsByRef(core: NetworkCore, ctx: RequestContext, projectId: string, refs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const ref of refs) {
    if (ref === 'default') {
      const group = await defaultSecurityGroup(core, projectId);
      if (!out.includes(group.id)) out.push(group.id);
      continue;
    }
    const byId = await core.store.get('security_group', ref);
    const group = byId && (byId.project_id === projectId || core.may(ctx, 'get:any_project')) ? byId : await core.store.groupNamed(projectId, ref);
    if (!group) throw new NeutronNotFound('SecurityGroup', ref);
    if (!out.includes(group.id)) out.push(group.id);
  }
  return out;
}

/**
 * The one way a port becomes a server's: compute binds it (a port of the server's project, made here or
 * given, not bound or owned by a device already). All or nothing.
 */
export async function bindPorts(core: NetworkCore, ctx: RequestContext, serverId: string, hostId: string, nics: NicRequest[], options: BindOptions = {}): Promise<PortBinding[]> {
  const project = options.projectId ?? requireProject(ctx);
  const refs = [...(options.securityGroupIds ?? []), ...(options.securityGroups ?? [])];
  // The project's default group alone (Nova's default) is what a port made without groups gets: read with the network.
  const groups = refs.length && !(refs.length === 1 && refs[0] === 'default') ? await groupsByRef(core, ctx, project, refs) : undefined;
  // compute:nova, or compute:zun for Zun's containers: always a compute owner, only compute binds.
  const owner = options.deviceOwner?.startsWith('compute:') ? options.deviceOwner : 'compute:nova';
  const made: PortRow[] = [];
  const claimed: string[] = [];
  try {
    // Each NIC's binding, in order: a made port's from what its creation read and decided, a given one's read.
    const bindings: (PortBinding | PortRow)[] = [];
    for (const nic of nics) {
      if ('portId' in nic) {
        const port = await core.find(ctx, 'port', nic.portId);
        // Nova's rule: the port must be the instance's project's.
        if (port.project_id !== project) throw new NeutronNotFound('Port', nic.portId);
        const bound = (await core.store.bindingsOfPorts([port.id])).get(port.id);
        const device = bound?.server_id ?? port.device_id;
        if (device && device !== serverId) throw new NeutronConflict('PortInUse', `Unable to complete operation on port ${port.id} for network ${port.network_id}. Port already has an attached device ${device}.`);
        if (!bound) {
          await core.store.transaction(async (tx) => {
            if (!(await tx.bind({ port_id: port.id, server_id: serverId, project_id: project, host_id: hostId, created_for_server: 0 }))) {
              throw new NeutronConflict('PortInUse', `Unable to complete operation on port ${port.id} for network ${port.network_id}. Port already has an attached device.`);
            }
            bindings.push(await core.save(tx, 'port', port, { device_id: serverId, device_owner: owner, host_id: hostId, status: 'ACTIVE' }));
          });
          claimed.push(port.id);
        } else bindings.push(port);
      } else {
        const port = await makePort(core, ctx, { network_id: nic.networkId, ...(nic.fixedIp ? { fixed_ips: [{ ip_address: nic.fixedIp }] } : {}), ...(groups ? { security_groups: groups } : {}) }, project, { device_id: serverId, device_owner: owner, host_id: hostId, status: 'ACTIVE' }, async (tx, p) => {
          await tx.bind({ port_id: p.id, server_id: serverId, project_id: project, host_id: hostId, created_for_server: 1 });
        });
        made.push(port.row);
        bindings.push(bindingOfMade(port));
      }
    }
    const given = bindings.filter((b): b is PortRow => !('portId' in b));
    const read = new Map((await bindingsOfPorts(core, given)).map((b) => [b.portId, b]));
    return bindings.map((b) => ('portId' in b ? b : read.get(b.id)!));
  } catch (err) {
    for (const p of made) await deleteServerPort(core, p).catch(() => undefined);
    for (const id of claimed) await releasePort(core, id).catch(() => undefined);
    throw err;
  }
}

async function releasePort(core: NetworkCore, id: string): Promise<void> {
  await core.store.transaction(async (tx) => {
    await tx.unbind(id);
    const port = await tx.get('port', id);
    if (port) await core.save(tx, 'port', port, { device_id: '', device_owner: '', host_id: '', status: 'DOWN' });
  });
  core.events.emit('firewall', [id]);
}

async function deleteServerPort(core: NetworkCore, port: PortRow): Promise<void> {
  const gone = await core.store.transaction((tx) => removePort(core, tx, port));
  announceRemoved(core, port, gone);
}

/** Deletes the ports made for the server (or one of them) and releases the ones it was given. */
export async function unbindPorts(core: NetworkCore, serverId: string, onlyPort?: string): Promise<void> {
  const bound = await core.store.boundPorts([serverId]);
  for (const { binding, port } of bound) {
    if (onlyPort && port.id !== onlyPort) continue;
    if (binding.created_for_server) await deleteServerPort(core, port);
    else await releasePort(core, port.id);
  }
}

/** What the agent needs to plug these ports in: engine network, addresses, MAC, groups. */
export async function bindingsOfPorts(core: NetworkCore, ports: PortRow[]): Promise<PortBinding[]> {
  if (!ports.length) return [];
  const store = core.store;
  const netIds = [...new Set(ports.map((p) => p.network_id))];
  const ids = ports.map((p) => p.id);
  const [nets, subnets, fixed, groups, routed] = await Promise.all([store.getMany('network', netIds), store.subnetsOfNetworks(netIds), store.fixedIpsOf(ids), store.groupsOf(ids), store.hasExternalRoute(netIds)]);
  return ports.map((port) => {
    const net = nets.find((n) => n.id === port.network_id) as NetworkRow;
    const subnet = subnets.find((s) => s.network_id === port.network_id) as SubnetRow | undefined;
    if (!subnet) throw new NeutronBadRequest('BadRequest', `Network ${net.id} has no subnet to address a server from.`);
    return {
      portId: port.id,
      networkId: net.id,
      macAddress: port.mac_address,
      fixedIps: (fixed.get(port.id) ?? []).map((f) => ({ subnetId: f.subnet_id, ipAddress: f.ip_address })),
      engineNetwork: { name: engineNetworkName(net.id), subnet: subnet.cidr, gateway: subnet.gateway_ip ?? '', internal: !routed.has(net.id), mtu: net.mtu },
      portSecurityEnabled: Boolean(port.port_security_enabled),
      securityGroupIds: groups.get(port.id) ?? [],
    };
  });
}

/** A port made for a server: its binding from what its creation read (no second read). */
function bindingOfMade(m: MadePort): PortBinding {
  const subnet = m.subnets[0];
  if (!subnet) throw new NeutronBadRequest('BadRequest', `Network ${m.network.id} has no subnet to address a server from.`);
  return {
    portId: m.row.id,
    networkId: m.network.id,
    macAddress: m.row.mac_address,
    fixedIps: m.fixedIps.map((f) => ({ subnetId: f.subnet_id, ipAddress: f.ip_address })),
    engineNetwork: { name: engineNetworkName(m.network.id), subnet: subnet.cidr, gateway: subnet.gateway_ip ?? '', internal: !m.routed, mtu: m.network.mtu },
    portSecurityEnabled: Boolean(m.row.port_security_enabled),
    securityGroupIds: m.groups,
  };
}

export async function bindingsOf(core: NetworkCore, serverId: string): Promise<PortBinding[]> {
  return bindingsOfPorts(core, (await core.store.boundPorts([serverId])).map((b) => b.port));
}

/** Nova's `addresses` of many servers: network name -> fixed and floating IPv4 addresses, in one read. */
export async function serversAddresses(core: NetworkCore, serverIds: string[]): Promise<Map<string, Record<string, NovaAddress[]>>> {
  const out = new Map<string, Record<string, NovaAddress[]>>();
  for (const id of serverIds) out.set(id, {});
  if (!serverIds.length) return out;
  for (const r of await core.store.serverAddressRows(serverIds)) addAddress(out.get(r.server_id)!, r);
  return out;
}

/** One address row into a server's Nova `addresses`. */
function addAddress(addresses: Record<string, NovaAddress[]>, r: ServerAddressRow): void {
  const list = (addresses[r.network_name || r.network_id] ??= []);
  if (r.ip_address === null) return;
  list.push({ version: 4, addr: r.ip_address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': r.mac_address });
  if (r.floating_ip_address !== null) list.push({ version: 4, addr: r.floating_ip_address, 'OS-EXT-IPS:type': 'floating', 'OS-EXT-IPS-MAC:mac_addr': r.mac_address });
}

/**
 * The server's container runs: its ports' firewalls (and NAT, when it has floating IPs) now. Answers
 * its addresses as serverAddresses would, from the same read.
 */
export async function serverRunning(core: NetworkCore, serverId: string): Promise<Record<string, NovaAddress[]>> {
  const rows = await core.store.startedServerRows(serverId);
  const addresses: Record<string, NovaAddress[]> = {};
  for (const r of rows) addAddress(addresses, r);
  if (!rows.length) return addresses;
  core.events.emit('firewall', [...new Set(rows.map((r) => r.port_id))]);
  if (rows.some((r) => r.nat)) core.events.emit('floatingip');
  return addresses;
}
