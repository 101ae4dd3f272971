// The image flows of issue 4 through Debian's real `openstack` CLI, and the archive loading into a real engine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { engineClient } from '../../src/host/engine-client.ts';

describe('images through the openstack CLI', () => {
  let t: TestCloud;
  let tarFile: string;
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await t.openstack([...args, '-f', 'json'], cloud));

  before(async () => {
    t = await startTestCloud('image-cli');
    tarFile = path.join(t.dataDir, 'busybox.tar');
    fs.writeFileSync(tarFile, busyboxDockerArchive());
  });
  after(async () => t.close());

  it('creates a docker image from a docker save archive and records its config', async () => {
    await t.openstack(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', tarFile, 'busybox']);
    const img = await json(['image', 'show', 'busybox']);
    assert.equal(img.status, 'active');
    assert.equal(img.size, fs.statSync(tarFile).size);
    assert.equal(img.container_format, 'docker');
    const props = img.properties;
    assert.equal(props.architecture, 'x86_64');
    assert.equal(props.docker_cmd, '["/bin/sh"]');
    assert.equal(props.os_hash_algo ?? img.os_hash_algo, 'sha512');
    const list = await json(['image', 'list']);
    assert.deepEqual(list.map((i: { Name: string }) => i.Name), ['busybox']);
  });

  it('sets and unsets properties and tags, saves the data back unchanged', async () => {
    await t.openstack(['image', 'set', '--property', 'flavour=vanilla', '--tag', 'small', '--min-ram', '16', 'busybox']);
    let img = await json(['image', 'show', 'busybox']);
    assert.equal(img.properties.flavour, 'vanilla');
    assert.deepEqual(img.tags, ['small']);
    assert.equal(img.min_ram, 16);
    await t.openstack(['image', 'unset', '--property', 'flavour', '--tag', 'small', 'busybox']);
    img = await json(['image', 'show', 'busybox']);
    assert.equal(img.properties.flavour, undefined);
    assert.deepEqual(img.tags, []);
    const out = path.join(t.dataDir, 'saved.tar');
    await t.openstack(['image', 'save', '--file', out, 'busybox']);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(tarFile)));
  });

  it('saves an archive a real engine loads and runs', async () => {
    const socket = await testEngineSocket();
    const docker = engineClient(socket);
    const res = await fetch(`${t.url}/image/v2/images/${(await json(['image', 'show', 'busybox'])).id}/file`, { headers: { 'x-auth-token': await t.token('demo') } });
    assert.equal(res.status, 200);
    const stream = await docker.loadImage(Buffer.from(await res.arrayBuffer()) as unknown as NodeJS.ReadableStream);
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve(undefined))));
    const container = await docker.createContainer({ Image: 'busybox:latest', Cmd: ['echo', 'hello from hafen'], HostConfig: { NetworkMode: 'none' } });
    try {
      await container.start();
      await container.wait();
      const logs = (await container.logs({ stdout: true })) as unknown as Buffer;
      assert.match(logs.toString('utf8'), /hello from hafen/);
    } finally {
      await container.remove({ force: true });
    }
  });

  it('shares an image with another project that accepts it', async () => {
    const adminProject = (await json(['project', 'show', 'admin'], 'hafen-admin')).id;
    // The admin project cannot see demo's shared image before being added as a member.
    await assert.rejects(t.openstack(['image', 'show', 'busybox'], 'hafen-admin'), /No Image found|Could not find|No image/i);
    const id = (await json(['image', 'show', 'busybox'])).id;
    await t.openstack(['image', 'add', 'project', id, adminProject]);
    await t.openstack(['image', 'set', '--accept', id], 'hafen-admin');
    const list = await json(['image', 'list'], 'hafen-admin');
    assert.ok(list.some((i: { ID: string }) => i.ID === id));
    const members = await json(['image', 'member', 'list', id]);
    assert.deepEqual(members.map((m: { Status: string }) => m.Status), ['accepted']);
  });

  it('deletes images and their data', async () => {
    const id = (await json(['image', 'show', 'busybox'])).id;
    await t.openstack(['image', 'delete', 'busybox']);
    assert.deepEqual(await json(['image', 'list']), []);
    assert.equal(fs.existsSync(path.join(t.dataDir, 'images', id)), false);
  });
});
