// What other services may ask of compute (orchestration's resources, the container and cluster
// APIs), always on behalf of a caller whose context the policy checks on every path. Workloads are
// compute's servers: one ledger, one scheduler, the same ports and isolation; a workload's `kind`
// keeps other APIs' workloads (Zun's containers) out of Nova's views and Nova's out of theirs.
import type { RequestContext } from '../platform/auth/context.ts';
import { ConflictError } from '../platform/errors.ts';
import type { ComputeDriver, DriverCapabilities, ServerInspect } from '../agent/driver.ts';
import type { NovaAddress, PortBinding } from '../network/client.ts';
import type { WorkloadBoot } from './build.ts';
import type { ComputeService } from './service.ts';
import { novaStatus, type NovaStatus } from './states.ts';
import type { FlavorRow, KeypairRow, ServerGroupRow, ServerRow, VmState, WorkloadKind } from './tables.ts';
import type { InfrastructureBoot } from './build.ts';
import { serverDetails } from './views.ts';
import { checkedBody } from './validation.ts';
import {
  ExtraSpecsBody,
  FlavorCreateBody,
  InterfaceAttachmentBody,
  KeypairCreateBody,
  MetadataBody,
  ServerActionBody,
  ServerCreateBody,
  ServerGroupCreateBody,
  ServerUpdateBody,
} from './schemas.ts';

export type { NovaStatus } from './states.ts';
export type { WorkloadBoot } from './build.ts';
export type { VmState, WorkloadKind } from './tables.ts';
export type { FlavorCreateBody, KeypairCreateBody, ServerActionBody, ServerCreateBody, ServerGroupCreateBody } from './schemas.ts';

export interface Workload {
  id: string;
  name: string;
  kind: WorkloadKind;
  projectId: string;
  userId: string;
  imageId: string;
  flavorId: string;
  /** Nova's status: BUILD, ACTIVE, SHUTOFF, PAUSED, SUSPENDED, ERROR, REBOOT, REBUILD, VERIFY_RESIZE... */
  status: NovaStatus;
  vmState: VmState;
  /** The task under way (spawning, deleting, rebooting...), null when none. */
  taskState: string | null;
  /** Nova's power state code. */
  powerState: number;
  /** Why the workload is in ERROR. */
  fault: { code: number; message: string; created: string } | null;
  metadata: Record<string, string>;
  locked: boolean;
  createdAt: string;
  updatedAt: string;
  launchedAt: string | null;
  /** The host it runs on (null before it is placed). */
  hostId: string | null;
}

/** A workload with where it runs and the ports it has. */
export interface PlacedWorkload extends Workload {
  /** False when its host stopped heart-beating. */
  hostUp: boolean;
  ports: (PortBinding & { givenByUser: boolean })[];
}

/** The container verbs of a workload's host, bound to the workload (see ComputeDriver). */
export type WorkloadVerbs = Pick<ComputeDriver, 'exec' | 'createExec' | 'startExec' | 'resizeExec' | 'attach' | 'resizeTty' | 'logs' | 'archiveGet' | 'archivePut' | 'stats' | 'top' | 'commit'> extends infer D
  ? { [K in keyof D]: D[K] extends (serverId: string, ...rest: infer A) => infer R ? (...rest: A) => R : never }
  : never;

export interface HostInfo {
  id: string;
  hostname: string;
  availabilityZone: string;
  up: boolean;
  enabled: boolean;
  disabledReason: string | null;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  architecture: string;
  usedVcpus: number;
  usedMemoryMiB: number;
  usedDiskGiB: number;
  workloads: number;
  createdAt: string;
  heartbeatAt: string;
  capabilities: DriverCapabilities | null;
}

export interface Flavor {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral: number;
  swap: number;
  isPublic: boolean;
  description: string | null;
  extraSpecs: Record<string, string>;
}

export interface Keypair {
  name: string;
  userId: string;
  publicKey: string;
  fingerprint: string;
  type: string;
  createdAt: string;
}

export interface ServerGroup {
  id: string;
  name: string;
  projectId: string;
  userId: string;
  policy: string;
}

/** What boot takes beyond Nova's create body. */
export interface BootOptions {
  /** The kind of workload (default `server`, a Nova server). */
  kind?: WorkloadKind;
  /**
   * For a service's infrastructure kind (`cluster-node`) only: the nested engine it runs (see
   * InfrastructureSpec). Only services pass it; no API body can.
   */
  infrastructure?: InfrastructureBoot;
}

/**
 * A body as a caller may hold it (values from a template are not yet typed): the client checks it
 * against the schema named in its type, with the API's own errors, before anything else.
 */
