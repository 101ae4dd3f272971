// Nova's request schemas, as TypeBox: the single source for what compute's routes (and compute's
// client, which checks the same bodies) accept. Wire names stay as Nova spells them. A schema here
// is the widest the served microversions allow; the handlers refuse what the asked-for
// microversion does not have yet.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** Nova's name: 1-255 printable characters, no leading or trailing white space. */
export const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '^(?!\\s)[^\\u0000-\\u001f\\u007f]*(?<!\\s)$' });
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$';
export const Uuid = Type.String({ pattern: UUID_PATTERN });
export const IPV4_PATTERN = '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$';
const Ipv4 = Type.String({ pattern: IPV4_PATTERN });
const IpAddress = Type.String({ maxLength: 64, pattern: '^[0-9a-fA-F.:]+$' });

/** Nova's positive integer: a number or a string of digits. */
export const PositiveInteger = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^(?=[0-9]{1,18}$)0*[1-9][0-9]*$' })]);
export const NonNegativeInteger = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]{1,18}$' })]);

const TRUE = [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes'] as const;
const FALSE = [false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'] as const;
/** Nova's boolean: true/false or one of the strings Nova reads as them ("False" is false). */
export const NovaBoolean = Type.Union([Type.Boolean(), ...([...TRUE, ...FALSE].filter((v) => typeof v === 'string') as string[]).map((v) => Type.Literal(v))]);
export function novaBool(v: boolean | string | undefined | null, fallback = false): boolean {
  if (v === undefined || v === null) return fallback;
  return (TRUE as readonly (boolean | string)[]).includes(v);
}
/** A positive or non-negative integer of the wire as a number. */
export const toInt = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

/** Server metadata: up to 255-character keys of letters, digits and `-_:. `, string values. */
export const Metadata = Type.Record(Type.String({ pattern: '^[a-zA-Z0-9-_:. ]{1,255}$' }), Type.String({ maxLength: 255 }), { additionalProperties: false });

const StringList = Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 256 });

/** The `hafen:container` extension: Docker settings beyond the flavor; none can widen privileges. */
export const ContainerOptionsBody = Type.Partial(
  Type.Object({
    command: StringList,
    entrypoint: StringList,
    env: Type.Array(Type.String({ maxLength: 32768, pattern: '^[^=\\s]+(=|$)' }), { maxItems: 1024 }),
    user: Type.String({ minLength: 1, maxLength: 255 }),
    working_dir: Type.String({ minLength: 1, maxLength: 4096 }),
    hostname: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$' }),
    tty: Type.Boolean(),
    open_stdin: Type.Boolean(),
    restart_policy: Type.Object({ name: Type.Union([Type.Literal('no'), Type.Literal('always'), Type.Literal('on-failure'), Type.Literal('unless-stopped')]), maximum_retry_count: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })) }, { additionalProperties: false }),
    cpu_shares: Type.Integer({ minimum: 2, maximum: 262144 }),
    cpuset: Type.String({ minLength: 1, maxLength: 255, pattern: '^\\d+(-\\d+)?(,\\d+(-\\d+)?)*$' }),
    read_only: Type.Boolean(),
    labels: Type.Record(Type.String({ maxLength: 255 }), Type.String({ maxLength: 4096 })),
    cap_drop: StringList,
    healthcheck: Type.Object(
      {
        test: StringList,
        interval: Type.Optional(Type.Number({ minimum: 0 })),
        timeout: Type.Optional(Type.Number({ minimum: 0 })),
        retries: Type.Optional(Type.Integer({ minimum: 0 })),
        start_period: Type.Optional(Type.Number({ minimum: 0 })),
      },
      { additionalProperties: false },
    ),
    volumes: Type.Array(Type.String({ maxLength: 4096, pattern: '^/[^:]*$' }), { maxItems: 64 }),
    aliases: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$' }), { maxItems: 64 }),
    dns_search: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$' }), { maxItems: 6 }),
    named_volumes: Type.Array(
      Type.Object({ name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' }), target: Type.String({ maxLength: 4096, pattern: '^/[^:]*$' }) }, { additionalProperties: false }),
      { maxItems: 64 },
    ),
  }),
  { additionalProperties: false },
);
export type ContainerOptionsBody = Static<typeof ContainerOptionsBody>;

