// The clusters service (Magnum v1) as the composition root sees it: store, templates, clusters, the
// lifecycle that drives each cluster's stack, the nodes runtime, and the routes under /container-infra.
import type { Config } from '../config.ts';
import type { Database } from '../platform/db/database.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import type { TokenValidator } from '../platform/auth/context.ts';
import type { ServiceMount } from '../platform/http/server.ts';
import { clustersApi } from './api.ts';
import type { ClusterClients } from './clients.ts';
import { ClusterService } from './clusters.ts';
import { bayRoutes, clusterRoutes } from './clusters-api.ts';
import { magnumError } from './errors.ts';
import { ClusterLifecycle, type ClusterRuntime } from './lifecycle.ts';
import { clustersPolicy } from './policy.ts';
import { ClusterStore } from './store.ts';
import { TemplateService } from './templates.ts';
import { templateRoutes } from './templates-api.ts';

export interface Clusters {
  store: ClusterStore;
  templates: TemplateService;
  clusters: ClusterService;
  lifecycle: ClusterLifecycle;
  mount: ServiceMount;
  stop(): Promise<void>;
}

export async function createClusters(database: Database, policy: PolicyEngine, validator: TokenValidator, clients: ClusterClients, config: Config): Promise<Clusters> {
  policy.registerDefaults(clustersPolicy);
  const store = await ClusterStore.create(database);
  const templates = new TemplateService(store, policy, clients);
  const clusters = new ClusterService(store, templates, clients, { maxClustersPerProject: 20, maxNodesPerGroup: 50 });
  const log = (msg: string) => {
    if (config.logLevel !== 'silent') process.stderr.write(`${msg}\n`);
  };
  const runtime: ClusterRuntime = { prepare: async () => {}, removeNodes: async () => {}, cleanup: async () => {}, changed: () => {} };
  const lifecycle = new ClusterLifecycle(store, clusters, clients, runtime, log);
  clusters.onChange = (uuid, kind, ctx) => lifecycle.kick(uuid, kind, ctx);
  lifecycle.start();
  return {
    store,
    templates,
    clusters,
    lifecycle,
    mount: {
      prefix: '/container-infra',
      renderError: magnumError,
      register: clustersApi(validator, config.publicUrl, [
        templateRoutes(templates, 'clustertemplates'),
        templateRoutes(templates, 'baymodels'),
        clusterRoutes(clusters),
        bayRoutes(clusters),
      ]),
    },
    async stop() {
      await lifecycle.stop();
    },
  };
}
