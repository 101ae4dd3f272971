// What the clusters service asks of the other services, always on behalf of a caller: look-ups that
// validate templates, the orchestration stack each cluster is, the ports of its nodes, and the
// compute workloads that run them. Each is a narrow interface; the composition root adapts the services.
import type { Readable } from 'node:stream';
import type { RequestContext } from '../platform/auth/context.ts';
import type { InfrastructureSpec } from '../agent/driver.ts';

export interface ImageSummary {
  id: string;
  name: string | null;
  status: string;
  containerFormat: string | null;
  /** The docker image names the archive carries (`hafen_repo_tags` or the name), for service images. */
  properties: Record<string, string>;
  checksum: string | null;
}

export interface ImageLookup {
  /** Images the caller sees whose id or name is `ident` (Magnum's find: by id first, then name). */
  find(ctx: RequestContext, ident: string): Promise<ImageSummary[]>;
  /** Every image the caller sees. */
  list(ctx: RequestContext): Promise<ImageSummary[]>;
  openData(ctx: RequestContext, id: string): Promise<Readable>;
}

export interface FlavorSummary {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
}

export interface FlavorLookup {
  /** The flavors the caller may use whose id or name is `ident`. */
  find(ctx: RequestContext, ident: string): Promise<FlavorSummary[]>;
}

export interface NetworkSummary {
  id: string;
  name: string;
  external: boolean;
  projectId: string;
}

export interface NetworkLookup {
  networks(ctx: RequestContext): Promise<NetworkSummary[]>;
  subnets(ctx: RequestContext): Promise<{ id: string; name: string; networkId: string }[]>;
  /** A port on the network for a node: no security groups (the node's engine owns its firewall). */
  createNodePort(ctx: RequestContext, networkId: string, name: string): Promise<{ id: string; fixedIp: string | null }>;
  deletePort(ctx: RequestContext, portId: string): Promise<void>;
  externalNetworkId(): string | undefined;
}

export interface KeypairLookup {
  exists(ctx: RequestContext, name: string): Promise<boolean>;
}

export interface StackSummary {
  id: string;
  name: string;
  action: string;
  status: string;
  statusReason: string;
  /** The stack's operation failed because the controller restarted while it ran (it may be retried). */
  interrupted: boolean;
}

/** The orchestration side of a cluster: its stack, created, updated and deleted for the caller. */
export interface StackClient {
  create(ctx: RequestContext, spec: { name: string; template: Record<string, unknown>; timeoutMins: number | null }): Promise<StackSummary>;
  /** Replaces the template (a resize or an upgrade); resolves once the update has started. */
  update(ctx: RequestContext, stackId: string, template: Record<string, unknown>): Promise<void>;
  /** Without a caller (after a restart) the stack's own delegation acts. */
  delete(ctx: RequestContext | undefined, stackId: string): Promise<void>;
  /**
   * Runs a create or update that a restart cut short again (an update to the template the stack
   * holds), through the delegation the interrupted operation left; false when that cannot be.
   */
  retry(stackId: string): Promise<boolean>;
  /** The stack as its owner sees it, or undefined when it is gone. */
  get(ctx: RequestContext, stackId: string): Promise<StackSummary | undefined>;
  /** The stack without a caller (the reconciler), or undefined when it is gone. */
  peek(stackId: string): Promise<StackSummary | undefined>;
}

export interface Workload {
  id: string;
  status: 'building' | 'active' | 'error' | 'stopped' | 'deleted';
  fault: string | null;
  /** The workload's address on its Neutron port. */
  fixedIp: string | null;
}

export interface InfrastructureBoot {
  name: string;
  flavorId: string;
  /** The template's image: checked as a server's would be (the node itself runs the cloud's engine image). */
  imageId: string;
  portId: string;
  /** Other workloads of the same group, kept on other hosts where room allows. */
  spreadFrom: string[];
  spec: InfrastructureSpec;
}

/** Compute, for the workloads the cloud runs for a service (cluster nodes); tenants never reach them through Nova. */
export interface WorkloadClient {
  boot(ctx: RequestContext, boot: InfrastructureBoot, requestId: string): Promise<Workload>;
  get(ctx: RequestContext, id: string): Promise<Workload | undefined>;
  delete(ctx: RequestContext, id: string, requestId: string): Promise<void>;
  /** Removes a workload without a caller (a clean-up after a restart). */
  release(id: string): Promise<void>;
}

export interface ClusterClients {
  images: ImageLookup;
  flavors: FlavorLookup;
  networks: NetworkLookup;
  keypairs: KeypairLookup;
  stacks: StackClient;
  workloads: WorkloadClient;
}
