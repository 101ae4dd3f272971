// The one place that knows how a server becomes real on a host (Nova's ComputeDriver, trimmed to
// what containers need). Every guarantee below is part of the contract each driver keeps.
import type { Readable } from 'node:stream';

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
}

export interface DriverCapabilities {
  pause: boolean;
  snapshot: boolean;
  liveResize: boolean;
  consoleLog: boolean;
  /** Interfaces can be plugged into and out of an existing server (os-interface). */
  interfaceHotplug: boolean;
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
   * with its address. Guarantees: if it fails, the server has no interface on that network and is
   * otherwise as before (the engine network itself may stay: it is shared); a server has at most one
   * interface per network, and a second one on the same network fails without touching the first.
   */
  attachInterface(serverId: string, nic: InterfaceSpec): Promise<void>;
  /** Unplugs the server from the network. Guarantee: succeeds when the interface or the server is already gone. */
  detachInterface(serverId: string, networkName: string): Promise<void>;
  /** Server ids of everything this driver runs on the host, for reconciliation. */
  listServers(): Promise<{ serverId: string; power: PowerState }[]>;
}
