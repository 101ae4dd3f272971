// OS::Neutron::Subnet: an IPv4 subnet of a network; name, gateway, pools, DNS, routes and DHCP
// change in place.
import { TemplateError } from '../../template/model.ts';
import type { ResourceType } from '../types.ts';
import { compact, deleteRetryingConflict, neutronId } from '../lookup.ts';

const pool = { start: { type: 'string' as const, required: true }, end: { type: 'string' as const, required: true } };
const route = { destination: { type: 'string' as const, required: true }, nexthop: { type: 'string' as const, required: true } };

/** Heat's gateway_ip: '' or 'none' mean no gateway; absent means the first address. */
function gateway(v: unknown): unknown {
  if (v === undefined || v === null) return undefined;
  return v === '' || String(v).toLowerCase() === 'none' ? null : v;
}

export const neutronSubnet: ResourceType = {
  type: 'OS::Neutron::Subnet',
  description: 'A resource for managing Neutron subnets.',
  properties: {
    network_id: { type: 'string', description: 'Deprecated: use network.', constraints: [{ custom_constraint: 'neutron.network' }] },
    network: { type: 'string', description: 'The ID of the attached network.', constraints: [{ custom_constraint: 'neutron.network' }] },
    subnetpool: { type: 'string', description: 'The name or ID of the subnet pool.' },
    prefixlen: { type: 'integer', description: 'Prefix length for subnet allocation from subnet pool.', constraints: [{ range: { min: 0 } }] },
    cidr: { type: 'string', description: 'The CIDR.' },
    value_specs: { type: 'map', default: {}, update_allowed: true, description: 'Extra parameters to include in the request.' },
    name: { type: 'string', update_allowed: true, description: 'The name of the subnet.' },
    ip_version: { type: 'integer', default: 4, description: 'The IP version, which is 4 or 6.', constraints: [{ allowed_values: [4, 6] }] },
    dns_nameservers: { type: 'list', default: [], update_allowed: true, items: { type: 'string' }, description: 'A specified set of DNS name servers to be used.' },
    gateway_ip: { type: 'string', update_allowed: true, description: 'The gateway IP address. Set to any of [ null | ~ | "" ] to create/update a subnet without a gateway.' },
    enable_dhcp: { type: 'boolean', default: true, update_allowed: true, description: 'Set to true if DHCP is enabled and false if DHCP is disabled.' },
    ipv6_ra_mode: { type: 'string', description: 'IPv6 RA (Router Advertisement) mode.', constraints: [{ allowed_values: ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac'] }] },
    ipv6_address_mode: { type: 'string', description: 'IPv6 address mode.', constraints: [{ allowed_values: ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac'] }] },
    allocation_pools: { type: 'list', update_allowed: true, schema: pool, description: 'The start and end addresses for the allocation pools.' },
    tenant_id: { type: 'string', description: 'The ID of the tenant who owns the network.' },
    host_routes: { type: 'list', update_allowed: true, schema: route, description: 'A list of host route dictionaries for the subnet.' },
    segment: { type: 'string', description: 'The name/ID of the segment to associate.' },
    tags: { type: 'list', update_allowed: true, items: { type: 'string' }, description: 'The tags to be added to the subnet.' },
  },
  attributes: {
    name: { description: 'Friendly name of the subnet.', type: 'string' },
    network_id: { description: 'Parent network of the subnet.', type: 'string' },
    tenant_id: { description: 'Tenant owning the subnet.', type: 'string' },
    allocation_pools: { description: 'Ip allocation pools and their ranges.', type: 'list' },
    gateway_ip: { description: 'Ip of the subnet\'s gateway.', type: 'string' },
    host_routes: { description: 'Additional routes for this subnet.', type: 'list' },
    ip_version: { description: 'Ip version for the subnet.', type: 'string' },
    cidr: { description: 'CIDR block notation for this subnet.', type: 'string' },
    dns_nameservers: { description: 'List of dns nameservers.', type: 'list' },
    enable_dhcp: { description: '\'true\' if DHCP is enabled for this subnet; \'false\' otherwise.', type: 'string' },
  },
  validate(props, _ctx, at) {
    if (props.network === undefined && props.network_id === undefined) throw new TemplateError(`${at}: Property network not assigned`);
    if (props.cidr === undefined && props.subnetpool === undefined) throw new TemplateError(`${at}: One of the properties "cidr" or "subnetpool" should be specified.`);
    if (props.subnetpool !== undefined) throw new TemplateError(`${at}.subnetpool: Subnet pools are not supported by this cloud; give a cidr.`);
  },
  async create(h, props) {
    const networkId = await neutronId(h.clients, h.ctx, 'network', String(props.network ?? props.network_id));
    const subnet = await h.clients.network.createSubnet(h.ctx, {
      ...(props.gateway_ip !== undefined ? { gateway_ip: gateway(props.gateway_ip) } : {}),
      ...compact({
      network_id: networkId,
      name: props.name ?? h.physicalName,
      cidr: props.cidr,
      ip_version: props.ip_version,
      dns_nameservers: props.dns_nameservers,
      enable_dhcp: props.enable_dhcp,
      allocation_pools: props.allocation_pools,
      host_routes: props.host_routes,
      tenant_id: props.tenant_id,
      tags: props.tags,
      ...(props.value_specs as Record<string, unknown>),
      }),
    });
    return subnet.id;
  },
  async update(h, id, props, _old, changed) {
    const body: Record<string, unknown> = {};
    for (const k of changed) {
      if (k === 'name') body.name = props.name ?? h.physicalName;
      else if (k === 'value_specs') Object.assign(body, props.value_specs);
      else if (k === 'gateway_ip') body.gateway_ip = props.gateway_ip === undefined ? null : gateway(props.gateway_ip);
      else if (k === 'allocation_pools' || k === 'host_routes') body[k] = props[k] ?? [];
      else if (k !== 'tags' && props[k] !== undefined) body[k] = props[k];
    }
    if (Object.keys(body).length) await h.clients.network.updateSubnet(h.ctx, id, body);
  },
  async delete() {
    // Deleted in checkDeleteComplete, retried while ports of siblings release their addresses.
  },
  async checkDeleteComplete(h, id) {
    return deleteRetryingConflict(h, () => h.clients.network.deleteSubnet(h.ctx, id));
  },
  async check(h, id) {
    await h.clients.network.find(h.ctx, 'subnet', id);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    const s = await h.clients.network.find(h.ctx, 'subnet', id);
    if (name === 'show') return s;
    if (name === 'tenant_id') return s.project_id;
    return s[name] ?? null;
  },
};
