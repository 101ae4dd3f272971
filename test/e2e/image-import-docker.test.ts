// `hafen image import-docker` against a running cloud: from a docker save file and from an engine image.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from '../../src/host/test-images.ts';
import { checkoutDir } from '../../src/config.ts';

const exec = promisify(execFile);

describe('hafen image import-docker', () => {
  let t: TestCloud;
  before(async () => {
    t = await startTestCloud('import-docker');
  });
  after(async () => t.close());

  const hafen = (args: string[]) =>
    exec(process.execPath, [path.join(checkoutDir, 'bin/hafen.mjs'), ...args], { env: { ...process.env, ...t.env }, timeout: 120_000 });

  it('uploads a docker save archive with a progress bar and prints the image id', async () => {
    const tar = path.join(t.dataDir, 'bb.tar');
    fs.writeFileSync(tar, busyboxDockerArchive());
    const { stdout, stderr } = await hafen(['image', 'import-docker', '--name', 'from-file', tar]);
    assert.match(stderr, /\[#+\] 100%/);
    const id = stdout.trim();
    const img = await t.request('GET', `/image/v2/images/${id}`, { token: await t.token('demo') });
    assert.equal(img.body.status, 'active');
    assert.equal(img.body.size, fs.statSync(tar).size);
  });

  it('saves an image from an engine and uploads it', async () => {
    const socket = await testEngineSocket();
    await ensureBusyboxEngineImage(socket);
    const { stdout } = await hafen(['image', 'import-docker', '--docker', `unix://${socket}`, '--name', 'from-engine', BUSYBOX_IMAGE]);
    const img = await t.request('GET', `/image/v2/images/${stdout.trim()}`, { token: await t.token('demo') });
    assert.equal(img.body.status, 'active');
    assert.equal(img.body.container_format, 'docker');
    assert.match(img.body.docker_repo_tags, /hafen\/busybox:latest/);
  });
});
