// The network service as the composition root sees it: store, rules, routes and the client compute uses.
// In all-in-one mode it also makes the loopback external network floating IPs come from.
import type { Config } from '../config.ts';
import type { Database } from '../platform/db/database.ts';
import type { TokenValidator } from '../platform/auth/context.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import { networkPolicy } from './policy.ts';
import { neutronError } from '../platform/http/envelopes.ts';
import type { ServiceMount } from '../platform/http/server.ts';
import { networkApi } from './api.ts';
import type { NetworkClient } from './client.ts';
import { NetworkService } from './service.ts';
import { NetworkStore } from './store/index.ts';
import { NetworkCore } from './core.ts';
import { AddressAllocator } from './ipam.ts';
import { engineClient } from '../host/engine-client.ts';
import { Dataplane } from '../agent/net/dataplane.ts';

export interface Network {
  service: NetworkService;
  client: NetworkClient;
  mount: ServiceMount;
  /** Id of the all-in-one external network (floating IPs on loopback), when bootstrapped. */
  externalNetworkId?: string;
  /** All-in-one: keeps firewalls and floating-IP NAT of local containers in step with the rows. */
  dataplane?: Dataplane;
  /** Stops the dataplane and takes its floating IPs off the host. */
  close(): Promise<void>;
}

export const EXTERNAL_NETWORK_NAME = 'public';
/** The range of the external network made at first start: config.floatingIpRange (HAFEN_FLOATING_IP_RANGE). */

/** The IPv4 address of a tcp:// engine's host: floating IPs of its servers are routed there. */
function engineHostAddress(endpoint: string): string | undefined {
  if (!/^(tcp|https?):\/\//.test(endpoint)) return undefined;
  const host = new URL(endpoint.replace(/^tcp:/, 'http:')).hostname;
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : undefined;
}

/**
 * `engines`: the engines servers run on; the in-process dataplane enforces security groups for their
 * containers (nsenter on unix-socket engines, a helper container on tcp ones) and floating IPs: NAT here
 * for local servers, a route to the server's host and NAT there (through its engine) for remote ones.
 */
export async function createNetwork(database: Database, policy: PolicyEngine, validator: TokenValidator, config: Config, adminProjectId?: string, engines: string[] = []): Promise<Network> {
  policy.registerDefaults(networkPolicy);
  const store = await NetworkStore.create(database);
  const service = new NetworkService(new NetworkCore(store, policy, new AddressAllocator(), config.defaultNetworkRange));
  // Its floating IPs wait for the cloud's tag (the composition root sets it once compute has read the cloud's id).
  const dataplane = engines.length ? new Dataplane(service.feed, engines.map((e) => ({ docker: engineClient(e), local: e.startsWith('unix://'), address: engineHostAddress(e) }))).awaitCloudTag() : undefined;
  const network: Network = {
    service,
    client: service,
    dataplane,
    mount: { prefix: '/network', renderError: neutronError, register: networkApi(service, validator, config.publicUrl) },
    async close() {
      if (!dataplane) return;
      await dataplane.stop();
      await dataplane.removeAllFloatingIps();
    },
  };
  if (adminProjectId) network.externalNetworkId = await service.ensureExternalNetwork(adminProjectId, EXTERNAL_NETWORK_NAME, config.floatingIpRange);
  dataplane?.start();
  return network;
}
