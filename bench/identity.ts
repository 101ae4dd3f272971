// Benchmark: Keystone-style operations through hafen's identity service — token validation, token
// issue by password, by token and by application credential, and an authenticated project list —
// sequentially (p50/p99) and at concurrency 8 and 32; plus the password hash cost on its own.
import { Writable } from 'node:stream';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createCloud } from '../src/main.ts';
import { hashPassword, verifyPassword } from '../src/identity/passwords.ts';
import { measure, type LoadOptions, type LoadResult } from './load.ts';
import type { BenchOptions } from './run.ts';

export const description = 'token validation/issue (password, token, app credential), project list; hash cost';

const json = { 'content-type': 'application/json' };

export async function run(options: BenchOptions): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-bench-'));
  const discard = new Writable({ write: (_c, _e, done) => done() });
  // The production password hash cost (scrypt N=32768), so password issue shows its real price.
  const config = loadConfig({ HAFEN_DATA_DIR: dataDir, HAFEN_PORT: '0', HAFEN_LOG_LEVEL: 'info' });
  const cloud = await createCloud(config, { logStream: discard });
  await cloud.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(cloud.app.server.address() as { port: number }).port}/identity/v3`;
  try {
    const { admin, demo } = cloud.identity.credentials;
    const passwordBody = (c: typeof admin) =>
      JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: c.username, domain: { id: 'default' }, password: c.password } } },
          scope: { project: { name: c.project, domain: { id: 'default' } } },
        },
      });
    const issue = async (body: string) => {
      const r = await fetch(`${url}/auth/tokens`, { method: 'POST', headers: json, body });
      if (r.status !== 201) throw new Error(`issue: ${r.status} ${await r.text()}`);
      return { token: r.headers.get('x-subject-token')!, body: (await r.json()) as { token: { user: { id: string } } } };
    };
    const adminToken = (await issue(passwordBody(admin))).token;
    const demoIssued = await issue(passwordBody(demo));
    const cred = await fetch(`${url}/users/${demoIssued.body.token.user.id}/application_credentials`, {
      method: 'POST',
      headers: { ...json, 'x-auth-token': demoIssued.token },
      body: JSON.stringify({ application_credential: { name: 'bench' } }),
    });
    const credBody = (await cred.json()) as { application_credential: { id: string; secret: string } };

    const cases: { name: string; target: string; load: Omit<LoadOptions, 'connections' | 'durationMs' | 'warmupMs'> }[] = [
      { name: 'validate token', target: `${url}/auth/tokens?nocatalog`, load: { headers: { 'x-auth-token': adminToken, 'x-subject-token': demoIssued.token }, expectStatus: 200 } },
      { name: 'list projects', target: `${url}/projects`, load: { headers: { 'x-auth-token': adminToken }, expectStatus: 200 } },
      {
        name: 'issue by token',
        target: `${url}/auth/tokens?nocatalog`,
        load: { method: 'POST', headers: json, expectStatus: 201, body: JSON.stringify({ auth: { identity: { methods: ['token'], token: { id: demoIssued.token } }, scope: { project: { name: 'demo', domain: { id: 'default' } } } } }) },
      },
      {
        name: 'issue by app cred',
        target: `${url}/auth/tokens?nocatalog`,
        load: { method: 'POST', headers: json, expectStatus: 201, body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id: credBody.application_credential.id, secret: credBody.application_credential.secret } } } }) },
      },
      { name: 'issue by password', target: `${url}/auth/tokens?nocatalog`, load: { method: 'POST', headers: json, expectStatus: 201, body: passwordBody(demo) } },
    ];
    const line = (name: string, r: LoadResult) =>
      console.log(`${name.padEnd(34)} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms`);
    const results = new Map<string, LoadResult[]>();
    for (const c of cases) {
      const rs: LoadResult[] = [];
      for (const connections of [1, 8, 32]) {
        const r = await measure(c.target, { ...c.load, connections, durationMs: options.durationMs, warmupMs: options.warmupMs });
        rs.push(r);
        line(`${c.name} (c=${connections})`, r);
      }
      results.set(c.name, rs);
    }

    // The password hash alone, on this thread: what bounds password issue.
    const stored = await hashPassword('bench-password', config.passwordHashCost);
    const n = 20;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await verifyPassword('bench-password', stored);
    const hashMs = (performance.now() - t0) / n;
    const cores = os.cpus().length;
    const ceiling = (cores * 1000) / hashMs;
    const pw = Math.max(...results.get('issue by password')!.map((r) => r.requestsPerSecond));
    console.log(`password hash (scrypt N=${config.passwordHashCost}) ${hashMs.toFixed(1)} ms; ceiling ${cores} cores / hash = ${ceiling.toFixed(1)}/s; password issue ${pw.toFixed(1)}/s = ${((pw / ceiling) * 100).toFixed(0)} % of it (target 90 %)`);

    // Validation latency while 8 password logins run.
    const [loaded] = await Promise.all([
      measure(cases[0]!.target, { ...cases[0]!.load, connections: 1, durationMs: options.durationMs, warmupMs: 200 }),
      measure(cases[4]!.target, { ...cases[4]!.load, connections: 8, durationMs: options.durationMs + 400, warmupMs: 0 }),
    ]);
    line('validate while 8 password logins run', loaded);
    const v = results.get('validate token')!;
    console.log(`targets: validate p99 ${v[0]!.p99Ms.toFixed(2)} ms (< 2), validate ${Math.max(...v.map((r) => r.requestsPerSecond)).toFixed(0)}/s (>= 3000), issue by token ${Math.max(...results.get('issue by token')!.map((r) => r.requestsPerSecond)).toFixed(0)}/s and by app cred ${Math.max(...results.get('issue by app cred')!.map((r) => r.requestsPerSecond)).toFixed(0)}/s (>= 1000), validate p99 under password load ${loaded.p99Ms.toFixed(2)} ms (< 5)`);
  } finally {
    await cloud.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
