// Benchmark: image upload (md5 + sha512 while streaming) and download through the Glance API,
// next to `cp` + `sync` of the same file on the same disk, median of alternating rounds; and
// image create (metadata only) p50. Size: HAFEN_BENCH_IMAGE_MIB (default 1024), rounds: 5.
import { Writable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { checkoutDir, loadConfig } from '../src/config.ts';
import { createCloud } from '../src/main.ts';
import type { BenchOptions } from './run.ts';

export const description = 'image upload/download MiB/s vs cp+sync of the same file; image create p50';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function request(url: string, method: string, headers: Record<string, string>, body?: fs.ReadStream): Promise<{ status: number; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let bytes = 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (chunks.length < 4) chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, text: Buffer.concat(chunks).toString('utf8').slice(0, 300) }));
    });
    req.on('error', reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

export async function run(_options: BenchOptions): Promise<void> {
  const mib = Number(process.env.HAFEN_BENCH_IMAGE_MIB ?? 1024);
  const rounds = Number(process.env.HAFEN_BENCH_ROUNDS ?? 5);
  // On the checkout's disk, like the image store, so that both paths hit the same device.
  const work = fs.mkdtempSync(path.join(checkoutDir, '.hafen-test', 'bench-image-'));
  const source = path.join(work, 'source.bin');
  const block = randomBytes(1 << 20);
  const fd = fs.openSync(source, 'w');
  for (let i = 0; i < mib; i++) fs.writeSync(fd, block);
  fs.closeSync(fd);
  const config = loadConfig({ HAFEN_DATA_DIR: path.join(work, 'data'), HAFEN_PORT: '0', HAFEN_LOG_LEVEL: 'warn', HAFEN_PASSWORD_HASH_COST: '1024', HAFEN_DOCKER_HOSTS: 'unix:///nonexistent.sock', HAFEN_IMAGE_QUOTA_BYTES: String(64 * 2 ** 30) });
  const cloud = await createCloud(config, { logStream: new Writable({ write: (_c, _e, d) => d() }) });
  await cloud.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(cloud.app.server.address() as { port: number }).port}/image/v2`;
  try {
    const tokenRes = await fetch(`${base.replace('/image/v2', '')}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { id: 'default' }, password: cloud.identity.credentials.demo.password } } }, scope: { project: { name: 'demo', domain: { id: 'default' } } } } }),
    });
    const token = tokenRes.headers.get('x-subject-token')!;
    const auth = { 'x-auth-token': token };
    const create = async () => {
      const r = await fetch(`${base}/images`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench', container_format: 'bare', disk_format: 'raw' }) });
      return ((await r.json()) as { id: string }).id;
    };
    const up: number[] = [];
    const down: number[] = [];
    const cp: number[] = [];
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
    for (let i = 0; i < rounds; i++) {
      // cp + sync
      let t0 = performance.now();
      execFileSync('cp', [source, path.join(work, 'copy.bin')]);
      execFileSync('sync');
      cp.push(mib / ((performance.now() - t0) / 1000));
      fs.rmSync(path.join(work, 'copy.bin'));
      // upload (the store fsyncs before it renames)
      const id = await create();
      t0 = performance.now();
      const put = await request(`${base}/images/${id}/file`, 'PUT', { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(mib << 20) }, fs.createReadStream(source, { highWaterMark: 1 << 20 }));
      if (put.status !== 204) throw new Error(`upload: ${put.status} ${put.text}`);
      up.push(mib / ((performance.now() - t0) / 1000));
      // download
      t0 = performance.now();
      const get = await request(`${base}/images/${id}/file`, 'GET', auth);
      if (get.status !== 200 || get.bytes !== mib << 20) throw new Error(`download: ${get.status}, ${get.bytes} bytes`);
      down.push(mib / ((performance.now() - t0) / 1000));
      await fetch(`${base}/images/${id}`, { method: 'DELETE', headers: auth });
    }
    clearInterval(sampler);
    const creates: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await create();
      creates.push(performance.now() - t0);
    }
    const [u, d, c] = [median(up), median(down), median(cp)];
    console.log(`${mib} MiB, median of ${rounds} alternating rounds, on ${os.cpus().length} cores`);
    console.log(`cp + sync        ${c.toFixed(0).padStart(6)} MiB/s`);
    console.log(`upload (md5+sha512) ${u.toFixed(0).padStart(3)} MiB/s   ratio cp/upload ${(c / u).toFixed(2)}x (target <= 1.3)`);
    console.log(`download         ${d.toFixed(0).padStart(6)} MiB/s   ratio download/cp ${(d / c).toFixed(2)}x (target >= 1.0)`);
    console.log(`image create p50 ${median(creates).toFixed(2)} ms (target < 5)`);
    console.log(`RSS rise during transfers: ${((rssPeak - rssBefore) / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    await cloud.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
