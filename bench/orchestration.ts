// Benchmark: the orchestration engine's own overhead. Time from POST /stacks to CREATE_COMPLETE
// (the stack show polled every 5 ms) for 100 independent OS::Heat::None resources and for a chain
// of 100 (each depends_on the one before), median of HAFEN_BENCH_ROUNDS (5) rounds after one
// warm-up round each; then the delete of each stack to 404. Targets: < 0.2 s and < 0.4 s.
import { Writable } from 'node:stream';
import fs from 'node:fs';
import path from 'node:path';
import { checkoutDir, loadConfig } from '../src/config.ts';
import { createCloud } from '../src/main.ts';
import type { BenchOptions } from './run.ts';

export const description = 'stack create of 100 parallel / 100 chained OS::Heat::None to CREATE_COMPLETE (targets 0.2 s / 0.4 s)';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parallel(n: number) {
  return { heat_template_version: '2021-04-16', resources: Object.fromEntries(Array.from({ length: n }, (_, i) => [`r${i}`, { type: 'OS::Heat::None' }])) };
}

function chain(n: number) {
  return {
    heat_template_version: '2021-04-16',
    resources: Object.fromEntries(Array.from({ length: n }, (_, i) => [`r${i}`, i === 0 ? { type: 'OS::Heat::None' } : { type: 'OS::Heat::None', depends_on: [`r${i - 1}`] }])),
  };
}

export async function run(_options: BenchOptions): Promise<void> {
  const rounds = Number(process.env.HAFEN_BENCH_ROUNDS ?? 5);
  const size = Number(process.env.HAFEN_BENCH_RESOURCES ?? 100);
  fs.mkdirSync(path.join(checkoutDir, '.hafen-test'), { recursive: true });
  const work = fs.mkdtempSync(path.join(checkoutDir, '.hafen-test', 'bench-orchestration-'));
  const config = loadConfig({ HAFEN_DATA_DIR: work, HAFEN_PORT: '0', HAFEN_LOG_LEVEL: 'silent', HAFEN_PASSWORD_HASH_COST: '1024' });
  const cloud = await createCloud(config, { logStream: new Writable({ write: (_c, _e, d) => d() }) });
  await cloud.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(cloud.app.server.address() as { port: number }).port}`;
  try {
    const demo = cloud.identity.credentials.demo;
    const tokRes = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: demo.username, domain: { id: 'default' }, password: demo.password } } }, scope: { project: { name: demo.project, domain: { id: 'default' } } } } }),
    });
    const token = tokRes.headers.get('x-subject-token')!;
    const project = ((await tokRes.json()) as { token: { project: { id: string } } }).token.project.id;
    const base = `${url}/orchestration/v1/${project}`;
    const h = { 'x-auth-token': token, 'content-type': 'application/json' };
    let seq = 0;

    /** ms from POST /stacks to the show saying CREATE_COMPLETE; and from DELETE to 404. */
    const once = async (template: unknown): Promise<{ create: number; del: number }> => {
      const name = `bench-${seq++}`;
      const body = JSON.stringify({ stack_name: name, template });
      const t0 = performance.now();
      const r = await fetch(`${base}/stacks`, { method: 'POST', headers: h, body });
      if (r.status !== 201) throw new Error(`create: ${r.status} ${await r.text()}`);
      const { stack } = (await r.json()) as { stack: { id: string } };
      const show = `${base}/stacks/${name}/${stack.id}?resolve_outputs=false`;
      for (;;) {
        const s = ((await (await fetch(show, { headers: h })).json()) as { stack: { stack_status: string; stack_status_reason: string } }).stack;
        if (s.stack_status === 'CREATE_COMPLETE') break;
        if (!s.stack_status.endsWith('IN_PROGRESS')) throw new Error(`create: ${s.stack_status} ${s.stack_status_reason}`);
        await sleep(5);
      }
      const create = performance.now() - t0;
      const t1 = performance.now();
      const d = await fetch(show, { method: 'DELETE', headers: { 'x-auth-token': token } });
      if (d.status !== 204) throw new Error(`delete: ${d.status} ${await d.text()}`);
      for (;;) {
        const s = await fetch(show, { headers: h });
        if (s.status === 404) break;
        await s.arrayBuffer();
        await sleep(5);
      }
      return { create, del: performance.now() - t1 };
    };

    const cases = [
      { label: `${size} independent OS::Heat::None`, template: parallel(size), targetS: 0.2 },
      { label: `chain of ${size} OS::Heat::None`, template: chain(size), targetS: 0.4 },
    ];
    for (const c of cases) {
      await once(c.template); // warm-up
      const creates: number[] = [];
      const deletes: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const { create, del } = await once(c.template);
        creates.push(create);
        deletes.push(del);
      }
      const m = median(creates) / 1000;
      console.log(
        `${c.label.padEnd(32)} create to CREATE_COMPLETE median ${m.toFixed(3)} s (target < ${c.targetS} s: ${m < c.targetS ? 'met' : 'MISSED'}); ` +
          `rounds ${creates.map((x) => (x / 1000).toFixed(3)).join(' ')}; delete to 404 median ${(median(deletes) / 1000).toFixed(3)} s`,
      );
    }
  } finally {
    await cloud.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
