// What other services may ask of compute (orchestration's resources, the container and cluster
// APIs), always on behalf of a caller whose context the policy checks on every path. Workloads are
// compute's servers: one ledger, one scheduler, the same ports and isolation; a workload's `kind`
// keeps other APIs' workloads (Zun's containers) out of Nova's views and Nova's out of theirs.
import type { RequestContext } from '../platform/auth/context.ts';
import type { NovaAddress, PortBinding } from '../network/client.ts';
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

/** The client over the service in this process; `publicUrl` is where Nova's links point. */
export function createComputeClient(compute: ComputeService, publicUrl: string): ComputeClient {
  const base = `${publicUrl}/compute/v2.1`;
  return {
    isAdmin: (ctx) => compute.isAdmin(ctx),
    boot: async (ctx, body, requestId, options = {}) => (await compute.build.create(ctx, checkedBody(ServerCreateBody, body), requestId, options.kind ?? 'server', options.infrastructure)).map(workloadOf),
    show: async (ctx, id, kind = 'server') => workloadOf(await compute.server(ctx, id, kind)),
    list: async (ctx, kind = 'server') => (await compute.listing.list(ctx, {}, kind)).map(workloadOf),
    addresses: async (ctx, id, kind = 'server') => (await compute.listing.addresses(await compute.server(ctx, id, kind))) as Record<string, NovaAddress[]>,
    novaView: async (ctx, id) => (await serverDetails(compute, ctx, [await compute.server(ctx, id)], base))[0]!,
    rename: async (ctx, id, name, kind = 'server') => workloadOf(await compute.servers.update(ctx, id, checkedBody(ServerUpdateBody, { server: { name } }), kind)),
    setMetadata: async (ctx, id, metadata, replace, kind = 'server') => compute.servers.setMetadata(ctx, id, checkedBody(MetadataBody, { metadata }).metadata, replace, kind),
    act: async (ctx, id, action, requestId, kind = 'server') => compute.actions.run(ctx, id, checkedBody(ServerActionBody, action), requestId, kind),
    attachInterface: async (ctx, id, attachment, requestId) => compute.interfaces.attach(ctx, id, checkedBody(InterfaceAttachmentBody, { interfaceAttachment: attachment }), requestId),
    delete: (ctx, id, requestId, kind = 'server') => compute.servers.delete(ctx, id, requestId, false, kind),
    release: (id) => compute.servers.release(id),

    flavor: async (ctx, id) => flavorOf(await compute.flavors.get(ctx, id)),
    flavors: async (ctx) => (await compute.flavors.list(ctx)).map(flavorOf),
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
