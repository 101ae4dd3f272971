// Every Neutron route's input as TypeBox schemas: params, querystring and body, the single source for
// validation (unknown attributes answer "Unrecognized attribute(s)", in Neutron's envelope) and types.
// Booleans and integers also come as strings ("False", "0", "1400"): the services read them as Neutron does.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Opt = <T extends TSchema>(t: T) => Type.Optional(t);
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const Bool = Type.Union([Type.Boolean(), Type.String({ maxLength: 5 }), Type.Integer({ minimum: 0, maximum: 1 })]);
export const Int = Type.Union([Type.Integer(), Type.String({ maxLength: 12 })]);
const Id = Type.String({ maxLength: 255 });
const Name = Type.String({ maxLength: 255 });
const Text = Type.String({ maxLength: 255 });
const Address = Type.String({ maxLength: 64 });
const Tags = Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 });
const Project = { project_id: Opt(Id), tenant_id: Opt(Id) };
const strict = { additionalProperties: false } as const;

export const NetworkCreate = Type.Object(
  {
    name: Opt(Name), description: Opt(Text), admin_state_up: Opt(Bool), shared: Opt(Bool), 'router:external': Opt(Bool), mtu: Opt(Int),
    port_security_enabled: Opt(Bool), is_default: Opt(Bool), tags: Opt(Tags), ...Project,
    availability_zone_hints: Opt(Type.Array(Name, { maxItems: 10 })), dns_domain: Opt(Text), qos_policy_id: Opt(Nullable(Id)),
  },
  strict,
);
export const NetworkUpdate = Type.Object(
  { name: Opt(Name), description: Opt(Text), admin_state_up: Opt(Bool), shared: Opt(Bool), 'router:external': Opt(Bool), mtu: Opt(Int), port_security_enabled: Opt(Bool), is_default: Opt(Bool), dns_domain: Opt(Text), qos_policy_id: Opt(Nullable(Id)) },
  strict,
);

const Pool = Type.Object({ start: Address, end: Address }, strict);
const Route = Type.Object({ destination: Address, nexthop: Address }, strict);
export const SubnetCreate = Type.Object(
  {
    name: Opt(Name), description: Opt(Text), network_id: Id, ip_version: Opt(Int), cidr: Opt(Nullable(Address)), gateway_ip: Opt(Nullable(Address)),
    allocation_pools: Opt(Nullable(Type.Array(Pool, { maxItems: 100 }))), dns_nameservers: Opt(Type.Array(Address, { maxItems: 20 })), host_routes: Opt(Type.Array(Route, { maxItems: 100 })),
    enable_dhcp: Opt(Bool), subnetpool_id: Opt(Nullable(Id)), prefixlen: Opt(Int), use_default_subnetpool: Opt(Bool), tags: Opt(Tags), ...Project,
    ipv6_ra_mode: Opt(Nullable(Text)), ipv6_address_mode: Opt(Nullable(Text)), service_types: Opt(Type.Array(Text, { maxItems: 10 })), segment_id: Opt(Nullable(Id)), dns_publish_fixed_ip: Opt(Bool),
  },
  strict,
);
export const SubnetUpdate = Type.Object(
  {
    name: Opt(Name), description: Opt(Text), gateway_ip: Opt(Nullable(Address)), allocation_pools: Opt(Type.Array(Pool, { maxItems: 100 })), dns_nameservers: Opt(Type.Array(Address, { maxItems: 20 })),
    host_routes: Opt(Type.Array(Route, { maxItems: 100 })), enable_dhcp: Opt(Bool), service_types: Opt(Type.Array(Text, { maxItems: 10 })), dns_publish_fixed_ip: Opt(Bool),
  },
  strict,
);

export const SubnetPoolCreate = Type.Object(
  { name: Opt(Name), description: Opt(Text), prefixes: Type.Array(Address, { minItems: 1, maxItems: 100 }), default_prefixlen: Opt(Int), min_prefixlen: Opt(Int), max_prefixlen: Opt(Int), shared: Opt(Bool), is_default: Opt(Bool), address_scope_id: Opt(Nullable(Id)), default_quota: Opt(Nullable(Int)), tags: Opt(Tags), ...Project },
  strict,
);
export const SubnetPoolUpdate = Type.Object(
  { name: Opt(Name), description: Opt(Text), prefixes: Opt(Type.Array(Address, { minItems: 1, maxItems: 100 })), default_prefixlen: Opt(Int), min_prefixlen: Opt(Int), max_prefixlen: Opt(Int), is_default: Opt(Bool), address_scope_id: Opt(Nullable(Id)), default_quota: Opt(Nullable(Int)) },
  strict,
);

const FixedIp = Type.Object({ subnet_id: Opt(Id), ip_address: Opt(Address) }, strict);
const AddressPair = Type.Object({ ip_address: Address, mac_address: Opt(Type.String({ maxLength: 32 })) }, strict);
const portFields = {
  name: Opt(Name), description: Opt(Text), admin_state_up: Opt(Bool), mac_address: Opt(Type.String({ maxLength: 32 })), fixed_ips: Opt(Type.Array(FixedIp, { maxItems: 100 })),
  device_id: Opt(Id), device_owner: Opt(Text), security_groups: Opt(Type.Array(Id, { maxItems: 100 })), port_security_enabled: Opt(Bool),
  allowed_address_pairs: Opt(Type.Array(AddressPair, { maxItems: 100 })), 'binding:host_id': Opt(Text), 'binding:vnic_type': Opt(Text), 'binding:profile': Opt(Type.Record(Type.String(), Type.Unknown())),
  dns_name: Opt(Text), qos_policy_id: Opt(Nullable(Id)),
};
export const PortCreate = Type.Object({ ...portFields, network_id: Id, tags: Opt(Tags), propagate_uplink_status: Opt(Bool), ...Project }, strict);
export const PortUpdate = Type.Object(portFields, strict);

