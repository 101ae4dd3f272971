// The network service as the composition root sees it: store, rules, routes and the client compute uses.
// In all-in-one mode it also makes the loopback external network floating IPs come from.
import type { Config } from '../config.ts';
import type { Database } from '../platform/db/database.ts';
import type { TokenValidator } from '../platform/auth/context.ts';
import { neutronError } from '../platform/http/envelopes.ts';
import type { ServiceMount } from '../platform/http/server.ts';
import { networkApi } from './api.ts';
import type { NetworkClient } from './client.ts';
import { NetworkService } from './service.ts';
import { NetworkStore } from './store.ts';

export interface Network {
  service: NetworkService;
  client: NetworkClient;
  mount: ServiceMount;
  /** Id of the all-in-one external network (floating IPs on loopback), when bootstrapped. */
  externalNetworkId?: string;
}

export const EXTERNAL_NETWORK_NAME = 'public';
export const EXTERNAL_NETWORK_CIDR = '127.64.0.0/16';

export async function createNetwork(database: Database, validator: TokenValidator, config: Config, adminProjectId?: string): Promise<Network> {
  const store = await NetworkStore.create(database);
  const service = new NetworkService(store);
  const network: Network = { service, client: service, mount: { prefix: '/network', renderError: neutronError, register: networkApi(service, validator, config.publicUrl) } };
  if (adminProjectId) network.externalNetworkId = await service.ensureExternalNetwork(adminProjectId, EXTERNAL_NETWORK_NAME, EXTERNAL_NETWORK_CIDR);
  return network;
}
