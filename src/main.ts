// Composition root: config -> database -> policy -> services -> HTTP. Nothing else wires modules.
import path from 'node:path';
import type { Config } from './config.ts';
import { createDatabase, type Database } from './platform/db/database.ts';
import { PolicyEngine } from './platform/auth/policy.ts';
import { createHttpServer, mountService, type HttpServer } from './platform/http/server.ts';
import { createIdentity, type Identity } from './identity/index.ts';
import { cloudsYamlPath } from './identity/bootstrap.ts';
import { createImage, type Image } from './image/index.ts';
import { createCompute, type Compute } from './compute/index.ts';
import { cloudTag } from './agent/docker/host-guard.ts';
import { enginePaths } from './host/local-engine.ts';
import { createNetwork, type Network } from './network/index.ts';
import { createOrchestration, type Orchestration } from './orchestration/index.ts';
import { createClusters, type Clusters } from './clusters/index.ts';
import { deferredNodesClient } from './clusters/nodes.ts';
import { createContainers, type Containers } from './containers/index.ts';
import { zunClients } from './containers/adapters.ts';
import { deferredContainersClient } from './containers/client.ts';
import { deferredClustersClient } from './clusters/client.ts';
import { clusterClients } from './clusters/adapters.ts';

export interface Cloud {
  config: Config;
  app: HttpServer;
  database: Database;
  identity: Identity;
  image: Image;
  network: Network;
  compute: Compute;
  orchestration: Orchestration;
  clusters: Clusters;
  containers: Containers;
  policy: PolicyEngine;
  /** Where the cloud listens once started. */
  url: string;
  cloudsYaml: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface CloudOptions {
  logStream?: NodeJS.WritableStream;
}

export async function createCloud(config: Config, options: CloudOptions = {}): Promise<Cloud> {
  const database = await createDatabase(config.databaseUrl);
  const policy = new PolicyEngine(path.join(config.dataDir, 'policy.yaml'));
  const app = createHttpServer({ logLevel: config.logLevel, logFormat: config.logFormat, maxJsonBodyBytes: config.maxJsonBodyBytes, logStream: options.logStream });
  const identity = await createIdentity(database, policy, config);
  await mountService(app, identity.mount);
  const image = await createImage(database, policy, identity.tokens, config);
  await mountService(app, image.mount);
  // The all-in-one agents drive the configured engines, or the project's own engine.
  // With HAFEN_DOCKER_HOSTS=none there are none: every host is a remote agent's (`hafen agent`).
  // Simulated hosts alone (HAFEN_FAKE_HOSTS, no HAFEN_DOCKER_HOSTS) are the whole cloud: no engine
  // for compute, nor for the network's dataplane to look in for their servers.
  const fakeOnly = config.fakeHosts > 0 && config.dockerHosts.length === 0;
  const engines = config.agentsOnly || fakeOnly ? [] : config.dockerHosts.length > 0 ? config.dockerHosts : [`unix://${enginePaths(config.dataDir).socket}`];
  // The operator owns the all-in-one external network (floating IPs on loopback); the network service
  // comes before compute so that compute can bind ports through network.client.
  const network = await createNetwork(database, policy, identity.tokens, config, 'hafen-operator', engines);
  await mountService(app, network.mount);
  const compute = await createCompute(database, policy, identity.tokens, image.client, engines, config, network.client, network.service.feed);
  // Floating IPs of servers on remote agents' hosts are routed there by the agent endpoint, not NATed here.
  network.dataplane?.ignoreFloatingIpsOf(() => compute.serversOffEngines());
  // Names the cloud makes on hosts (floating-IP chains, like bridges and host guards) carry its id.
  network.dataplane?.setCloudTag(cloudTag(compute.service.hosts.cloudId), compute.service.hosts.cloudId);
  await mountService(app, compute.mount);
  await mountService(app, compute.agents);
  const clusterNodes = deferredNodesClient();
  const zun = deferredContainersClient();
  const magnum = deferredClustersClient();
  const orchestration = await createOrchestration(database, policy, identity.tokens, { clusters: clusterNodes.client, containers: zun.client, magnum: magnum.client, identity: identity.client, compute: compute.client, network: network.service, image: Object.assign(Object.create(image.service) as typeof image.service, { importer: image.importer }) }, config);
  await mountService(app, orchestration.mount);
  const clusters = await createClusters(database, policy, identity.tokens, clusterClients({ image: image.service, compute: compute.client, network: network.service, orchestration: orchestration.service, externalNetworkId: () => network.externalNetworkId }), config);
  await mountService(app, clusters.mount);
  clusterNodes.provide(clusters.nodes);
  magnum.provide(clusters.client);
  // Zun's containers are compute workloads of their own kind: same ledger, scheduler, ports, isolation.
  const containers = await createContainers(database, policy, identity.tokens, zunClients({ compute: compute.client, image: image.service, network: network.service }), config);
  await mountService(app, containers.mount);
  zun.provide(containers.client);

  const cloud: Cloud = {
    config,
    app,
    database,
    identity,
    image,
    network,
    compute,
    orchestration,
    clusters,
    containers,
    policy,
    url: config.publicUrl,
    cloudsYaml: cloudsYamlPath(config),
    async listen() {
      await app.listen({ host: config.host, port: config.port });
      return config.publicUrl;
    },
    async close() {
      await containers.stop();
      await clusters.stop();
      await orchestration.stop();
      await compute.stop();
      await network.close();
      await app.close();
      await containers.settle();
      await compute.service.settle();
      await database.close();
    },
  };
  return cloud;
}
