// Rows as Neutron shows them on the wire, rendered in batches: one query per related table for a whole
// list (fixed IPs, groups, tags, rules, gateway ports), never one per row.
import type { FloatingIpRow, NetworkRow, NetworkStore, PortRow, ResourceKind, RouterRow, RowOf, SecurityGroupRow, SecurityGroupRuleRow, SubnetPoolRow, SubnetRow, PortForwardingRow } from './store/index.ts';
import { parseJson } from './core.ts';

/** A resource in Neutron's wire shape (snake_case names as the API spells them). */
export type ResourceDoc = Record<string, unknown> & { id: string; project_id: string };

const std = (r: { id: string; project_id: string; description: string; revision_number: number; created_at: string; updated_at: string }, tags?: string[]) => ({
  id: r.id,
  project_id: r.project_id,
  tenant_id: r.project_id,
  description: r.description,
  revision_number: r.revision_number,
  created_at: r.created_at,
  updated_at: r.updated_at,
  ...(tags ? { tags } : {}),
});

export async function networkViews(store: NetworkStore, rows: NetworkRow[]): Promise<ResourceDoc[]> {
  const ids = rows.map((r) => r.id);
  const [subnets, tags] = await Promise.all([store.subnetsOfNetworks(ids), store.tagsOf(ids)]);
  return rows.map((r) => ({
    ...std(r, tags.get(r.id) ?? []),
    name: r.name,
    admin_state_up: Boolean(r.admin_state_up),
    shared: Boolean(r.shared),
    'router:external': Boolean(r.external),
    mtu: r.mtu,
    port_security_enabled: Boolean(r.port_security_enabled),
    is_default: Boolean(r.is_default),
    status: 'ACTIVE',
    subnets: subnets.filter((s) => s.network_id === r.id).map((s) => s.id),
    availability_zone_hints: [],
    availability_zones: ['nova'],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    l2_adjacency: true,
  }));
}

export async function subnetViews(store: NetworkStore, rows: SubnetRow[]): Promise<ResourceDoc[]> {
  const tags = await store.tagsOf(rows.map((r) => r.id));
  return rows.map((r) => ({
    ...std(r, tags.get(r.id) ?? []),
    name: r.name,
    network_id: r.network_id,
    ip_version: r.ip_version,
    cidr: r.cidr,
    gateway_ip: r.gateway_ip,
    allocation_pools: parseJson(r.allocation_pools),
    dns_nameservers: parseJson(r.dns_nameservers),
    host_routes: parseJson(r.host_routes),
    enable_dhcp: Boolean(r.enable_dhcp),
    ipv6_ra_mode: null,
    ipv6_address_mode: null,
    subnetpool_id: r.subnetpool_id,
    service_types: [],
  }));
}

export async function portViews(store: NetworkStore, rows: PortRow[]): Promise<ResourceDoc[]> {
  const ids = rows.map((r) => r.id);
  const [fixed, groups, tags] = await Promise.all([store.fixedIpsOf(ids), store.groupsOf(ids), store.tagsOf(ids)]);
  return rows.map((r) => ({
    ...std(r, tags.get(r.id) ?? []),
    name: r.name,
    network_id: r.network_id,
    admin_state_up: Boolean(r.admin_state_up),
    mac_address: r.mac_address,
    fixed_ips: (fixed.get(r.id) ?? []).map((a) => ({ subnet_id: a.subnet_id, ip_address: a.ip_address })),
    device_id: r.device_id,
    device_owner: r.device_owner,
    security_groups: groups.get(r.id) ?? [],
    port_security_enabled: Boolean(r.port_security_enabled),
    status: r.status,
    // A pair without a MAC address is the port's own MAC, as Neutron shows it.
    allowed_address_pairs: parseJson<{ ip_address: string; mac_address?: string }[]>(r.allowed_address_pairs).map((p) => ({ ip_address: p.ip_address, mac_address: p.mac_address ?? r.mac_address })),
    'binding:host_id': r.host_id,
    'binding:vnic_type': 'normal',
    'binding:vif_type': r.host_id ? 'other' : 'unbound',
    'binding:vif_details': {},
    'binding:profile': {},
  }));
}

export function ruleView(r: SecurityGroupRuleRow): ResourceDoc {
  return {
    ...std(r),
    security_group_id: r.security_group_id,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    port_range_min: r.port_range_min,
    port_range_max: r.port_range_max,
    remote_ip_prefix: r.remote_ip_prefix,
    remote_group_id: r.remote_group_id,
    remote_address_group_id: null,
    normalized_cidr: r.remote_ip_prefix,
    belongs_to_default_sg: Boolean(r.belongs_to_default_sg),
  };
}

export async function securityGroupViews(store: NetworkStore, rows: SecurityGroupRow[]): Promise<ResourceDoc[]> {
  const ids = rows.map((r) => r.id);
  const [rules, tags] = await Promise.all([store.rulesOf(ids), store.tagsOf(ids)]);
  return rows.map((r) => ({
    ...std(r, tags.get(r.id) ?? []),
    name: r.name,
    stateful: Boolean(r.stateful),
    shared: false,
    security_group_rules: rules.filter((x) => x.security_group_id === r.id).map(ruleView),
  }));
}