const OneOrMoreServers = Type.Union([Uuid, Type.Array(Uuid, { maxItems: 1000 })]);
const SchedulerHints = Type.Object(
  {
    group: Type.Optional(Uuid),
    same_host: Type.Optional(OneOrMoreServers),
    different_host: Type.Optional(OneOrMoreServers),
  },
  { additionalProperties: true },
);
export type SchedulerHintsBody = Static<typeof SchedulerHints>;

const NetworkRequest = Type.Object(
  {
    uuid: Type.Optional(Type.String({ maxLength: 255 })),
    port: Type.Optional(Nullable(Uuid)),
    fixed_ip: Type.Optional(IpAddress),
    tag: Type.Optional(Type.String({ maxLength: 60 })),
  },
  { additionalProperties: false },
);
export type NetworkRequest = Static<typeof NetworkRequest>;

export const ServerCreateBody = Type.Object(
  {
    server: Type.Object(
      {
        name: Name,
        imageRef: Type.Optional(Type.String({ maxLength: 1024 })),
        flavorRef: Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Integer()]),
        adminPass: Type.Optional(Type.String({ maxLength: 4096 })),
        metadata: Type.Optional(Metadata),
        networks: Type.Optional(Type.Union([Type.Array(NetworkRequest, { maxItems: 64 }), Type.Literal('none'), Type.Literal('auto')])),
        'OS-DCF:diskConfig': Type.Optional(Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')])),
        accessIPv4: Type.Optional(Type.String({ maxLength: 64 })),
        accessIPv6: Type.Optional(Type.String({ maxLength: 64 })),
        personality: Type.Optional(Type.Array(Type.Object({ path: Type.Optional(Type.String({ maxLength: 255 })), contents: Type.Optional(Type.String({ maxLength: 65535 })) }, { additionalProperties: false }), { maxItems: 64 })),
        availability_zone: Type.Optional(Name),
        block_device_mapping: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 64 })),
        block_device_mapping_v2: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 64 })),
        config_drive: Type.Optional(NovaBoolean),
        key_name: Type.Optional(Nullable(Name)),
        min_count: Type.Optional(PositiveInteger),
        max_count: Type.Optional(PositiveInteger),
        return_reservation_id: Type.Optional(NovaBoolean),
        security_groups: Type.Optional(Type.Array(Type.Object({ name: Name }, { additionalProperties: false }), { maxItems: 64 })),
        user_data: Type.Optional(Nullable(Type.String({ maxLength: 65535 }))),
        description: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
        tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 60 }), { maxItems: 50 })),
        trusted_image_certificates: Type.Optional(Nullable(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 50 }))),
        host: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' })),
        hypervisor_hostname: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' })),
        'hafen:container': Type.Optional(Nullable(ContainerOptionsBody)),
      },
      { additionalProperties: false },
    ),
    'os:scheduler_hints': Type.Optional(SchedulerHints),
    'OS-SCH-HNT:scheduler_hints': Type.Optional(SchedulerHints),
    return_reservation_id: Type.Optional(NovaBoolean),
  },
  { additionalProperties: false },
);
export type ServerCreateBody = Static<typeof ServerCreateBody>;

