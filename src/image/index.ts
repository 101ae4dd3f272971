// The image service as the composition root sees it: store, file backend, rules and routes.
import path from 'node:path';
import type { Config } from '../config.ts';
import type { Database } from '../platform/db/database.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import type { TokenValidator } from '../platform/auth/context.ts';
import { glanceError } from '../platform/http/envelopes.ts';
import type { ServiceMount } from '../platform/http/server.ts';
import { imageApi } from './api.ts';
import { hafenPorts, ImageImporter } from './import.ts';
import { FileBackend } from './backend.ts';
import type { ImageClient } from './client.ts';
import { imagePolicy } from './policy.ts';
import { MetadefStore } from './metadefs/store.ts';
import { MetadefService, metadefPolicy } from './metadefs/service.ts';
import { ImageService } from './service.ts';
import { ImageStore } from './store.ts';

export interface Image {
  service: ImageService;
  client: ImageClient;
  /** The interoperable import workflow (web-download, docker-registry ...), for orchestration. */
  importer: ImageImporter;
  mount: ServiceMount;
}

export async function createImage(database: Database, policy: PolicyEngine, validator: TokenValidator, config: Config): Promise<Image> {
  policy.registerDefaults(imagePolicy);
  policy.registerDefaults(metadefPolicy);
  const store = await ImageStore.create(database);
  const backend = new FileBackend(path.join(config.dataDir, 'images'));
  const service = new ImageService(store, backend, policy, config);
  await service.recover();
  const metadefs = new MetadefService(await MetadefStore.create(database), policy);
  const importer = new ImageImporter(service, store, { dataDir: config.dataDir, idleTimeoutMs: config.importIdleTimeoutMs, refusedPorts: hafenPorts(config) });
  return { service, client: service, importer, mount: { prefix: '/image', renderError: glanceError, register: imageApi(service, importer, validator, config.publicUrl, metadefs) } };
}