export type Loose<T> = T | Record<string, unknown>;

export interface ComputeClient {
  isAdmin(ctx: RequestContext): boolean;

  // ---- workloads (of the caller's project)
  /**
   * Boots workloads from a Nova create body (`{ server: {...}, 'os:scheduler_hints'? }`), with the
   * container settings of `server['hafen:container']`; answers them as recorded (building).
   */
  boot(ctx: RequestContext, body: Loose<ServerCreateBody>, requestId: string, options?: BootOptions): Promise<Workload[]>;
  /** 404 (NotFoundError) for another project's workload, an unknown one, or one of another kind. */
  show(ctx: RequestContext, id: string, kind?: WorkloadKind): Promise<Workload>;
  /** The caller's project's workloads of one kind, newest first. */
  list(ctx: RequestContext, kind?: WorkloadKind): Promise<Workload[]>;
  /** Addresses as Nova shows them: network name -> fixed and floating IPv4 addresses. */
  addresses(ctx: RequestContext, id: string, kind?: WorkloadKind): Promise<Record<string, NovaAddress[]>>;
  /**
   * The workload's container as its engine describes it (Docker's inspect document, see
   * ComputeDriver.inspect) in the tenant's terms: `Name` is `/` + the workload's name, `Image` and
   * `Config.Image` its image id, networks named as Nova's addresses name them. 409 when its host
   * cannot describe it (not placed yet, no agent, an agent without the verb).
   */
  inspect(ctx: RequestContext, id: string, kind?: WorkloadKind): Promise<ServerInspect>;
  /** Nova's detailed server body (`GET /servers/{id}`'s `server`). */
  novaView(ctx: RequestContext, id: string): Promise<Record<string, unknown>>;
  rename(ctx: RequestContext, id: string, name: string, kind?: WorkloadKind): Promise<Workload>;
  setMetadata(ctx: RequestContext, id: string, metadata: Record<string, string>, replace: boolean, kind?: WorkloadKind): Promise<Record<string, string>>;
  /** One server action as Nova's body names it (`{ 'os-stop': null }`, `{ resize: { flavorRef } }`...); answers its body if it has one. */
  act(ctx: RequestContext, id: string, action: Loose<ServerActionBody>, requestId: string, kind?: WorkloadKind): Promise<unknown>;
  /** os-interface attach: a port (`port_id`) or a network (`net_id`, `fixed_ips`), or the default network. */
  attachInterface(ctx: RequestContext, id: string, attachment: Loose<NonNullable<InterfaceAttachmentBody['interfaceAttachment']>>, requestId: string): Promise<PortBinding>;
  /** Starts deleting; the workload is gone (show answers 404) when it is done. */
  delete(ctx: RequestContext, id: string, requestId: string, kind?: WorkloadKind): Promise<void>;
  /** Removes an infrastructure workload without a caller (a service's clean-up after a restart); resolves when it is gone. */
  release(id: string): Promise<void>;

  // ---- workloads with resources of their own instead of a flavor (Zun's containers)
  /** Boots one (Nova's quotas of its kind and the ledger apply); answers it as recorded (building). */
  bootWorkload(ctx: RequestContext, boot: WorkloadBoot, requestId: string, kind: WorkloadKind): Promise<Workload>;
  /** The caller's workloads of that kind by id (any project's for admins), with host and ports; unknown ids are left out. */
  placed(ctx: RequestContext, ids: string[], kind: WorkloadKind): Promise<Map<string, PlacedWorkload>>;
  /** A signal to the workload's main process; a process that ends leaves the workload stopped. */
  signal(ctx: RequestContext, id: string, signal: string, requestId: string, kind: WorkloadKind): Promise<void>;
  /** New CPU (fractions allowed) and memory in place. */
  resizeLive(ctx: RequestContext, id: string, cpus: number, memoryMiB: number, kind: WorkloadKind): Promise<void>;
  /** Rebuild from an image, started or not afterwards. */
  rebuildWorkload(ctx: RequestContext, id: string, imageId: string, start: boolean, requestId: string, kind: WorkloadKind): Promise<void>;
  /** The verbs of the workload's host, bound to it; 409 when its host has no agent or cannot do a verb. */
  verbs(ctx: RequestContext, id: string, kind: WorkloadKind): Promise<WorkloadVerbs>;
  detachInterface(ctx: RequestContext, id: string, portId: string, requestId: string, kind: WorkloadKind): Promise<void>;
  attachWorkloadInterface(ctx: RequestContext, id: string, attachment: { port_id?: string; net_id?: string; fixed_ips?: { ip_address: string }[] }, requestId: string, kind: WorkloadKind): Promise<PortBinding>;
  /** Every host with its capacity and allocations (admins). */
  hosts(ctx: RequestContext): Promise<HostInfo[]>;
  /** Loads a docker image the caller sees onto a host (by name or id) now, as a boot there would (admins). */
  ensureImageOnHost(ctx: RequestContext, host: string, imageId: string): Promise<{ hostId: string; hostname: string }>;
  /** Enables or disables a host for new workloads (admins); 404 for an unknown host. */
  setHostEnabled(ctx: RequestContext, hostname: string, enabled: boolean, reason: string | null): Promise<void>;
  /** The availability zones hosts are in (anyone may list them). */
  availabilityZones(ctx: RequestContext): Promise<string[]>;

