// Benchmark: one server (image cached) POST /servers -> ACTIVE against the Engine API's create+start
// of an identical container, alternating rounds; a burst of N servers against N raw create+starts
// at concurrency 8; and deleting them all against raw force-remove. HAFEN_BENCH_ROUNDS (default 10),
// HAFEN_BENCH_BURST (default 100).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { TENANT_CAPABILITIES } from '../src/agent/docker/driver.ts';
import type { BenchOptions } from './run.ts';
import { startBenchCloud } from './cloud.ts';

export const description = 'server boot/burst/delete through compute vs the raw Engine API, same engine';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

async function pool<T>(items: T[], concurrency: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export async function run(_options: BenchOptions): Promise<void> {
  const rounds = Number(process.env.HAFEN_BENCH_ROUNDS ?? 10);
  const burst = Number(process.env.HAFEN_BENCH_BURST ?? 100);
  const { cloud, url, docker, token, headers: h, imageId, work } = await startBenchCloud('compute', { instances: burst + 10, cores: burst + 10, ram: (burst + 10) * 64 });
  const img = { id: imageId };
  const rawIds: string[] = [];
  try {
    const bootOne = async (name: string) => {
      const r = await fetch(`${url}/compute/v2.1/servers`, { method: 'POST', headers: h, body: JSON.stringify({ server: { name, imageRef: img.id, flavorRef: '1', networks: 'none' } }) });
      const id = ((await r.json()) as { server: { id: string } }).server.id;
      for (;;) {
        const s = ((await (await fetch(`${url}/compute/v2.1/servers/${id}`, { headers: h })).json()) as { server: { status: string } }).server;
        if (s.status === 'ACTIVE') return id;
        if (s.status === 'ERROR') throw new Error(`boot failed: ${JSON.stringify(s)}`);
        await new Promise((res) => setTimeout(res, 5));
      }
    };
    const deleteOne = async (id: string) => {
      await fetch(`${url}/compute/v2.1/servers/${id}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
      for (;;) {
        if ((await fetch(`${url}/compute/v2.1/servers/${id}`, { headers: h })).status === 404) return;
        await new Promise((res) => setTimeout(res, 5));
      }
    };
    // The same container the driver makes, minus hafen: same image, limits, profile, no network.
    const rawOne = async () => {
      const c = await docker.createContainer({
        name: `bench-raw-${randomUUID()}`,
        Image: engineImage,
        Labels: { 'hafen.bench': 'raw' },
        HostConfig: { Memory: 64 << 20, MemorySwap: 64 << 20, NanoCpus: 1e9, PidsLimit: 1024, CapDrop: ['ALL'], CapAdd: TENANT_CAPABILITIES, SecurityOpt: ['no-new-privileges'], NetworkMode: 'none' },
      });
      await c.start();
      rawIds.push(c.id);
      return c.id;
    };
    // Warm-up boot loads the image into the engine (cached from then on), known there by its content id.
    await deleteOne(await bootOne('warm'));
    const engineImage = ((await (await fetch(`${url}/image/v2/images/${img.id}`, { headers: h })).json()) as { docker_image_id: string }).docker_image_id;

    const hafenMs: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let t0 = performance.now();
      const id = await bootOne(`one-${i}`);
      hafenMs.push(performance.now() - t0);
      t0 = performance.now();
      const raw = await rawOne();
      rawMs.push(performance.now() - t0);
      await deleteOne(id);
      await docker.getContainer(raw).remove({ force: true });
    }
    console.log(`one server to ACTIVE: hafen p50 ${pct(hafenMs, 50).toFixed(0)} ms p99 ${pct(hafenMs, 99).toFixed(0)} ms; raw create+start p50 ${pct(rawMs, 50).toFixed(0)} ms p99 ${pct(rawMs, 99).toFixed(0)} ms; ratio p50 ${(pct(hafenMs, 50) / pct(rawMs, 50)).toFixed(2)}x (target 1.15), p99 ${(pct(hafenMs, 99) / pct(rawMs, 99)).toFixed(2)}x (target 1.3)`);

    let t0 = performance.now();
    const ids: string[] = [];
    await pool(Array.from({ length: burst }, (_, i) => i), 8, async (i) => {
      ids.push(await bootOne(`burst-${i}`));
    });
    const hafenBurst = performance.now() - t0;
    t0 = performance.now();
    const raws: string[] = [];
    await pool(Array.from({ length: burst }, (_, i) => i), 8, async () => {
      raws.push(await rawOne());
    });
    const rawBurst = performance.now() - t0;
    console.log(`burst of ${burst}: hafen ${(hafenBurst / 1000).toFixed(1)} s, raw ${(rawBurst / 1000).toFixed(1)} s, ratio ${(hafenBurst / rawBurst).toFixed(2)}x (target 1.15)`);
    t0 = performance.now();
    await pool(ids, 8, deleteOne);
    const hafenDel = performance.now() - t0;
    t0 = performance.now();
    await pool(raws, 8, async (id) => {
      await docker.getContainer(id).remove({ force: true });
    });
    const rawDel = performance.now() - t0;
    console.log(`delete ${burst}: hafen ${(hafenDel / 1000).toFixed(1)} s, raw ${(rawDel / 1000).toFixed(1)} s, ratio ${(hafenDel / rawDel).toFixed(2)}x (target 1.2)`);
  } finally {
    for (const id of rawIds) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    await cloud.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
