// The compute service as the composition root sees it: store, service, in-process agents (one
// Docker driver per configured engine), the endpoint remote agents connect to, the periodic
// reconcile loop, and the routes.
import { createHash } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Database } from '../platform/db/database.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import type { TokenValidator } from '../platform/auth/context.ts';
import { novaError } from '../platform/http/envelopes.ts';
import type { ServiceMount } from '../platform/http/server.ts';
import type { ImageClient } from '../image/client.ts';
import type { NetworkClient } from '../network/client.ts';
import { DockerDriver } from '../agent/docker/driver.ts';
import { engineEndpointLabel } from '../host/engine-client.ts';
import { FakeDriver } from '../agent/fake/driver.ts';
import { AgentHub, agentMount } from '../agent/remote/endpoint.ts';
import type { NetworkView } from '../agent/net/contract.ts';
import { computeApi } from './api/index.ts';
import { createComputeClient, type ComputeClient } from './client.ts';
import { computePolicy } from './policy.ts';
import { ComputeService } from './service.ts';
import { ComputeStore } from './store.ts';

export interface Compute {
  service: ComputeService;
  /** What other services use (orchestration, containers, clusters). */
  client: ComputeClient;
  mount: ServiceMount;
  /** /agent: where remote agents (`hafen agent`) register their hosts and take the driver calls. */
  agents: ServiceMount;
  /**
   * Servers placed on hosts the controller does not drive in-process (remote agents' hosts): their
   * floating IPs are routed to the agent's host, so the in-process dataplane leaves them alone.
   */
  serversOffEngines(): Promise<Set<string>>;
  stop(): Promise<void>;
}

/** A host's id: stable for an endpoint (whatever its certificate directory), carrying no tenant data. */
export function hostIdFor(endpoint: string): string {
  return `host-${createHash('sha256').update(engineEndpointLabel(endpoint)).digest('hex').slice(0, 8)}`;
}

export const fakeHostName = (i: number) => `fake-${String(i).padStart(5, '0')}`;

export async function createCompute(
  database: Database,
  policy: PolicyEngine,
  validator: TokenValidator,
  images: ImageClient,
  engines: string[],
  config: Config,
  network: NetworkClient,
  /** The network service's view for dataplanes, which remote agents read their ports' firewalls from. */
  firewalls?: NetworkView,
): Promise<Compute> {
  policy.registerDefaults(computePolicy);
  const store = await ComputeStore.create(database);
  const service = new ComputeService(store, images, network, policy, { maxAttempts: config.schedulerMaxAttempts, ratios: { cpu: config.cpuAllocationRatio, ram: config.ramAllocationRatio, disk: 1 } }, config);
  await service.flavors.seed();
  // Simulated hosts exist only when configured; alone (no HAFEN_DOCKER_HOSTS) they are the whole cloud.
  if (config.fakeHosts > 0 && config.dockerHosts.length === 0) engines = [];
  for (let i = 1; i <= config.fakeHosts; i++) {
    const name = fakeHostName(i);
    await service.hosts.register(name, new FakeDriver({ hostname: name, vcpus: config.fakeHostVcpus, memoryMiB: config.fakeHostRamMiB }), `fake://${name}`);
  }
  for (const endpoint of engines) {
    try {
      await service.hosts.register(hostIdFor(endpoint), new DockerDriver(endpoint, { cloudId: store.cloudId, ...(config.port ? { signalPort: config.port } : {}) }), engineEndpointLabel(endpoint));
    } catch (err) {
      // An engine that does not answer gets no agent; its host goes down by its stale heartbeat.
      process.stderr.write(`hafen: compute: engine ${endpoint} does not answer: ${(err as Error).message}\n`);
    }
  }
  const hub = new AgentHub(service, { lostAfterMs: config.hostDownAfterMs, ...(firewalls ? { network: firewalls } : {}) });
  await service.reconcile({ afterRestart: true });
  const timer = setInterval(() => void service.reconcile().catch(() => undefined), config.reconcileIntervalMs);
  timer.unref();
  return {
    service,
    client: createComputeClient(service, config.publicUrl),
    mount: { prefix: '/compute', renderError: novaError, register: computeApi(service, validator, config.publicUrl) },
    agents: agentMount(hub, service, validator),
    serversOffEngines: async () => {
      const inProcess = new Set(engines.map(hostIdFor));
      return service.hosts.serversOutside(inProcess);
    },
    stop: async () => {
      clearInterval(timer);
      await hub.stop();
    },
  };
}
