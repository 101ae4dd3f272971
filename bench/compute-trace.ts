// Where a boot's and a delete's time goes: one server at a time (networks: none, as bench/compute),
// every step timed from the client's POST or DELETE: the HTTP requests as the controller serves them,
// compute's database calls, the image and network clients' calls, each Engine API call, and the
// client's polls; then the raw create+start and force-remove of the same container with its Engine
// API calls. Prints one timeline per kind and the median of each step over HAFEN_BENCH_ROUNDS (5).
// HAFEN_BENCH_NETWORK=1: the server on its project's default network (networks: auto), the raw twin
// on an engine bridge network of its own (docker network create, then docker run --network).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TENANT_CAPABILITIES } from '../src/agent/docker/driver.ts';
import type { BenchOptions } from './run.ts';
import { startBenchCloud } from './cloud.ts';

export const description = 'per-step timeline of one boot and one delete (compute, clients, engine calls) against raw';

interface Span {
  what: string;
  start: number;
  end: number;
}

let spans: Span[] | undefined;
const now = () => performance.now();

function record(what: string, start: number): void {
  spans?.push({ what, start, end: now() });
}

/** Wraps every method of an object (own and prototype's) so that each call is a span named `prefix.method`. */
function timeMethods(obj: object, prefix: string): void {
  const names = new Set<string>();
  for (let p: object | null = obj; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const n of Object.getOwnPropertyNames(p)) names.add(n);
  }
  for (const n of names) {
    if (n === 'constructor') continue;
    const desc = Object.getOwnPropertyDescriptor(obj, n) ?? Object.getOwnPropertyDescriptor(Object.getPrototypeOf(obj), n);
    if (!desc || typeof desc.value !== 'function') continue;
    const fn = desc.value as (...a: unknown[]) => unknown;
    (obj as Record<string, unknown>)[n] = function (this: unknown, ...args: unknown[]) {
      const t0 = now();
      const out = fn.apply(this, args);
      if (out instanceof Promise) return out.finally(() => record(`${prefix}.${n}`, t0));
      record(`${prefix}.${n}`, t0);
      return out;
    };
  }
}