  // ---- flavors
  flavor(ctx: RequestContext, id: string): Promise<Flavor>;
  /** The flavors the caller may see. */
  flavors(ctx: RequestContext): Promise<Flavor[]>;
  /** Nova's flavor create body (`{ flavor: {...} }`); admins. */
  createFlavor(ctx: RequestContext, body: Loose<FlavorCreateBody>): Promise<Flavor>;
  setExtraSpecs(ctx: RequestContext, id: string, specs: Record<string, unknown>, replace: boolean): Promise<Record<string, string>>;
  deleteFlavor(ctx: RequestContext, id: string): Promise<void>;

  // ---- key pairs (of the caller)
  /** Nova's key pair create body (`{ keypair: { name, public_key? } }`); a generated pair's private key once. */
  createKeypair(ctx: RequestContext, body: Loose<KeypairCreateBody>): Promise<{ keypair: Keypair; privateKey?: string }>;
  keypair(ctx: RequestContext, name: string): Promise<Keypair>;
  deleteKeypair(ctx: RequestContext, name: string): Promise<void>;

  // ---- server groups (of the caller's project)
  /** Nova's server group create body (`{ server_group: { name, policies } }`). */
  createServerGroup(ctx: RequestContext, body: Loose<ServerGroupCreateBody>): Promise<ServerGroup>;
  serverGroup(ctx: RequestContext, id: string): Promise<ServerGroup>;
  deleteServerGroup(ctx: RequestContext, id: string): Promise<void>;
}

export function workloadOf(r: ServerRow): Workload {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    projectId: r.project_id,
    userId: r.user_id,
    imageId: r.image_id,
    flavorId: r.flavor_id,
    status: novaStatus(r),
    vmState: r.vm_state,
    taskState: r.task_state,
    powerState: r.power_state,
    fault: r.fault ? (JSON.parse(r.fault) as Workload['fault']) : null,
    metadata: JSON.parse(r.metadata) as Record<string, string>,
    locked: Boolean(r.locked),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    launchedAt: r.launched_at,
    hostId: r.host_id,
  };
}

export function flavorOf(f: FlavorRow): Flavor {
  return {
    id: f.id,
    name: f.name,
    ram: f.ram,
    vcpus: f.vcpus,
    disk: f.disk,
    ephemeral: f.ephemeral,
    swap: f.swap,
    isPublic: Boolean(f.is_public),
    description: f.description,
    extraSpecs: JSON.parse(f.extra_specs) as Record<string, string>,
  };
}

function keypairOf(k: KeypairRow): Keypair {
  return { name: k.name, userId: k.user_id, publicKey: k.public_key, fingerprint: k.fingerprint, type: k.type, createdAt: k.created_at };
}

function serverGroupOf(g: ServerGroupRow): ServerGroup {
  return { id: g.id, name: g.name, projectId: g.project_id, userId: g.user_id, policy: g.policy };
}

/** An inspect document named as the tenant names things: its server's name and image, its networks' names. */
function inTenantTerms(doc: ServerInspect, row: ServerRow, networkNames: Map<string, string>): ServerInspect {
  const rename = (engineName: unknown) => (typeof engineName === 'string' ? networkNames.get(engineName) ?? engineName : engineName);
  const out: ServerInspect = { ...doc, Name: `/${row.name}`, Image: row.image_id };
  const config = out.Config as Record<string, unknown> | undefined;
  if (config) out.Config = { ...config, Image: row.image_id };
  const host = out.HostConfig as Record<string, unknown> | undefined;
  if (host) out.HostConfig = { ...host, NetworkMode: rename(host.NetworkMode) };
  const settings = out.NetworkSettings as { Networks?: Record<string, unknown> } | undefined;
  if (settings?.Networks) out.NetworkSettings = { ...settings, Networks: Object.fromEntries(Object.entries(settings.Networks).map(([k, v]) => [rename(k), v])) };
  return out;
}

