// What the engine-backed benchmarks share: the shared test engine, a cloud on it in a fresh data
// dir listening on a free loopback port, the demo project's quotas raised, its token, and the
// busybox image in the image service.
import { Writable } from 'node:stream';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { checkoutDir, loadConfig } from '../src/config.ts';
import { createCloud, type Cloud } from '../src/main.ts';
import { ensureLocalEngine } from '../src/host/local-engine.ts';
import { engineClient } from '../src/host/engine-client.ts';
import { busyboxDockerArchive } from '../src/host/busybox-image.ts';

export interface BenchCloud {
  cloud: Cloud;
  url: string;
  docker: Docker;
  socket: string;
  work: string;
  projectId: string;
  token: string;
  /** JSON headers with the demo token. */
  headers: Record<string, string>;
  imageId: string;
  /** The busybox docker save archive the image was made from. */
  archive: Buffer;
}

export async function startBenchCloud(name: string, quota: { instances: number; cores: number; ram: number }): Promise<BenchCloud> {
  const engine = await ensureLocalEngine(path.join(checkoutDir, '.hafen-test', 'engine-shared'));
  const docker = engineClient(engine.socket);
  const work = fs.mkdtempSync(path.join(checkoutDir, '.hafen-test', `bench-${name}-`));
  const config = loadConfig({
    HAFEN_DATA_DIR: work,
    HAFEN_PORT: '0',
    HAFEN_LOG_LEVEL: 'warn',
    HAFEN_PASSWORD_HASH_COST: '1024',
    HAFEN_DOCKER_HOSTS: `unix://${engine.socket}`,
    // Bursts of one-vCPU servers on a 2-core machine need the overcommit to allow them.
    HAFEN_CPU_ALLOCATION_RATIO: '100',
  });
  const cloud = await createCloud(config, { logStream: new Writable({ write: (_c, _e, d) => d() }) });
  await cloud.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(cloud.app.server.address() as { port: number }).port}`;
  const project = await cloud.identity.service.store.projectByName('default', 'demo');
  const tokenOf = async (who: 'admin' | 'demo') => {
    const c = cloud.identity.credentials[who];
    const r = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: c.username, domain: { id: 'default' }, password: c.password } } }, scope: { project: { name: c.project, domain: { id: 'default' } } } } }),
    });
    return r.headers.get('x-subject-token')!;
  };
  const q = await fetch(`${url}/compute/v2.1/os-quota-sets/${project!.id}`, { method: 'PUT', headers: { 'x-auth-token': await tokenOf('admin'), 'content-type': 'application/json' }, body: JSON.stringify({ quota_set: quota }) });
  if (q.status !== 200) throw new Error(`quota update: ${q.status} ${await q.text()}`);
  const token = await tokenOf('demo');
  const headers = { 'x-auth-token': token, 'content-type': 'application/json' };
  const archive = busyboxDockerArchive({ cmd: ['sleep', '3600'] });
  const img = (await (await fetch(`${url}/image/v2/images`, { method: 'POST', headers, body: JSON.stringify({ name: 'bb', container_format: 'docker', disk_format: 'raw' }) })).json()) as { id: string };
  await fetch(`${url}/image/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body: archive as unknown as BodyInit });
  return { cloud, url, docker, socket: engine.socket, work, projectId: project!.id, token, headers, imageId: img.id, archive };
}
