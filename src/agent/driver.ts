// The one place that knows how a server becomes real on a host (Nova's ComputeDriver, trimmed to
// what containers need). Every guarantee below is part of the contract each driver keeps.
import type { Duplex, Readable } from 'node:stream';

export type PowerState = 'running' | 'paused' | 'shutdown' | 'crashed' | 'missing';

export interface ServerSpec {
  serverId: string;
  /** Our image id; the driver loads it once (see ensureImage) and runs it by this id. */
  imageId: string;
  /** Command override (`os_command_line`), or null for the image's own. */
  command: string[] | null;
  memoryMiB: number;
  vcpus: number;
  pidsLimit: number;
  cpuset: string | null;
  readOnlyRoot: boolean;
  hostname: string;
  env: string[];
  /** Engine network to attach to (created on demand by the driver), with the address to take. */
  network: InterfaceSpec | null;
  /** Files delivered read-only to the server: path inside the container -> content. */
  configDrive: Record<string, string>;
  authorizedKeys: string | null;
  /** Docker settings beyond the flavor (orchestration's containers); never anything that breaks isolation. */
  container?: ContainerOptions | null;
  /**
   * Set only for workloads the cloud runs for its own services (compute's infrastructure kinds, booted
   * through compute's client); never derived from a tenant's request. See InfrastructureSpec.
   */
  infrastructure?: InfrastructureSpec | null;
}

/**
 * A workload that is the cloud's infrastructure rather than a tenant's container: a cluster node, a
 * Docker engine of its own. It runs the host's engine image (`hafen/busybox` with the host's /usr
 * read-only, as nested test hosts do) with the rights a nested engine needs (the capabilities listed
 * one by one, no seccomp or AppArmor profile, the host's cgroup tree), which no tenant path can ask for.
 */
export interface InfrastructureSpec {
  role: 'nested-engine';
  /** A second interface, on the node network (where the controller and the other nodes reach it). */
  nodeNetwork: NodeNetworkSpec;
  /** Files written into the container before it starts: absolute path -> content (mode 0600). */
  files: Record<string, string>;
  /** The process to run (a shell script that starts the engine). */
  command: string[];
  /** Labels beyond hafen's own (which win). */
  labels: Record<string, string>;
}

/**
 * The network where nodes of every host meet: a macvlan network on the host's uplink (hosts on one
 * segment, each node with an address of it), or a bridge network of a single local engine.
 */
export interface NodeNetworkSpec {
  name: string;
  driver: 'bridge' | 'macvlan';
  subnet: string;
  gateway: string;
  /** macvlan: the host interface that carries the segment. */
  parent: string | null;
  ip: string;
}

/** What a tenant may set on its container: process, environment, restart, shares. */
export interface ContainerOptions {
  command?: string[];
  entrypoint?: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  hostname?: string;
  tty?: boolean;
  openStdin?: boolean;
  restartPolicy?: { name: 'no' | 'always' | 'on-failure' | 'unless-stopped'; maximumRetryCount?: number };
  cpuShares?: number;
  cpuset?: string;
  readOnly?: boolean;
  labels?: Record<string, string>;
  /** Mount points that get an anonymous engine volume of their own (removed with the container). */
  volumes?: string[];
  /**
   * Named engine volumes shared by the servers that mount them (compute derives `volume` from the
   * project and the tenant's name, so a project only ever reaches its own); removed with the last
   * server that uses them.
   */
  namedVolumes?: { name: string; target: string; volume?: string }[];
  /** Capabilities to drop beyond hafen's own profile (adding any is refused). */
  capDrop?: string[];
  healthcheck?: { test: string[]; intervalS?: number; timeoutS?: number; retries?: number; startPeriodS?: number };
  /** Names other containers on the boot network resolve to this one (the engine's DNS). */
  aliases?: string[];
  /** Search domains of the container's resolver (so `db` finds `db.<stack>`). */
  dnsSearch?: string[];
  /** Nova's config_drive=false: no metadata volume when no key or user data needs one. */
  configDrive?: boolean;
  /** false: the container is made but not started (Zun's create without run); spawn answers it shut down. */
  start?: boolean;
  /** A CPU limit in (fractions of) CPUs instead of the spec's whole vcpus (Zun's `cpu`). */
  cpus?: number;
  /**
   * Files written into the container's own file system before it first starts (Zun's bind mounts of
   * injected content): absolute path -> base64 content. Never a host path.
   */
  files?: Record<string, string>;
  /**
   * Another server on this host (a capsule's first container) whose network namespace this
   * container joins (Docker's `container:` network mode): it has no interface, hostname or resolver
   * of its own and reaches that server's processes on localhost. Compute sets it, never a tenant.
   */
  networkOf?: string;
}

/** One network interface as a host realises it: the engine network (made on demand) and the address. */
export interface InterfaceSpec {
  /** Engine network name (carries no tenant data). */
  name: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  ip: string | null;
  mac: string | null;
}

export interface ServerState {
  power: PowerState;
  ip: string | null;
  mac: string | null;
  exitCode: number | null;
}

