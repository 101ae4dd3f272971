// What the container service (Zun) asks of the other services, always on behalf of a caller: the
// docker images it runs and commits into, the networks, security groups, ports and floating IPs its
// containers use, and the compute workloads they are. Each is a narrow interface; the composition
// root adapts the services (adapters.ts).
import type { Readable } from 'node:stream';
import type { RequestContext } from '../platform/auth/context.ts';
import type { ContainerOptions, ExecResult, LogOptions, ProcessStream, ProcessTable, ServerStats, ArchiveStat, TtySize } from '../agent/driver.ts';

export interface DockerImage {
  id: string;
  name: string | null;
  tags: string[];
  status: string;
  owner: string;
  size: number | null;
  createdAt: string;
}

export interface ImageLookup {
  /** The container_format=docker images the caller sees (own, public, shared and accepted). */
  dockerImages(ctx: RequestContext): Promise<DockerImage[]>;
  /** One image by id, when the caller sees it and it is a docker image. */
  dockerImage(ctx: RequestContext, id: string): Promise<DockerImage | undefined>;
  /** A new private docker image of the caller's project, queued for its data. */
  createImage(ctx: RequestContext, name: string, tags: string[]): Promise<DockerImage>;
  /** Uploads the image's data; the image is active when this resolves (killed if it fails). */
  upload(ctx: RequestContext, id: string, data: Readable): Promise<void>;
}

export interface NetworkSummary {
  id: string;
  name: string;
  projectId: string;
  shared: boolean;
  external: boolean;
  createdAt: string;
}

export interface PortSummary {
  id: string;
  networkId: string;
  projectId: string;
  fixedIps: { subnetId: string; ipAddress: string }[];
  deviceId: string;
}

export interface NetworkLookup {
  /** The networks the caller sees. */
  networks(ctx: RequestContext): Promise<NetworkSummary[]>;
  port(ctx: RequestContext, id: string): Promise<PortSummary | undefined>;
  /** A security group of the caller's project by id or name: its id (NotFound, or Conflict when the name is ambiguous). */
  securityGroupId(ctx: RequestContext, nameOrId: string): Promise<string>;
  /** A group with one ingress rule per port (Zun's `exposed_ports`); answers its id. */
  createExposedGroup(ctx: RequestContext, name: string, ports: { port: number; protocol: 'tcp' | 'udp' }[]): Promise<string>;
  deleteSecurityGroup(ctx: RequestContext, id: string): Promise<void>;
  /** The port's security groups, replaced. */
  setPortSecurityGroups(ctx: RequestContext, portId: string, groupIds: string[]): Promise<void>;
}

/** A Zun container as compute runs it. */
export interface WorkloadState {
  id: string;
  /** Nova's vm_state: building, active, stopped, paused, error, ... */
  vmState: string;
  taskState: string | null;
  fault: string | null;
  hostId: string | null;
  /** False when the host stopped heart-beating. */
  hostUp: boolean;
  /** The container's ports as its addresses: network id -> entries. */
  addresses: Record<string, { addr: string; version: 4; port: string; subnet_id: string; preserve_on_delete: boolean }[]>;
  launchedAt: string | null;
}

/** A NIC of a container: a network (with an address or not) or a given port. */
export type ContainerNic = { networkId: string; fixedIp?: string } | { portId: string };

export interface ContainerBoot {
  /** The workload's id, chosen by Zun (its container's uuid). */
  id: string;
  name: string;
  imageId: string;
  /** Zun's CPU: fractions of CPUs (the ledger counts whole CPUs, rounded up). */
  cpu: number;
  memoryMiB: number;
  diskGiB: number;
  nics: ContainerNic[];
  securityGroupIds: string[];
  availabilityZone: string | null;
  /** A host by its name (admins). */
  host: string | null;
  /** Scheduler hints as Nova takes them. */
  hints: { same_host?: string[]; different_host?: string[] };
  /** Process, environment, labels, tty, files, and `start: false` for a container created but not run. */
  options: ContainerOptions;
  /** A running container of the caller's whose network namespace this one joins (a capsule's first): no NIC, its host. */
  networkOf?: string;
}

