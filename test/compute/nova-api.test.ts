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

  /** Flavor-list latencies (ms) while `work` runs, and the worst of a few before it on the same machine. */
  const flavorListDuring = async (work: () => Promise<unknown>) => {
    const once = async () => {
      const t0 = performance.now();
      assert.equal((await t.request('GET', `${C}/flavors`, { token: demo })).status, 200);
      return performance.now() - t0;
    };
    const quiet: number[] = [];
    for (let i = 0; i < 5; i++) quiet.push(await once());
    let done = false;
    const during: number[] = [];
    const probe = (async () => {
      while (!done) during.push(await once());
    })();
    try {
      await work();
    } finally {
      done = true;
      await probe;
    }
    during.sort((a, b) => a - b);
    quiet.sort((a, b) => a - b);
    return { median: during[Math.floor(during.length / 2)]!, worst: during[during.length - 1]!, quiet: quiet[Math.floor(quiet.length / 2)]!, samples: during.length };
  };
  /**
   * Within 100-150 ms as a rule (or, on a machine others load, a few times what the same list took
   * just before: a request sharing two busy cores with another waits for its slices), and never a stall of the kind seen before (seconds to minutes): the worst wait stays
   * under three seconds even on a machine shared with several test runs.
   */
  const answersPromptly = (m: { median: number; worst: number; quiet: number; samples: number }, what: string) => {
    const seen = `median ${m.median.toFixed(0)} ms, worst ${m.worst.toFixed(0)} ms, before ${m.quiet.toFixed(0)} ms, ${m.samples} lists`;
    assert.ok(m.samples > 0, `${what}: the flavor list was asked during the work`);
    assert.ok(m.median < Math.max(150, 8 * m.quiet), `${what}: ${seen}`);
    assert.ok(m.worst < Math.max(3000, 20 * m.quiet), `${what}: ${seen}`);
  };
  const settle = () => t.cloud.compute.service.settle();
  const deleteAll = async () => {
    await settle();
    for (;;) {
      const ids = (await t.request('GET', `${C}/servers`, { token: admin, headers: {} })).body.servers as { id: string }[];
      const mine = (await t.request('GET', `${C}/servers`, { token: demo })).body.servers as { id: string }[];
      void ids;
      if (mine.length === 0) return;
      for (const s of mine) await t.request('DELETE', `${C}/servers/${s.id}`, { token: demo });
      await settle();
    }
  };

  it('bounds min_count and max_count and checks the quota in one pass (11.6)', async () => {
    await deleteAll();
    // 20,000 is refused at once, in Nova's words, and nothing is made.
    const t0 = performance.now();
    const huge = await boot({ max_count: 20000 });
    assert.equal(huge.status, 400, huge.text);
    assert.match(huge.body.badRequest.message, /max_count.*greater than the maximum of 1000/);
    assert.equal((await boot({ min_count: 5000, max_count: 5000 })).status, 400);
    assert.ok(performance.now() - t0 < 5000);
    assert.equal(await serverCount(), 0);
    // max_count 1,000 against the default quota (10 instances) boots the 10 that fit, in one pass.
    let r: Awaited<ReturnType<typeof boot>> | undefined;
    const m = await flavorListDuring(async () => {
      r = await boot({ name: 'many', min_count: 1, max_count: 1000 });
    });
    assert.equal(r!.status, 202, r!.text);
    answersPromptly(m, 'max_count 1000 within a quota of 10');
    await settle();
    assert.equal(await serverCount(), 10);
    // min_count beyond what is left is refused as Nova refuses it.
    const over = await boot({ min_count: 2, max_count: 1000 });
    assert.equal(over.status, 403);
    assert.match(over.body.forbidden.message, /Quota exceeded for instances: Requested 2, but already used 10 of 10 instances/);
    await deleteAll();
  });

  it('keeps answering while 1,000 servers boot in one request (11.6)', async () => {
    assert.equal((await t.request('PUT', `${C}/os-quota-sets/${projectId}`, { token: admin, body: { quota_set: { instances: 1000, cores: 1000, ram: 64000 } } })).status, 200);
    let r: Awaited<ReturnType<typeof boot>> | undefined;
    const m = await flavorListDuring(async () => {
      r = await boot({ name: 'big', min_count: 1000, max_count: 1000 });
      await settle();
    });
    assert.equal(r!.status, 202, r!.text);
    answersPromptly(m, '1,000 servers booting');
    // Nova's page: 1,000 at most, with a link to the next one.
    const page = await t.request('GET', `${C}/servers?limit=5000`, { token: demo });
    assert.equal(page.body.servers.length, 1000);
    assert.match(page.body.servers_links[0].href, /limit=1000&marker=/);
    const small = await t.request('GET', `${C}/servers?limit=3`, { token: demo });
    assert.equal(small.body.servers.length, 3);
    const next = small.body.servers_links[0].href as string;
    const second = await t.request('GET', next.slice(next.indexOf(C)), { token: demo });
    assert.equal(second.body.servers.length, 3);
    assert.ok(!second.body.servers.some((x: { id: string }) => small.body.servers.some((y: { id: string }) => y.id === x.id)));
    await deleteAll();
    assert.equal((await t.request('PUT', `${C}/os-quota-sets/${projectId}`, { token: admin, body: { quota_set: { instances: 10, cores: 20, ram: 51200 } } })).status, 200);
  });

  it('matches name patterns in linear time: (a+)+$ against 28 a\'s stalls nothing (11.6)', async () => {
    const r = await boot({ name: 'a'.repeat(28) + '!' });
    assert.equal(r.status, 202);
    let list: Awaited<ReturnType<typeof t.request>> | undefined;
    const m = await flavorListDuring(async () => {
      for (let i = 0; i < 20; i++) list = await t.request('GET', `${C}/servers?name=${encodeURIComponent('(a+)+$')}`, { token: demo });
    });
    assert.equal(list!.status, 200);
    assert.deepEqual(list!.body.servers, []);
    answersPromptly(m, 'a catastrophic pattern');
    const hit = await t.request('GET', `${C}/servers?name=${encodeURIComponent('^a+!$')}`, { token: demo });
    assert.equal(hit.body.servers.length, 1);
    const bad = await t.request('GET', `${C}/servers?name=${encodeURIComponent('(a')}`, { token: demo });
    assert.equal(bad.status, 400);
    await deleteAll();
  });

  it('refuses a resize to a private flavor the project cannot use (11.7)', async () => {
    const secret = await t.request('POST', `${C}/flavors`, { token: admin, body: { flavor: { name: 'secret-big', ram: 128, vcpus: 2, disk: 1, 'os-flavor-access:is_public': false } } });
    assert.equal(secret.status, 200);
    const r = await boot({ name: 'grow' });
    await settle();
    const id = r.body.server.id as string;
    const resize = await t.request('POST', `${C}/servers/${id}/action`, { token: demo, body: { resize: { flavorRef: secret.body.flavor.id } } });
    assert.equal(resize.status, 400, resize.text);
    assert.match(resize.body.badRequest.message, /could not be found/);
    assert.equal((await t.request('GET', `${C}/servers/${id}`, { token: demo })).body.server.flavor.id, '1');
    // A public flavor still works.
    assert.equal((await t.request('POST', `${C}/servers/${id}/action`, { token: demo, body: { resize: { flavorRef: '2' } } })).status, 202);
    await deleteAll();
  });

  it('lets no member lift an admin\'s lock (locked_by, 11.7)', async () => {
    const r = await boot({ name: 'locked' });
    await settle();
    const id = r.body.server.id as string;
    const act = (token: string, body: unknown) => t.request('POST', `${C}/servers/${id}/action`, { token, body });
    assert.equal((await act(admin, { lock: null })).status, 202);
    const attempt = await act(demo, { unlock: null });
    assert.equal(attempt.status, 403, attempt.text);
    // Re-locking as the owner does not turn the admin's lock into the owner's.
    assert.equal((await act(demo, { lock: null })).status, 202);
    assert.equal((await act(demo, { unlock: null })).status, 403);
    assert.equal((await act(demo, { 'os-stop': null })).status, 409);
    assert.equal((await act(admin, { unlock: null })).status, 202);
    // The owner's own lock is the owner's to lift.
    assert.equal((await act(demo, { lock: null })).status, 202);
    assert.equal((await act(demo, { unlock: null })).status, 202);
    await deleteAll();
  });

  it('leaves forcing a host (zone:host) to admins (11.7)', async () => {
    const forced = await boot({ name: 'forced', availability_zone: 'nova:fake-00003' });
    assert.equal(forced.status, 403, forced.text);
    assert.match(forced.body.forbidden.message, /forced_host/);
    assert.equal(await serverCount(), 0);
    const byAdmin = await t.request('POST', `${C}/servers`, { token: admin, body: { server: { name: 'forced', imageRef: imageId, flavorRef: '1', networks: 'none', availability_zone: 'nova:fake-00003' } } });
    // The image is demo's and private: the admin's boot reaches the image check, past the policy.
    assert.notEqual(byAdmin.status, 403, byAdmin.text);
    const az = await boot({ name: 'zoned', availability_zone: 'nova' });
    assert.equal(az.status, 202, az.text);
    await deleteAll();
  });
});
