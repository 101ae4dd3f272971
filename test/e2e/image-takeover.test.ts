// Issue 11.1 played as an attacker: a tenant uploads a docker save archive whose RepoTags name the
// public busybox image's engine tag and hafen's helper image, and boots it once. Later boots of the
// public image, and the helpers hafen runs with NET_ADMIN, must still run their own file systems.
// Issue 11.7: a deleted image's id cannot be taken again to pick up what a host loaded for it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { BUSYBOX_IMAGE, busyboxRootfsTar } from '../../src/host/test-images.ts';
import { writeTar } from '../../src/host/tar-writer.ts';
import { runEngineHelper } from '../../src/agent/net/engine-helper.ts';

/** A docker save archive of busybox plus a marker layer, tagged with whatever names the attacker likes. */
function hostileArchive(repoTags: string[], cmd: string[]): Buffer {
  const layers = [busyboxRootfsTar(), writeTar([{ type: 'file', path: 'pwned', content: Buffer.from('attacker was here\n') }])];
  const diffIds = layers.map((l) => createHash('sha256').update(l).digest('hex'));
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: cmd, Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds.map((d) => `sha256:${d}`) },
  }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  const repositories: Record<string, Record<string, string>> = {};
  for (const t of repoTags) {
    const i = t.lastIndexOf(':');
    (repositories[t.slice(0, i)] ??= {})[t.slice(i + 1)] = diffIds[1]!;
  }
  return writeTar([
    ...layers.map((content, i) => ({ type: 'file' as const, path: `${diffIds[i]}/layer.tar`, content })),
    { type: 'file', path: configName, content: config },
    { type: 'file', path: 'manifest.json', content: Buffer.from(JSON.stringify([{ Config: configName, RepoTags: repoTags, Layers: diffIds.map((d) => `${d}/layer.tar`) }])) },
    { type: 'file', path: 'repositories', content: Buffer.from(JSON.stringify(repositories)) },
  ]);
}

describe('a tenant image never takes over another (issue 11.1, 11.7)', () => {
  let t: TestCloud;
  let docker: Docker;
  let publicId: string;
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  const poisoned: string[] = [];

  before(async () => {
    const c = await startComputeCloud('image-takeover');
    t = c.t;
    docker = engineClient(c.socket);
    // The cloud's public image, as `hafen up` registers it for every project.
    publicId = (await json(['image', 'create', '--public', '--container-format', 'docker', '--disk-format', 'raw', '--file', c.imageTar, 'busybox'], 'hafen-admin')).id;
  });
  after(async () => {
    for (const s of await json(['server', 'list', '--all-projects'], 'hafen-admin').catch(() => [])) await os(['server', 'delete', '--wait', s.ID], 'hafen-admin').catch(() => undefined);
    // On code with the hole, the attack re-points shared engine tags: put them back for other tests.
    for (const tag of poisoned) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    await t.close();
  });

  it('an archive tagged as the public image and as the helper image takes over neither', async () => {
    const tags = [`hafen/image:${publicId}`, BUSYBOX_IMAGE];
    const file = path.join(t.dataDir, 'hostile.tar');
    fs.writeFileSync(file, hostileArchive(tags, ['sh', '-c', 'echo pwned; exec sleep 3600']));
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', file, 'hostile']);
    const hostile = await json(['server', 'create', '--image', 'hostile', '--flavor', 'm1.tiny', '--wait', 'hostile']);
    assert.equal(hostile.status, 'ACTIVE');
    const hostileLog = await waitFor('hostile log', async () => (/pwned/.test(await os(['console', 'log', 'show', 'hostile'])) ? true : undefined));
    assert.ok(hostileLog);
    for (const tag of tags) {
      const img = await docker.getImage(tag).inspect().catch(() => undefined);
      if (img && img.RootFS.Layers?.length === 2) poisoned.push(tag);
    }

    // Another project boots the public image on the same host: it runs busybox's file system.
    const victim = await json(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--wait', 'victim'], 'hafen-admin');
    assert.equal(victim.status, 'ACTIVE');
    const log = await waitFor('victim log', async () => {
      const text = await os(['console', 'log', 'show', 'victim'], 'hafen-admin');
      return /booted|pwned/.test(text) ? text : undefined;
    });
    assert.match(log, /booted/);
    assert.doesNotMatch(log, /pwned/);
    const info = await docker.getContainer(`hafen-${victim.id}`).inspect();
    const ran = await docker.getImage(info.Image).inspect();
    assert.equal(ran.RootFS.Layers?.length, 1, 'the victim runs the one-layer public image, not the hostile two-layer one');

    // The archive's tags were not applied to anything in the engine.
    assert.deepEqual(poisoned, [], `tags taken over by the tenant's archive: ${poisoned.join(', ')}`);
    // hafen's helpers (NET_ADMIN in servers' namespaces and on the host) run hafen's own busybox.
    const helper = await runEngineHelper(docker, BUSYBOX_IMAGE, { networkMode: 'none', script: 'if [ -e /pwned ]; then echo PWNED; else echo clean; fi' });
    assert.equal(helper.trim(), 'clean');
  });

  it('a deleted image id cannot be taken again, so it never picks up what a host loaded for it', async () => {
    // The victim (admin's project) boots a private image, then deletes server and image.
    const secret = await json(['image', 'create', '--private', '--container-format', 'docker', '--disk-format', 'raw', '--file', path.join(t.dataDir, 'busybox.tar'), 'secret'], 'hafen-admin');
    await json(['server', 'create', '--image', secret.id, '--flavor', 'm1.tiny', '--wait', 'secret'], 'hafen-admin');
    await os(['server', 'delete', '--wait', 'secret'], 'hafen-admin');
    await os(['image', 'delete', secret.id], 'hafen-admin');
    // The attacker asks for the same id (to boot it and get whatever the host still holds under it): 409, as Glance answers.
    const demo = await t.token('demo');
    const again = await t.request('POST', '/image/v2/images', { token: demo, body: { id: secret.id, name: 'reuse', container_format: 'docker', disk_format: 'raw' } });
    assert.equal(again.status, 409, again.text);
    assert.equal((await t.request('GET', `/image/v2/images/${secret.id}`, { token: demo })).status, 404);
    const admin = await t.token('admin');
    assert.equal((await t.request('POST', '/image/v2/images', { token: admin, body: { id: secret.id, name: 'reuse' } })).status, 409);
    assert.equal((await t.request('GET', `/image/v2/images/${secret.id}`, { token: admin })).status, 404);
  });
});