/** Every Engine API call of a dockerode client as a span `engine METHOD path`. */
function timeEngine(docker: { modem: { dial: (o: { method?: string; path?: string }, cb: (...a: unknown[]) => void) => unknown } }, prefix: string): void {
  const dial = docker.modem.dial.bind(docker.modem);
  docker.modem.dial = (o, cb) => {
    const t0 = now();
    const path = (o.path ?? '').replace(/[0-9a-f]{64}/g, '<id>').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>').replace(/\?.*$/, '');
    return dial(o, (...a: unknown[]) => {
      record(`${prefix} ${o.method} ${path}`, t0);
      cb(...a);
    });
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function print(title: string, runs: { total: number; spans: Span[] }[]): void {
  const last = runs[runs.length - 1]!;
  console.log(`\n## ${title}: total p50 ${median(runs.map((r) => r.total)).toFixed(1)} ms (${runs.map((r) => r.total.toFixed(0)).join(', ')})`);
  console.log('last run, from the start (ms):');
  for (const s of [...last.spans].sort((a, b) => a.start - b.start)) console.log(`  ${s.start.toFixed(1).padStart(7)} ${(s.end - s.start).toFixed(1).padStart(7)}  ${s.what}`);
  const by = new Map<string, number[]>();
  for (const r of runs) {
    const sums = new Map<string, number>();
    for (const s of r.spans) sums.set(s.what, (sums.get(s.what) ?? 0) + (s.end - s.start));
    for (const [k, v] of sums) by.set(k, [...(by.get(k) ?? []), v]);
  }
  console.log('each step summed within a run, median over runs (ms), count in the last run:');
  for (const [k, v] of [...by].sort((a, b) => median(b[1]) - median(a[1]))) console.log(`  ${median(v).toFixed(1).padStart(7)}  x${last.spans.filter((s) => s.what === k).length}  ${k}`);
}

export async function run(_options: BenchOptions): Promise<void> {
  const rounds = Number(process.env.HAFEN_BENCH_ROUNDS ?? 5);
  const { cloud, url, docker, token, headers: h, imageId, work } = await startBenchCloud('compute-trace', { instances: 20, cores: 20, ram: 20 * 64 });
  const networked = process.env.HAFEN_BENCH_NETWORK === '1';
  const rawNetwork = networked ? `bench-raw-${process.pid}` : 'none';
  try {
    if (networked) await docker.createNetwork({ Name: rawNetwork, Driver: 'bridge' });
    const service = cloud.compute.service;
    const core = (service as unknown as { core: { store: object; network: object; images: object } }).core;
    timeMethods(core.store, 'db');
    timeMethods(core.network, 'network');
    timeMethods(core.images, 'image');
    for (const [hostId, driver] of service.hosts.connected()) {
      timeMethods(driver, `driver(${hostId})`);
      timeEngine((driver as unknown as { docker: Parameters<typeof timeEngine>[0] }).docker, 'engine');
    }
    timeEngine(docker as unknown as Parameters<typeof timeEngine>[0], 'raw-engine');
    // The controller's own view of each request: from its arrival to the response's end.
    const server = cloud.app.server;
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const t0 = now();
      const what = `http ${req.method} ${(req.url ?? '').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')}`;
      res.on('finish', () => record(what, t0));
    });

    const bootOne = async (name: string) => {
      let t0 = now();
      const r = await fetch(`${url}/compute/v2.1/servers`, { method: 'POST', headers: h, body: JSON.stringify({ server: { name, imageRef: imageId, flavorRef: '1', networks: networked ? 'auto' : 'none' } }) });
      const id = ((await r.json()) as { server: { id: string } }).server.id;
      record('client POST /servers', t0);
      for (;;) {
        t0 = now();
        const s = ((await (await fetch(`${url}/compute/v2.1/servers/${id}`, { headers: h })).json()) as { server: { status: string } }).server;
        record('client GET (poll)', t0);
        if (s.status === 'ACTIVE') return id;
        if (s.status === 'ERROR') throw new Error(`boot failed: ${JSON.stringify(s)}`);
        await new Promise((res) => setTimeout(res, 5));
      }
    };
    const deleteOne = async (id: string) => {
      let t0 = now();
      await fetch(`${url}/compute/v2.1/servers/${id}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
      record('client DELETE', t0);
      for (;;) {
        t0 = now();
        const status = (await fetch(`${url}/compute/v2.1/servers/${id}`, { headers: h })).status;
        record('client GET (poll)', t0);
        if (status === 404) return;
        await new Promise((res) => setTimeout(res, 5));
      }
    };
    await deleteOne(await bootOne('warm'));
    const engineImage = ((await (await fetch(`${url}/image/v2/images/${imageId}`, { headers: h })).json()) as { docker_image_id: string }).docker_image_id;

    const traced = async (fn: () => Promise<unknown>) => {
      spans = [];
      const t0 = now();
      await fn();
      const total = now() - t0;
      // Work the request started that ends after the client saw the result (actions finished etc.).
      await cloud.compute.service.settle();
      const out = { total, spans: spans.map((s) => ({ ...s, start: s.start - t0, end: s.end - t0 })) };
      spans = undefined;
      return out;
    };
    const boots: { total: number; spans: Span[] }[] = [];
    const deletes: typeof boots = [];
    const raws: typeof boots = [];
    const rawDeletes: typeof boots = [];
    for (let i = 0; i < rounds; i++) {
      let id = '';
      boots.push(await traced(async () => (id = await bootOne(`t-${i}`))));
      deletes.push(await traced(() => deleteOne(id)));
      let rawId = '';
      raws.push(await traced(async () => {
        const c = await docker.createContainer({
          name: `bench-raw-${randomUUID()}`,
          Image: engineImage,
          Labels: { 'hafen.bench': 'raw' },
          Hostname: `t-${i}`,
          OpenStdin: true,
          HostConfig: { Memory: 64 << 20, MemorySwap: 64 << 20, NanoCpus: 1e9, PidsLimit: 1024, CapDrop: ['ALL'], CapAdd: TENANT_CAPABILITIES, SecurityOpt: ['no-new-privileges'], IpcMode: 'private', NetworkMode: rawNetwork },
        });
        await c.start();
        rawId = c.id;
      }));
      rawDeletes.push(await traced(() => docker.getContainer(rawId).remove({ force: true, v: true })));
    }
    print('boot (POST -> ACTIVE seen)', boots);
    print('raw create+start', raws);
    print('delete (DELETE -> 404 seen)', deletes);
    print('raw force-remove', rawDeletes);
    console.log(`\nratios of p50: boot ${(median(boots.map((r) => r.total)) / median(raws.map((r) => r.total))).toFixed(2)}x, delete ${(median(deletes.map((r) => r.total)) / median(rawDeletes.map((r) => r.total))).toFixed(2)}x`);
  } finally {
    if (networked) await docker.getNetwork(rawNetwork).remove().catch(() => undefined);
    await cloud.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
