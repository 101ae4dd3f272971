// Benchmark: a stack of 30 containers in 3 tiers (each tier depends on the one before) from a
// Compose file, through orchestration until CREATE_COMPLETE and deleted until gone, against Debian's
// `docker-compose up -d` / `down` of the same file on the same engine, alternating rounds.
// HAFEN_BENCH_ROUNDS (default 3), HAFEN_BENCH_PER_TIER (default 10).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BenchOptions } from './run.ts';
import { startBenchCloud } from './cloud.ts';

export const description = '30 containers in 3 tiers: a Compose file as a stack vs docker-compose up -d / down, same engine';

const exec = promisify(execFile);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function composeFile(image: string, perTier: number): string {
  const lines = ['version: "3"', 'services:'];
  for (let tier = 0; tier < 3; tier++) {
    for (let i = 0; i < perTier; i++) {
      lines.push(`  t${tier}s${i}:`, `    image: ${image}`, '    command: ["sleep", "3600"]');
      if (tier > 0) lines.push(`    depends_on: [t${tier - 1}s${i}]`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function run(_options: BenchOptions): Promise<void> {
  const rounds = Number(process.env.HAFEN_BENCH_ROUNDS ?? 3);
  const perTier = Number(process.env.HAFEN_BENCH_PER_TIER ?? 10);
  const total = perTier * 3;
  const { cloud, docker, socket, work, projectId, token, headers: h, archive, url } = await startBenchCloud('orch-compose', { instances: total + 10, cores: total + 10, ram: (total + 10) * 512 });
  try {
    // docker-compose needs the image in the engine under a name; hafen needs it in the image service.
    await new Promise<void>((resolve, reject) => {
      docker.loadImage(Readable.from([archive]), (err: Error | null, stream?: NodeJS.ReadableStream) => {
        if (err || !stream) return reject(err ?? new Error('load failed'));
        docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve()));
      });
    });
    const loaded = (await docker.listImages()).find((i) => (i.RepoTags ?? []).some((t) => t.startsWith('hafen/busybox') || t.includes('busybox')));
    const tag = 'hafen-bench/busybox:latest';
    if (loaded) await docker.getImage(loaded.Id).tag({ repo: 'hafen-bench/busybox', tag: 'latest' });
    const heat = `${url}/orchestration/v1/${projectId}`;
    const hafenFile = composeFile('bb', perTier);
    const composePath = path.join(work, 'docker-compose.yml');
    fs.writeFileSync(composePath, composeFile(tag, perTier));
    const composeEnv = { ...process.env, DOCKER_HOST: `unix://${socket}`, COMPOSE_PROJECT_NAME: 'hafenbench' };

    const hafenRound = async (n: number) => {
      const t0 = performance.now();
      const r = await fetch(`${heat}/stacks`, { method: 'POST', headers: h, body: JSON.stringify({ stack_name: `b${n}`, template: hafenFile, template_format: 'compose' }) });
      if (r.status !== 201) throw new Error(`stack create: ${r.status} ${await r.text()}`);
      const id = ((await r.json()) as { stack: { id: string } }).stack.id;
      for (;;) {
        const s = ((await (await fetch(`${heat}/stacks/b${n}/${id}?resolve_outputs=false`, { headers: h })).json()) as { stack: { stack_status: string; stack_status_reason: string } }).stack;
        if (s.stack_status === 'CREATE_COMPLETE') break;
        if (!s.stack_status.endsWith('IN_PROGRESS')) throw new Error(`stack ${s.stack_status}: ${s.stack_status_reason}`);
        await new Promise((res) => setTimeout(res, 20));
      }
      const created = performance.now() - t0;
      const t1 = performance.now();
      await fetch(`${heat}/stacks/b${n}/${id}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
      while ((await fetch(`${heat}/stacks/b${n}/${id}?resolve_outputs=false`, { headers: h })).status !== 404) await new Promise((res) => setTimeout(res, 20));
      return { created, deleted: performance.now() - t1 };
    };
    const composeRound = async () => {
      const t0 = performance.now();
      await exec('docker-compose', ['-f', composePath, 'up', '-d'], { env: composeEnv, maxBuffer: 16 << 20 });
      for (;;) {
        const running = await docker.listContainers({ filters: { label: ['com.docker.compose.project=hafenbench'], status: ['running'] } });
        if (running.length === total) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      const created = performance.now() - t0;
      const t1 = performance.now();
      await exec('docker-compose', ['-f', composePath, 'down', '-t', '0'], { env: composeEnv, maxBuffer: 16 << 20 });
      return { created, deleted: performance.now() - t1 };
    };
    const hafen: { created: number; deleted: number }[] = [];
    const compose: { created: number; deleted: number }[] = [];
    for (let i = 0; i < rounds; i++) {
      compose.push(await composeRound());
      hafen.push(await hafenRound(i));
    }
    const hc = median(hafen.map((x) => x.created));
    const cc = median(compose.map((x) => x.created));
    const hd = median(hafen.map((x) => x.deleted));
    const cd = median(compose.map((x) => x.deleted));
    console.log(`${total} containers in 3 tiers, median of ${rounds} alternating rounds`);
    console.log(`create: hafen stack ${(hc / 1000).toFixed(2)} s, docker-compose up -d ${(cc / 1000).toFixed(2)} s, ratio ${(hc / cc).toFixed(2)}x (target <= 1.00x)`);
    console.log(`delete: hafen stack ${(hd / 1000).toFixed(2)} s, docker-compose down ${(cd / 1000).toFixed(2)} s, ratio ${(hd / cd).toFixed(2)}x (target <= 1.00x)`);
  } finally {
    await exec('docker-compose', ['-f', path.join(work, 'docker-compose.yml'), 'down', '-t', '0'], { env: { ...process.env, DOCKER_HOST: `unix://${socket}`, COMPOSE_PROJECT_NAME: 'hafenbench' } }).catch(() => undefined);
    await cloud.close();
  }
}
