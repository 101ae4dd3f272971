// Benchmark: image upload (md5 + sha512, and for a docker archive its check) and download through
// the Glance API, driven by curl in its own process, next to the raw tools on the same file and disk
// in the same run: `cp` + `sync` for uploads, `cp` for downloads; median of alternating rounds; and
// image create (metadata only) p50. Size: HAFEN_BENCH_IMAGE_MIB (default 1024), rounds: 5.
import { Writable } from 'node:stream';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkoutDir, loadConfig } from '../src/config.ts';
import { createCloud } from '../src/main.ts';
import { writeTar } from '../src/host/tar-writer.ts';
import type { BenchOptions } from './run.ts';

export const description = 'image upload/download MiB/s vs cp+sync / cp of the same file (curl as the client); image create p50';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** curl in its own process, so the client's work does not share the server's event loop. */
function curl(args: string[]): Promise<{ code: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let out = '';
    const c = spawn('curl', ['-s', '-S', '-w', '%{http_code}', ...args]);
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('exit', (status) => (status === 0 ? resolve({ code: out.slice(-3), ms: performance.now() - t0 }) : reject(new Error(`curl exited ${status}: ${out}`))));
  });
}

/** A docker save archive whose one layer is `layerFile` (its bytes are the layer), written to `out` by streaming. */
function writeDockerArchive(layerFile: string, out: string): void {
  const size = fs.statSync(layerFile).size;
  const hash = createHash('sha256');
  for (const chunk of readChunks(layerFile)) hash.update(chunk);
  const diffId = hash.digest('hex');
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] } }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: null, Layers: [`${diffId}/layer.tar`] }]));
  // The layer's header comes from a one-entry tar of the right size (its content written after it).
  const head = writeTar([{ type: 'file', path: `${diffId}/layer.tar`, content: Buffer.alloc(0) }]).subarray(0, 512);
  head.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii');
  head.fill(' ', 148, 156);
  let sum = 0;
  for (const b of head) sum += b;
  head.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  const fd = fs.openSync(out, 'w');
  fs.writeSync(fd, head);
  for (const chunk of readChunks(layerFile)) fs.writeSync(fd, chunk);
  fs.writeSync(fd, Buffer.alloc((512 - (size % 512)) % 512));
  const tail = writeTar([
    { type: 'file', path: configName, content: config },
    { type: 'file', path: 'manifest.json', content: manifest },
  ]);
  fs.writeSync(fd, tail);
  fs.closeSync(fd);
}

function* readChunks(file: string): Generator<Buffer> {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(4 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
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
  const archive = path.join(work, 'source.tar');
  writeDockerArchive(source, archive);
  const archiveMiB = fs.statSync(archive).size / 2 ** 20;
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
    const create = async (containerFormat: string) => {
      const r = await fetch(`${base}/images`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench', container_format: containerFormat, disk_format: 'raw' }) });
      return ((await r.json()) as { id: string }).id;
    };
    const put = async (id: string, file: string) => {
      const r = await curl(['-X', 'PUT', '-H', `x-auth-token: ${token}`, '-H', 'content-type: application/octet-stream', '-T', file, `${base}/images/${id}/file`]);
      if (r.code !== '204') throw new Error(`upload: ${r.code}`);
      return r.ms;
    };
    const up: number[] = [];
    const upDocker: number[] = [];
    const down: number[] = [];
    const cpSync: number[] = [];
    const cp: number[] = [];
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
    const copy = path.join(work, 'copy.bin');
    for (let i = 0; i < rounds; i++) {
      // cp + sync: what an upload must at least cost (the store fsyncs before it renames).
      let t0 = performance.now();
      execFileSync('cp', [source, copy]);
      execFileSync('sync');
      cpSync.push(mib / ((performance.now() - t0) / 1000));
      fs.rmSync(copy);
      // upload, raw data: md5 and sha512 as it streams
      const id = await create('bare');
      up.push(mib / ((await put(id, source)) / 1000));
      // upload, a docker archive of the same data: the archive check (every layer's sha256) on top
      const dockerId = await create('docker');
      upDocker.push(archiveMiB / ((await put(dockerId, archive)) / 1000));
      // cp of the stored data, warm in the page cache as the download then reads it (uploads
      // write around the page cache, so it is read once first, untimed)
      execFileSync('cat', [path.join(work, 'data', 'images', id)], { stdio: ['ignore', 'ignore', 'inherit'] });
      t0 = performance.now();
      execFileSync('cp', [path.join(work, 'data', 'images', id), copy]);
      cp.push(mib / ((performance.now() - t0) / 1000));
      fs.rmSync(copy);
      // download to a file, as cp writes one
      const get = await curl(['-o', copy, '-H', `x-auth-token: ${token}`, `${base}/images/${id}/file`]);
      if (get.code !== '200' || fs.statSync(copy).size !== mib << 20) throw new Error(`download: ${get.code}`);
      down.push(mib / (get.ms / 1000));
      fs.rmSync(copy);
      for (const x of [id, dockerId]) await fetch(`${base}/images/${x}`, { method: 'DELETE', headers: auth });
    }
    clearInterval(sampler);
    const creates: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await create('bare');
      creates.push(performance.now() - t0);
    }
    const [u, ud, d, cs, c] = [median(up), median(upDocker), median(down), median(cpSync), median(cp)];
    const load = os.loadavg()[0]!.toFixed(1);
    console.log(`${mib} MiB, median of ${rounds} alternating rounds, on ${os.cpus().length} cores (load average ${load}); curl is the client`);
    console.log(`cp + sync              ${cs.toFixed(0).padStart(6)} MiB/s`);
    console.log(`upload (md5+sha512)    ${u.toFixed(0).padStart(6)} MiB/s   ratio (cp+sync)/upload ${(cs / u).toFixed(2)}x (target <= 1.3)`);
    console.log(`upload docker archive  ${ud.toFixed(0).padStart(6)} MiB/s   ratio (cp+sync)/upload ${(cs / ud).toFixed(2)}x (archive check included)`);
    console.log(`cp                     ${c.toFixed(0).padStart(6)} MiB/s`);
    console.log(`download               ${d.toFixed(0).padStart(6)} MiB/s   ratio download/cp ${(d / c).toFixed(2)}x (target >= 1.0)`);
    console.log(`image create p50 ${median(creates).toFixed(2)} ms (target < 5)`);
    console.log(`RSS rise during transfers: ${((rssPeak - rssBefore) / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    await cloud.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
