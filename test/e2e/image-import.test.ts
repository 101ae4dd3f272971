// Image import: glance-direct (stage then import), web-download from a loopback http server, and
// docker-registry pulls from Debian's registry server on loopback, fed by a real engine's push.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { engineClient, followEngineStream } from '../../src/host/engine-client.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from '../../src/host/test-images.ts';

describe('image import', () => {
  let t: TestCloud;
  let token: string;
  const archive = busyboxDockerArchive();

  const newImage = async (name: string) => {
    const r = await t.request('POST', '/image/v2/images', { token, body: { name, container_format: 'docker', disk_format: 'raw' } });
    assert.equal(r.status, 201);
    return r.body.id as string;
  };
  const waitForTask = async (imageId: string) => {
    for (let i = 0; i < 300; i++) {
      const tasks = (await t.request('GET', `/image/v2/images/${imageId}/tasks`, { token })).body.tasks;
      if (tasks.length && ['success', 'failure'].includes(tasks[0].status)) return tasks[0];
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('import did not finish');
  };

  before(async () => {
    t = await startTestCloud('image-import');
    token = await t.token('demo');
  });
  after(async () => t.close());

  it('lists the import methods', async () => {
    const r = await t.request('GET', '/image/v2/info/import', { token });
    assert.deepEqual(r.body['import-methods'].value, ['glance-direct', 'web-download', 'docker-registry']);
  });

  it('imports staged data with glance-direct', async () => {
    const id = await newImage('staged');
    const staged = await t.request('PUT', `/image/v2/images/${id}/stage`, { token, body: archive, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(staged.status, 204);
    assert.equal((await t.request('GET', `/image/v2/images/${id}`, { token })).body.status, 'uploading');
    const imp = await t.request('POST', `/image/v2/images/${id}/import`, { token, body: { method: { name: 'glance-direct' } } });
    assert.equal(imp.status, 202);
    const task = await waitForTask(id);
    assert.equal(task.status, 'success', task.message);
    const img = (await t.request('GET', `/image/v2/images/${id}`, { token })).body;
    assert.equal(img.status, 'active');
    assert.equal(img.size, archive.length);
  });

  it('imports from a loopback URL with web-download and refuses other hosts', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/busybox.tar') res.end(archive);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const id = await newImage('web');
      const far = await t.request('POST', `/image/v2/images/${id}/import`, { token, body: { method: { name: 'web-download', uri: 'http://192.0.2.1/x.tar' } } });
      assert.equal(far.status, 400);
      assert.equal((await t.request('POST', `/image/v2/images/${id}/import`, { token, body: { method: { name: 'web-download', uri: `http://127.0.0.1:${port}/busybox.tar` } } })).status, 202);
      const task = await waitForTask(id);
      assert.equal(task.status, 'success', task.message);
      assert.equal(task.result.bytes_done, archive.length);
      assert.equal((await t.request('GET', `/image/v2/images/${id}`, { token })).body.status, 'active');
      const missing = await newImage('web-missing');
      await t.request('POST', `/image/v2/images/${missing}/import`, { token, body: { method: { name: 'web-download', uri: `http://127.0.0.1:${port}/nothing` } } });
      assert.equal((await waitForTask(missing)).status, 'failure');
      assert.equal((await t.request('GET', `/image/v2/images/${missing}`, { token })).body.status, 'queued');
    } finally {
      server.close();
    }
  });

  it('pulls from a Docker registry on loopback with docker-registry', async () => {
    const port = await freePort();
    const dir = path.join(t.dataDir, 'registry');
    fs.mkdirSync(dir, { recursive: true });
    const configFile = path.join(dir, 'config.yml');
    fs.writeFileSync(configFile, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`);
    const registry: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', configFile], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100; i++) {
        if (await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const socket = await testEngineSocket();
      await ensureBusyboxEngineImage(socket);
      const docker = engineClient(socket);
      const target = `127.0.0.1:${port}/demo/busybox`;
      await docker.getImage(BUSYBOX_IMAGE).tag({ repo: target, tag: 'v1' });
      await followEngineStream(docker, await docker.getImage(`${target}:v1`).push({ authconfig: { username: '', password: '', serveraddress: `127.0.0.1:${port}` } }));
      await docker.getImage(`${target}:v1`).remove();

      const id = await newImage('pulled');
      const imp = await t.request('POST', `/image/v2/images/${id}/import`, { token, body: { method: { name: 'docker-registry', uri: `${target}:v1` } } });
      assert.equal(imp.status, 202, imp.text);
      const task = await waitForTask(id);
      assert.equal(task.status, 'success', task.message);
      assert.ok(task.result.bytes_done > 0);
      const img = (await t.request('GET', `/image/v2/images/${id}`, { token })).body;
      assert.equal(img.status, 'active');
      assert.equal(img.docker_cmd, '["/bin/sh"]');
      // The pulled archive loads into the engine and runs.
      const data = await fetch(`${t.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token } });
      await followEngineStream(docker, await docker.loadImage(Buffer.from(await data.arrayBuffer()) as unknown as NodeJS.ReadableStream));
      const c = await docker.createContainer({ Image: 'demo/busybox:v1', Cmd: ['echo', 'pulled'], HostConfig: { NetworkMode: 'none' } });
      try {
        await c.start();
        await c.wait();
        assert.match(((await c.logs({ stdout: true })) as unknown as Buffer).toString(), /pulled/);
      } finally {
        await c.remove({ force: true });
        await docker.getImage('demo/busybox:v1').remove().catch(() => undefined);
      }
      const bad = await t.request('POST', `/image/v2/images/${await newImage('bad-ref')}/import`, { token, body: { method: { name: 'docker-registry', uri: 'registry.example.com/x:y' } } });
      assert.equal(bad.status, 400);
    } finally {
      registry.kill();
    }
  });
});
