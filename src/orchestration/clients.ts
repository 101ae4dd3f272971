// What orchestration asks of the other services, always on behalf of the stack's owner: the narrow
// slices of their service interfaces that the resource types use, in those APIs' own wire bodies.
import type { ComputeClient } from '../compute/client.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PortBinding, NovaAddress } from '../network/client.ts';
import type { ClusterNodesClient } from '../clusters/nodes.ts';
import type { ContainersClient } from '../containers/client.ts';
import type { ClustersClient } from '../clusters/client.ts';
import type { SoftwareClient } from './software/service.ts';

export type { ComputeClient } from '../compute/client.ts';

/** A Neutron resource as Neutron's API shows it (wire field names). */
export interface NeutronResource {
  id: string;
  project_id: string;
  [field: string]: unknown;
}

export type NeutronKind = 'network' | 'subnet' | 'port' | 'security_group' | 'security_group_rule' | 'router' | 'floatingip';

type Body = Record<string, unknown>;

/** What orchestration's resource types ask of the network service: Neutron's calls, with its policy. */
export interface NetworkClient {
  /** One resource the caller may see; NotFoundError otherwise. */
  find(ctx: RequestContext, kind: NeutronKind, id: string): Promise<NeutronResource>;
  list(ctx: RequestContext, kind: NeutronKind): Promise<NeutronResource[]>;
  listSecurityGroups(ctx: RequestContext): Promise<NeutronResource[]>;
  createNetwork(ctx: RequestContext, body: Body): Promise<NeutronResource>;
  updateNetwork(ctx: RequestContext, id: string, body: Body): Promise<NeutronResource>;
  deleteNetwork(ctx: RequestContext, id: string): Promise<void>;
  createSubnet(ctx: RequestContext, body: Body): Promise<NeutronResource>;
  updateSubnet(ctx: RequestContext, id: string, body: Body): Promise<NeutronResource>;
  deleteSubnet(ctx: RequestContext, id: string): Promise<void>;
  createPort(ctx: RequestContext, body: Body): Promise<NeutronResource>;
  updatePort(ctx: RequestContext, id: string, body: Body): Promise<NeutronResource>;
  deletePort(ctx: RequestContext, id: string): Promise<void>;
  createSecurityGroup(ctx: RequestContext, body: Body): Promise<NeutronResource>;
  updateSecurityGroup(ctx: RequestContext, id: string, body: Body): Promise<NeutronResource>;
  deleteSecurityGroup(ctx: RequestContext, id: string): Promise<void>;
  createSecurityGroupRule(ctx: RequestContext, body: Body): Promise<NeutronResource>;
  deleteSecurityGroupRule(ctx: RequestContext, id: string): Promise<void>;
  createRouter(ctx: RequestContext, body: Body): Promise<NeutronResource>;
  updateRouter(ctx: RequestContext, id: string, body: Body): Promise<NeutronResource>;
  deleteRouter(ctx: RequestContext, id: string): Promise<void>;
  addRouterInterface(ctx: RequestContext, id: string, body: Body): Promise<Record<string, unknown>>;
  removeRouterInterface(ctx: RequestContext, id: string, body: Body): Promise<Record<string, unknown>>;
  createFloatingIp(ctx: RequestContext, body: Body): Promise<NeutronResource>;
  updateFloatingIp(ctx: RequestContext, id: string, body: Body): Promise<NeutronResource>;
  deleteFloatingIp(ctx: RequestContext, id: string): Promise<void>;
  /** A floating IP's port forwardings (Neutron's floating-ip-port-forwarding), as the caller may see them. */
  listPortForwardings(ctx: RequestContext, fipId: string): Promise<Record<string, unknown>[]>;
  findPortForwarding(ctx: RequestContext, fipId: string, id: string): Promise<Record<string, unknown>>;
  createPortForwarding(ctx: RequestContext, fipId: string, body: Body): Promise<Record<string, unknown>>;
  updatePortForwarding(ctx: RequestContext, fipId: string, id: string, body: Body): Promise<Record<string, unknown>>;
  deletePortForwarding(ctx: RequestContext, fipId: string, id: string): Promise<void>;
  /** The project's default network (made on first use). */
  defaultNetworkId(ctx: RequestContext): Promise<string>;
  serverAddresses(serverId: string): Promise<Record<string, NovaAddress[]>>;
  bindingsOf(serverId: string): Promise<PortBinding[]>;
  /** The gateways of tenant networks on this controller's engines (signal listeners). */
  gatewayAddresses(): Promise<string[]>;
}

/** An image row as the image service lists it (properties as JSON text). */
export interface ImageSummary {
  id: string;
  name: string | null;
  status: string;
  properties: string;
}

/** What orchestration asks of the image service: Glance's calls, with its policy. */
export interface ImageClient {
  get(ctx: RequestContext, id: string): Promise<{ id: string; name: string | null; status: string; properties: Record<string, string> }>;
  find(ctx: RequestContext, id: string): Promise<ImageSummary>;
  list(ctx: RequestContext, q: Record<string, string>): Promise<ImageSummary[]>;
  create(ctx: RequestContext, body: Body): Promise<ImageSummary>;
  delete(ctx: RequestContext, id: string): Promise<void>;
  importer: {
    start(ctx: RequestContext, id: string, body: unknown): Promise<{ id: string; status: string; message: string }>;
    task(ctx: RequestContext, id: string): { id: string; status: string; message: string };
  };
}

/**
 * Acting for a user after the request is gone (identity's trusts, as Heat uses Keystone's): a
 * delegation carries the user's roles in the project and dies with them.
 */
export interface DelegationClient {
  /** A delegation from the caller to the cloud, of `roles` (default: all the caller's roles). */
  createDelegation(ctx: RequestContext, opts: { roles?: string[]; expiresAt?: Date; redelegation?: number }): Promise<{ trustId: string }>;
  /**
   * The context to act in, as the trustor's current assignments allow: fails with ForbiddenError when
   * the trustor lost a delegated role, was disabled or deleted, or the delegation is gone or expired.
   */
  contextOfDelegation(trustId: string): Promise<RequestContext>;
  /** Idempotent. */
  deleteDelegation(trustId: string): Promise<void>;
}

export interface Clients {
  identity: DelegationClient;
  compute: ComputeClient;
  network: NetworkClient;
  image: ImageClient;
  /** The clusters service's nodes (OS::Magnum::NodeGroup); set once that service exists. */
  clusters?: ClusterNodesClient;
  /** The container service (Zun) for OS::Zun::Container; set once that service exists. */
  containers?: ContainersClient;
  /** The clusters service's templates and clusters (OS::Magnum::ClusterTemplate, Cluster); set once that service exists. */
  magnum?: ClustersClient;
  /** Orchestration's own software configs and deployments (OS::Heat::SoftwareConfig, SoftwareDeployment). */
  software?: SoftwareClient;
}
