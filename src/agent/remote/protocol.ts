// The agent protocol: the few messages between the controller and a remote agent, as TypeBox schemas
// checked on both sides. Additive only: new fields are optional, unknown fields are ignored.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ArchiveStat, ComputeDriver, ContainerOptions, HostCapacity, HostConfinement, InterfaceSpec, LogOptions, ProcessTable, ServerSpec, ServerState, ServerStats, TtySize } from '../driver.ts';
import type { FloatingIpMapping, PortFirewall } from '../net/contract.ts';

/** Path prefix of the agent endpoint on the controller. */
export const AGENT_PREFIX = '/agent';
export const AGENT_API = `${AGENT_PREFIX}/v1`;

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const PowerStateSchema = Type.Union([Type.Literal('running'), Type.Literal('paused'), Type.Literal('shutdown'), Type.Literal('crashed'), Type.Literal('missing')]);

const CapabilityNames = Type.Array(Type.String({ maxLength: 32 }), { maxItems: 64 });
export const HostConfinementSchema = Type.Object({
  seccomp: Nullable(Type.String({ maxLength: 255 })),
  apparmor: Nullable(Type.String({ maxLength: 255 })),
  selinux: Type.Boolean(),
  usernsRemap: Nullable(Type.Object({ uid: Type.Integer({ minimum: 0 }), gid: Type.Integer({ minimum: 0 }) })),
  capabilities: CapabilityNames,
  droppedCapabilities: CapabilityNames,
  noNewPrivileges: Type.Boolean(),
  pidsLimit: Type.Boolean(),
  hostGuard: Type.Boolean(),
});

export const HostCapacitySchema = Type.Object({
  vcpus: Type.Integer({ minimum: 1 }),
  memoryMiB: Type.Integer({ minimum: 1 }),
  diskGiB: Type.Integer({ minimum: 0 }),
  architecture: Type.String({ minLength: 1, maxLength: 32 }),
  hostname: Type.String({ maxLength: 255 }),
  confinement: Type.Optional(HostConfinementSchema),
});

export const CapabilitiesSchema = Type.Object({
  pause: Type.Boolean(),
  snapshot: Type.Boolean(),
  liveResize: Type.Boolean(),
  consoleLog: Type.Boolean(),
  interfaceHotplug: Type.Boolean(),
  exec: Type.Optional(Type.Boolean()),
  attach: Type.Optional(Type.Boolean()),
  archive: Type.Optional(Type.Boolean()),
  stats: Type.Optional(Type.Boolean()),
  logs: Type.Optional(Type.Boolean()),
  commit: Type.Optional(Type.Boolean()),
  inspect: Type.Optional(Type.Boolean()),
});

export const ServerStateSchema = Type.Object({
  power: PowerStateSchema,
  ip: Nullable(Type.String()),
  mac: Nullable(Type.String()),
  exitCode: Nullable(Type.Integer()),
});

export const InterfaceSpecSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  subnet: Type.String(),
  gateway: Type.String(),
  internal: Type.Boolean(),
  ip: Nullable(Type.String()),
  mac: Nullable(Type.String()),
});

