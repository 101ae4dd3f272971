// Routers: an external gateway (a network:router_gateway port on the external network, made and removed
// with it), interfaces as network:router_interface ports holding their subnets' gateway addresses (no two
// overlapping subnets), extra routes. Router ports are linked in network_router_ports, not by device fields.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { bit, NetworkCore, newMac, now, toBool, type WriteOptions } from './core.ts';
import { InvalidInput, NeutronBadRequest, NeutronConflict, NeutronNotFound } from './errors.ts';
import { contains, ipToInt, overlaps, parseCidr } from './ipam.ts';
import { allocateFixedIps, announceRemoved, removePort } from './ports.ts';
import type { NetworkStore, PortRow, RouterRow, SubnetRow } from './store/index.ts';

export interface GatewayInfo {
  network_id?: string;
  enable_snat?: unknown;
  external_fixed_ips?: { subnet_id?: string; ip_address?: string }[];
}

export interface RouterBody {
  name?: string;
  description?: string;
  admin_state_up?: unknown;
  external_gateway_info?: GatewayInfo | null;
  routes?: { destination: string; nexthop: string }[] | null;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

export interface InterfaceBody {
  subnet_id?: string;
  port_id?: string;
}

/** A port of the router's, made inside the router's transaction (no tenant rules: the service's own). */
async function routerPort(core: NetworkCore, tx: NetworkStore, routerId: string, project: string, networkId: string, owner: 'network:router_interface' | 'network:router_gateway', fixed: { subnet_id?: string; ip_address?: string }[] | undefined): Promise<PortRow> {
  const net = (await tx.get('network', networkId))!;
  const t = now();
  const port: PortRow = { id: randomUUID(), project_id: project, name: '', description: '', revision_number: 0, created_at: t, updated_at: t, seq: tx.nextSeq(), network_id: networkId, admin_state_up: 1, mac_address: newMac(), device_id: routerId, device_owner: owner, status: 'ACTIVE', port_security_enabled: 0, host_id: '', allowed_address_pairs: '[]' };
  await tx.insert('port', port);
  await allocateFixedIps(core, tx, net, port.id, fixed, owner === 'network:router_interface');
  await tx.addRouterPort({ router_id: routerId, port_id: port.id, port_type: owner });
  return port;
}

/** Checks the gateway request and makes the gateway port; returns the router's gateway columns. */
async function setGateway(core: NetworkCore, ctx: RequestContext, tx: NetworkStore, router: RouterRow, info: GatewayInfo | null | undefined): Promise<Pick<RouterRow, 'gw_network_id' | 'gw_port_id' | 'enable_snat'>> {
  if (router.gw_port_id) {
    const old = await tx.get('port', router.gw_port_id);
    if (old) await removePort(core, tx, old);
  }
  if (!info || Object.keys(info).length === 0) return { gw_network_id: null, gw_port_id: null, enable_snat: 1 };
  if (typeof info.network_id !== 'string') throw new InvalidInput('external_gateway_info needs a network_id.');
  const net = await core.find(ctx, 'network', info.network_id);
  if (!net.external) throw new NeutronBadRequest('BadRequest', `Bad router request: Network ${net.id} is not an external network.`);
  const subnets = await tx.subnetsOfNetworks([net.id]);
  for (const w of info.external_fixed_ips ?? []) {
    if (w.subnet_id && !subnets.some((s) => s.id === w.subnet_id)) throw new NeutronBadRequest('BadRequest', `Bad router request: subnet ${w.subnet_id} is not on network ${net.id}.`);
  }
  const port = await routerPort(core, tx, router.id, '', net.id, 'network:router_gateway', info.external_fixed_ips?.length ? info.external_fixed_ips : undefined);
  return { gw_network_id: net.id, gw_port_id: port.id, enable_snat: bit(info.enable_snat === undefined ? true : toBool(info.enable_snat, 'enable_snat')) };
}

export async function createRouter(core: NetworkCore, ctx: RequestContext, body: RouterBody): Promise<RouterRow> {
  const project = core.ownerFor(ctx, body);
  const t = now();
  const row: RouterRow = { id: randomUUID(), project_id: project, name: body.name ?? '', description: body.description ?? '', revision_number: 0, created_at: t, updated_at: t, seq: 0, admin_state_up: bit(body.admin_state_up === undefined ? true : toBool(body.admin_state_up, 'admin_state_up')), status: 'ACTIVE', gw_network_id: null, gw_port_id: null, enable_snat: 1, routes: '[]' };
  try {
    await core.store.transaction(async (tx) => {
      await core.checkQuota(tx, 'router', project);
      row.seq = tx.nextSeq();
      await tx.insert('router', row);
      if (body.external_gateway_info) {
        const gw = await setGateway(core, ctx, tx, row, body.external_gateway_info);
        await tx.update('router', row.id, 0, gw, t);
        Object.assign(row, gw, { revision_number: 1 });
      }
      if (body.tags?.length) await tx.setTags('router', row.id, [...new Set(body.tags)]);
    });
  } catch (err) {
    core.ipam.forget();
    throw err;
  }
  return row;
}

async function interfaceSubnets(tx: NetworkStore, routerId: string): Promise<SubnetRow[]> {
  const ports = (await tx.routerPorts([routerId], 'network:router_interface')).map((p) => p.port_id);
  const fixed = await tx.fixedIpsOf(ports);
  const ids = [...fixed.values()].flat().map((a) => a.subnet_id);
  return tx.getMany('subnet', ids);
}

function checkRoutes(routes: { destination: string; nexthop: string }[], connected: SubnetRow[]): string {
  const out = routes.map((r) => {
    const dest = parseCidr(String(r?.destination));
    const hop = ipToInt(String(r?.nexthop));
    if (!dest || hop === undefined) throw new InvalidInput(`Invalid format for routes: ${JSON.stringify(routes)}, routes must be a list of {destination, nexthop}.`);
    if (!connected.some((s) => contains(parseCidr(s.cidr)!, hop))) throw new NeutronBadRequest('InvalidRoutes', `Invalid format for routes: ${JSON.stringify(routes)}, the nexthop is not connected with router.`);
    return { destination: dest.text, nexthop: r.nexthop };
  });
  return JSON.stringify(out);
}

export async function updateRouter(core: NetworkCore, ctx: RequestContext, id: string, body: RouterBody, options: WriteOptions = {}): Promise<RouterRow> {
  const row = await core.findOwned(ctx, 'router', id);
  const changes: Partial<RouterRow> = {};
  if (body.name !== undefined) changes.name = body.name;
  if (body.description !== undefined) changes.description = body.description;
  if (body.admin_state_up !== undefined) changes.admin_state_up = bit(toBool(body.admin_state_up, 'admin_state_up'));
  try {
    return await core.store.transaction(async (tx) => {
      if (body.routes !== undefined) changes.routes = body.routes === null ? '[]' : checkRoutes(body.routes, await interfaceSubnets(tx, id));
      if (body.external_gateway_info !== undefined) {
        const info = body.external_gateway_info;
        const empty = !info || Object.keys(info).length === 0;
        if (empty || info.network_id !== row.gw_network_id) {
          if ((await tx.floatingIpsWhere('router_id', id, true)).length) {
            throw new NeutronConflict('RouterExternalGatewayInUseByFloatingIp', `Gateway cannot be updated for router ${id}, since a gateway to external network ${row.gw_network_id} is required by one or more floating IPs.`);
          }
        }
        if (!empty && info.network_id === row.gw_network_id && !info.external_fixed_ips) {
          // Only SNAT (or nothing) changes: the gateway port stays.
          if (info.enable_snat !== undefined) changes.enable_snat = bit(toBool(info.enable_snat, 'enable_snat'));
        } else Object.assign(changes, await setGateway(core, ctx, tx, row, info));
      }
      return core.save(tx, 'router', row, changes, options);
    });
  } catch (err) {
    core.ipam.forget();
    throw err;
  }
}

export async function deleteRouter(core: NetworkCore, ctx: RequestContext, id: string, options: WriteOptions = {}): Promise<void> {
  const row = await core.findOwned(ctx, 'router', id);
  const removed: { port: PortRow; gone: Awaited<ReturnType<typeof removePort>> }[] = [];
  await core.store.transaction(async (tx) => {
    if ((await tx.routerPorts([id], 'network:router_interface')).length) throw new NeutronConflict('RouterInUse', `Router ${id} still has ports`);
    if ((await tx.floatingIpsWhere('router_id', id)).length) throw new NeutronConflict('RouterInUse', `Router ${id} still has floating IPs associated.`);
    await core.save(tx, 'router', row, {}, options);
    if (row.gw_port_id) {
      const port = await tx.get('port', row.gw_port_id);
      if (port) removed.push({ port, gone: await removePort(core, tx, port) });
    }
    await tx.remove('router', id);
  });
  for (const r of removed) announceRemoved(core, r.port, r.gone);
}

function interfaceInfo(router: RouterRow, port: PortRow, subnetIds: string[]): Record<string, unknown> {
  return { id: router.id, tenant_id: router.project_id, project_id: router.project_id, port_id: port.id, network_id: port.network_id, subnet_id: subnetIds[0], subnet_ids: subnetIds };
}

export async function addRouterInterface(core: NetworkCore, ctx: RequestContext, id: string, body: InterfaceBody): Promise<Record<string, unknown>> {
  const router = await core.findOwned(ctx, 'router', id);
  if (body.subnet_id && body.port_id) throw new NeutronBadRequest('BadRequest', 'Bad router request: Cannot specify both subnet-id and port-id.');
  if (!body.subnet_id && !body.port_id) throw new NeutronBadRequest('BadRequest', 'Bad router request: Either subnet_id or port_id must be specified.');
  const subnet = body.subnet_id ? await core.find(ctx, 'subnet', body.subnet_id) : undefined;
  const given = body.port_id ? await core.findOwned(ctx, 'port', body.port_id) : undefined;
  try {
    const result = await core.store.transaction(async (tx) => {
      const existing = await interfaceSubnets(tx, id);
      let port: PortRow;
      let subnets: SubnetRow[];
      if (subnet) {
        if (!subnet.gateway_ip) throw new NeutronBadRequest('BadRequest', `Bad router request: Subnet ${subnet.id} does not have a gateway IP.`);
        subnets = [subnet];
      } else {
        const p = given!;
        if (p.device_id || (await tx.bindingsOfPorts([p.id])).has(p.id)) throw new NeutronConflict('PortInUse', `Unable to complete operation on port ${p.id} for network ${p.network_id}. Port already has an attached device ${p.device_id}.`);
        const fixed = (await tx.fixedIpsOf([p.id])).get(p.id) ?? [];
        if (!fixed.length) throw new NeutronBadRequest('BadRequest', `Bad router request: Router port must have at least one fixed IP.`);
        subnets = await tx.getMany('subnet', fixed.map((f) => f.subnet_id));
      }
      for (const s of subnets) {
        if (existing.some((e) => e.id === s.id)) throw new NeutronBadRequest('BadRequest', `Bad router request: Router already has a port on subnet ${s.id}.`);
        const clash = existing.find((e) => overlaps(parseCidr(e.cidr)!, parseCidr(s.cidr)!));
        if (clash) throw new NeutronBadRequest('BadRequest', `Bad router request: Cidr ${s.cidr} of subnet ${s.id} overlaps with cidr ${clash.cidr} of subnet ${clash.id}.`);
      }
      if (subnet) {
        if ((await tx.addressesIn(subnet.id)).includes(subnet.gateway_ip!)) throw new NeutronConflict('IpAddressInUse', `Unable to complete operation for network ${subnet.network_id}. The IP address ${subnet.gateway_ip} is in use.`);
        await core.checkQuota(tx, 'port', router.project_id);
        port = await routerPortOnGateway(core, tx, router, subnet);
      } else {
        port = await core.save(tx, 'port', given!, { device_id: id, device_owner: 'network:router_interface', status: 'ACTIVE' });
        await tx.addRouterPort({ router_id: id, port_id: port.id, port_type: 'network:router_interface' });
      }
      await core.save(tx, 'router', router, {});
      return interfaceInfo(router, port, subnets.map((s) => s.id));
    });
    return result;
  } catch (err) {
    core.ipam.forget();
    throw err;
  }
}

/** The router's interface on a subnet holds the subnet's gateway address. */
async function routerPortOnGateway(core: NetworkCore, tx: NetworkStore, router: RouterRow, subnet: SubnetRow): Promise<PortRow> {
  return routerPort(core, tx, router.id, router.project_id, subnet.network_id, 'network:router_interface', [{ subnet_id: subnet.id, ip_address: subnet.gateway_ip! }]);
}

export async function removeRouterInterface(core: NetworkCore, ctx: RequestContext, id: string, body: InterfaceBody): Promise<Record<string, unknown>> {
  const router = await core.findOwned(ctx, 'router', id);
  const links = await core.store.routerPorts([id], 'network:router_interface');
  const fixed = await core.store.fixedIpsOf(links.map((l) => l.port_id));
  const link = links.find((l) => (body.port_id ? l.port_id === body.port_id : (fixed.get(l.port_id) ?? []).some((f) => f.subnet_id === body.subnet_id)));
  if (!link) {
    if (body.port_id) throw new NeutronNotFound('RouterInterface', `for router ${id} on port ${body.port_id}`);
    if (!body.subnet_id) throw new NeutronBadRequest('BadRequest', 'Bad router request: Either subnet_id or port_id must be specified.');
    throw new NeutronNotFound('RouterInterface', `for router ${id} on subnet ${body.subnet_id}`);
  }
  const port = (await core.store.get('port', link.port_id))!;
  const subnetIds = (fixed.get(port.id) ?? []).map((f) => f.subnet_id);
  const gone = await core.store.transaction(async (tx) => {
    for (const f of await tx.floatingIpsWhere('router_id', id, true)) {
      const fp = f.port_id ? await tx.get('port', f.port_id) : undefined;
      if (fp && fp.network_id === port.network_id) {
        throw new NeutronConflict('RouterInterfaceInUseByFloatingIP', `Router interface for subnet ${subnetIds[0]} on router ${id} cannot be deleted, as it is required by one or more floating IPs.`);
      }
    }
    await core.save(tx, 'router', router, {});
    return removePort(core, tx, port);
  });
  announceRemoved(core, port, gone);
  return interfaceInfo(router, port, subnetIds);
}
