// Neutron's list parameters turned into the store's list query: equality filters on real columns
// (repeats OR, booleans and integers read as Neutron reads them), tags filters, fixed_ips and
// security_groups filters on ports, sort_key/sort_dir, limit/marker/page_reverse. Unknown keys are ignored
// as Neutron without filter validation does; fields= is applied by the API after rendering.
import { BadRequestError } from '../platform/errors.ts';
import { toBool, toInt } from './core.ts';
import type { Condition, ListQuery, ResourceKind } from './store/index.ts';

type Conv = 'str' | 'bool' | 'int';
const STD: Record<string, [string, Conv]> = {
  id: ['id', 'str'],
  project_id: ['project_id', 'str'],
  tenant_id: ['project_id', 'str'],
  description: ['description', 'str'],
  revision_number: ['revision_number', 'int'],
  created_at: ['created_at', 'str'],
  updated_at: ['updated_at', 'str'],
};

/** Wire attribute -> column and how its filter values are read, per kind. */
export const COLUMNS: Record<ResourceKind, Record<string, [string, Conv]>> = {
  network: { ...STD, name: ['name', 'str'], admin_state_up: ['admin_state_up', 'bool'], shared: ['shared', 'bool'], 'router:external': ['external', 'bool'], mtu: ['mtu', 'int'], port_security_enabled: ['port_security_enabled', 'bool'], is_default: ['is_default', 'bool'] },
  subnet: { ...STD, name: ['name', 'str'], network_id: ['network_id', 'str'], ip_version: ['ip_version', 'int'], cidr: ['cidr', 'str'], gateway_ip: ['gateway_ip', 'str'], enable_dhcp: ['enable_dhcp', 'bool'], subnetpool_id: ['subnetpool_id', 'str'] },
  port: { ...STD, name: ['name', 'str'], network_id: ['network_id', 'str'], admin_state_up: ['admin_state_up', 'bool'], mac_address: ['mac_address', 'str'], device_id: ['device_id', 'str'], device_owner: ['device_owner', 'str'], status: ['status', 'str'], port_security_enabled: ['port_security_enabled', 'bool'], 'binding:host_id': ['host_id', 'str'] },
  security_group: { ...STD, name: ['name', 'str'], stateful: ['stateful', 'bool'] },
  security_group_rule: { ...STD, security_group_id: ['security_group_id', 'str'], direction: ['direction', 'str'], ethertype: ['ethertype', 'str'], protocol: ['protocol', 'str'], port_range_min: ['port_range_min', 'int'], port_range_max: ['port_range_max', 'int'], remote_ip_prefix: ['remote_ip_prefix', 'str'], remote_group_id: ['remote_group_id', 'str'] },
  router: { ...STD, name: ['name', 'str'], admin_state_up: ['admin_state_up', 'bool'], status: ['status', 'str'] },
  floatingip: { ...STD, floating_network_id: ['floating_network_id', 'str'], floating_ip_address: ['floating_ip_address', 'str'], port_id: ['port_id', 'str'], fixed_ip_address: ['fixed_ip_address', 'str'], router_id: ['router_id', 'str'], status: ['status', 'str'] },
  subnetpool: { ...STD, name: ['name', 'str'], ip_version: ['ip_version', 'int'], shared: ['shared', 'bool'], is_default: ['is_default', 'bool'], default_prefixlen: ['default_prefixlen', 'int'], min_prefixlen: ['min_prefixlen', 'int'], max_prefixlen: ['max_prefixlen', 'int'] },
  port_forwarding: { id: ['id', 'str'], protocol: ['protocol', 'str'], internal_port_id: ['internal_port_id', 'str'], internal_ip_address: ['internal_ip_address', 'str'], internal_port: ['internal_port', 'int'], external_port: ['external_port', 'int'] },
};

/** Values above this are read as this: a page is bounded whatever the client asks for. */
export const MAX_LIMIT = 1000;
const RESERVED = new Set(['fields', 'limit', 'marker', 'page_reverse', 'sort_key', 'sort_dir', 'tags', 'tags-any', 'not-tags', 'not-tags-any', 'fixed_ips', 'security_groups']);

export type Query = Record<string, string | string[] | undefined>;
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function value(raw: string, conv: Conv, name: string): string | number | null {
  if (conv === 'bool') return toBool(raw, name) ? 1 : 0;
  if (conv === 'int') return toInt(raw, name);
  if (raw === '' && (name === 'gateway_ip' || name === 'port_id' || name === 'fixed_ip_address' || name === 'router_id' || name === 'subnetpool_id' || name === 'remote_group_id' || name === 'remote_ip_prefix' || name === 'protocol')) return null;
  return raw;
}

export function listQuery(kind: ResourceKind, q: Query): ListQuery {
  const columns = COLUMNS[kind];
  const where: Condition[] = [];
  for (const [k, raw] of Object.entries(q)) {
    if (RESERVED.has(k) || raw === undefined) continue;
    const col = columns[k];
    if (!col) continue;
    where.push({ kind: 'in', column: col[0], values: list(raw).map((v) => value(v, col[1], k)) });
  }
  for (const mode of ['tags', 'tags-any', 'not-tags', 'not-tags-any'] as const) {
    const tags = list(q[mode]).flatMap((v) => v.split(',')).filter(Boolean);
    if (tags.length) where.push({ kind: 'tags', mode, tags });
  }
  if (kind === 'port') {
    for (const f of list(q.fixed_ips)) {
      const [field, v] = f.split('=');
      if ((field === 'ip_address' || field === 'subnet_id') && v !== undefined) where.push({ kind: 'fixed_ip', field, value: v });
      else throw new BadRequestError(`Invalid fixed_ips filter '${f}': use ip_address=<address> or subnet_id=<id>.`);
    }
    const groups = list(q.security_groups);
    if (groups.length) where.push({ kind: 'security_group', values: groups });
  }
  const keys = list(q.sort_key);
  const dirs = list(q.sort_dir);
  if (dirs.some((d) => d !== 'asc' && d !== 'desc')) throw new BadRequestError(`Invalid input for sort_dir: ${dirs.join(',')}; use asc or desc.`);
  if (dirs.length && keys.length !== dirs.length) throw new BadRequestError('The number of sort_keys and sort_dirs must be same.');
  const sort = keys.map((k, i) => {
    const col = columns[k];
    if (!col) throw new BadRequestError(`${k} is an invalid attribute for sort_keys.`);
    return { column: col[0], dir: (dirs[i] ?? 'asc') as 'asc' | 'desc' };
  });
  let limit: number | undefined;
  if (q.limit !== undefined) {
    const raw = list(q.limit)[0]!;
    if (!/^\d+$/.test(raw)) throw new BadRequestError(`Limit must be an integer 0 or greater and not '${raw}'`);
    limit = Math.min(Number(raw), MAX_LIMIT) || undefined;
  }
  const marker = list(q.marker)[0];
  const reverse = q.page_reverse !== undefined && toBool(list(q.page_reverse)[0], 'page_reverse');
  return { where, sort, ...(limit !== undefined ? { limit } : {}), ...(marker ? { marker } : {}), ...(reverse ? { reverse } : {}) };
}

/** Neutron's fields=: only the attributes asked for (repeats and commas both list them). */
export function pick(item: Record<string, unknown>, fields: string | string[] | undefined): Record<string, unknown> {
  const names = list(fields).flatMap((f) => f.split(',')).filter(Boolean);
  if (!names.length) return item;
  const out: Record<string, unknown> = {};
  for (const n of names) if (n in item) out[n] = item[n];
  return out;
}
