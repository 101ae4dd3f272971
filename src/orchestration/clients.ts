// What orchestration asks of the other services, always on behalf of the stack's owner: the narrow
// slices of their service interfaces that the resource types use, in those APIs' own wire bodies.
import type { ComputeClient } from '../compute/client.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import type { NetworkService } from '../network/service.ts';
import type { ImageService } from '../image/service.ts';
import type { ImageImporter } from '../image/import.ts';
import type { ClusterNodesClient } from '../clusters/nodes.ts';

export type { ComputeClient } from '../compute/client.ts';

export type NetworkClient = Pick<
  NetworkService,
  | 'find' | 'list' | 'createNetwork' | 'updateNetwork' | 'deleteNetwork' | 'createSubnet' | 'updateSubnet' | 'deleteSubnet'
  | 'createPort' | 'updatePort' | 'deletePort' | 'createSecurityGroup' | 'updateSecurityGroup' | 'deleteSecurityGroup'
  | 'createSecurityGroupRule' | 'deleteSecurityGroupRule' | 'createRouter' | 'updateRouter' | 'deleteRouter'
  | 'addRouterInterface' | 'removeRouterInterface' | 'createFloatingIp' | 'updateFloatingIp' | 'deleteFloatingIp'
  | 'defaultNetworkId' | 'serverAddresses' | 'bindingsOf' | 'gatewayAddresses' | 'listSecurityGroups'
>;

export type ImageClient = Pick<ImageService, 'find' | 'list' | 'create' | 'delete' | 'get'> & { importer: Pick<ImageImporter, 'start' | 'task'> };

/**
 * Acting for a user after the request is gone (identity's trusts, as Heat uses Keystone's): a
 * delegation carries the user's roles in the project and dies with them.
 */
export interface DelegationClient {
  /** A delegation from the caller to the cloud, of `roles` (default: all the caller's roles). */
  createDelegation(ctx: RequestContext, opts: { roles?: string[]; expiresAt?: Date }): Promise<{ trustId: string }>;
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
}