const Strings = Type.Array(Type.String());
export const ContainerOptionsSchema = Type.Object({
  command: Type.Optional(Strings),
  entrypoint: Type.Optional(Strings),
  env: Type.Optional(Strings),
  user: Type.Optional(Type.String()),
  workingDir: Type.Optional(Type.String()),
  hostname: Type.Optional(Type.String()),
  tty: Type.Optional(Type.Boolean()),
  openStdin: Type.Optional(Type.Boolean()),
  restartPolicy: Type.Optional(Type.Object({
    name: Type.Union([Type.Literal('no'), Type.Literal('always'), Type.Literal('on-failure'), Type.Literal('unless-stopped')]),
    maximumRetryCount: Type.Optional(Type.Integer({ minimum: 0 })),
  })),
  cpuShares: Type.Optional(Type.Integer({ minimum: 0 })),
  cpuset: Type.Optional(Type.String()),
  readOnly: Type.Optional(Type.Boolean()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  volumes: Type.Optional(Strings),
  namedVolumes: Type.Optional(Type.Array(Type.Object({ name: Type.String(), target: Type.String(), volume: Type.Optional(Type.String()) }))),
  capDrop: Type.Optional(Strings),
  healthcheck: Type.Optional(Type.Object({
    test: Strings,
    intervalS: Type.Optional(Type.Number()),
    timeoutS: Type.Optional(Type.Number()),
    retries: Type.Optional(Type.Integer()),
    startPeriodS: Type.Optional(Type.Number()),
  })),
  aliases: Type.Optional(Strings),
  dnsSearch: Type.Optional(Strings),
  configDrive: Type.Optional(Type.Boolean()),
  start: Type.Optional(Type.Boolean()),
  cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  files: Type.Optional(Type.Record(Type.String(), Type.String())),
  networkOf: Type.Optional(Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' })),
});

export const ServerSpecSchema = Type.Object({
  serverId: Type.String({ minLength: 1 }),
  imageId: Type.String({ minLength: 1 }),
  command: Nullable(Strings),
  memoryMiB: Type.Integer({ minimum: 1 }),
  vcpus: Type.Integer({ minimum: 1 }),
  pidsLimit: Type.Integer(),
  cpuset: Nullable(Type.String()),
  readOnlyRoot: Type.Boolean(),
  hostname: Type.String(),
  env: Strings,
  network: Nullable(InterfaceSpecSchema),
  configDrive: Type.Record(Type.String(), Type.String()),
  authorizedKeys: Nullable(Type.String()),
  container: Type.Optional(Nullable(ContainerOptionsSchema)),
});

// ---- the container verbs' arguments and answers

/** The most output a non-interactive exec brings back through an agent. */
export const MAX_EXEC_OUTPUT_BYTES = 16 << 20;

export const TtySizeSchema = Type.Object({ height: Type.Integer({ minimum: 1, maximum: 10_000 }), width: Type.Integer({ minimum: 1, maximum: 10_000 }) });

export const LogOptionsSchema = Type.Object({
  stdout: Type.Boolean(),
  stderr: Type.Boolean(),
  tail: Nullable(Type.Integer({ minimum: 0 })),
  timestamps: Type.Boolean(),
  since: Nullable(Type.Integer({ minimum: 0 })),
});

export const ArchiveStatSchema = Type.Object({
  name: Type.String(),
  size: Type.Number(),
  mode: Type.Number(),
  mtime: Type.String(),
  linkTarget: Type.String(),
});

export const ServerStatsSchema = Type.Object({
  cpuPercent: Type.Number({ minimum: 0 }),
  memoryUsageBytes: Type.Number({ minimum: 0 }),
  memoryLimitBytes: Type.Number({ minimum: 0 }),
  blockReadBytes: Type.Number({ minimum: 0 }),
  blockWriteBytes: Type.Number({ minimum: 0 }),
  networkRxBytes: Type.Number({ minimum: 0 }),
  networkTxBytes: Type.Number({ minimum: 0 }),
});

export const ProcessTableSchema = Type.Object({ titles: Strings, processes: Type.Array(Strings) });

/** inspect's answer: Docker's inspect document as the agent's driver made it fit for the tenant. */
export const ServerInspectSchema = Type.Record(Type.String(), Type.Unknown());

/** exec's answer on the wire: the output in base64. */
export const ExecResultSchema = Type.Object({ output: Type.String(), exitCode: Type.Integer(), truncated: Type.Boolean() });

/** Header of a call stream (PUT .../calls/{id}/stream) carrying what comes with the data (archiveGet: the stat), base64 JSON. */
export const STREAM_META_HEADER = 'x-hafen-stream-meta';
/** Upgrade protocol of a call socket (GET .../calls/{id}/socket): raw bytes both ways after 101. */
export const SOCKET_PROTOCOL = 'hafen-stream';

// ---- agent -> controller: registration, heartbeat

export const RegistrationSchema = Type.Object({
  hostId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' }),
  /** How the agent reaches its engine (shown to admins as the host's endpoint). */
  endpoint: Type.String({ maxLength: 1000 }),
  capacity: HostCapacitySchema,
  capabilities: CapabilitiesSchema,
  availabilityZone: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  /**
   * The host's IPv4 address as the controller reaches it (e.g. the host of a tcp:// engine URL): the
   * controller routes the floating IPs of the host's servers there. Absent: they are not answered.
   */
  address: Type.Optional(Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,3}){3}$' })),
});
export type Registration = Static<typeof RegistrationSchema>;

export const SessionSchema = Type.Object({
  sessionId: Type.String(),
  hostId: Type.String(),
  /** The controller's mark for its containers (the Docker driver's cloudId). */
  cloudId: Type.String(),
  heartbeatIntervalMs: Type.Integer({ minimum: 100 }),
  pollTimeoutMs: Type.Integer({ minimum: 100 }),
});
export type Session = Static<typeof SessionSchema>;

// ---- controller -> agent: calls (one per ComputeDriver method)

const Id = Type.String({ minLength: 1 });
const call = <M extends string, A extends TSchema>(method: M, args: A) => Type.Object({ id: Id, method: Type.Literal(method), args });
const ServerArg = Type.Object({ serverId: Id });

/**
 * Not a driver call: the controller tells the agent that these ports' firewalls changed (the agent's
 * dataplane then reads them from .../network/firewalls). Answered with null.
 */
export const FirewallsChangedSchema = call('firewallsChanged', Type.Object({ portIds: Type.Array(Id) }));

/**
 * Not a driver call: the floating IPs of the host's servers changed (the agent's dataplane then reads
 * them from .../network/floating-ips). Answered with null.
 */
export const FloatingIpsChangedSchema = call('floatingIpsChanged', Type.Object({}));

export const CallSchema = Type.Union([
  call('capacity', Type.Object({})),
  call('ensureImage', Type.Object({ imageId: Id, digest: Type.String() })),
  call('spawn', Type.Object({ spec: ServerSpecSchema })),
  call('destroy', ServerArg),
  call('power', Type.Object({ serverId: Id, action: Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('reboot'), Type.Literal('hard-reboot'), Type.Literal('pause'), Type.Literal('unpause')]) })),
  call('state', ServerArg),
  call('resize', Type.Object({ serverId: Id, limits: Type.Object({ memoryMiB: Type.Integer({ minimum: 1 }), vcpus: Type.Number({ exclusiveMinimum: 0 }), pidsLimit: Type.Integer() }) })),
  call('consoleLog', Type.Object({ serverId: Id, tailLines: Nullable(Type.Integer({ minimum: 0 })) })),
  /** The archive comes back as the body of PUT .../calls/{id}/stream, not as a result. */
  call('snapshot', Type.Object({ serverId: Id, name: Type.String() })),
  call('attachInterface', Type.Object({ serverId: Id, nic: InterfaceSpecSchema })),
  call('detachInterface', Type.Object({ serverId: Id, networkName: Id, address: Type.Optional(Nullable(Type.String({ maxLength: 45 }))) })),
  call('listServers', Type.Object({})),
  call('signal', Type.Object({ serverId: Id, signal: Type.String({ minLength: 1, maxLength: 16, pattern: '^[A-Za-z0-9+]+$' }) })),
  call('exec', Type.Object({ serverId: Id, command: Type.Array(Type.String(), { minItems: 1 }), maxOutputBytes: Type.Integer({ minimum: 0, maximum: MAX_EXEC_OUTPUT_BYTES }) })),
  call('createExec', Type.Object({ serverId: Id, command: Type.Array(Type.String(), { minItems: 1 }), tty: Type.Boolean() })),
  /** Answered by the agent opening GET .../calls/{id}/socket (an upgrade to the process's session). */
  call('startExec', Type.Object({ serverId: Id, execId: Id })),
  call('resizeExec', Type.Object({ serverId: Id, execId: Id, size: TtySizeSchema })),
  /** Answered by a socket, as startExec. */
  call('attach', ServerArg),
  call('resizeTty', Type.Object({ serverId: Id, size: TtySizeSchema })),
  /** Answered by a stream (PUT .../calls/{id}/stream), as snapshot. */
  call('logs', Type.Object({ serverId: Id, options: LogOptionsSchema })),
  /** Answered by a stream whose meta header is the path's stat. */
  call('archiveGet', Type.Object({ serverId: Id, path: Type.String({ minLength: 1 }) })),
  /** The agent reads the archive from GET .../calls/{id}/input, then answers null. */
  call('archivePut', Type.Object({ serverId: Id, path: Type.String({ minLength: 1 }) })),
  call('stats', ServerArg),
  call('top', Type.Object({ serverId: Id, psArgs: Nullable(Type.String()) })),
  /** Answered by a stream, as snapshot. */
  call('commit', ServerArg),
  call('inspect', ServerArg),
  FirewallsChangedSchema,
  FloatingIpsChangedSchema,
]);
export type Call = Static<typeof CallSchema>;
export type CallMethod = Call['method'];

