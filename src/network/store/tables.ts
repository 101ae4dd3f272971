// The network's tables as Kysely sees them: one per resource kind with real columns. Booleans are 0/1
// integers and short lists (pools, routes, address pairs) JSON text, as everywhere in hafen's SQL.

/** Columns every Neutron resource with standard attributes has. */
export interface StandardColumns {
  id: string;
  project_id: string;
  description: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
  /** Creation order across restarts: lists come in it. */
  seq: number;
}

export interface NetworkRow extends StandardColumns {
  name: string;
  admin_state_up: number;
  shared: number;
  external: number;
  mtu: number;
  port_security_enabled: number;
  is_default: number;
}

export interface SubnetRow extends StandardColumns {
  name: string;
  network_id: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  /** JSON [{start, end}] */
  allocation_pools: string;
  /** JSON string[] */
  dns_nameservers: string;
  /** JSON [{destination, nexthop}] */
  host_routes: string;
  enable_dhcp: number;
  subnetpool_id: string | null;
}

export interface PortRow extends StandardColumns {
  name: string;
  network_id: string;
  admin_state_up: number;
  mac_address: string;
  /** Written by the services (compute's bindings, routers) and admins only. */
  device_id: string;
  device_owner: string;
  status: string;
  port_security_enabled: number;
  host_id: string;
  /** JSON [{ip_address, mac_address}] */
  allowed_address_pairs: string;
}

/** The address ledger: its key (subnet_id, ip_address) is what makes IPAM safe between controllers. */
export interface IpAllocationRow {
  subnet_id: string;
  ip_address: string;
  /** The port, floating IP or router holding the address. */
  owner_id: string;
  /** Set when the holder is a port: its fixed IPs. */
  port_id: string | null;
}

export interface PortSecurityGroupRow {
  port_id: string;
  security_group_id: string;
  position: number;
}

/** Which ports a server has: written by compute through the client (bindPorts) alone. */
export interface PortBindingRow {
  port_id: string;
  server_id: string;
  project_id: string;
  host_id: string;
  created_for_server: number;
  seq: number;
}

export interface SecurityGroupRow extends StandardColumns {
  name: string;
  stateful: number;
}

export interface SecurityGroupRuleRow extends StandardColumns {
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  belongs_to_default_sg: number;
}

export interface RouterRow extends StandardColumns {
  name: string;
  admin_state_up: number;
  status: string;
  /** The external gateway: network, its port, SNAT. */
  gw_network_id: string | null;
  gw_port_id: string | null;
  enable_snat: number;
  /** JSON [{destination, nexthop}] */
  routes: string;
}

/** A router's ports: its interfaces on tenant subnets and its gateway port on the external network. */
export interface RouterPortRow {
  router_id: string;
  port_id: string;
  port_type: 'network:router_interface' | 'network:router_gateway';
}

export interface FloatingIpRow extends StandardColumns {
  floating_network_id: string;
  floating_subnet_id: string;
  floating_ip_address: string;
  port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
  status: string;
}

export interface PortForwardingRow {
  id: string;
  floatingip_id: string;
  project_id: string;
  internal_port_id: string;
  internal_ip_address: string;
  internal_port: number;
  external_port: number;
  protocol: string;
  description: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
  seq: number;
}

export interface SubnetPoolRow extends StandardColumns {
  name: string;
  ip_version: number;
  /** JSON string[] of CIDRs */
  prefixes: string;
  default_prefixlen: number;
  min_prefixlen: number;
  max_prefixlen: number;
  shared: number;
  is_default: number;
}

export type TaggedKind = 'network' | 'subnet' | 'port' | 'security_group' | 'router' | 'floatingip' | 'subnetpool';

export interface TagRow {
  resource_id: string;
  resource_kind: TaggedKind;
  tag: string;
}

export interface QuotaRow {
  project_id: string;
  resource: string;
  hard_limit: number;
}

export interface NetworkTables {
  network_networks: NetworkRow;
  network_subnets: SubnetRow;
  network_ports: PortRow;
  network_ip_allocations: IpAllocationRow;
  network_port_security_groups: PortSecurityGroupRow;
  network_port_bindings: PortBindingRow;
  network_security_groups: SecurityGroupRow;
  network_security_group_rules: SecurityGroupRuleRow;
  network_routers: RouterRow;
  network_router_ports: RouterPortRow;
  network_floating_ips: FloatingIpRow;
  network_port_forwardings: PortForwardingRow;
  network_subnetpools: SubnetPoolRow;
  network_tags: TagRow;
  network_quotas: QuotaRow;
  /** One row: how many changes of servers' addresses SQLite's triggers counted (migration 0004). */
  network_address_generation: { generation: number };
}

/** Resource kinds of the API and the table each lives in. */
export const TABLE_OF = {
  network: 'network_networks',
  subnet: 'network_subnets',
  port: 'network_ports',
  security_group: 'network_security_groups',
  security_group_rule: 'network_security_group_rules',
  router: 'network_routers',
  floatingip: 'network_floating_ips',
  subnetpool: 'network_subnetpools',
  port_forwarding: 'network_port_forwardings',
} as const;

export type ResourceKind = keyof typeof TABLE_OF;