export const SecurityGroupCreate = Type.Object({ name: Opt(Name), description: Opt(Text), stateful: Opt(Bool), tags: Opt(Tags), ...Project }, strict);
export const SecurityGroupUpdate = Type.Object({ name: Opt(Name), description: Opt(Text), stateful: Opt(Bool) }, strict);
export const RuleCreate = Type.Object(
  {
    security_group_id: Id, direction: Text, ethertype: Opt(Text), protocol: Opt(Nullable(Type.Union([Type.String({ maxLength: 32 }), Type.Integer()]))),
    port_range_min: Opt(Nullable(Int)), port_range_max: Opt(Nullable(Int)), remote_ip_prefix: Opt(Nullable(Address)), remote_group_id: Opt(Nullable(Id)), remote_address_group_id: Opt(Nullable(Id)),
    description: Opt(Text), ...Project,
  },
  strict,
);

const GatewayInfo = Type.Object(
  { network_id: Opt(Id), enable_snat: Opt(Bool), external_fixed_ips: Opt(Type.Array(FixedIp, { maxItems: 10 })), qos_policy_id: Opt(Nullable(Id)) },
  strict,
);
const routerFields = { name: Opt(Name), description: Opt(Text), admin_state_up: Opt(Bool), external_gateway_info: Opt(Nullable(GatewayInfo)), distributed: Opt(Bool), ha: Opt(Bool) };
export const RouterCreate = Type.Object({ ...routerFields, availability_zone_hints: Opt(Type.Array(Name, { maxItems: 10 })), tags: Opt(Tags), flavor_id: Opt(Nullable(Id)), enable_ndp_proxy: Opt(Bool), ...Project }, strict);
export const RouterUpdate = Type.Object({ ...routerFields, routes: Opt(Nullable(Type.Array(Route, { maxItems: 100 }))) }, strict);
export const RouterInterface = Type.Object({ subnet_id: Opt(Id), port_id: Opt(Id) }, strict);

export const FloatingIpCreate = Type.Object(
  { floating_network_id: Id, floating_ip_address: Opt(Address), subnet_id: Opt(Id), port_id: Opt(Nullable(Id)), fixed_ip_address: Opt(Nullable(Address)), description: Opt(Text), tags: Opt(Tags), dns_name: Opt(Text), dns_domain: Opt(Text), qos_policy_id: Opt(Nullable(Id)), ...Project },
  strict,
);
export const FloatingIpUpdate = Type.Object({ port_id: Opt(Nullable(Id)), fixed_ip_address: Opt(Nullable(Address)), description: Opt(Text), qos_policy_id: Opt(Nullable(Id)) }, strict);

export const PortForwardingCreate = Type.Object(
  { protocol: Text, internal_ip_address: Opt(Address), internal_port: Int, internal_port_id: Id, external_port: Int, description: Opt(Text), ...Project },
  strict,
);
export const PortForwardingUpdate = Type.Object(
  { protocol: Opt(Text), internal_ip_address: Opt(Address), internal_port: Opt(Int), internal_port_id: Opt(Id), external_port: Opt(Int), description: Opt(Text) },
  strict,
);

export const QuotaUpdate = Type.Object({ quota: Type.Record(Type.String({ maxLength: 64 }), Int) }, strict);
export const TagsBody = Type.Object({ tags: Tags }, strict);

/** `{<singular>: {...}}` or, for bulk creation, `{<plural>: [{...}, ...]}` (checked by the handler). */
export function resourceBody(singular: string, plural: string | undefined, item: TSchema): TSchema {
  return Type.Object({ [singular]: Opt(item), ...(plural ? { [plural]: Opt(Type.Array(item, { maxItems: 1000 })) } : {}) }, strict);
}

export const IdParams = Type.Object({ id: Id });
export const TagParams = Type.Object({ id: Id, tag: Type.String({ maxLength: 255 }) });
export const ProjectParams = Type.Object({ project: Id });
export const ForwardingParams = Type.Object({ id: Id, pf: Id });
export const AliasParams = Type.Object({ alias: Type.String({ maxLength: 255 }) });

const QueryValue = Type.Union([Type.String({ maxLength: 1024 }), Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 200 })]);
/** List parameters: the reserved ones typed, any attribute filter beside them. */
export const ListQuerystring = Type.Object(
  { fields: Opt(QueryValue), limit: Opt(QueryValue), marker: Opt(QueryValue), sort_key: Opt(QueryValue), sort_dir: Opt(QueryValue), page_reverse: Opt(QueryValue) },
  { additionalProperties: QueryValue },
);
export const ShowQuerystring = Type.Object({ fields: Opt(QueryValue) }, { additionalProperties: QueryValue });

export type ListQuerystringT = Static<typeof ListQuerystring>;
