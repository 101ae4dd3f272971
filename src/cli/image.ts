// `hafen image import-docker <engine image | docker save tar>`: uploads a Docker image into the
// image service as a container_format=docker image, streaming, with a progress bar on stderr.
import fs from 'node:fs';
import http from 'node:http';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { engineClient } from '../host/engine-client.ts';
import { enginePaths } from '../host/local-engine.ts';
import { logIn } from './cloud-auth.ts';

function progressBar(total: number | undefined): (n: number) => void {
  let done = 0;
  let last = 0;
  return (n) => {
    done += n;
    const now = Date.now();
    if (now - last < 200 && (total === undefined || done < total)) return;
    last = now;
    const mib = (done / 2 ** 20).toFixed(1);
    if (total) {
      const frac = Math.min(1, done / total);
      const bar = '#'.repeat(Math.round(frac * 30)).padEnd(30, '.');
      process.stderr.write(`\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${mib} MiB`);
    } else {
      process.stderr.write(`\r${mib} MiB`);
    }
  };
}

export function registerImage(program: Command): void {
  const image = program.command('image').description('Image helpers beyond the openstack CLI');
  image
    .command('import-docker <source>')
    .description('Upload an engine image (name:tag) or a docker save archive (file) as a docker image')
    .option('--name <name>', 'image name (default: the source)')
    .option('--cloud <cloud>', 'cloud in $HAFEN_DATA_DIR/clouds.yaml to act as', 'hafen-demo')
    .option('--docker <endpoint>', 'engine to save an image from (default: hafen\'s own engine)')
    .option('--visibility <visibility>', 'private, shared, community or public', 'private')
    .action(async (source: string, opts: { name?: string; cloud: string; docker?: string; visibility: string }) => {
      const config = loadConfig();
      const session = await logIn(config, opts.cloud);
      let data: Readable;
      let size: number | undefined;
      if (fs.existsSync(source)) {
        size = fs.statSync(source).size;
        data = fs.createReadStream(source, { highWaterMark: 1 << 20 });
      } else {
        const endpoint = opts.docker ?? config.dockerHosts[0] ?? `unix://${enginePaths(config.dataDir).socket}`;
        const docker = engineClient(endpoint);
        size = undefined;
        data = (await docker.getImage(source).get()) as unknown as Readable;
      }
      const token = session.token;
      const imageUrl = session.endpoint('image');
      const created = await fetch(`${imageUrl}/v2/images`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-token': token },
        body: JSON.stringify({ name: opts.name ?? source.split('/').pop(), container_format: 'docker', disk_format: 'raw', visibility: opts.visibility }),
      });
      if (created.status !== 201) throw new Error(`image create failed: ${created.status} ${await created.text()}`);
      const id = ((await created.json()) as { id: string }).id;
      const tick = progressBar(size);
      data.on('data', (c: Buffer) => tick(c.length));
      const status = await new Promise<{ code: number; text: string }>((resolve, reject) => {
        const req = http.request(`${imageUrl}/v2/images/${id}/file`, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', 'x-auth-token': token, ...(size !== undefined ? { 'content-length': String(size) } : {}) },
        }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        data.pipe(req);
      });
      process.stderr.write('\n');
      if (status.code !== 204) {
        await fetch(`${imageUrl}/v2/images/${id}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
        throw new Error(`upload failed: ${status.code} ${status.text}`);
      }
      process.stdout.write(`${id}\n`);
    });
}
