// Benchmark: servers through compute against their raw twins on the same engine, in pairs that run
// next to each other, so that both sides of a pair see the same load on a busy machine. One server
// (image cached) POST /servers -> ACTIVE seen by polling, against the raw create+start of the same
// container (bench/compute-client.mjs says exactly what the twin runs); bursts of N servers at 8 at a
// time against N raw create+starts at 8; deleting each burst (polled to 404) against raw force-removes.
// Within each pair the side that goes first alternates (ABBA...). Ratios are of the medians and the
// p99s over the paired samples; each pair's ratio and each phase's load average are printed too. Both
// clients run on a thread of their own, as a real client runs in a process of its own, so the main
// thread is the controller's alone: its event loop's busy share and its CPU time a server are printed.
// A single server is polled (GET /servers/{id}); a burst is watched as a client watching many of
// its servers does, by one poll of the project's list for all of them (GET /servers/detail for ACTIVE,
// GET /servers for deletes gone), unless HAFEN_BENCH_BURST_WATCH=each polls each server as before.
// HAFEN_BENCH_ROUNDS (single boots, default 20), HAFEN_BENCH_BURST (default 20),
// HAFEN_BENCH_BURST_ROUNDS (bursts of each side, default 3), HAFEN_BENCH_POLL_MS (default 25).
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { TENANT_CAPABILITIES } from '../src/agent/docker/driver.ts';
import { ENGINE_API_VERSION } from '../src/host/engine-client.ts';
import type { BenchOptions } from './run.ts';
import { startBenchCloud } from './cloud.ts';

export const description = 'server boot/burst/delete through compute vs raw create+start/remove on the same engine, interleaved in pairs';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const load = () => os.loadavg()[0]!;

interface Timed {
  ids: string[];
  each: number[];
  totalMs: number;
  /** The client thread's CPU time over the operation. */
  clientCpuMs: number;
}

/** The client thread: each call posts one operation and resolves with its result. */
function clientThread(workerData: Record<string, unknown>) {
  const worker = new Worker(new URL('./compute-client.mjs', import.meta.url), { workerData, execArgv: [] });
  let seq = 0;
  const waiting = new Map<number, { resolve: (v: Timed) => void; reject: (e: Error) => void }>();
  worker.on('message', (m: { seq: number; result?: Timed; error?: string }) => {
    const w = waiting.get(m.seq)!;
    waiting.delete(m.seq);
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve(m.result!);
  });
  worker.on('error', (err) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  });
  return {
    call: (op: string, args: Record<string, unknown>) => new Promise<Timed>((resolve, reject) => {
      waiting.set(++seq, { resolve, reject });
      worker.postMessage({ seq, op, args });
    }),
    stop: () => worker.terminate(),
  };
}

