// Glance API rules: visibility across tenants for every visibility, bad uploads leaving nothing
// behind, statuses, quotas under concurrent uploads, ranges, deactivation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { busyboxDockerArchive, dockerArchive } from '../../src/host/busybox-image.ts';
import { writeTar } from '../../src/host/tar-writer.ts';

describe('image API', () => {
  let t: TestCloud;
  let demo: string;
  let admin: string;
  let other: { projectId: string; token: string };
  const archive = busyboxDockerArchive();
  const small = dockerArchive(writeTar([{ type: 'file', path: 'hello.txt', content: Buffer.from('hello') }]));

  const create = async (token: string, body: Record<string, unknown>) => {
    const r = await t.request('POST', '/image/v2/images', { token, body: { container_format: 'docker', disk_format: 'raw', ...body } });
    assert.equal(r.status, 201, r.text);
    return r.body.id as string;
  };
  const upload = (token: string, id: string, data: Buffer | string) =>
    t.request('PUT', `/image/v2/images/${id}/file`, { token, body: data, headers: { 'content-type': 'application/octet-stream' } });
  const show = (token: string, id: string) => t.request('GET', `/image/v2/images/${id}`, { token });
  const incoming = () => fs.readdirSync(path.join(t.dataDir, 'images', '.incoming'));

  before(async () => {
    t = await startTestCloud('images-api', { HAFEN_IMAGE_QUOTA_BYTES: String(3 * archive.length), HAFEN_IMAGE_QUOTA_COUNT: '20' });
    demo = await t.token('demo');
    admin = await t.token('admin');
    other = await memberOfNewProject(t, 'other');
  });
  after(async () => t.close());

  it('applies each visibility across tenants', async () => {
    const priv = await create(demo, { name: 'priv', visibility: 'private' });
    const shared = await create(demo, { name: 'shared', visibility: 'shared' });
    const community = await create(demo, { name: 'community', visibility: 'community' });
    const pub = await create(admin, { name: 'pub', visibility: 'public' });
    assert.equal((await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'nope', visibility: 'public' } })).status, 403);

    assert.equal((await show(other.token, priv)).status, 404);
    assert.equal((await show(other.token, shared)).status, 404);
    assert.equal((await show(other.token, community)).status, 200);
    assert.equal((await show(other.token, pub)).status, 200);
    const names = async (token: string, q = '') =>
      ((await t.request('GET', `/image/v2/images${q}`, { token })).body.images as { name: string }[]).map((i) => i.name).sort();
    assert.deepEqual(await names(other.token), ['pub']);
    assert.deepEqual(await names(other.token, '?visibility=community'), ['community']);
    assert.deepEqual(await names(demo), ['community', 'priv', 'pub', 'shared']);

    // Sharing: visible once a member, listed once accepted, gone again when removed.
    const add = await t.request('POST', `/image/v2/images/${shared}/members`, { token: demo, body: { member: other.projectId } });
    assert.equal(add.status, 200);
    assert.equal(add.body.status, 'pending');
    assert.equal((await show(other.token, shared)).status, 200);
    assert.deepEqual(await names(other.token), ['pub']);
    const accept = await t.request('PUT', `/image/v2/images/${shared}/members/${other.projectId}`, { token: other.token, body: { status: 'accepted' } });
    assert.equal(accept.status, 200);
    assert.deepEqual(await names(other.token), ['pub', 'shared']);
    assert.equal((await t.request('PUT', `/image/v2/images/${shared}/members/${other.projectId}`, { token: demo, body: { status: 'accepted' } })).status, 403);
    assert.equal((await t.request('DELETE', `/image/v2/images/${shared}/members/${other.projectId}`, { token: demo })).status, 204);
    assert.equal((await show(other.token, shared)).status, 404);

    // A foreign project can neither change, upload to nor delete what it can see.
    const patch = await t.request('PATCH', `/image/v2/images/${community}`, {
      token: other.token,
      body: [{ op: 'replace', path: '/name', value: 'mine' }],
      headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
    });
    assert.equal(patch.status, 403);
    assert.equal((await upload(other.token, community, small)).status, 403);
    assert.equal((await t.request('DELETE', `/image/v2/images/${community}`, { token: other.token })).status, 403);
    assert.equal((await t.request('DELETE', `/image/v2/images/${priv}`, { token: other.token })).status, 404);
    for (const id of [priv, shared, community]) assert.equal((await t.request('DELETE', `/image/v2/images/${id}`, { token: demo })).status, 204);
    assert.equal((await t.request('DELETE', `/image/v2/images/${pub}`, { token: admin })).status, 204);
  });

  it('rejects bad archives in Glance\'s envelope and keeps nothing', async () => {
    const id = await create(demo, { name: 'bad' });
    const layerless = writeTar([{ type: 'file', path: 'manifest.json', content: Buffer.from('[{"Config":"c.json","Layers":["l/layer.tar"]}]') }, { type: 'file', path: 'c.json', content: Buffer.from('{"rootfs":{"diff_ids":["sha256:00"]}}') }]);
    const mismatched = Buffer.from(archive);
    // Flip a byte inside the layer (past the first headers) so its hash no longer matches the config.
    mismatched[4096] = mismatched[4096]! ^ 0xff;
    for (const [what, data] of [
      ['not a tar', Buffer.from('this is not a tar archive at all'.repeat(40))],
      ['truncated', archive.subarray(0, Math.floor(archive.length / 2))],
      ['layer missing', layerless],
      ['layer not matching', mismatched],
    ] as [string, Buffer][]) {
      const r = await upload(demo, id, data);
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assert.match(r.body.code, /^400/);
      assert.match(r.body.message, /docker save archive/);
      const img = await show(demo, id);
      assert.equal(img.body.status, 'queued', what);
      assert.equal(img.body.size, null);
      assert.deepEqual(incoming(), [], `${what}: no temporary file left`);
      assert.equal(fs.existsSync(path.join(t.dataDir, 'images', id)), false);
    }
    assert.equal((await upload(demo, id, archive)).status, 204);
    const again = await upload(demo, id, archive);
    assert.equal(again.status, 409, 'an active image takes no more data');
    assert.equal((await t.request('PUT', `/image/v2/images/${id}/file`, { token: demo, body: '{}' })).status, 415);
    assert.equal((await t.request('DELETE', `/image/v2/images/${id}`, { token: demo })).status, 204);
  });

  it('enforces the byte quota under concurrent uploads', async () => {
    const ids = await Promise.all([1, 2, 3, 4, 5].map((i) => create(demo, { name: `q${i}` })));
    const results = await Promise.all(ids.map((id) => upload(demo, id, archive)));
    const ok = results.filter((r) => r.status === 204).length;
    const over = results.filter((r) => r.status === 413);
    assert.equal(ok, 3, 'exactly what fits in the quota is stored');
    assert.equal(over.length, 2);
    assert.match(over[0]!.body.message, /quota/);
    assert.deepEqual(incoming(), []);
    for (const id of ids) await t.request('DELETE', `/image/v2/images/${id}`, { token: demo });
  });

  it('serves byte ranges and refuses deactivated data to non-admins', async () => {
    const id = await create(demo, { name: 'ranged', visibility: 'private' });
    assert.equal((await upload(demo, id, small)).status, 204);
    const part = await fetch(`${t.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': demo, range: 'bytes=10-19' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-19/${small.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(small.subarray(10, 20)));
    const beyond = await fetch(`${t.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': demo, range: `bytes=${small.length + 5}-` } });
    assert.equal(beyond.status, 416);
    // Another project cannot (de)activate it (404: it cannot see it); the owner's members can, as in Glance.
    assert.equal((await t.request('POST', `/image/v2/images/${id}/actions/deactivate`, { token: other.token })).status, 404);
    assert.equal((await t.request('POST', `/image/v2/images/${id}/actions/deactivate`, { token: admin })).status, 204);
    assert.equal((await show(demo, id)).body.status, 'deactivated');
    assert.equal((await t.request('GET', `/image/v2/images/${id}/file`, { token: demo })).status, 403);
    assert.equal((await t.request('POST', `/image/v2/images/${id}/actions/reactivate`, { token: admin })).status, 204);
    assert.equal((await t.request('GET', `/image/v2/images/${id}/file`, { token: demo })).status, 200);
    const prot = await t.request('PATCH', `/image/v2/images/${id}`, {
      token: demo,
      body: [{ op: 'replace', path: '/protected', value: true }],
      headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
    });
    assert.equal(prot.status, 200);
    assert.equal((await t.request('DELETE', `/image/v2/images/${id}`, { token: demo })).status, 403);
    const ro = await t.request('PATCH', `/image/v2/images/${id}`, {
      token: demo,
      body: [{ op: 'replace', path: '/size', value: 1 }],
      headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
    });
    assert.equal(ro.status, 403);
  });

  it('paginates and sorts listings', async () => {
    for (const n of ['pa', 'pb', 'pc']) await create(demo, { name: n, tags: ['page'] });
    const first = await t.request('GET', '/image/v2/images?tag=page&limit=2&sort=name:asc', { token: demo });
    assert.deepEqual(first.body.images.map((i: { name: string }) => i.name), ['pa', 'pb']);
    assert.ok(first.body.next);
    const second = await t.request('GET', `/image${first.body.next}`, { token: demo });
    assert.deepEqual(second.body.images.map((i: { name: string }) => i.name), ['pc']);
    assert.equal(second.body.next, undefined);
    assert.equal((await t.request('GET', '/image/v2/images?sort_key=bogus', { token: demo })).status, 400);
  });
});