export const CallsSchema = Type.Object({ calls: Type.Array(Type.Unknown()) });

/** What each call answers with (`value` of a successful result). */
export const ResultValueSchemas: Record<CallMethod, TSchema> = {
  capacity: HostCapacitySchema,
  ensureImage: Type.Null(),
  spawn: ServerStateSchema,
  destroy: Type.Null(),
  power: ServerStateSchema,
  state: ServerStateSchema,
  resize: Type.Null(),
  consoleLog: Type.String(),
  snapshot: Type.Null(),
  attachInterface: Type.Null(),
  detachInterface: Type.Null(),
  listServers: Type.Array(Type.Object({ serverId: Type.String(), power: PowerStateSchema })),
  signal: Type.Null(),
  exec: ExecResultSchema,
  createExec: Type.String({ minLength: 1 }),
  startExec: Type.Null(),
  resizeExec: Type.Null(),
  attach: Type.Null(),
  resizeTty: Type.Null(),
  logs: Type.Null(),
  archiveGet: Type.Null(),
  archivePut: Type.Null(),
  stats: ServerStatsSchema,
  top: ProcessTableSchema,
  commit: Type.Null(),
  inspect: ServerInspectSchema,
  firewallsChanged: Type.Null(),
  floatingIpsChanged: Type.Null(),
};

