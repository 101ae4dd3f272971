// Issue 13, Glance items, through the openstack CLI where it has the call and HTTP otherwise:
// members (de)activate their project's images and downloads are refused meanwhile, an admin creates
// an image for another project, the older v2.0 JSON-patch, `/v2/images/` with an empty id, and a
// failed import back in `queued` naming its failed store.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

describe('Glance compatibility (issue 13)', () => {
  let t: TestCloud;
  let tarFile: string;
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));

  before(async () => {
    t = await startTestCloud('image-glance-compat');
    tarFile = path.join(t.dataDir, 'busybox.tar');
    fs.writeFileSync(tarFile, busyboxDockerArchive());
  });
  after(async () => t.close());

  it("lets the owning project's members deactivate and reactivate, refusing downloads meanwhile", async () => {
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', tarFile, 'mine']);
    await os(['image', 'set', '--deactivate', 'mine']);
    assert.equal((await json(['image', 'show', 'mine'])).status, 'deactivated');
    await assert.rejects(os(['image', 'save', '--file', path.join(t.dataDir, 'out.tar'), 'mine']), /Unable to download image/);
    const id = (await json(['image', 'show', 'mine'])).id;
    const refused = await t.request('GET', `/image/v2/images/${id}/file`, { token: await t.token('demo') });
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /deactivated/);
    await os(['image', 'set', '--activate', 'mine']);
    assert.equal((await json(['image', 'show', 'mine'])).status, 'active');
    await os(['image', 'save', '--file', path.join(t.dataDir, 'out.tar'), 'mine']);
    assert.ok(fs.readFileSync(path.join(t.dataDir, 'out.tar')).equals(fs.readFileSync(tarFile)));
    // A public image of another project: its members see it but may not deactivate it.
    await os(['image', 'create', '--public', '--container-format', 'docker', '--disk-format', 'raw', '--file', tarFile, 'everyones'], 'hafen-admin');
    // (openstack image set --deactivate does not look at the answer here: HTTP shows it.)
    const pub = (await json(['image', 'show', 'everyones'])).id;
    const refused2 = await t.request('POST', `/image/v2/images/${pub}/actions/deactivate`, { token: await t.token('demo') });
    assert.equal(refused2.status, 403, refused2.text);
    assert.equal((await json(['image', 'show', 'everyones'])).status, 'active');
  });

  it('lets an admin create an image owned by another project, and nobody else', async () => {
    const demoProject = (await json(['project', 'show', 'demo'], 'hafen-admin')).id;
    const img = await json(['image', 'create', '--project', demoProject, '--container-format', 'docker', '--disk-format', 'raw', '--file', tarFile, 'for-demo'], 'hafen-admin');
    assert.equal(img.owner, demoProject);
    assert.ok((await json(['image', 'list'])).some((i: { Name: string }) => i.Name === 'for-demo'));
    const adminProject = (await json(['project', 'show', 'admin'], 'hafen-admin')).id;
    const r = await t.request('POST', '/image/v2/images', { token: await t.token('demo'), body: { name: 'not-mine', owner: adminProject } });
    assert.equal(r.status, 403, r.text);
  });

  it('accepts the v2.0 JSON-patch media type', async () => {
    const token = await t.token('demo');
    const id = (await json(['image', 'show', 'mine'])).id;
    const r = await t.request('PATCH', `/image/v2/images/${id}`, {
      token,
      body: [{ replace: '/name', value: 'renamed' }, { add: '/flavour', value: 'vanilla' }, { replace: '/min_ram', value: 8 }],
      headers: { 'content-type': 'application/openstack-images-v2.0-json-patch' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name, 'renamed');
    assert.equal(r.body.flavour, 'vanilla');
    assert.equal(r.body.min_ram, 8);
    const removed = await t.request('PATCH', `/image/v2/images/${id}`, { token, body: [{ remove: '/flavour' }], headers: { 'content-type': 'application/openstack-images-v2.0-json-patch' } });
    assert.equal(removed.status, 200);
    assert.equal(removed.body.flavour, undefined);
    const two = await t.request('PATCH', `/image/v2/images/${id}`, { token, body: [{ replace: '/name', add: '/x', value: 'y' }], headers: { 'content-type': 'application/openstack-images-v2.0-json-patch' } });
    assert.equal(two.status, 400);
    const other = await t.request('PATCH', `/image/v2/images/${id}`, { token, body: [], headers: { 'content-type': 'application/json-patch+json' } });
    assert.equal(other.status, 415);
    assert.match(other.headers.get('accept-patch') ?? '', /v2\.0-json-patch/);
  });

  it('answers 404 for GET and DELETE of /v2/images/ with an empty id', async () => {
    const token = await t.token('demo');
    for (const method of ['GET', 'DELETE']) {
      const r = await t.request(method, '/image/v2/images/', { token });
      assert.equal(r.status, 404, `${method}: ${r.text}`);
      assert.equal(r.body.code, '404 Not Found');
    }
    assert.equal((await t.request('GET', '/image/v2/images', { token })).status, 200);
    assert.equal((await json(['image', 'list'])).length > 0, true);
  });

  it('puts an image whose import failed back to queued, naming the failed store', async () => {
    const token = await t.token('demo');
    // Created without data (the CLI would upload its stdin): then imported.
    const id = (await t.request('POST', '/image/v2/images', { token, body: { name: 'imported', container_format: 'docker', disk_format: 'raw' } })).body.id;
    // Port 9 (discard) on loopback: nothing listens, the fetch fails.
    const r = await t.request('POST', `/image/v2/images/${id}/import`, { token, body: { method: { name: 'web-download', uri: 'http://127.0.0.1:9/busybox.tar' } } });
    assert.equal(r.status, 202, r.text);
    let img: { status: string; properties?: Record<string, string> } | undefined;
    for (let i = 0; i < 100; i++) {
      img = await json(['image', 'show', id]);
      if (img!.status === 'queued' && img!.properties?.os_glance_failed_import) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(img!.status, 'queued');
    assert.equal(img!.properties!.os_glance_failed_import, 'file');
    assert.equal(img!.properties!.os_glance_importing_to_stores, undefined);
    const task = (await t.request('GET', `/image/v2/images/${id}/tasks`, { token })).body.tasks[0];
    assert.equal(task.status, 'failure');
  });
});