/** The client over the service in this process; `publicUrl` is where Nova's links point. */
export function createComputeClient(compute: ComputeService, publicUrl: string): ComputeClient {
  const base = `${publicUrl}/compute/v2.1`;
  return {
    isAdmin: (ctx) => compute.isAdmin(ctx),
    boot: async (ctx, body, requestId, options = {}) => (await compute.build.create(ctx, checkedBody(ServerCreateBody, body), requestId, options.kind ?? 'server', options.infrastructure)).map(workloadOf),
    show: async (ctx, id, kind = 'server') => workloadOf(await compute.server(ctx, id, kind)),
    list: async (ctx, kind = 'server') => (await compute.listing.list(ctx, {}, kind)).map(workloadOf),
    addresses: async (ctx, id, kind = 'server') => (await compute.listing.addresses(await compute.server(ctx, id, kind))) as Record<string, NovaAddress[]>,
    inspect: async (ctx, id, kind = 'server') => {
      compute.enforce(ctx, 'servers:inspect');
      const row = await compute.server(ctx, id, kind);
      const driver = compute.hosts.driverOf(row.host_id);
      if (!driver.capabilities.inspect) throw new ConflictError(`The host of ${id} cannot describe it.`);
      const doc = await driver.inspect(id);
      const addresses = (await compute.listing.addresses(row)) as Record<string, NovaAddress[]>;
      const names = new Map<string, string>();
      for (const b of await compute.interfaces.list(ctx, id, kind)) {
        const ip = b.fixedIps[0]?.ipAddress;
        const name = Object.entries(addresses).find(([, list]) => list.some((a) => a.addr === ip && a['OS-EXT-IPS:type'] === 'fixed'))?.[0];
        names.set(b.engineNetwork.name, name ?? b.networkId);
      }
      return inTenantTerms(doc, row, names);
    },
    novaView: async (ctx, id) => (await serverDetails(compute, ctx, [await compute.server(ctx, id)], base))[0]!,
    rename: async (ctx, id, name, kind = 'server') => workloadOf(await compute.servers.update(ctx, id, checkedBody(ServerUpdateBody, { server: { name } }), kind)),
    setMetadata: async (ctx, id, metadata, replace, kind = 'server') => compute.servers.setMetadata(ctx, id, checkedBody(MetadataBody, { metadata }).metadata, replace, kind),
    act: async (ctx, id, action, requestId, kind = 'server') => compute.actions.run(ctx, id, checkedBody(ServerActionBody, action), requestId, kind),
    attachInterface: async (ctx, id, attachment, requestId) => compute.interfaces.attach(ctx, id, checkedBody(InterfaceAttachmentBody, { interfaceAttachment: attachment }), requestId),
    delete: (ctx, id, requestId, kind = 'server') => compute.servers.delete(ctx, id, requestId, false, kind),
    release: (id) => compute.servers.release(id),

    bootWorkload: async (ctx, boot, requestId, kind) => workloadOf(await compute.build.createWorkload(ctx, boot, requestId, kind)),
    placed: async (ctx, ids, kind) => {
      const out = new Map<string, PlacedWorkload>();
      const hosts = new Map((await compute.hosts.recent()).map((h) => [h.id, h]));
      for (const id of ids) {
        let row: ServerRow;
        try {
          row = await compute.server(ctx, id, kind);
        } catch {
          continue;
        }
        const host = row.host_id ? hosts.get(row.host_id) : undefined;
        const asked = JSON.parse(row.networks) as unknown;
        const given = new Set(Array.isArray(asked) ? (asked as { port?: string }[]).map((n) => n.port).filter(Boolean) : []);
        const ports = row.host_id ? await compute.interfaces.list(ctx, row.id, kind) : [];
        out.set(id, { ...workloadOf(row), hostUp: host ? compute.hosts.isUp(host) : true, ports: ports.map((p) => ({ ...p, givenByUser: given.has(p.portId) })) });
      }
      return out;
    },
    signal: (ctx, id, signal, requestId, kind) => compute.actions.signal(ctx, id, signal, requestId, kind),
    resizeLive: (ctx, id, cpus, memoryMiB, kind) => compute.actions.resizeLive(ctx, id, cpus, memoryMiB, kind),
    rebuildWorkload: (ctx, id, imageId, start, requestId, kind) => compute.actions.rebuildWorkload(ctx, id, imageId, start, requestId, kind),
    verbs: async (ctx, id, kind) => {
      compute.enforce(ctx, 'servers:update');
      const row = await compute.server(ctx, id, kind);
      const driver = compute.hosts.driverOf(row.host_id);
      const can = (cap: 'exec' | 'attach' | 'archive' | 'stats' | 'logs' | 'commit', what: string) => {
        if (!driver.capabilities[cap]) throw new ConflictError(`The host of ${id} cannot ${what}.`);
      };
      return {
        exec: (command, o) => (can('exec', 'run commands in it'), driver.exec(id, command, o)),
        createExec: (command, o) => (can('exec', 'run commands in it'), driver.createExec(id, command, o)),
        startExec: (execId) => (can('exec', 'run commands in it'), driver.startExec(id, execId)),
        resizeExec: (execId, size) => (can('exec', 'run commands in it'), driver.resizeExec(id, execId, size)),
        attach: () => (can('attach', 'attach to it'), driver.attach(id)),
        resizeTty: (size) => (can('attach', 'resize its terminal'), driver.resizeTty(id, size)),
        logs: (o) => (can('logs', 'read its logs'), driver.logs(id, o)),
        archiveGet: (path) => (can('archive', 'copy files from it'), driver.archiveGet(id, path)),
        archivePut: (path, data) => (can('archive', 'copy files into it'), driver.archivePut(id, path, data)),
        stats: () => (can('stats', 'sample its use'), driver.stats(id)),
        top: (psArgs) => (can('stats', 'list its processes'), driver.top(id, psArgs)),
        commit: () => (can('commit', 'commit it'), driver.commit(id)),
      };
    },
    detachInterface: (ctx, id, portId, requestId, kind) => compute.interfaces.detach(ctx, id, portId, requestId, kind),
    attachWorkloadInterface: (ctx, id, attachment, requestId, kind) => compute.interfaces.attach(ctx, id, { interfaceAttachment: attachment }, requestId, kind),
    hosts: async (ctx) => {
      const rows = await compute.hosts.list(ctx, 'hypervisors');
      const alloc = compute.hosts.allocations();
      return rows.map((h) => {
        const a = alloc.get(h.id);
        return {
          id: h.id,
          hostname: h.hostname,
          availabilityZone: h.availability_zone,
          up: compute.hosts.isUp(h),
          enabled: Boolean(h.enabled),
          disabledReason: h.disabled_reason,
          vcpus: h.vcpus,
          memoryMiB: h.memory_mib,
          diskGiB: h.disk_gib,
          architecture: h.architecture,
          usedVcpus: a?.vcpus ?? 0,
          usedMemoryMiB: a?.ramMiB ?? 0,
          usedDiskGiB: a?.diskGiB ?? 0,
          workloads: a?.serverIds.size ?? 0,
          createdAt: h.created_at,
          heartbeatAt: h.heartbeat_at,
          capabilities: compute.hosts.driver(h.id)?.capabilities ?? null,
        };
      });
    },

    ensureImageOnHost: (ctx, host, imageId) => compute.build.ensureImageOnHost(ctx, host, imageId),
    setHostEnabled: async (ctx, hostname, enabled, reason) => {
      await compute.hosts.setEnabled(ctx, hostname, enabled, reason);
    },
    availabilityZones: async () => compute.hosts.zones(),

    flavor: async (ctx, id) => flavorOf(await compute.flavors.get(ctx, id)),
    flavors: async (ctx) => (await compute.flavors.list(ctx, { isPublic: null })).map(flavorOf),
    createFlavor: async (ctx, body) => flavorOf(await compute.flavors.create(ctx, checkedBody(FlavorCreateBody, body))),
    setExtraSpecs: async (ctx, id, specs, replace) => compute.flavors.setExtraSpecs(ctx, id, checkedBody(ExtraSpecsBody, { extra_specs: specs }).extra_specs, replace),
    deleteFlavor: (ctx, id) => compute.flavors.delete(ctx, id),

    createKeypair: async (ctx, body) => {
      const { row, privateKey } = await compute.keypairs.create(ctx, checkedBody(KeypairCreateBody, body));
      return { keypair: keypairOf(row), ...(privateKey ? { privateKey } : {}) };
    },
    keypair: async (ctx, name) => keypairOf(await compute.keypairs.get(ctx, name)),
    deleteKeypair: (ctx, name) => compute.keypairs.delete(ctx, name),

    createServerGroup: async (ctx, body) => serverGroupOf(await compute.serverGroups.create(ctx, checkedBody(ServerGroupCreateBody, body))),
    serverGroup: async (ctx, id) => serverGroupOf(await compute.serverGroups.get(ctx, id)),
    deleteServerGroup: (ctx, id) => compute.serverGroups.delete(ctx, id),
  };
}