// ---- agent -> controller: the security groups of the ports on the agent's host

export const FirewallRuleSchema = Type.Object({
  direction: Type.Union([Type.Literal('ingress'), Type.Literal('egress')]),
  protocol: Nullable(Type.String()),
  portMin: Nullable(Type.Integer()),
  portMax: Nullable(Type.Integer()),
  remoteCidrs: Strings,
});

export const PortFirewallSchema = Type.Object({ portId: Id, portSecurityEnabled: Type.Boolean(), rules: Type.Array(FirewallRuleSchema), addresses: Type.Optional(Strings) });

/** GET .../network/firewalls: every port bound to a server of the agent's host, with its compiled firewall. */
export const HostFirewallsSchema = Type.Object({
  ports: Type.Array(Type.Object({ portId: Id, serverId: Id, firewall: Nullable(PortFirewallSchema) })),
});
export type HostFirewalls = Static<typeof HostFirewallsSchema>;

/**
 * GET .../network/floating-ips: the floating IPs associated to ports bound to servers of the agent's
 * host (and no others); the agent NATs each to its server on the host, the controller routes it there.
 */
export const HostFloatingIpsSchema = Type.Object({
  floatingIps: Type.Array(Type.Object({ floatingIpId: Id, floatingIpAddress: Type.String(), fixedIpAddress: Type.String(), portId: Id, serverId: Id })),
});
export type HostFloatingIps = Static<typeof HostFloatingIpsSchema>;

export const ResultSchema = Type.Union([
  Type.Object({ ok: Type.Literal(true), value: Type.Unknown() }),
  Type.Object({
    ok: Type.Literal(false),
    /** `name` is the error's class on the agent: ConflictError, NotFoundError and BadRequestError keep their meaning. */
    error: Type.Object({ name: Type.String(), message: Type.String(), statusCode: Type.Optional(Type.Integer()) }),
  }),
]);
export type Result = Static<typeof ResultSchema>;

/** Checks a message against its schema; throws a one-line error naming the first problem. */
export function checked<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  if (Value.Check(schema, value)) return value;
  const first = Value.Errors(schema, value).First();
  throw new ProtocolError(`${what}: ${first ? `${first.path || '/'} ${first.message}` : 'does not match its schema'}`);
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

// Compile-time checks that the wire types and the driver's types agree.
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Same type and same keys (optional fields included, which assignability alone would miss). */
type Same<A, B> = Mutual<A, B> extends true ? Mutual<keyof A, keyof B> : false;
// A field added to ServerSpec or ContainerOptions must be added to its schema above too (optional:
// additive); until it is, this line fails to compile. Infrastructure workloads (cluster nodes) run on
// in-process engines only and never travel to an agent.
const agree: [
  Same<Static<typeof HostCapacitySchema>, HostCapacity>,
  Same<Static<typeof HostConfinementSchema>, HostConfinement>,
  Same<Static<typeof ServerStateSchema>, ServerState>,
  Same<Static<typeof CapabilitiesSchema>, ComputeDriver['capabilities']>,
  Same<Static<typeof InterfaceSpecSchema>, InterfaceSpec>,
  Same<Static<typeof ContainerOptionsSchema>, ContainerOptions>,
  Same<Omit<Static<typeof ServerSpecSchema>, 'container'>, Omit<ServerSpec, 'container' | 'infrastructure'>>,
  Same<Static<typeof PortFirewallSchema>, PortFirewall>,
  Same<Static<typeof TtySizeSchema>, TtySize>,
  Same<Static<typeof LogOptionsSchema>, LogOptions>,
  Same<Static<typeof ArchiveStatSchema>, ArchiveStat>,
  Same<Static<typeof ServerStatsSchema>, ServerStats>,
  Same<Static<typeof ProcessTableSchema>, ProcessTable>,
  Same<Omit<HostFloatingIps['floatingIps'][number], 'serverId'>, FloatingIpMapping>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true];
void agree;
/** A spec from the driver's callers is always a valid wire spec (and the agent hands the wire spec to its driver). */
export const asWireSpec = (spec: ServerSpec): Static<typeof ServerSpecSchema> => spec;
export const asDriverSpec = (spec: Static<typeof ServerSpecSchema>): ServerSpec => spec;