/** CPU time of this thread (the controller's; Linux's per-thread counters, in clock ticks of 10 ms). */
function controllerCpuMs(): number {
  try {
    const fields = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** The paired samples of one phase: hafen's and raw's times, the controller's share while hafen ran, the load seen. */
class Phase {
  readonly hafen: number[] = [];
  readonly raw: number[] = [];
  private busyMs = 0;
  private wallMs = 0;
  private cpuMs = 0;
  private servers = 0;
  private hafenClientCpuMs = 0;
  private rawClientCpuMs = 0;
  private rawServers = 0;
  private readonly loads: number[] = [];

  constructor(readonly title: string, readonly target: { p50?: number; p99?: number }) {}

  /** Runs one pair, the side going first alternating with the pair's index; records both times. */
  async pair(index: number, hafen: () => Promise<Timed>, raw: () => Promise<Timed>): Promise<[Timed, Timed]> {
    this.loads.push(load());
    const runHafen = async () => {
      const before = performance.eventLoopUtilization();
      const cpu = controllerCpuMs();
      const out = await hafen();
      const elu = performance.eventLoopUtilization(before);
      this.busyMs += elu.active;
      this.wallMs += elu.active + elu.idle;
      this.cpuMs += controllerCpuMs() - cpu;
      this.servers += out.each.length;
      return out;
    };
    let h: Timed;
    let r: Timed;
    if (index % 2 === 0) {
      h = await runHafen();
      r = await raw();
    } else {
      r = await raw();
      h = await runHafen();
    }
    this.hafen.push(h.totalMs);
    this.raw.push(r.totalMs);
    this.hafenClientCpuMs += h.clientCpuMs;
    this.rawClientCpuMs += r.clientCpuMs;
    this.rawServers += r.each.length;
    this.loads.push(load());
    return [h, r];
  }

  get ratioP50(): number {
    return pct(this.hafen, 50) / pct(this.raw, 50);
  }

  get ratioP99(): number {
    return pct(this.hafen, 99) / pct(this.raw, 99);
  }

  report(): string {
    const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
    const pairs = this.hafen.map((h, i) => h / this.raw[i]!);
    const t = (v: number, target?: number) => `${v.toFixed(2)}x${target ? ` (target ${target})` : ''}`;
    return [
      `${this.title}: ${this.hafen.length} pairs, load ${Math.min(...this.loads).toFixed(1)}-${Math.max(...this.loads).toFixed(1)}`,
      `  hafen p50 ${ms(pct(this.hafen, 50))} p99 ${ms(pct(this.hafen, 99))}; raw p50 ${ms(pct(this.raw, 50))} p99 ${ms(pct(this.raw, 99))}`,
      `  ratio of medians ${t(this.ratioP50, this.target.p50)}, of p99s ${t(this.ratioP99, this.target.p99)}; pairs' ratios p50 ${pct(pairs, 50).toFixed(2)}x, each ${pairs.map((p) => p.toFixed(2)).join(' ')}`,
      `  controller while hafen ran: loop busy ${((this.busyMs / this.wallMs) * 100).toFixed(0)} %, CPU ${(this.cpuMs / this.servers).toFixed(1)} ms a server; client CPU ${(this.hafenClientCpuMs / this.servers).toFixed(1)} ms a server (raw's ${(this.rawClientCpuMs / this.rawServers).toFixed(1)})`,
    ].join('\n');
  }
}

export async function run(_options: BenchOptions): Promise<void> {
  const rounds = Number(process.env.HAFEN_BENCH_ROUNDS ?? 20);
  const burst = Number(process.env.HAFEN_BENCH_BURST ?? 20);
  const burstRounds = Number(process.env.HAFEN_BENCH_BURST_ROUNDS ?? 3);
  const pollMs = Number(process.env.HAFEN_BENCH_POLL_MS ?? 25);
  const burstWatch = process.env.HAFEN_BENCH_BURST_WATCH === 'each' ? 'each' : 'list';
  const { cloud, url, docker, socket, token, headers: h, imageId, work } = await startBenchCloud('compute', { instances: burst + 10, cores: burst + 10, ram: (burst + 10) * 64 });
  const client = clientThread({ url, token, socket, engineVersion: ENGINE_API_VERSION, pollMs });
  const rawIds = new Set<string>();
  try {
    const boot = (names: string[], concurrency = 1) => client.call('boot', { imageId, names, concurrency, watch: concurrency > 1 ? burstWatch : 'each' });
    const remove = (ids: string[], concurrency = 1) => client.call('delete', { ids, concurrency, watch: concurrency > 1 ? burstWatch : 'each' });
    const raw = async (count: number, concurrency = 1) => {
      const r = await client.call('raw', { image: engineImage, capabilities: TENANT_CAPABILITIES, count, concurrency });
      for (const id of r.ids) rawIds.add(id);
      return r;
    };
    const rawRemove = async (ids: string[], concurrency = 1) => {
      const r = await client.call('rawRemove', { ids, concurrency });
      for (const id of ids) rawIds.delete(id);
      return r;
    };
    // Warm-up: the image loaded into the engine (cached from then on, known there by its content id),
    // and one of each side, so that neither pays for a first time.
    await remove((await boot(['warm'])).ids);
    const engineImage = ((await (await fetch(`${url}/image/v2/images/${imageId}`, { headers: h })).json()) as { docker_image_id: string }).docker_image_id;
    await rawRemove((await raw(1)).ids);
    const startLoad = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    console.log(`load average at start ${startLoad}; ${rounds} single pairs, ${burstRounds} burst pairs of ${burst} at 8 at a time, polling every ${pollMs} ms (bursts: ${burstWatch === 'list' ? 'one poll of the project\'s list for all' : 'each server polled'})`);

    const one = new Phase('one server to ACTIVE (vs raw create+start)', { p50: 1.15, p99: 1.3 });
    const oneDelete = new Phase('deleting one (vs raw force-remove)', {});
    for (let i = 0; i < rounds; i++) {
      const [b, r] = await one.pair(i, () => boot([`one-${i}`]), () => raw(1));
      await oneDelete.pair(i, () => remove(b.ids), () => rawRemove(r.ids));
    }
    console.log(one.report());
    console.log(oneDelete.report());

    const bursts = new Phase(`burst of ${burst} (vs ${burst} raw create+starts)`, { p50: 1.15 });
    const burstDeletes = new Phase(`deleting the burst (vs ${burst} raw force-removes)`, { p50: 1.2 });
    for (let i = 0; i < burstRounds; i++) {
      const [b, r] = await bursts.pair(i, () => boot(Array.from({ length: burst }, (_, j) => `burst-${i}-${j}`), 8), () => raw(burst, 8));
      await burstDeletes.pair(i, () => remove(b.ids, 8), () => rawRemove(r.ids, 8));
    }
    console.log(bursts.report());
    console.log(burstDeletes.report());
    const endLoad = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    console.log(`load average at end ${endLoad}`);
    console.log(`summary: one boot p50 ${one.ratioP50.toFixed(2)}x / p99 ${one.ratioP99.toFixed(2)}x, burst ${bursts.ratioP50.toFixed(2)}x, delete ${burstDeletes.ratioP50.toFixed(2)}x (targets 1.15, 1.3, 1.15, 1.2); load ${startLoad} -> ${endLoad}`);
  } finally {
    await client.stop();
    for (const id of rawIds) await docker.getContainer(id).remove({ force: true, v: true }).catch(() => undefined);
    await cloud.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
