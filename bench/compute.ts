// Benchmark: one server (image cached) POST /servers -> ACTIVE against the Engine API's create+start
// of an identical container, alternating rounds; a burst of N servers against N raw create+starts
// at concurrency 8; and deleting them all against raw force-remove. Both clients run on a thread of
// their own (bench/compute-client.mjs), as a real client runs in a process of its own, so the main
// thread is the controller's alone: its event loop's busy share and its CPU time a server are
// printed for each part.
// HAFEN_BENCH_ROUNDS (default 10), HAFEN_BENCH_BURST (default 100), HAFEN_BENCH_POLL_MS (5).
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { TENANT_CAPABILITIES } from '../src/agent/docker/driver.ts';
import { ENGINE_API_VERSION } from '../src/host/engine-client.ts';
import type { BenchOptions } from './run.ts';
import { startBenchCloud } from './cloud.ts';

export const description = 'server boot/burst/delete through compute vs the raw Engine API, same engine';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

interface Timed {
  ids: string[];
  each: number[];
  totalMs: number;
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

interface Share {
  /** The event loop's busy share (time descheduled on a loaded machine counts as busy). */
  busy: number;
  cpuMs: number;
}

/** What the controller (this thread) spent while `fn` ran, with fn's result. */
async function controllerShare<T>(fn: () => Promise<T>): Promise<[T, Share]> {
  const before = performance.eventLoopUtilization();
  const cpu = controllerCpuMs();
  const out = await fn();
  return [out, { busy: performance.eventLoopUtilization(before).utilization, cpuMs: controllerCpuMs() - cpu }];
}

const shareOf = (s: Share, servers: number) => `controller loop busy ${(s.busy * 100).toFixed(0)} %, CPU ${(s.cpuMs / servers).toFixed(0)} ms a server`;

export async function run(_options: BenchOptions): Promise<void> {
  const rounds = Number(process.env.HAFEN_BENCH_ROUNDS ?? 10);
  const burst = Number(process.env.HAFEN_BENCH_BURST ?? 100);
  const pollMs = Number(process.env.HAFEN_BENCH_POLL_MS ?? 5);
  const { cloud, url, docker, socket, token, headers: h, imageId, work } = await startBenchCloud('compute', { instances: burst + 10, cores: burst + 10, ram: (burst + 10) * 64 });
  const client = clientThread({ url, token, socket, engineVersion: ENGINE_API_VERSION, pollMs });
  const rawIds: string[] = [];
  try {
    const boot = (names: string[], concurrency = 1) => client.call('boot', { imageId, names, concurrency });
    const remove = (ids: string[], concurrency = 1) => client.call('delete', { ids, concurrency });
    const raw = async (count: number, concurrency = 1) => {
      const r = await client.call('raw', { image: engineImage, capabilities: TENANT_CAPABILITIES, count, concurrency });
      rawIds.push(...r.ids);
      return r;
    };
    const rawRemove = async (ids: string[], concurrency = 1) => {
      const r = await client.call('rawRemove', { ids, concurrency });
      for (const id of ids) rawIds.splice(rawIds.indexOf(id), 1);
      return r;
    };
    // Warm-up boot loads the image into the engine (cached from then on), known there by its content id.
    await remove((await boot(['warm'])).ids);
    const engineImage = ((await (await fetch(`${url}/image/v2/images/${imageId}`, { headers: h })).json()) as { docker_image_id: string }).docker_image_id;
    console.log(`load average at start ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${rounds} rounds, burst of ${burst}, polling every ${pollMs} ms`);

    const hafenMs: number[] = [];
    const rawMs: number[] = [];
    const one: Share = { busy: 0, cpuMs: 0 };
    for (let i = 0; i < rounds; i++) {
      const [b, share] = await controllerShare(() => boot([`one-${i}`]));
      one.busy += share.busy / rounds;
      one.cpuMs += share.cpuMs;
      hafenMs.push(b.totalMs);
      const r = await raw(1);
      rawMs.push(r.totalMs);
      await remove(b.ids);
      await rawRemove(r.ids);
    }
    console.log(`one server to ACTIVE: hafen p50 ${pct(hafenMs, 50).toFixed(0)} ms p99 ${pct(hafenMs, 99).toFixed(0)} ms; raw create+start p50 ${pct(rawMs, 50).toFixed(0)} ms p99 ${pct(rawMs, 99).toFixed(0)} ms; ratio p50 ${(pct(hafenMs, 50) / pct(rawMs, 50)).toFixed(2)}x (target 1.15), p99 ${(pct(hafenMs, 99) / pct(rawMs, 99)).toFixed(2)}x (target 1.3); ${shareOf(one, rounds)}`);

    const [hafenBurst, burstShare] = await controllerShare(() => boot(Array.from({ length: burst }, (_, i) => `burst-${i}`), 8));
    const rawBurst = await raw(burst, 8);
    console.log(`burst of ${burst}: hafen ${(hafenBurst.totalMs / 1000).toFixed(1)} s, raw ${(rawBurst.totalMs / 1000).toFixed(1)} s, ratio ${(hafenBurst.totalMs / rawBurst.totalMs).toFixed(2)}x (target 1.15); ${shareOf(burstShare, burst)}`);
    const [hafenDel, delShare] = await controllerShare(() => remove(hafenBurst.ids, 8));
    const rawDel = await rawRemove(rawBurst.ids, 8);
    console.log(`delete ${burst}: hafen ${(hafenDel.totalMs / 1000).toFixed(1)} s, raw ${(rawDel.totalMs / 1000).toFixed(1)} s, ratio ${(hafenDel.totalMs / rawDel.totalMs).toFixed(2)}x (target 1.2); ${shareOf(delShare, burst)}`);
    console.log(`load average at end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    await client.stop();
    for (const id of rawIds) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    await cloud.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