export async function routerViews(store: NetworkStore, rows: RouterRow[]): Promise<ResourceDoc[]> {
  const ids = rows.map((r) => r.id);
  const gwPorts = rows.map((r) => r.gw_port_id).filter((p): p is string => Boolean(p));
  const [fixed, tags] = await Promise.all([store.fixedIpsOf(gwPorts), store.tagsOf(ids)]);
  return rows.map((r) => ({
    ...std(r, tags.get(r.id) ?? []),
    name: r.name,
    admin_state_up: Boolean(r.admin_state_up),
    status: r.status,
    external_gateway_info: r.gw_network_id
      ? {
          network_id: r.gw_network_id,
          enable_snat: Boolean(r.enable_snat),
          external_fixed_ips: (r.gw_port_id ? (fixed.get(r.gw_port_id) ?? []) : []).map((a) => ({ subnet_id: a.subnet_id, ip_address: a.ip_address })),
        }
      : null,
    routes: parseJson(r.routes),
    distributed: false,
    ha: false,
    availability_zones: ['nova'],
    availability_zone_hints: [],
    flavor_id: null,
  }));
}

export function forwardingView(f: PortForwardingRow): ResourceDoc {
  return {
    id: f.id,
    project_id: f.project_id,
    floatingip_id: f.floatingip_id,
    internal_port_id: f.internal_port_id,
    internal_ip_address: f.internal_ip_address,
    internal_port: f.internal_port,
    external_port: f.external_port,
    protocol: f.protocol,
    description: f.description,
    internal_port_range: `${f.internal_port}:${f.internal_port}`,
    external_port_range: `${f.external_port}:${f.external_port}`,
  };
}

export async function floatingIpViews(store: NetworkStore, rows: FloatingIpRow[]): Promise<ResourceDoc[]> {
  const ids = rows.map((r) => r.id);
  const portIds = rows.map((r) => r.port_id).filter((p): p is string => Boolean(p));
  const [ports, tags, forwardings] = await Promise.all([store.getMany('port', portIds), store.tagsOf(ids), store.forwardingsOf(ids)]);
  return rows.map((r) => {
    const port = r.port_id ? ports.find((p) => p.id === r.port_id) : undefined;
    return {
      ...std(r, tags.get(r.id) ?? []),
      floating_network_id: r.floating_network_id,
      floating_ip_address: r.floating_ip_address,
      router_id: r.router_id,
      port_id: r.port_id,
      fixed_ip_address: r.fixed_ip_address,
      status: r.status,
      qos_policy_id: null,
      port_details: port
        ? { name: port.name, network_id: port.network_id, mac_address: port.mac_address, admin_state_up: Boolean(port.admin_state_up), status: port.status, device_id: port.device_id, device_owner: port.device_owner }
        : null,
      port_forwardings: forwardings.filter((f) => f.floatingip_id === r.id).map((f) => {
        const { floatingip_id: _f, project_id: _p, id: _i, ...rest } = forwardingView(f);
        return rest;
      }),
    };
  });
}

export async function subnetPoolViews(store: NetworkStore, rows: SubnetPoolRow[]): Promise<ResourceDoc[]> {
  const tags = await store.tagsOf(rows.map((r) => r.id));
  return rows.map((r) => ({
    ...std(r, tags.get(r.id) ?? []),
    name: r.name,
    ip_version: r.ip_version,
    prefixes: parseJson(r.prefixes),
    default_prefixlen: r.default_prefixlen,
    min_prefixlen: r.min_prefixlen,
    max_prefixlen: r.max_prefixlen,
    shared: Boolean(r.shared),
    is_default: Boolean(r.is_default),
    address_scope_id: null,
    default_quota: null,
  }));
}

/** Renders rows of any kind. */
export async function viewsOf<K extends ResourceKind>(store: NetworkStore, kind: K, rows: RowOf[K][]): Promise<ResourceDoc[]> {
  switch (kind) {
    case 'network':
      return networkViews(store, rows as NetworkRow[]);
    case 'subnet':
      return subnetViews(store, rows as SubnetRow[]);
    case 'port':
      return portViews(store, rows as PortRow[]);
    case 'security_group':
      return securityGroupViews(store, rows as SecurityGroupRow[]);
    case 'security_group_rule':
      return (rows as SecurityGroupRuleRow[]).map(ruleView);
    case 'router':
      return routerViews(store, rows as RouterRow[]);
    case 'floatingip':
      return floatingIpViews(store, rows as FloatingIpRow[]);
    case 'subnetpool':
      return subnetPoolViews(store, rows as SubnetPoolRow[]);
    case 'port_forwarding':
      return (rows as PortForwardingRow[]).map(forwardingView);
  }
  throw new Error(`no view for ${String(kind)}`);
}

export async function viewOf<K extends ResourceKind>(store: NetworkStore, kind: K, row: RowOf[K]): Promise<ResourceDoc> {
  return (await viewsOf(store, kind, [row]))[0]!;
}
