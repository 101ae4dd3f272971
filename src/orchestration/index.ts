// The orchestration service as the composition root sees it: store, resource registry, engine,
// rules and routes. At start it recovers stacks a stop or crash left in progress.
import type { Config } from '../config.ts';
import type { Database } from '../platform/db/database.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import type { TokenValidator } from '../platform/auth/context.ts';
import { heatError } from '../platform/http/envelopes.ts';
import { hafenPorts } from '../platform/http/loopback-url.ts';
import type { ServiceMount } from '../platform/http/server.ts';
import type { Clients } from './clients.ts';
import { orchestrationApi } from './api.ts';
import { StackEngine } from './engine/stack-engine.ts';
import { orchestrationPolicy } from './policy.ts';
import { ResourceRegistry } from './resources/registry.ts';
import { OrchestrationService } from './service.ts';
import { OrchestrationStore } from './store.ts';
import { SignalListeners } from './signal-listeners.ts';
import { SoftwareService } from './software/service.ts';
import { SoftwareStore } from './software/store.ts';

export interface Orchestration {
  service: OrchestrationService;
  software: SoftwareService;
  engine: StackEngine;
  mount: ServiceMount;
  /** Stops the operations under way; their stacks are recovered at the next start. */
  stop(): Promise<void>;
}

export async function createOrchestration(database: Database, policy: PolicyEngine, validator: TokenValidator, clients: Clients, config: Config): Promise<Orchestration> {
  policy.registerDefaults(orchestrationPolicy);
  const store = await OrchestrationStore.create(database);
  const software = new SoftwareService(await SoftwareStore.create(database), policy, clients, {
    log: (msg) => {
      if (config.logLevel !== 'silent') process.stderr.write(`${msg}\n`);
    },
  });
  await software.recover();
  clients = { ...clients, software };
  const engine = new StackEngine(store, new ResourceRegistry(), clients, { concurrency: 32, publicUrl: config.publicUrl, region: config.region, pollMs: 20 }, (msg) => {
    if (config.logLevel !== 'silent') process.stderr.write(`${msg}\n`);
  });
  const service = new OrchestrationService(store, engine, policy, clients, config.region, hafenPorts(config));
  await engine.recover();
  // Servers on this host's engines reach the signal endpoint at their network's gateway.
  const signals = new SignalListeners({
    port: config.port,
    gateways: () => clients.network.gatewayAddresses(),
    forward: async (path, headers, body) => {
      const res = await fetch(`${config.publicUrl}${path}`, { method: 'POST', headers, body });
      return { status: res.status, body: await res.text() };
    },
  });
  if (config.port) signals.start();
  return {
    service,
    software,
    engine,
    mount: { prefix: '/orchestration', renderError: heatError, register: orchestrationApi(service, software, validator, config.publicUrl) },
    async stop() {
      await signals.stop();
      await engine.stop();
      await software.stop();
    },
  };
}
