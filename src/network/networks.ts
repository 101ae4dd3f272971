// Networks: create (shared and external for admins), update, delete (refused while ports, associated
// floating IPs or router gateways use it; an external network's unassociated floating IPs go with it),
// the project's default network made on first use, and the all-in-one external network.
import { randomInt, randomUUID } from 'node:crypto';
import { requireProject, type RequestContext } from '../platform/auth/context.ts';
import { bit, checkIfMatch, NetworkCore, now, standardAttributes, toBool, toInt, type WriteOptions } from './core.ts';
import { InvalidInput, NeutronConflict } from './errors.ts';
import { intToIp, layoutSubnet, overlaps, parseCidr } from './ipam.ts';
import type { NetworkRow } from './store/index.ts';
import { createSubnet, insertSubnet } from './subnets.ts';

export interface NetworkBody {
  name?: string;
  description?: string;
  admin_state_up?: unknown;
  shared?: unknown;
  'router:external'?: unknown;
  mtu?: unknown;
  port_security_enabled?: unknown;
  is_default?: unknown;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

function mtuOf(v: unknown): number {
  const mtu = toInt(v, 'mtu');
  if (mtu < 68 || mtu > 9000) throw new InvalidInput(`'${String(v)}' is not a valid MTU (68-9000).`);
  return mtu;
}

export async function createNetwork(core: NetworkCore, ctx: RequestContext, body: NetworkBody): Promise<NetworkRow> {
  const project = core.ownerFor(ctx, body);
  const shared = body.shared === undefined ? false : toBool(body.shared, 'shared');
  const external = body['router:external'] === undefined ? false : toBool(body['router:external'], 'router:external');
  if (shared) core.enforce(ctx, 'create_network:shared', 'rule:create_network and rule:create_network:shared');
  if (external) core.enforce(ctx, 'create_network:router:external', 'rule:create_network and rule:create_network:router:external');
  const row: NetworkRow = {
    ...standardAttributes(project, body),
    admin_state_up: bit(body.admin_state_up === undefined ? true : toBool(body.admin_state_up, 'admin_state_up')),
    shared: bit(shared),
    external: bit(external),
    mtu: body.mtu === undefined ? 1500 : mtuOf(body.mtu),
    port_security_enabled: bit(body.port_security_enabled === undefined ? true : toBool(body.port_security_enabled, 'port_security_enabled')),
    is_default: bit(body.is_default === undefined ? false : toBool(body.is_default, 'is_default')),
  };
  await core.store.transaction(async (tx) => {
    await core.checkQuota(tx, 'network', project);
    row.seq = tx.nextSeq();
    await tx.insert('network', row);
    if (body.tags?.length) await tx.setTags('network', row.id, [...new Set(body.tags)]);
  });
  return row;
}

export async function updateNetwork(core: NetworkCore, ctx: RequestContext, id: string, body: NetworkBody, options: WriteOptions = {}): Promise<NetworkRow> {
  const row = await core.findOwned(ctx, 'network', id);
  for (const k of ['shared', 'router:external'] as const) if (body[k] !== undefined) core.enforce(ctx, `update_network:${k}`, `rule:update_network and rule:update_network:${k}`);
  const changes: Partial<NetworkRow> = {};
  if (body.name !== undefined) changes.name = body.name;
  if (body.description !== undefined) changes.description = body.description;
  if (body.admin_state_up !== undefined) changes.admin_state_up = bit(toBool(body.admin_state_up, 'admin_state_up'));
  if (body.shared !== undefined) changes.shared = bit(toBool(body.shared, 'shared'));
  if (body['router:external'] !== undefined) changes.external = bit(toBool(body['router:external'], 'router:external'));
  if (body.port_security_enabled !== undefined) changes.port_security_enabled = bit(toBool(body.port_security_enabled, 'port_security_enabled'));
  if (body.is_default !== undefined) changes.is_default = bit(toBool(body.is_default, 'is_default'));
  if (body.mtu !== undefined) changes.mtu = mtuOf(body.mtu);
  return core.save(core.store, 'network', row, changes, options);
}

export async function deleteNetwork(core: NetworkCore, ctx: RequestContext, id: string, options: WriteOptions = {}): Promise<void> {
  const row = await core.findOwned(ctx, 'network', id);
  checkIfMatch('network', row.revision_number, options);
  const subnets: string[] = [];
  await core.store.transaction(async (tx) => {
    const use = await tx.networkInUse(id);
    if (use === 'ports') throw new NeutronConflict('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`);
    if (use === 'floatingips') throw new NeutronConflict('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more floating IPs still in use on the network.`);
    if (use === 'routers') throw new NeutronConflict('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more routers using it as their gateway.`);
    // As Neutron: an external network takes its floating IPs that are not associated with it.
    for (const f of await tx.floatingIpsWhere('floating_network_id', id, false)) {
      await tx.remove('floatingip', f.id);
      await tx.releaseAddresses(f.id);
    }
    for (const s of await tx.subnetsOfNetworks([id])) {
      await tx.releaseSubnet(s.id);
      await tx.remove('subnet', s.id);
      subnets.push(s.id);
    }
    await tx.remove('network', id);
  });
  for (const s of subnets) core.ipam.forget(s);
}

/** The project's "default" network, made with a free /24 the first time a server asks for none. */
export async function defaultNetworkId(core: NetworkCore, ctx: RequestContext, projectId = requireProject(ctx)): Promise<string> {
  const existing = await core.store.projectNetworkNamed(projectId, 'default');
  if (existing) return existing.id;
  const net = await createNetwork(core, ctx, { name: 'default', ...(projectId !== requireProject(ctx) ? { project_id: projectId } : {}) });
  // A /24 of the range no other subnet uses: engine bridge networks on one engine may not overlap. The
  // search starts at a random /24 so that clouds sharing an engine and a range rarely pick the same.
  const used = (await core.store.allCidrs()).map((c) => parseCidr(c)!);
  const range = parseCidr(core.defaultNetworkRange)!;
  const count = 2 ** (24 - range.prefix);
  const start = randomInt(count);
  for (let n = 0; n < count; n++) {
    const i = (start + n) % count;
    const cidr = parseCidr(`${intToIp(range.network + i * 256)}/24`)!;
    if (!used.some((u) => overlaps(u, cidr))) {
      await createSubnet(core, ctx, { network_id: net.id, name: 'default', cidr: cidr.text, ip_version: 4, ...(projectId !== requireProject(ctx) ? { project_id: projectId } : {}) });
      return net.id;
    }
  }
  throw new NeutronConflict('IpAddressGenerationFailure', 'No free /24 left for a default network.');
}

/** All-in-one: the operator's external network for floating IPs, created once. */
export async function ensureExternalNetwork(core: NetworkCore, adminProjectId: string, name: string, cidr: string): Promise<string> {
  const found = await core.store.externalNetworkNamed(name);
  if (found) return found.id;
  const t = now();
  const net: NetworkRow = { id: randomUUID(), project_id: adminProjectId, name, description: 'Floating IPs on the host loopback', revision_number: 0, created_at: t, updated_at: t, seq: core.store.nextSeq(), admin_state_up: 1, shared: 1, external: 1, mtu: 1500, port_security_enabled: 1, is_default: 1 };
  const layout = layoutSubnet(cidr, undefined, undefined);
  await core.store.transaction(async (tx) => {
    await tx.insert('network', net);
    await insertSubnet(tx, { id: randomUUID(), project_id: adminProjectId, name: `${name}-subnet`, description: '', revision_number: 0, created_at: t, updated_at: t, seq: tx.nextSeq(), network_id: net.id, ip_version: 4, cidr: layout.cidr, gateway_ip: layout.gateway_ip, allocation_pools: JSON.stringify(layout.allocation_pools), dns_nameservers: '[]', host_routes: '[]', enable_dhcp: 0, subnetpool_id: null });
  });
  return net.id;
}
