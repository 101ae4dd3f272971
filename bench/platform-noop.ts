// Benchmark: an authenticated no-op request through the full platform stack (request id, logging,
// metrics, token validation, policy check, envelope handling) versus a bare Fastify route, same run.
import { Writable } from 'node:stream';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { loadConfig } from '../src/config.ts';
import { createCloud } from '../src/main.ts';
import { authenticate, contextOf } from '../src/platform/auth/context.ts';
import { keystoneError } from '../src/platform/http/envelopes.ts';
import { mountService } from '../src/platform/http/server.ts';
import { measure, type LoadResult } from './load.ts';
import type { BenchOptions } from './run.ts';

export const description = 'authenticated no-op through the full platform stack vs a bare Fastify route';

async function token(url: string, username: string, password: string, project: string): Promise<string> {
  const res = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: username, domain: { id: 'default' }, password } } },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    }),
  });
  if (res.status !== 201) throw new Error(`token: ${res.status} ${await res.text()}`);
  return res.headers.get('x-subject-token')!;
}

export async function run(options: BenchOptions): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-bench-'));
  // Request logging stays on (at info, as in production) but goes nowhere.
  const discard = new Writable({ write: (_chunk, _enc, done) => done() });
  const config = loadConfig({ HAFEN_DATA_DIR: dataDir, HAFEN_PORT: '0', HAFEN_LOG_LEVEL: 'info', HAFEN_PASSWORD_HASH_COST: '1024' });
  const cloud = await createCloud(config, { logStream: discard });
  cloud.policy.registerDefaults({ 'bench:noop': 'role:reader' });
  await mountService(cloud.app, {
    prefix: '/bench',
    renderError: keystoneError,
    register(scope) {
      scope.addHook('preHandler', authenticate(cloud.identity.tokens));
      scope.get('/noop', async (request, reply) => {
        cloud.policy.enforce('bench:noop', contextOf(request));
        reply.code(204).send();
      });
    },
  });
  await cloud.app.listen({ host: '127.0.0.1', port: 0 });
  const fullUrl = `http://127.0.0.1:${(cloud.app.server.address() as { port: number }).port}`;

  const bare = Fastify({ logger: false });
  bare.get('/noop', async (_request, reply) => reply.code(204).send());
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}`;

  try {
    const demo = cloud.identity.credentials.demo;
    const tok = await token(fullUrl, demo.username, demo.password, demo.project);
    const load = { connections: options.connections, durationMs: options.durationMs, warmupMs: options.warmupMs, expectStatus: 204 };
    const results: [string, LoadResult][] = [];
    results.push(['bare fastify', await measure(`${bareUrl}/noop`, load)]);
    results.push(['hafen platform', await measure(`${fullUrl}/bench/noop`, { ...load, headers: { 'x-auth-token': tok } })]);
    for (const [name, r] of results) {
      console.log(`${name.padEnd(16)} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s   p50 ${r.p50Ms.toFixed(2)} ms   p99 ${r.p99Ms.toFixed(2)} ms   (${r.count} requests)`);
    }
    const [b, f] = [results[0]![1], results[1]![1]];
    console.log(`ratio (platform / bare): throughput ${(f.requestsPerSecond / b.requestsPerSecond).toFixed(2)}x, p99 ${(f.p99Ms / b.p99Ms).toFixed(2)}x`);
  } finally {
    await bare.close();
    await cloud.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
