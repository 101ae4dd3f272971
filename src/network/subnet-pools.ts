// Subnet pools (subnet_allocation): address blocks subnets take their CIDR from, by prefix length or a
// CIDR inside the pool; shared and default pools are the admins'. A pool with subnets cannot go.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { bit, NetworkCore, now, parseJson, toBool, toInt, type WriteOptions } from './core.ts';
import { InvalidInput, NeutronBadRequest, NeutronConflict } from './errors.ts';
import { intToIp, overlaps, parseCidr, type Cidr } from './ipam.ts';
import type { NetworkStore, SubnetPoolRow } from './store/index.ts';

export interface SubnetPoolBody {
  name?: string;
  description?: string;
  prefixes?: string[];
  default_prefixlen?: unknown;
  min_prefixlen?: unknown;
  max_prefixlen?: unknown;
  shared?: unknown;
  is_default?: unknown;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

function prefixesOf(list: unknown): string[] {
  if (!Array.isArray(list) || list.length === 0) throw new InvalidInput('prefixes must be a non-empty list of IPv4 CIDRs.');
  return list.map((p) => {
    const c = typeof p === 'string' ? parseCidr(p) : undefined;
    if (!c) throw new InvalidInput(`'${String(p)}' is not a valid IPv4 subnet${typeof p === 'string' && p.includes(':') ? ' (IPv6 pools are not supported by this cloud)' : ''}.`);
    return c.text;
  });
}

function bounds(min: number, dflt: number, max: number): void {
  for (const [n, v] of [['min_prefixlen', min], ['default_prefixlen', dflt], ['max_prefixlen', max]] as const) {
    if (v < 0 || v > 32) throw new InvalidInput(`${n} ${v} is outside 0-32.`);
  }
  if (!(min <= dflt && dflt <= max)) throw new NeutronBadRequest('IllegalSubnetPoolPrefixBounds', `Illegal prefix bounds: min_prefixlen=${min}, default_prefixlen=${dflt}, max_prefixlen=${max}.`);
}

export async function createSubnetPool(core: NetworkCore, ctx: RequestContext, body: SubnetPoolBody): Promise<SubnetPoolRow> {
  const project = core.ownerFor(ctx, body);
  const shared = body.shared === undefined ? false : toBool(body.shared, 'shared');
  const isDefault = body.is_default === undefined ? false : toBool(body.is_default, 'is_default');
  if (shared || isDefault) core.enforce(ctx, 'subnetpool:shared', `rule:create_subnetpool and rule:create_subnetpool:${shared ? 'shared' : 'is_default'}`);
  const prefixes = prefixesOf(body.prefixes);
  const min = body.min_prefixlen === undefined ? 8 : toInt(body.min_prefixlen, 'min_prefixlen');
  const max = body.max_prefixlen === undefined ? 32 : toInt(body.max_prefixlen, 'max_prefixlen');
  const dflt = body.default_prefixlen === undefined ? min : toInt(body.default_prefixlen, 'default_prefixlen');
  bounds(min, dflt, max);
  const t = now();
  const row: SubnetPoolRow = { id: randomUUID(), project_id: project, name: body.name ?? '', description: body.description ?? '', revision_number: 0, created_at: t, updated_at: t, seq: 0, ip_version: 4, prefixes: JSON.stringify(prefixes), default_prefixlen: dflt, min_prefixlen: min, max_prefixlen: max, shared: bit(shared), is_default: bit(isDefault) };
  await core.store.transaction(async (tx) => {
    await core.checkQuota(tx, 'subnetpool', project);
    row.seq = tx.nextSeq();
    await tx.insert('subnetpool', row);
    if (body.tags?.length) await tx.setTags('subnetpool', row.id, [...new Set(body.tags)]);
  });
  return row;
}

export async function updateSubnetPool(core: NetworkCore, ctx: RequestContext, id: string, body: SubnetPoolBody, options: WriteOptions = {}): Promise<SubnetPoolRow> {
  const row = await core.findOwned(ctx, 'subnetpool', id);
  if (body.is_default !== undefined || body.shared !== undefined) core.enforce(ctx, 'subnetpool:shared', 'rule:update_subnetpool and rule:update_subnetpool:is_default');
  const changes: Partial<SubnetPoolRow> = {};
  if (body.name !== undefined) changes.name = body.name;
  if (body.description !== undefined) changes.description = body.description;
  if (body.is_default !== undefined) changes.is_default = bit(toBool(body.is_default, 'is_default'));
  if (body.prefixes !== undefined) {
    // As Neutron: prefixes may grow, never shrink (subnets may live in them).
    const next = prefixesOf(body.prefixes).map((p) => parseCidr(p)!);
    for (const old of parseJson<string[]>(row.prefixes).map((p) => parseCidr(p)!)) {
      if (!next.some((n) => n.first <= old.first && old.last <= n.last)) throw new NeutronBadRequest('IllegalSubnetPoolPrefixUpdate', `Illegal update to prefixes: ${old.text} must stay in the pool.`);
    }
    changes.prefixes = JSON.stringify(next.map((n) => n.text));
  }
  const min = body.min_prefixlen === undefined ? row.min_prefixlen : toInt(body.min_prefixlen, 'min_prefixlen');
  const max = body.max_prefixlen === undefined ? row.max_prefixlen : toInt(body.max_prefixlen, 'max_prefixlen');
  const dflt = body.default_prefixlen === undefined ? row.default_prefixlen : toInt(body.default_prefixlen, 'default_prefixlen');
  bounds(min, dflt, max);
  Object.assign(changes, { min_prefixlen: min, max_prefixlen: max, default_prefixlen: dflt });
  return core.save(core.store, 'subnetpool', row, changes, options);
}

export async function deleteSubnetPool(core: NetworkCore, ctx: RequestContext, id: string, options: WriteOptions = {}): Promise<void> {
  const row = await core.findOwned(ctx, 'subnetpool', id);
  await core.store.transaction(async (tx) => {
    if ((await tx.subnetsOfPool(id)).length) throw new NeutronConflict('SubnetPoolInUse', `Subnet pool ${id} cannot be deleted as it is still in use.`);
    await core.save(tx, 'subnetpool', row, {}, options);
    await tx.remove('subnetpool', id);
  });
}

export async function defaultPool(store: NetworkStore): Promise<SubnetPoolRow | undefined> {
  return (await store.list('subnetpool', { all: true }, { where: [{ kind: 'in', column: 'is_default', values: [1] }], limit: 1 })).rows[0];
}

/**
 * The CIDR a subnet gets from the pool: the one asked for (inside the pool, within its prefix bounds,
 * overlapping none of its subnets) or the first free block of the prefix length asked for (or default).
 */
export async function allocateFromPool(tx: NetworkStore, pool: SubnetPoolRow, cidr: string | undefined, prefixlen: number | undefined): Promise<string> {
  await tx.lockQuota(pool.id, 'subnetpool-allocation');
  const prefixes = parseJson<string[]>(pool.prefixes).map((p) => parseCidr(p)!);
  const used = (await tx.subnetsOfPool(pool.id)).map((s) => parseCidr(s.cidr)!);
  const within = (c: Cidr) => c.prefix >= pool.min_prefixlen && c.prefix <= pool.max_prefixlen;
  if (cidr !== undefined) {
    const c = parseCidr(cidr);
    if (!c) throw new InvalidInput(`'${cidr}' is not a valid IP subnet.`);
    if (!prefixes.some((p) => p.first <= c.first && c.last <= p.last)) throw new NeutronConflict('SubnetAllocationError', `Failed to allocate subnet: Cidr ${c.text} is not within the subnet pool prefixes.`);
    if (!within(c)) throw new NeutronConflict('SubnetAllocationError', `Failed to allocate subnet: Prefix length ${c.prefix} is outside the pool's bounds ${pool.min_prefixlen}-${pool.max_prefixlen}.`);
    if (used.some((u) => overlaps(u, c))) throw new NeutronConflict('SubnetAllocationError', `Failed to allocate subnet: Cidr ${c.text} overlaps with another subnet of the pool.`);
    return c.text;
  }
  const length = prefixlen ?? pool.default_prefixlen;
  if (length < pool.min_prefixlen || length > pool.max_prefixlen) {
    throw new NeutronBadRequest('IllegalSubnetPrefixLength', `Unable to allocate subnet with prefix length ${length}, allowed prefix lengths are ${pool.min_prefixlen}-${pool.max_prefixlen}.`);
  }
  const size = 2 ** (32 - length);
  for (const p of prefixes) {
    if (p.prefix > length) continue;
    // Blocks of the size in order; a used subnet skips past its end (bounded by the pool's blocks).
    for (let start = p.first; start + size - 1 <= p.last; ) {
      const block = parseCidr(`${intToIp(start)}/${length}`)!;
      const clash = used.find((u) => overlaps(u, block));
      if (!clash) return block.text;
      start = Math.max(start + size, Math.ceil((clash.last + 1) / size) * size);
    }
  }
  throw new NeutronConflict('SubnetAllocationError', `Failed to allocate subnet: Insufficient prefix space to allocate subnet size /${length}.`);
}
