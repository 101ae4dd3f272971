// Issue 11.5, image side, played as an attacker with a project token and a hostile server on loopback:
// imports follow no redirect and give up on a silent source; staged data and registry layers count
// against the image quota as they arrive and stop at it; a registry's config blob is not read whole
// into memory; stage and import need the rights an upload needs; no fetch reaches hafen's own ports.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

const QUOTA = 4 << 20;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A registry (or web server) on loopback that does what the test tells it, and records what it was asked. */
async function hostileServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const asked: string[] = [];
  const server = http.createServer((req, res) => {
    asked.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, asked, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

describe('image fetches stay within bounds (issue 11.5)', () => {
  let t: TestCloud;
  let token: string;

  const newImage = async (name: string, tok = token) => {
    const r = await t.request('POST', '/image/v2/images', { token: tok, body: { name, container_format: 'docker', disk_format: 'raw' } });
    assert.equal(r.status, 201, r.text);
    return r.body.id as string;
  };
  const importFrom = (id: string, method: Record<string, string>, tok = token) => t.request('POST', `/image/v2/images/${id}/import`, { token: tok, body: { method } });
  const finished = async (id: string) => {
    for (let i = 0; i < 600; i++) {
      const tasks = (await t.request('GET', `/image/v2/images/${id}/tasks`, { token })).body.tasks;
      if (tasks.length && ['success', 'failure'].includes(tasks[0].status)) return tasks[0];
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('import did not finish');
  };
  const stagingLeft = () => fs.readdirSync(path.join(t.dataDir, 'images', '.staging'));

  before(async () => {
    t = await startTestCloud('image-fetch-bounds', { HAFEN_IMAGE_QUOTA_BYTES: String(QUOTA), HAFEN_IMPORT_IDLE_TIMEOUT: '2' });
    token = await t.token('demo');
  });
  after(async () => t.close());

  it('a registry that redirects is not followed', async () => {
    const target = await hostileServer((_req, res) => res.end('{}'));
    const registry = await hostileServer((_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${target.port}/elsewhere` }).end());
    try {
      const id = await newImage('redirected');
      assert.equal((await importFrom(id, { name: 'docker-registry', uri: `127.0.0.1:${registry.port}/evil/img:1` })).status, 202);
      const task = await finished(id);
      assert.equal(task.status, 'failure');
      assert.deepEqual(target.asked, [], 'the redirect target was never asked');
      const img = (await t.request('GET', `/image/v2/images/${id}`, { token })).body;
      assert.equal(img.status, 'queued');
      assert.equal(img.os_glance_failed_import, 'file');
      // web-download refuses them too.
      const web = await newImage('web-redirected');
      await importFrom(web, { name: 'web-download', uri: `http://127.0.0.1:${registry.port}/x.tar` });
      assert.equal((await finished(web)).status, 'failure');
      assert.deepEqual(target.asked, []);
    } finally {
      await registry.close();
      await target.close();
    }
  });

  it('a source that goes quiet fails the import instead of holding it open', async () => {
    const silent = await hostileServer((req, res) => {
      if (req.url?.includes('/manifests/')) return; // never answers
      res.writeHead(200, { 'content-length': '1000000' }).write(Buffer.alloc(1000)); // then nothing more
    });
    try {
      const reg = await newImage('silent-registry');
      await importFrom(reg, { name: 'docker-registry', uri: `127.0.0.1:${silent.port}/slow/img:1` });
      const web = await newImage('silent-web');
      await importFrom(web, { name: 'web-download', uri: `http://127.0.0.1:${silent.port}/x.tar` });
      const started = Date.now();
      const [a, b] = [await finished(reg), await finished(web)];
      assert.equal(a.status, 'failure');
      assert.equal(b.status, 'failure');
      assert.match(`${a.message} ${b.message}`, /sent nothing/);
      assert.ok(Date.now() - started < 30_000);
    } finally {
      await silent.close();
    }
  });

  it('staged data counts against the image quota as it arrives and stops at it', async () => {
    // Announced too large: refused before a byte is written.
    const announced = await newImage('staged-announced');
    const tooBig = await t.request('PUT', `/image/v2/images/${announced}/stage`, { token, body: Buffer.alloc(QUOTA + 1), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(tooBig.status, 413, tooBig.text);
    // Streamed without a length: cut off at the quota, nothing left on disk, the image queued again.
    const streamed = await newImage('staged-streamed');
    let sent = 0;
    const body = new ReadableStream({
      pull(c) {
        // Far past the quota (the server must stop reading long before the end).
        if ((sent += 256 << 10) > 256 << 20) c.close();
        else c.enqueue(new Uint8Array(256 << 10));
      },
    });
    const res = await fetch(`${t.url}/image/v2/images/${streamed}/stage`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body, duplex: 'half' } as RequestInit).catch((err: Error) => err);
    if (!(res instanceof Error)) assert.equal(res.status, 413);
    assert.ok(sent < 128 << 20, `the server read on to ${sent} bytes`);
    // The server may cut the connection before it has removed the partial file: wait for that (at load, more than a moment).
    for (let i = 0; i < 300 && stagingLeft().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(stagingLeft(), []);
    assert.equal((await t.request('GET', `/image/v2/images/${streamed}`, { token })).body.status, 'queued');
    // Staged data holds its share: two stagings together cannot pass the quota either.
    const first = await newImage('staged-first');
    assert.equal((await t.request('PUT', `/image/v2/images/${first}/stage`, { token, body: Buffer.alloc(3 << 20), headers: { 'content-type': 'application/octet-stream' } })).status, 204);
    const second = await newImage('staged-second');
    assert.equal((await t.request('PUT', `/image/v2/images/${second}/stage`, { token, body: Buffer.alloc(2 << 20), headers: { 'content-type': 'application/octet-stream' } })).status, 413);
    // Deleting the image gives its staged share back.
    assert.equal((await t.request('DELETE', `/image/v2/images/${first}`, { token })).status, 204);
    assert.deepEqual(stagingLeft(), []);
    const third = await newImage('staged-third');
    assert.equal((await t.request('PUT', `/image/v2/images/${third}/stage`, { token, body: busyboxDockerArchive(), headers: { 'content-type': 'application/octet-stream' } })).status, 204);
    assert.equal((await importFrom(third, { name: 'glance-direct' })).status, 202);
    assert.equal((await finished(third)).status, 'success');
  });

  it('a registry layer that inflates past the quota stops at it, and a huge config is not read whole', async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20)); // 64 MiB of zeros in ~64 KiB
    const small = Buffer.from('{"rootfs":{"diff_ids":[]}}');
    const bigConfig = Buffer.alloc(64 << 20, 0x20);
    const manifest = (config: Buffer, layers: Buffer[]) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.length, digest: sha(l) })),
      });
    const blobs = new Map([[sha(bomb), bomb], [sha(small), small], [sha(bigConfig), bigConfig]]);
    let configBytesSent = 0;
    const registry = await hostileServer((req, res) => {
      if (req.url === '/v2/evil/bomb/manifests/1') return res.end(manifest(small, [bomb]));
      if (req.url === '/v2/evil/config/manifests/1') return res.end(manifest(bigConfig, []));
      const blob = blobs.get(req.url!.replace(/^.*\/blobs\//, ''));
      if (!blob) return res.writeHead(404).end();
      if (blob === bigConfig) {
        res.on('close', () => undefined);
        const write = () => {
          while (configBytesSent < bigConfig.length && res.write(bigConfig.subarray(configBytesSent, (configBytesSent += 1 << 20)))) {}
          if (configBytesSent < bigConfig.length) res.once('drain', write);
          else res.end();
        };
        return write();
      }
      res.end(blob);
    });
    try {
      const id = await newImage('bomb');
      await importFrom(id, { name: 'docker-registry', uri: `127.0.0.1:${registry.port}/evil/bomb:1` });
      const task = await finished(id);
      assert.equal(task.status, 'failure');
      assert.match(task.message, /quota/);
      assert.deepEqual(stagingLeft(), [], 'the inflated layer was removed');
      const cfg = await newImage('config');
      await importFrom(cfg, { name: 'docker-registry', uri: `127.0.0.1:${registry.port}/evil/config:1` });
      const failed = await finished(cfg);
      assert.equal(failed.status, 'failure');
      assert.match(failed.message, /larger than/);
      assert.ok(configBytesSent < 32 << 20, `the config blob was read on to ${configBytesSent} bytes`);
    } finally {
      await registry.close();
    }
  });

  it('stage and import need the rights an upload needs: a reader gets 403', async () => {
    const admin = await t.token('admin');
    const reader = await memberOfNewProject(t, 'readers');
    // The project's reader: a user holding only the reader role there.
    const users = await t.request('POST', '/identity/v3/users', { token: admin, body: { user: { name: 'only-reader', password: 'pw-only-reader' } } });
    const role = (await t.request('GET', '/identity/v3/roles?name=reader', { token: admin })).body.roles[0].id;
    await t.request('PUT', `/identity/v3/projects/${reader.projectId}/users/${users.body.user.id}/roles/${role}`, { token: admin });
    const tok = await t.request('POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { id: users.body.user.id, password: 'pw-only-reader' } } }, scope: { project: { id: reader.projectId } } } },
    });
    const readerToken = tok.headers.get('x-subject-token')!;
    const id = await newImage('theirs', reader.token);
    const staged = await t.request('PUT', `/image/v2/images/${id}/stage`, { token: readerToken, body: Buffer.alloc(1024), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(staged.status, 403, staged.text);
    assert.equal((await importFrom(id, { name: 'web-download', uri: 'http://127.0.0.1:9/x' }, readerToken)).status, 403);
    assert.deepEqual(stagingLeft(), []);
    // Another project's image: 404, as if it did not exist.
    assert.equal((await t.request('PUT', `/image/v2/images/${id}/stage`, { token, body: Buffer.alloc(1024), headers: { 'content-type': 'application/octet-stream' } })).status, 404);
  });

  it('no fetch reaches the ports hafen itself uses', async () => {
    const port = new URL(t.url).port;
    for (const uri of [`http://127.0.0.1:${port}/agent/v1/sessions`, `http://localhost:${port}/image/v2/images`, 'http://127.0.0.1:2375/containers/json', 'http://127.0.0.1:2376/info']) {
      const id = await newImage('own-port');
      const r = await importFrom(id, { name: 'web-download', uri });
      assert.equal(r.status, 400, `${uri}: ${r.text}`);
      assert.match(r.body.error?.message ?? r.text, /belongs to the cloud/);
    }
    const reg = await newImage('own-port-registry');
    assert.equal((await importFrom(reg, { name: 'docker-registry', uri: `127.0.0.1:${port}/v2/x:1` })).status, 400);
    assert.equal((await importFrom(reg, { name: 'docker-registry', uri: '127.0.0.1:2375/x:1' })).status, 400);
  });
});
