// The Nova API's rules that need no engine: a cloud on fake hosts (HAFEN_FAKE_HOSTS) and SQLite.
// Request schemas (Nova's error words, nothing made on a refused request), the client's checks
// of bodies that never came through HTTP, and Nova's readings of its own wire values.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

const C = '/compute/v2.1';

describe('Nova API on fake hosts', () => {
  let t: TestCloud;
  let demo: string;
  let admin: string;
  let projectId: string;
  let imageId: string;
  const boot = (server: Record<string, unknown>, extra: Record<string, unknown> = {}, token = demo) =>
    t.request('POST', `${C}/servers`, { token, body: { server: { name: 'n', imageRef: imageId, flavorRef: '1', networks: 'none', ...server }, ...extra } });
  const serverCount = async () => (await t.request('GET', `${C}/servers`, { token: demo })).body.servers.length as number;

  before(async () => {
    t = await startTestCloud('nova-api', { HAFEN_FAKE_HOSTS: '4' });
    demo = await t.token('demo');
    admin = await t.token('admin');
    projectId = (await t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': demo } })).body.token.project.id;
    const img = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'bb', container_format: 'docker', disk_format: 'raw' } });
    imageId = img.body.id;
    const up = await t.request('PUT', `/image/v2/images/${imageId}/file`, { token: demo, body: busyboxDockerArchive({ cmd: ['sleep', '3600'] }), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204);
  });
  after(async () => t?.close());

  it('checks every create body against its schema in Nova\'s words, and creates nothing', async () => {
    const cases: [string, Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      ['unknown key', { colour: 'red' }, {}, /Additional properties are not allowed \('colour' was unexpected\)/],
      ['unknown top-level key', {}, { extra: 1 }, /Additional properties are not allowed \('extra' was unexpected\)/],
      ['name with leading space', { name: ' x' }, {}, /field\/attribute name/],
      ['name too long', { name: 'x'.repeat(256) }, {}, /field\/attribute name/],
      ['metadata key', { metadata: { 'a/b': 'x' } }, {}, /field\/attribute metadata/],
      ['metadata value', { metadata: { a: 1 } }, {}, /field\/attribute a/],
      ['min_count zero', { min_count: 0 }, {}, /min_count/],
      ['min_count "0"', { min_count: '0' }, {}, /min_count/],
      ['max_count text', { max_count: 'many' }, {}, /max_count/],
      ['networks', { networks: 'some' }, {}, /networks/],
      ['network entry', { networks: [{ uuid: 'x', bogus: 1 }] }, {}, /'bogus' was unexpected/],
      ['security groups', { security_groups: [{ id: 'x' }] }, {}, /'id' was unexpected|'name' is a required property/],
      ['config drive', { config_drive: 'maybe' }, {}, /config_drive/],
      ['container option', { 'hafen:container': { privileged: true } }, {}, /'privileged' was unexpected/],
      ['container volume', { 'hafen:container': { volumes: ['/etc:/host'] } }, {}, /volumes/],
      ['scheduler hint group', {}, { 'os:scheduler_hints': { group: 'not-a-uuid' } }, /group/],
    ];
    for (const [what, server, extra, message] of cases) {
      const r = await boot(server, extra);
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assert.equal(r.body.badRequest.code, 400, what);
      assert.match(r.body.badRequest.message, message, what);
    }
    const noServer = await t.request('POST', `${C}/servers`, { token: demo, body: { servers: {} } });
    assert.equal(noServer.status, 400);
    assert.match(noServer.body.badRequest.message, /'server' is a required property|'servers' was unexpected/);
    assert.equal(await serverCount(), 0);
  });

  it('checks the other bodies: update, action, metadata, flavor, key pair, server group, quota set', async () => {
    const r = await boot({ name: 'target' });
    assert.equal(r.status, 202, r.text);
    const id = r.body.server.id as string;
    const expect400 = async (method: string, path: string, body: unknown, message: RegExp, token = demo) => {
      const res = await t.request(method, `${C}${path}`, { token, body });
      assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${res.text}`);
      assert.match(res.body.badRequest.message, message);
    };
    await expect400('PUT', `/servers/${id}`, { server: { name: 'ok', flavorRef: '2' } }, /'flavorRef' was unexpected/);
    await expect400('POST', `/servers/${id}/action`, { reboot: { type: 'GENTLE' } }, /type/);
    await expect400('POST', `/servers/${id}/action`, { reboot: {} }, /'type' is a required property/);
    await expect400('POST', `/servers/${id}/action`, { resize: {} }, /'flavorRef' is a required property/);
    await expect400('POST', `/servers/${id}/action`, { fly: null }, /There is no such action: fly/);
    await expect400('POST', `/servers/${id}/action`, { 'os-stop': null, 'os-start': null }, /more than one action/);
    await expect400('POST', `/servers/${id}/metadata`, { metadata: { k: 5 } }, /field\/attribute k/);
    await expect400('PUT', `/servers/${id}/metadata`, { meta: {} }, /'metadata' is a required property|'meta' was unexpected/);
    await expect400('POST', `/os-keypairs`, { keypair: { name: 'bad/name' } }, /field\/attribute name/);
    await expect400('POST', `/os-server-groups`, { server_group: { name: 'g', policies: ['clustered'] } }, /policies|field\/attribute 0/);
    await expect400('POST', `/flavors`, { flavor: { name: 'f', ram: 'lots', vcpus: 1, disk: 0 } }, /ram/, admin);
    await expect400('POST', `/flavors/1/os-extra_specs`, { extra_specs: { 'bad/key': 'v' } }, /extra_specs/, admin);
    await expect400('PUT', `/os-quota-sets/${projectId}`, { quota_set: { instances: 'ten' } }, /instances/, admin);
    await expect400('PUT', `/os-quota-sets/${projectId}`, { quota_set: { instances: 5, bogus: 1 } }, /'bogus' was unexpected/, admin);
    // A refused quota set changes nothing, not even the valid part of it.
    assert.equal((await t.request('GET', `${C}/os-quota-sets/${projectId}`, { token: demo })).body.quota_set.instances, 10);
    // Query strings: a limit that is not a number is refused.
    const badLimit = await t.request('GET', `${C}/servers?limit=many`, { token: demo });
    assert.equal(badLimit.status, 400);
    assert.match(badLimit.body.badRequest.message, /limit/);
  });

  it('reads Nova\'s string booleans as Nova does: is_public "False" makes a private flavor', async () => {
    for (const [flag, isPublic] of [['False', false], ['false', false], ['0', false], ['True', true], [true, true]] as const) {
      const r = await t.request('POST', `${C}/flavors`, { token: admin, body: { flavor: { name: `f-${String(flag)}`, ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': flag } } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.flavor['os-flavor-access:is_public'], isPublic, String(flag));
    }
    const seen = (await t.request('GET', `${C}/flavors`, { token: demo })).body.flavors.map((f: { name: string }) => f.name);
    assert.ok(!seen.includes('f-False') && seen.includes('f-True'));
  });

  it('checks bodies given to compute\'s client as the API does', async () => {
    const client = t.cloud.compute.client;
    const ctx = await t.cloud.identity.tokens.validate(demo);
    await assert.rejects(client.boot(ctx, { server: { name: 'c', imageRef: imageId, flavorRef: '1', networks: 'none', 'hafen:container': { privileged: true } } }, 'req-x'), /'privileged' was unexpected/);
    await assert.rejects(client.act(ctx, '00000000-0000-0000-0000-000000000000', { reboot: { type: 'NOW' } }, 'req-x'), /type/);
    await assert.rejects(client.createKeypair(ctx, { keypair: { name: 'a/b' } }), /name/);
    const before = await serverCount();
    await assert.rejects(client.boot(ctx, { server: { name: 'c', imageRef: imageId, flavorRef: '1', max_count: 0 } }, 'req-x'), /max_count/);
    assert.equal(await serverCount(), before);
  });
});
