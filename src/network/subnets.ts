// Subnets: IPv4 only, CIDR from the request or allocated from a subnet pool, gateway, allocation pools,
// DNS servers and host routes checked as Neutron checks them; deleted when no port holds an address.
import type { RequestContext } from '../platform/auth/context.ts';
import { ForbiddenError } from '../platform/errors.ts';
import { bit, NetworkCore, parseJson, standardAttributes, toBool, toInt, type WriteOptions } from './core.ts';
import { InvalidInput, NeutronBadRequest, NeutronConflict, NeutronNotFound } from './errors.ts';
import { ipToInt, layoutSubnet, overlaps, parseCidr, type AllocationPool } from './ipam.ts';
import type { NetworkStore, SubnetRow } from './store/index.ts';
import { allocateFromPool, defaultPool } from './subnet-pools.ts';

export interface SubnetBody {
  name?: string;
  description?: string;
  network_id?: string;
  ip_version?: unknown;
  cidr?: string | null;
  gateway_ip?: string | null;
  allocation_pools?: { start: string; end: string }[] | null;
  dns_nameservers?: string[];
  host_routes?: { destination: string; nexthop: string }[];
  enable_dhcp?: unknown;
  subnetpool_id?: string | null;
  prefixlen?: unknown;
  use_default_subnetpool?: unknown;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

export async function insertSubnet(tx: NetworkStore, row: SubnetRow): Promise<void> {
  await tx.insert('subnet', row);
}

function nameservers(dns: unknown): string[] {
  if (!Array.isArray(dns) || dns.some((d) => typeof d !== 'string' || ipToInt(d) === undefined)) throw new InvalidInput(`'${JSON.stringify(dns)}' is not a valid list of nameservers.`);
  if (new Set(dns).size !== dns.length) throw new InvalidInput(`Duplicate nameserver in ${JSON.stringify(dns)}.`);
  return dns as string[];
}

function hostRoutes(routes: unknown): { destination: string; nexthop: string }[] {
  if (!Array.isArray(routes) || routes.some((r: { destination?: unknown; nexthop?: unknown }) => !parseCidr(String(r?.destination)) || ipToInt(String(r?.nexthop)) === undefined)) {
    throw new InvalidInput(`'${JSON.stringify(routes)}' is not a valid list of host routes.`);
  }
  return (routes as { destination: string; nexthop: string }[]).map((r) => ({ destination: parseCidr(r.destination)!.text, nexthop: r.nexthop }));
}

export async function createSubnet(core: NetworkCore, ctx: RequestContext, body: SubnetBody): Promise<SubnetRow> {
  if (typeof body.network_id !== 'string') throw new InvalidInput('network_id is required.');
  const net = await core.find(ctx, 'network', body.network_id);
  const project = core.ownerFor(ctx, body);
  if (net.project_id !== project && !core.may(ctx, 'update:any_project')) throw new ForbiddenError('(rule:create_subnet and rule:create_subnet:network_owner) is disallowed by policy');
  const ipVersion = body.ip_version === undefined ? 4 : toInt(body.ip_version, 'ip_version');
  if (ipVersion === 6 || (typeof body.cidr === 'string' && body.cidr.includes(':'))) throw new InvalidInput('IPv6 subnets are not supported by this cloud (the engines run IPv4 networks only).');
  if (ipVersion !== 4) throw new InvalidInput(`${String(body.ip_version)} is not in [4, 6].`);
  let poolId: string | null = body.subnetpool_id ?? null;
  if (!poolId && body.use_default_subnetpool !== undefined && toBool(body.use_default_subnetpool, 'use_default_subnetpool')) {
    const pool = await defaultPool(core.store);
    if (!pool) throw new NeutronBadRequest('BadRequest', 'Bad subnets request: No default subnetpool found for IPv4.');
    poolId = pool.id;
  }
  if (!poolId && (body.cidr === undefined || body.cidr === null)) throw new NeutronBadRequest('BadRequest', 'Bad subnets request: a cidr must be specified in the absence of a subnet pool.');
  const dns = nameservers(body.dns_nameservers ?? []);
  const routes = hostRoutes(body.host_routes ?? []);
  const row: SubnetRow = {
    ...standardAttributes(project, body),
    network_id: net.id,
    ip_version: 4,
    cidr: '',
    gateway_ip: null,
    allocation_pools: '[]',
    dns_nameservers: JSON.stringify(dns),
    host_routes: JSON.stringify(routes),
    enable_dhcp: bit(body.enable_dhcp === undefined ? true : toBool(body.enable_dhcp, 'enable_dhcp')),
    subnetpool_id: poolId,
  };
  await core.store.transaction(async (tx) => {
    await core.checkQuota(tx, 'subnet', project);
    let cidr = body.cidr ?? undefined;
    if (poolId) {
      const pool = await tx.get('subnetpool', poolId);
      if (!pool || !(await core.visible(ctx, 'subnetpool', pool))) throw new NeutronNotFound('SubnetPool', poolId);
      cidr = await allocateFromPool(tx, pool, cidr, body.prefixlen === undefined ? undefined : toInt(body.prefixlen, 'prefixlen'));
    }
    const layout = layoutSubnet(cidr, body.gateway_ip, body.allocation_pools);
    const mine = parseCidr(layout.cidr)!;
    for (const other of await tx.subnetsOfNetworks([net.id])) {
      if (overlaps(parseCidr(other.cidr)!, mine)) throw new InvalidInput(`Requested subnet with cidr: ${layout.cidr} for network: ${net.id} overlaps with another subnet.`);
    }
    row.cidr = layout.cidr;
    row.gateway_ip = layout.gateway_ip;
    row.allocation_pools = JSON.stringify(layout.allocation_pools);
    row.seq = tx.nextSeq();
    await insertSubnet(tx, row);
    if (body.tags?.length) await tx.setTags('subnet', row.id, [...new Set(body.tags)]);
  });
  return row;
}

export async function updateSubnet(core: NetworkCore, ctx: RequestContext, id: string, body: SubnetBody, options: WriteOptions = {}): Promise<SubnetRow> {
  const row = await core.findOwned(ctx, 'subnet', id);
  const changes: Partial<SubnetRow> = {};
  if (body.gateway_ip !== undefined || body.allocation_pools !== undefined) {
    const layout = layoutSubnet(row.cidr, body.gateway_ip !== undefined ? body.gateway_ip : row.gateway_ip, body.allocation_pools ?? parseJson<AllocationPool[]>(row.allocation_pools));
    changes.gateway_ip = layout.gateway_ip;
    changes.allocation_pools = JSON.stringify(layout.allocation_pools);
  }
  if (body.name !== undefined) changes.name = body.name;
  if (body.description !== undefined) changes.description = body.description;
  if (body.dns_nameservers !== undefined) changes.dns_nameservers = JSON.stringify(nameservers(body.dns_nameservers));
  if (body.host_routes !== undefined) changes.host_routes = JSON.stringify(hostRoutes(body.host_routes));
  if (body.enable_dhcp !== undefined) changes.enable_dhcp = bit(toBool(body.enable_dhcp, 'enable_dhcp'));
  const saved = await core.save(core.store, 'subnet', row, changes, options);
  core.ipam.forget(id);
  return saved;
}

export async function deleteSubnet(core: NetworkCore, ctx: RequestContext, id: string, options: WriteOptions = {}): Promise<void> {
  const row = await core.findOwned(ctx, 'subnet', id);
  await core.store.transaction(async (tx) => {
    if (await tx.subnetHasAllocations(id)) throw new NeutronConflict('SubnetInUse', `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`);
    if ((await tx.floatingIpsWhere('floating_network_id', row.network_id)).some((f) => f.floating_subnet_id === id)) {
      throw new NeutronConflict('SubnetInUse', `Unable to complete operation on subnet ${id}: One or more floating IPs were allocated from this subnet.`);
    }
    // Removed as compare-and-swap: a concurrent change makes this delete fail rather than lose it.
    await core.save(tx, 'subnet', row, {}, options);
    await tx.releaseSubnet(id);
    await tx.remove('subnet', id);
  });
  core.ipam.forget(id);
}
