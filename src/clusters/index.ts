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
import { createClustersClient, type ClustersClient } from './client.ts';
import { templateRoutes } from './templates-api.ts';
import { randomUUID } from 'node:crypto';
import { NodeRuntime, parseNodeNetwork } from './nodes.ts';
import { fileSealer } from './seal.ts';
import { ClusterImages } from './images.ts';
import { Fronts } from './fronts.ts';
import { CertificateService, certificateRoutes } from './certificates.ts';
import { QuotaService, quotaRoutes } from './quotas.ts';
import { ConductorHeartbeat, RecordsService, recordRoutes } from './conductors.ts';
import { ClusterHealth } from './health.ts';
import { nodegroupRoutes } from './nodegroups-api.ts';
import { NodegroupService } from './nodegroups.ts';

export interface Clusters {
  store: ClusterStore;
  /** The nodes of clusters, for orchestration's OS::Magnum::NodeGroup. */
  nodes: NodeRuntime;
  fronts: Fronts;
  templates: TemplateService;
  clusters: ClusterService;
  /** What other services (orchestration) ask of this one: templates and clusters. */
  client: ClustersClient;
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
  const nodes = new NodeRuntime(store, clients, fileSealer(config.dataDir), { nodeNetwork: parseNodeNetwork(config.clusterNodeNetwork), joinTimeoutMs: 180_000, requestId: () => `req-${randomUUID()}` }, log);
  const images = new ClusterImages(clients, nodes, log);
  const fronts = new Fronts(store, nodes, images, config.clusterFrontAddresses, log);
  const runtime: ClusterRuntime = {
    async prepare(row) {
      await nodes.tls(row);
      await fronts.ensure(await fronts.allocate(row));
    },
    removeNodes: (row) => nodes.removeAll(row),
    async cleanup(row) {
      await fronts.stop(row.uuid);
      await nodes.removeAll(row);
      nodes.forget(row.uuid);
    },
    changed(row) {
      if (row.status === 'DELETE_COMPLETE') void fronts.stop(row.uuid);
      else void fronts.ensure(row).catch((err: Error) => log(`clusters: front of ${row.uuid}: ${err.message}`));
    },
  };
  // Fronts of the clusters there are listen again after a restart.
  for (const row of await store.allClusters()) if (row.front_address && row.status !== 'DELETE_IN_PROGRESS') await fronts.ensure(row).catch((err: Error) => log(`clusters: front of ${row.uuid}: ${err.message}`));
  const lifecycle = new ClusterLifecycle(store, clusters, clients, runtime, log);
  clusters.onChange = (uuid, kind, ctx) => lifecycle.kick(uuid, kind, ctx);
  lifecycle.start();
  const heartbeat = new ConductorHeartbeat(store, log);
  await heartbeat.start();
  const health = new ClusterHealth(store, nodes, log);
  health.start();
  return {
    store,
    nodes,
    fronts,
    templates,
    clusters,
    client: createClustersClient(templates, clusters, config.publicUrl),
    lifecycle,
    mount: {
      prefix: '/container-infra',
      renderError: magnumError,
      register: clustersApi(validator, config.publicUrl, [
        templateRoutes(templates, 'clustertemplates'),
        templateRoutes(templates, 'baymodels'),
        clusterRoutes(clusters),
        nodegroupRoutes(clusters, templates, new NodegroupService(store, clusters, clients, 50)),
        bayRoutes(clusters),
        certificateRoutes(new CertificateService(store, templates, clusters, nodes, fronts)),
        quotaRoutes(new QuotaService(store, templates)),
        recordRoutes(new RecordsService(store, templates)),
      ]),
    },
    async stop() {
      heartbeat.stop();
      await health.stop();
      await lifecycle.stop();
      await fronts.stopAll();
    },
  };
}