export interface HostCapacity {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  architecture: string;
  hostname: string;
  /** The confinement its tenant containers run under (hosts of real engines report it; simulated ones do not). */
  confinement?: HostConfinement;
}

/** What holds a tenant container on a host, as the host's engine and driver report it (shown to admins). */
export interface HostConfinement {
  /** The seccomp profile tenant containers get ('default': Docker's), or null where the kernel has none. */
  seccomp: string | null;
  /** The AppArmor profile of tenant containers where AppArmor is enabled, else null. */
  apparmor: string | null;
  /** Whether SELinux labels the containers. */
  selinux: boolean;
  /** Where ids 0.. of a tenant container land on the host (user-namespace remap), or null when they are not remapped. */
  usernsRemap: { uid: number; gid: number } | null;
  /** The capabilities a tenant container may hold; every other one is dropped. */
  capabilities: string[];
  /** Capabilities of Docker's default set that tenant containers do not get. */
  droppedCapabilities: string[];
  /** no-new-privileges: setuid binaries gain nothing. */
  noNewPrivileges: boolean;
  /** Whether the flavor's pids limit is enforced (the kernel's pids controller is there). */
  pidsLimit: boolean;
  /** Whether tenant traffic to the host's own addresses is dropped (the host guard). */
  hostGuard: boolean;
}

export interface DriverCapabilities {
  pause: boolean;
  snapshot: boolean;
  liveResize: boolean;
  consoleLog: boolean;
  /** Interfaces can be plugged into and out of an existing server (os-interface). */
  interfaceHotplug: boolean;
  // The container verbs (Zun's API). Optional on the wire: an agent that does not report one lacks it.
  /** exec (both kinds), createExec/startExec/resizeExec. */
  exec?: boolean;
  /** attach and resizeTty. */
  attach?: boolean;
  /** archiveGet and archivePut. */
  archive?: boolean;
  /** stats and top. */
  stats?: boolean;
  /** logs as a stream with its filters. */
  logs?: boolean;
  /** commit into an image archive. */
  commit?: boolean;
  /** inspect: the engine's description of a server. */
  inspect?: boolean;
}

/**
 * A live session with a process in a server, bytes both ways: what is written goes to its stdin,
 * what is read is its output (stdout and stderr interleaved as written; raw terminal output with a
 * tty). `end()` closes stdin; `destroy()` ends the session (the process itself is not killed).
 */
export type ProcessStream = Duplex;

export interface TtySize {
  height: number;
  width: number;
}

export interface ExecResult {
  /** stdout and stderr interleaved as written, cut at the caller's limit. */
  output: Buffer;
  exitCode: number;
  /** The output went past the limit (the process still ran to its end). */
  truncated: boolean;
}

export interface LogOptions {
  stdout: boolean;
  stderr: boolean;
  /** The last n lines, or null for all. */
  tail: number | null;
  timestamps: boolean;
  /** Only lines written at or after this time (Unix seconds), or null. */
  since: number | null;
}

/** A path in a server, as its archive describes it (Docker's X-Docker-Container-Path-Stat). */
export interface ArchiveStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** One sample of a running server's use, as the engine counts it. */
export interface ServerStats {
  cpuPercent: number;
  memoryUsageBytes: number;
  memoryLimitBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  networkRxBytes: number;
  networkTxBytes: number;
}

/**
 * A server as its engine describes it, in the shape of Docker's inspect document (`Id`, `Created`,
 * `Path`, `Args`, `State`, `Name`, `RestartCount`, `Config`, `HostConfig`, `Mounts`,
 * `NetworkSettings`...), with nothing of the host in it (see ComputeDriver.inspect).
 */
export type ServerInspect = Record<string, unknown>;

/** `ps` inside a server: column titles and one row per process. */
export interface ProcessTable {
  titles: string[];
  processes: string[][];
}

export interface ComputeDriver {
  readonly capabilities: DriverCapabilities;
  capacity(): Promise<HostCapacity>;
  /** Makes the image available to spawn; a second call for the same id and digest is free. */
  ensureImage(imageId: string, digest: string, data: () => Promise<Readable>): Promise<void>;
  /** Creates and starts the server. Guarantee: if it fails, nothing of it is left on the host. */
  spawn(spec: ServerSpec): Promise<ServerState>;
  /** Removes the server and what was made for it. Guarantee: succeeds when it is already gone. */
  destroy(serverId: string): Promise<void>;
  power(serverId: string, action: 'start' | 'stop' | 'reboot' | 'hard-reboot' | 'pause' | 'unpause'): Promise<ServerState>;
  state(serverId: string): Promise<ServerState>;
  /** Applies new limits to a server in place. */
  resize(serverId: string, limits: { memoryMiB: number; vcpus: number; pidsLimit: number }): Promise<void>;
  consoleLog(serverId: string, tailLines: number | null): Promise<string>;
  /** The server's file system as a docker save archive (a snapshot). */
  snapshot(serverId: string, name: string): Promise<Readable>;
  /**
   * Plugs one more interface into an existing server (running or stopped), on the spec's network
   * with its address. Guarantees: if it fails, the server has no new interface and is otherwise as
   * before (the engine network itself may stay: it is shared); a server may have several interfaces
   * on one network (one per address); an interface the server already has with that address is
   * success without change (so compute plugs a server's ports again after it starts, when a host
   * cannot keep all of them across a restart of the container); a host that cannot give a server a
   * second interface on one network answers BadRequestError, touching nothing.
   */
  attachInterface(serverId: string, nic: InterfaceSpec): Promise<void>;
  /**
   * Unplugs the server's interface on the network with that address (without one: the server's
   * interface on the network). Guarantee: succeeds when the interface or the server is already gone.
   */
  detachInterface(serverId: string, networkName: string, address?: string | null): Promise<void>;
  /**
   * Sends a signal (a name like SIGTERM, or a number) to the server's main process. Guarantees: a
   * server that is not running is a ConflictError; what the process does with it is its own (the
   * server's state afterwards is read with state()).
   */
  signal(serverId: string, signal: string): Promise<void>;