export const ServerUpdateBody = Type.Object(
  {
    server: Type.Object(
      {
        name: Type.Optional(Name),
        description: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
        'OS-DCF:diskConfig': Type.Optional(Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')])),
        accessIPv4: Type.Optional(Type.String({ maxLength: 64 })),
        accessIPv6: Type.Optional(Type.String({ maxLength: 64 })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type ServerUpdateBody = Static<typeof ServerUpdateBody>;

export const MetadataBody = Type.Object({ metadata: Metadata }, { additionalProperties: false });
export const MetadataItemBody = Type.Object({ meta: Type.Record(Type.String({ pattern: '^[a-zA-Z0-9-_:. ]{1,255}$' }), Type.String({ maxLength: 255 }), { minProperties: 1, maxProperties: 1, additionalProperties: false }) }, { additionalProperties: false });

const NoArgument = Type.Unknown();
/** A server action: exactly one of these keys (unknown ones answer "There is no such action"). */
export const ServerActionBody = Type.Object(
  {
    'os-start': Type.Optional(NoArgument),
    'os-stop': Type.Optional(NoArgument),
    reboot: Type.Optional(Type.Object({ type: Type.Union(['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'].map((t) => Type.Literal(t))) }, { additionalProperties: false })),
    pause: Type.Optional(NoArgument),
    unpause: Type.Optional(NoArgument),
    suspend: Type.Optional(NoArgument),
    resume: Type.Optional(NoArgument),
    lock: Type.Optional(Nullable(Type.Object({ locked_reason: Type.Optional(Type.String({ maxLength: 255 })) }, { additionalProperties: false }))),
    unlock: Type.Optional(NoArgument),
    'os-getConsoleOutput': Type.Optional(Nullable(Type.Object({ length: Type.Optional(Nullable(Type.Union([Type.Integer({ minimum: -1 }), Type.String({ pattern: '^-?[0-9]{1,9}$' })]))) }, { additionalProperties: false }))),
    forceDelete: Type.Optional(NoArgument),
    createImage: Type.Optional(Type.Object({ name: Name, metadata: Type.Optional(Metadata) }, { additionalProperties: false })),
    rebuild: Type.Optional(
      Type.Object(
        {
          imageRef: Type.String({ minLength: 1, maxLength: 1024 }),
          name: Type.Optional(Name),
          adminPass: Type.Optional(Type.String({ maxLength: 4096 })),
          metadata: Type.Optional(Metadata),
          preserve_ephemeral: Type.Optional(NovaBoolean),
          'OS-DCF:diskConfig': Type.Optional(Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')])),
          accessIPv4: Type.Optional(Type.String({ maxLength: 64 })),
          accessIPv6: Type.Optional(Type.String({ maxLength: 64 })),
          personality: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 64 })),
          description: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
          key_name: Type.Optional(Nullable(Name)),
          user_data: Type.Optional(Nullable(Type.String({ maxLength: 65535 }))),
          trusted_image_certificates: Type.Optional(Nullable(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 50 }))),
        },
        { additionalProperties: false },
      ),
    ),
    resize: Type.Optional(Type.Object({ flavorRef: Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Integer()]), 'OS-DCF:diskConfig': Type.Optional(Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')])) }, { additionalProperties: false })),
    confirmResize: Type.Optional(NoArgument),
    revertResize: Type.Optional(NoArgument),
    // Nova's floating IP actions (until 2.44; see api/proxies/floating-ips.ts).
    addFloatingIp: Type.Optional(Type.Object({ address: IpAddress, fixed_address: Type.Optional(IpAddress) }, { additionalProperties: false })),
    removeFloatingIp: Type.Optional(Type.Object({ address: IpAddress }, { additionalProperties: false })),
    // A group on, or off, every port of the server (every version; see api/proxies/security-groups.ts).
    addSecurityGroup: Type.Optional(Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) })),
    removeSecurityGroup: Type.Optional(Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) })),
  },
  { additionalProperties: true },
);
export type ServerActionBody = Static<typeof ServerActionBody>;

