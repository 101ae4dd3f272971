// The container service (Zun v1) as the composition root sees it: rows, clients, the parts of the
// API, the websocket proxy, and the loop that finishes what a restart cut short and removes
// auto_remove containers once they stopped.
import path from 'node:path';
import type { Config } from '../config.ts';
import type { Database } from '../platform/db/database.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import { internalContext, type RequestContext, type TokenValidator } from '../platform/auth/context.ts';
import type { ServiceMount } from '../platform/http/server.ts';
import { zunApi } from './api.ts';
import { Capsules } from './capsules.ts';
import type { ZunClients } from './clients.ts';
import { createContainersClient, type ContainersClient } from './client.ts';
import { Consoles } from './consoles.ts';
import { ContainerService } from './containers.ts';
import { ZunCore } from './core.ts';
import { zunError } from './errors.ts';
import { Infrastructure } from './infrastructure.ts';
import { Lifecycle } from './lifecycle.ts';
import { Networking } from './networking.ts';
import { containersPolicy } from './policy.ts';
import { Quotas } from './quotas.ts';
import { Registries } from './registries.ts';
import { fileSealer } from './sealing.ts';
import { zunState } from './states.ts';
import { ZunStore, type ContainerRow } from './store.ts';
import { specOf } from './views.ts';
import { Verbs } from './verbs.ts';

export interface Containers {
  core: ZunCore;
  containers: ContainerService;
  /** What other services (orchestration) ask of this one. */
  client: ContainersClient;
  mount: ServiceMount;
  /** Waits for the work requests left running (tests, shutdown). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** The owner of a row as a context, for the clean-up the service does on its own. */
function ownerContext(row: Pick<ContainerRow, 'user_id' | 'project_id'>): RequestContext {
  return internalContext({ userId: row.user_id, projectId: row.project_id, roles: ['member', 'reader'], auditId: 'zun-sweep' });
}

export async function createContainers(database: Database, policy: PolicyEngine, validator: TokenValidator, clients: ZunClients, config: Config): Promise<Containers> {
  policy.registerDefaults(containersPolicy);
  const store = await ZunStore.create(database);
  const base = `${config.publicUrl}/container/v1`;
  const core = new ZunCore(store, clients, policy, base);
  const quotas = new Quotas(core, database);
  const registries = new Registries(core, fileSealer(path.join(config.dataDir, 'secrets', 'zun-registries.key')));
  const containers = new ContainerService(core, quotas, registries);
  const consoles = new Consoles(core, `${config.publicUrl.replace(/^http/, 'ws')}/container/websocket/`);
  const parts = {
    core,
    containers,
    lifecycle: new Lifecycle(core),
    verbs: new Verbs(core, consoles),
    networking: new Networking(core),
    consoles,
    quotas,
    registries,
    infrastructure: new Infrastructure(core),
    capsules: new Capsules(core, quotas, containers),
  };

  /** Level-triggered: rows whose delete was cut short, containers gone from compute, stopped auto_remove ones. */
  let sweeping: Promise<void> | undefined;
  const sweepOnce = async () => {
    for (const row of await store.allContainers()) {
      // A capsule's containers are its to place and remove (capsules.ts), not this pass's.
      if (row.capsule_id) continue;
      const ctx = ownerContext(row);
      const w = (await clients.compute.states(ctx, [row.uuid]).catch(() => undefined))?.get(row.uuid);
      const age = Date.now() - Date.parse(row.created_at);
      if (!w && (row.task_state === 'container_deleting' || age > 60_000)) {
        await containers.remove(ctx, row, undefined, 'req-zun-sweep');
        continue;
      }
      if (w && specOf(row).auto_remove && !row.task_state && zunState(row, w).status === 'Stopped' && row.started) {
        if (await store.updateContainer(row.uuid, { task_state: 'container_deleting' }, { task_state: null })) await containers.remove(ctx, row, w, 'req-zun-auto-remove');
      }
    }
  };
  const sweep = () => {
    if (!sweeping) sweeping = sweepOnce().catch(() => undefined).finally(() => (sweeping = undefined));
    return sweeping;
  };
  const timer = setInterval(() => void sweep(), Math.max(1000, config.reconcileIntervalMs));
  timer.unref();

  return {
    core,
    containers,
    client: createContainersClient(parts),
    mount: { prefix: '/container', renderError: zunError, register: zunApi(validator, config.publicUrl, parts) },
    settle: () => core.settle(),
    async stop() {
      clearInterval(timer);
      await sweeping;
    },
  };
}