  // ---- the container verbs; each is offered when its capability says so (see DriverCapabilities).
  // Common guarantees: a server that does not exist on the host is a NotFoundError; one whose state
  // does not allow the verb (not running for exec, attach, stats, top) is a ConflictError; none of
  // them changes the server's configuration, and none ever runs anything with more rights than the
  // server's own processes have.

  /**
   * Runs a command to its end in a running server, without stdin or tty, as the server's user.
   * Guarantees: the output is cut at `maxOutputBytes` (the process still runs to its end, its
   * further output is read and dropped); the exit code is the process's own.
   */
  exec(serverId: string, command: string[], options: { maxOutputBytes: number }): Promise<ExecResult>;
  /**
   * Prepares an interactive process (stdin open, a tty when asked) without starting it; answers a
   * handle for startExec and resizeExec. Handles are the driver's own (never an engine id): an
   * unknown or already started handle is a NotFoundError, and one not started within ten minutes lapses.
   */
  createExec(serverId: string, command: string[], options: { tty: boolean }): Promise<string>;
  /** Starts a prepared process and gives its session; once per handle. */
  startExec(serverId: string, execId: string): Promise<ProcessStream>;
  /** Resizes the tty of a started (or prepared) process; a process without a tty ignores it. */
  resizeExec(serverId: string, execId: string, size: TtySize): Promise<void>;
  /**
   * A session with the server's main process (its stdin when the server keeps it open, its output
   * from now on). Destroying the session detaches; the server keeps running.
   */
  attach(serverId: string): Promise<ProcessStream>;
  /** Resizes the tty of the server's main process; a server without a tty ignores it. */
  resizeTty(serverId: string, size: TtySize): Promise<void>;
  /**
   * The server's output so far, filtered as asked, as a stream of plain bytes (never the engine's
   * multiplexed frames). Guarantee: the stream ends when the output written so far has been read.
   */
  logs(serverId: string, options: LogOptions): Promise<Readable>;
  /**
   * A path of the server's file system as a tar archive, with its stat. Guarantee: a path that does
   * not exist is a NotFoundError. Works on a server that is not running.
   */
  archiveGet(serverId: string, path: string): Promise<{ stat: ArchiveStat; data: Readable }>;
  /**
   * Unpacks a tar archive into a directory of the server's file system. Guarantees: a directory that
   * does not exist is a NotFoundError and a read-only root a ConflictError, leaving the server as it was;
   * the archive's owners and modes are kept as in the server's user namespace (never the host's).
   */
  archivePut(serverId: string, path: string, data: Readable): Promise<void>;
  /** One sample of the server's CPU, memory, block and network use (running servers only). */
  stats(serverId: string): Promise<ServerStats>;
  /** The server's processes as `ps` shows them with `psArgs` (default `-ef`). */
  top(serverId: string, psArgs: string | null): Promise<ProcessTable>;
  /**
   * The server's file system with its configuration (command, entrypoint, environment, working
   * directory) as a docker save archive, for the image service. Guarantees: a running server is
   * paused for the copy and runs on after it; the image's name on the host is the driver's own (no
   * tenant data); nothing of the copy stays on the host once the stream is read or destroyed.
   */
  commit(serverId: string): Promise<Readable>;
  /**
   * The server as the engine describes it (Docker's inspect document), for its tenant. Guarantees:
   * `Id` is the server id and `Name` is `/` + the server id; nothing of the host or the engine's
   * internals is in it: no engine ids (container, image, network, endpoint, sandbox, exec ids;
   * `Image` and `Config.Image` are empty), no host paths (resolv.conf, hosts, hostname and log
   * files, the storage driver's directories, mount sources, the network sandbox), no host process
   * id, no engine volume names, none of hafen's own labels; network entries are keyed by the
   * engine network's name (InterfaceSpec.name). Works on a server that is not running.
   */
  inspect(serverId: string): Promise<ServerInspect>;

  /** Server ids of everything this driver runs on the host, for reconciliation. */
  listServers(): Promise<{ serverId: string; power: PowerState }[]>;
}