export const InterfaceAttachmentBody = Type.Object(
  {
    interfaceAttachment: Type.Optional(
      Type.Object(
        {
          port_id: Type.Optional(Uuid),
          net_id: Type.Optional(Uuid),
          fixed_ips: Type.Optional(Type.Array(Type.Object({ ip_address: Ipv4 }, { additionalProperties: false }), { minItems: 1, maxItems: 1 })),
          tag: Type.Optional(Type.String({ maxLength: 60 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type InterfaceAttachmentBody = Static<typeof InterfaceAttachmentBody>;

export const FlavorCreateBody = Type.Object(
  {
    flavor: Type.Object(
      {
        name: Name,
        id: Type.Optional(Nullable(Type.Union([Type.String({ minLength: 1, maxLength: 255, pattern: '^(?! )[a-zA-Z0-9. _-]+(?<! )$' }), Type.Integer({ minimum: 0 })]))),
        ram: PositiveInteger,
        vcpus: PositiveInteger,
        disk: NonNegativeInteger,
        'OS-FLV-EXT-DATA:ephemeral': Type.Optional(NonNegativeInteger),
        swap: Type.Optional(Type.Union([NonNegativeInteger, Type.Literal('')])),
        rxtx_factor: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?$' })])),
        'os-flavor-access:is_public': Type.Optional(NovaBoolean),
        description: Type.Optional(Nullable(Type.String({ maxLength: 65535 }))),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type FlavorCreateBody = Static<typeof FlavorCreateBody>;

const TenantRef = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });
export const FlavorActionBody = Type.Object(
  { addTenantAccess: Type.Optional(TenantRef), removeTenantAccess: Type.Optional(TenantRef) },
  { additionalProperties: false, minProperties: 1, maxProperties: 1 },
);

export const FlavorUpdateBody = Type.Object({ flavor: Type.Object({ description: Nullable(Type.String({ maxLength: 65535 })) }, { additionalProperties: false }) }, { additionalProperties: false });

const ExtraSpecKey = Type.String({ pattern: '^[a-zA-Z0-9-_:. ]{1,255}$' });
const ExtraSpecValue = Type.Union([Type.String({ maxLength: 255 }), Type.Number(), Type.Boolean()]);
export const ExtraSpecsBody = Type.Object({ extra_specs: Type.Record(ExtraSpecKey, ExtraSpecValue, { additionalProperties: false }) }, { additionalProperties: false });
export const ExtraSpecItemBody = Type.Record(ExtraSpecKey, ExtraSpecValue, { minProperties: 1, maxProperties: 1, additionalProperties: false });

export const KeypairCreateBody = Type.Object(
  {
    keypair: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9 _.@-]+$' }),
        public_key: Type.Optional(Type.String({ maxLength: 16384 })),
        type: Type.Optional(Type.Union([Type.Literal('ssh'), Type.Literal('x509')])),
        user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type KeypairCreateBody = Static<typeof KeypairCreateBody>;

export const GroupPolicy = Type.Union([Type.Literal('affinity'), Type.Literal('anti-affinity'), Type.Literal('soft-affinity'), Type.Literal('soft-anti-affinity')]);
export const ServerGroupCreateBody = Type.Object(
  {
    server_group: Type.Object(
      {
        name: Name,
        policies: Type.Optional(Type.Array(GroupPolicy, { minItems: 1, maxItems: 1, uniqueItems: true })),
        policy: Type.Optional(GroupPolicy),
        rules: Type.Optional(Type.Object({ max_server_per_host: Type.Optional(PositiveInteger) }, { additionalProperties: false })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type ServerGroupCreateBody = Static<typeof ServerGroupCreateBody>;

const QuotaValue = Type.Union([Type.Integer({ minimum: -1, maximum: 2147483647 }), Type.String({ pattern: '^-?[0-9]{1,10}$' })]);
export const QUOTA_NAMES = ['instances', 'cores', 'ram', 'key_pairs', 'server_groups', 'server_group_members', 'metadata_items', 'injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes', 'floating_ips', 'fixed_ips', 'security_groups', 'security_group_rules', 'networks'] as const;
export const QuotaSetBody = Type.Object(
  {
    quota_set: Type.Object(
      {
        ...Object.fromEntries(QUOTA_NAMES.map((k) => [k, Type.Optional(QuotaValue)])),
        force: Type.Optional(NovaBoolean),
        id: Type.Optional(Type.String({ maxLength: 255 })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
/** PUT /os-quota-class-sets/{class}: the same limits under `quota_class_set`. */
export const QuotaSetClassBody = Type.Object(
  {
    quota_class_set: Type.Object(
      {
        ...Object.fromEntries(QUOTA_NAMES.map((k) => [k, Type.Optional(QuotaValue)])),
        id: Type.Optional(Type.String({ maxLength: 255 })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type QuotaSetBody = { quota_set: Partial<Record<(typeof QUOTA_NAMES)[number], number | string>> & { force?: boolean | string; id?: string } };

export const ServiceStatusBody = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 255 }),
    binary: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    disabled_reason: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
);
export type ServiceStatusBody = Static<typeof ServiceStatusBody>;

/** 2.11-2.52: PUT /os-services/force-down. */
export const ServiceForceDownBody = Type.Object(
  { host: Type.String({ minLength: 1, maxLength: 255 }), binary: Type.String({ minLength: 1, maxLength: 255 }), forced_down: Type.Boolean() },
  { additionalProperties: false },
);
/** 2.53: PUT /os-services/{service_id}, the body unwrapped. */
export const ServiceUpdateBody = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
    disabled_reason: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    forced_down: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ServiceUpdateBody = Static<typeof ServiceUpdateBody>;

/** An availability zone's name: no colon (Nova's zone:host form). */
const ZoneName = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^:]*$' });
export const AggregateCreateBody = Type.Object(
  { aggregate: Type.Object({ name: Name, availability_zone: Type.Optional(Nullable(ZoneName)) }, { additionalProperties: false }) },
  { additionalProperties: false },
);
export const AggregateUpdateBody = Type.Object(
  { aggregate: Type.Object({ name: Type.Optional(Name), availability_zone: Type.Optional(Nullable(ZoneName)) }, { additionalProperties: false, minProperties: 1 }) },
  { additionalProperties: false },
);
const HostRef = Type.Object({ host: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });
export const AggregateActionBody = Type.Object(
  {
    add_host: Type.Optional(HostRef),
    remove_host: Type.Optional(HostRef),
    set_metadata: Type.Optional(
      Type.Object(
        { metadata: Type.Record(Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-_:. ]{1,255}$' }), Nullable(Type.String({ maxLength: 255 })), { maxProperties: 128 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1 },
);
export type AggregateActionBody = Static<typeof AggregateActionBody>;

// ---- path parameters and query strings

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }) });
export const IdKeyParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }), key: Type.String({ minLength: 1, maxLength: 255 }) });
export const ServerTagParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }), tag: Type.String({ minLength: 1, maxLength: 255 }) });
/** PUT /servers/{id}/tags: the whole set (the limit of 50 is checked with Nova's message). */
export const ServerTagsBody = Type.Object({ tags: Type.Array(Type.String({ maxLength: 255 }), { maxItems: 1000 }) }, { additionalProperties: false });
export type ServerTagsBody = Static<typeof ServerTagsBody>;
/** os-simple-tenant-usage: the period, whether to list servers, and 2.40's paging. */
export const UsageQuery = Type.Object(
  {
    start: Type.Optional(Type.String({ maxLength: 64 })),
    end: Type.Optional(Type.String({ maxLength: 64 })),
    detailed: Type.Optional(Type.String({ maxLength: 16 })),
    limit: Type.Optional(Type.Integer({ minimum: 0 })),
    marker: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: true },
);
export type UsageQuery = Static<typeof UsageQuery>;
/** os-server-external-events: what the network (or volume) service reports about servers. */
export const ExternalEventsBody = Type.Object(
  {
    events: Type.Array(
      Type.Object(
        {
          name: Type.Union(['network-changed', 'network-vif-plugged', 'network-vif-unplugged', 'network-vif-deleted', 'volume-extended', 'power-update', 'accelerator-request-bound'].map((n) => Type.Literal(n))),
          server_uuid: Type.String({ minLength: 1, maxLength: 255 }),
          status: Type.Optional(Type.Union(['failed', 'completed', 'in-progress'].map((n) => Type.Literal(n)))),
          tag: Type.Optional(Type.String({ maxLength: 255 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);
export type ExternalEventsBody = Static<typeof ExternalEventsBody>;
export const AuditLogParams = Type.Object({ before: Type.String({ minLength: 1, maxLength: 64 }) });
export const OsHostParams = Type.Object({ host: Type.String({ minLength: 1, maxLength: 255 }) });
/** PUT /os-hosts/{host}: Nova's schema (at least one of the two). */
export const OsHostUpdateBody = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('enable'), Type.Literal('disable')])),
    maintenance_mode: Type.Optional(Type.Union([Type.Literal('enable'), Type.Literal('disable')])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) });
export const ProjectParams = Type.Object({ project: Type.String({ minLength: 1, maxLength: 255 }) });
export const ServerPortParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }), port: Type.String({ minLength: 1, maxLength: 255 }) });
export const ServerRequestParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }), req: Type.String({ minLength: 1, maxLength: 255 }) });
export const PatternParams = Type.Object({ pattern: Type.String({ minLength: 1, maxLength: 255 }) });

const QueryString = Type.String({ maxLength: 1024 });
const Limit = Type.Integer({ minimum: 0 });

/** Server list filters (Nova 2.1 ignores unknown ones); `name` is a pattern, matched in linear time. */
export const ServerListQuery = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 255 })),
    status: Type.Optional(Type.String({ maxLength: 64 })),
    image: Type.Optional(QueryString),
    flavor: Type.Optional(QueryString),
    host: Type.Optional(QueryString),
    'changes-since': Type.Optional(QueryString),
    all_tenants: Type.Optional(Type.String({ maxLength: 16 })),
    project_id: Type.Optional(QueryString),
    tenant_id: Type.Optional(QueryString),
    limit: Type.Optional(Limit),
    marker: Type.Optional(QueryString),
    sort_key: Type.Optional(QueryString),
    sort_dir: Type.Optional(QueryString),
  },
  { additionalProperties: true },
);
export type ServerListQuery = Static<typeof ServerListQuery>;

export const FlavorListQuery = Type.Object(
  {
    minRam: Type.Optional(Type.Integer({ minimum: 0 })),
    minDisk: Type.Optional(Type.Integer({ minimum: 0 })),
    is_public: Type.Optional(Type.String({ maxLength: 16 })),
    limit: Type.Optional(Limit),
    marker: Type.Optional(QueryString),
    sort_key: Type.Optional(QueryString),
    sort_dir: Type.Optional(QueryString),
  },
  { additionalProperties: true },
);
export type FlavorListQuery = Static<typeof FlavorListQuery>;

export const ServerGroupListQuery = Type.Object({ all_projects: Type.Optional(Type.String({ maxLength: 16 })), limit: Type.Optional(Limit), offset: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: true });
export const ServiceListQuery = Type.Object({ host: Type.Optional(QueryString), binary: Type.Optional(QueryString) }, { additionalProperties: true });
export const LimitsQuery = Type.Object({ tenant_id: Type.Optional(QueryString), reserved: Type.Optional(QueryString) }, { additionalProperties: true });
export const KeypairQuery = Type.Object({ user_id: Type.Optional(QueryString), limit: Type.Optional(Limit), marker: Type.Optional(QueryString) }, { additionalProperties: true });
export const AnyQuery = Type.Object({}, { additionalProperties: true });
