// What orchestration asks of the other services, always on behalf of the stack's owner: the narrow
// slices of their service interfaces that the resource types use, in those APIs' own wire bodies.
import type { ComputeService } from '../compute/service.ts';
import type { ComputeStore } from '../compute/store.ts';
import type { NetworkService } from '../network/service.ts';
import type { ImageService } from '../image/service.ts';
import type { ImageImporter } from '../image/import.ts';

export type ComputeClient = Pick<
  ComputeService,
  'create' | 'server' | 'delete' | 'action' | 'update' | 'setMetadata' | 'addresses' | 'createKeypair' | 'keypair' | 'deleteKeypair' | 'createServerGroup' | 'serverGroup' | 'flavor' | 'createFlavor' | 'setExtraSpecs' | 'isAdmin' | 'list' | 'attachInterface'
> & { store: Pick<ComputeStore, 'deleteServerGroup' | 'deleteFlavor' | 'flavors'> };

export type NetworkClient = Pick<
  NetworkService,
  | 'find' | 'list' | 'createNetwork' | 'updateNetwork' | 'deleteNetwork' | 'createSubnet' | 'updateSubnet' | 'deleteSubnet'
  | 'createPort' | 'updatePort' | 'deletePort' | 'createSecurityGroup' | 'updateSecurityGroup' | 'deleteSecurityGroup'
  | 'createSecurityGroupRule' | 'deleteSecurityGroupRule' | 'createRouter' | 'updateRouter' | 'deleteRouter'
  | 'addRouterInterface' | 'removeRouterInterface' | 'createFloatingIp' | 'updateFloatingIp' | 'deleteFloatingIp'
  | 'defaultNetworkId' | 'serverAddresses' | 'bindingsOf' | 'gatewayAddresses' | 'listSecurityGroups'
>;

export type ImageClient = Pick<ImageService, 'find' | 'list' | 'create' | 'delete' | 'get'> & { importer: Pick<ImageImporter, 'start' | 'task'> };

export interface Clients {
  compute: ComputeClient;
  network: NetworkClient;
  image: ImageClient;
}