export type PowerVerb = 'start' | 'stop' | 'reboot' | 'pause' | 'unpause';

/** The verbs of one container's host, bound to the container (the driver's, without the server id). */
export interface ContainerVerbs {
  exec(command: string[], options: { maxOutputBytes: number }): Promise<ExecResult>;
  createExec(command: string[], options: { tty: boolean }): Promise<string>;
  startExec(execId: string): Promise<ProcessStream>;
  resizeExec(execId: string, size: TtySize): Promise<void>;
  attach(): Promise<ProcessStream>;
  resizeTty(size: TtySize): Promise<void>;
  logs(options: LogOptions): Promise<Readable>;
  archiveGet(path: string): Promise<{ stat: ArchiveStat; data: Readable }>;
  archivePut(path: string, data: Readable): Promise<void>;
  stats(): Promise<ServerStats>;
  top(psArgs: string | null): Promise<ProcessTable>;
  commit(): Promise<Readable>;
}

/**
 * Compute's side of Zun's containers: workloads of kind `container` (one ledger, scheduler, ports and
 * isolation profile with Nova's servers; out of Nova's views). Every call checks that the caller may
 * act on the workload (404 otherwise). Long work (boot, power, rebuild, delete) resolves once under
 * way; `settled` resolves when it is done.
 */
export interface ContainerCompute {
  boot(ctx: RequestContext, spec: ContainerBoot, requestId: string): Promise<{ state: WorkloadState; settled: Promise<void> }>;
  state(ctx: RequestContext, id: string): Promise<WorkloadState>;
  /** The exit code of a container whose process ended (null while it runs or when its host cannot say). */
  exitCode(ctx: RequestContext, id: string): Promise<number | null>;
  /** States of many (the caller's, or any for admins); missing ids are left out. */
  states(ctx: RequestContext, ids: string[]): Promise<Map<string, WorkloadState>>;
  power(ctx: RequestContext, id: string, verb: PowerVerb, requestId: string, options?: { timeoutS?: number }): Promise<{ settled: Promise<void> }>;
  kill(ctx: RequestContext, id: string, signal: string, requestId: string): Promise<void>;
  /** `start`: the rebuilt container runs (it ran before). */
  rebuild(ctx: RequestContext, id: string, imageId: string, start: boolean, requestId: string): Promise<{ settled: Promise<void> }>;
  /** New CPU and memory in place (checked against the ledger and Nova's quotas). */
  resize(ctx: RequestContext, id: string, cpu: number, memoryMiB: number): Promise<void>;
  rename(ctx: RequestContext, id: string, name: string): Promise<void>;
  delete(ctx: RequestContext, id: string, requestId: string): Promise<{ settled: Promise<void> }>;
  verbs(ctx: RequestContext, id: string): Promise<ContainerVerbs>;
  attachNic(ctx: RequestContext, id: string, nic: ContainerNic, requestId: string): Promise<void>;
  detachPort(ctx: RequestContext, id: string, portId: string, requestId: string): Promise<void>;
  /** The host names a request may name (admins) and whether each is up. */
  hosts(ctx: RequestContext): Promise<HostSummary[]>;
  setHostEnabled(ctx: RequestContext, hostname: string, enabled: boolean, reason: string | null): Promise<void>;
  /** Loads the image onto the host (by name or id) now (admins): Zun's image pull, from the image service. */
  loadImage(ctx: RequestContext, host: string, imageId: string): Promise<{ hostname: string }>;
  availabilityZones(ctx: RequestContext): Promise<string[]>;
}

export interface HostSummary {
  id: string;
  hostname: string;
  availabilityZone: string;
  up: boolean;
  enabled: boolean;
  disabledReason: string | null;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  architecture: string;
  usedCpus: number;
  usedMemoryMiB: number;
  usedDiskGiB: number;
  totalContainers: number;
  createdAt: string;
  updatedAt: string;
}

export interface ZunClients {
  images: ImageLookup;
  network: NetworkLookup;
  compute: ContainerCompute;
}
