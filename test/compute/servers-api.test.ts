// Nova API rules on a real engine: tenancy, bad input, quotas under concurrent boots, and
// reconciliation of rows against what the engine really runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import fs from 'node:fs';

describe('servers API', () => {
  let t: TestCloud;
  let docker: Docker;
  let demo: string;
  let admin: string;
  let other: { projectId: string; token: string };
  let imageId: string;
  const C = '/compute/v2.1';

  const boot = (token: string, server: Record<string, unknown>) =>
    t.request('POST', `${C}/servers`, { token, body: { server: { imageRef: imageId, flavorRef: '1', ...server } } });
  const show = (token: string, id: string) => t.request('GET', `${C}/servers/${id}`, { token });
  const active = (token: string, id: string, want = 'ACTIVE') =>
    waitFor(`${id} ${want}`, async () => {
      const s = (await show(token, id)).body.server;
      if (s?.status === 'ERROR' && want !== 'ERROR') throw new Error(`server went to ERROR: ${JSON.stringify(s.fault)}`);
      return s?.status === want ? s : undefined;
    });
  const remove = async (token: string, id: string) => {
    await t.request('DELETE', `${C}/servers/${id}`, { token });
    await waitFor(`${id} gone`, async () => ((await show(token, id)).status === 404 ? true : undefined));
  };

  before(async () => {
    const c = await startComputeCloud('servers-api');
    t = c.t;
    docker = engineClient(c.socket);
    demo = await t.token('demo');
    admin = await t.token('admin');
    other = await memberOfNewProject(t, 'tenant-b');
    const img = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'bb', container_format: 'docker', disk_format: 'raw', visibility: 'private' } });
    imageId = img.body.id;
    const up = await t.request('PUT', `/image/v2/images/${imageId}/file`, { token: demo, body: fs.readFileSync(c.imageTar), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204);
  });
  after(async () => t.close());

  it('hides one project\'s servers from another', async () => {
    const r = await boot(demo, { name: 'mine' });
    assert.equal(r.status, 202);
    const id = r.body.server.id;
    await active(demo, id);
    assert.equal((await show(other.token, id)).status, 404);
    assert.equal((await show(other.token, id)).body.itemNotFound.code, 404);
    assert.equal((await t.request('POST', `${C}/servers/${id}/action`, { token: other.token, body: { 'os-stop': null } })).status, 404);
    assert.equal((await t.request('DELETE', `${C}/servers/${id}`, { token: other.token })).status, 404);
    assert.equal((await t.request('PUT', `${C}/servers/${id}`, { token: other.token, body: { server: { name: 'x' } } })).status, 404);
    assert.deepEqual((await t.request('GET', `${C}/servers/detail`, { token: other.token })).body.servers, []);
    // Booting from demo's private image is refused to the other project, as if it did not exist.
    const foreign = await boot(other.token, { name: 'steal' });
    assert.equal(foreign.status, 400);
    assert.match(foreign.body.badRequest.message, /could not be found/);
    // Admins see everything with all_tenants, and the host attributes.
    const all = await t.request('GET', `${C}/servers/detail?all_tenants=1`, { token: admin });
    assert.equal(all.body.servers.length, 1);
    assert.ok(all.body.servers[0]['OS-EXT-SRV-ATTR:host']);
    assert.equal((await show(demo, id)).body.server['OS-EXT-SRV-ATTR:host'], undefined);
    await remove(demo, id);
  });

  it('rejects bad input in Nova\'s envelope and creates nothing', async () => {
    const bare = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'bare', container_format: 'bare', disk_format: 'raw' } });
    const cases: [string, Record<string, unknown>, number, RegExp][] = [
      ['unknown image', { name: 'x', imageRef: '00000000-0000-0000-0000-000000000000' }, 400, /could not be found/],
      ['not a docker image', { name: 'x', imageRef: bare.body.id }, 400, /not a docker image|not active/],
      ['unknown flavor', { name: 'x', flavorRef: '999' }, 400, /Flavor 999/],
      ['unknown key', { name: 'x', key_name: 'nope' }, 400, /key_name/],
      ['no name', { name: '' }, 400, /name/],
      ['bad user data', { name: 'x', user_data: '***' }, 400, /user_data/],
    ];
    for (const [what, server, status, message] of cases) {
      const r = await boot(demo, server);
      assert.equal(r.status, status, what);
      assert.match(r.body.badRequest.message, message, what);
    }
    const malformed = await t.request('POST', `${C}/servers`, { token: demo, body: '{"server": ' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.badRequest.code, 400);
    const tooNew = await t.request('GET', `${C}/servers`, { token: demo, headers: { 'openstack-api-version': 'compute 2.99' } });
    assert.equal(tooNew.status, 406);
    assert.match(tooNew.body.notAcceptable.message, /not supported/);
    const garbled = await t.request('GET', `${C}/servers`, { token: demo, headers: { 'x-openstack-nova-api-version': 'two' } });
    assert.equal(garbled.status, 400);
    assert.deepEqual((await t.request('GET', `${C}/servers`, { token: demo })).body.servers, []);
    const limits = (await t.request('GET', `${C}/limits`, { token: demo })).body.limits.absolute;
    assert.equal(limits.totalInstancesUsed, 0);
  });

  it('answers actions invalid in the current state with 409', async () => {
    const id = (await boot(demo, { name: 'states' })).body.server.id;
    await active(demo, id);
    const start = await t.request('POST', `${C}/servers/${id}/action`, { token: demo, body: { 'os-start': null } });
    assert.equal(start.status, 409);
    assert.match(start.body.conflictingRequest.message, /Cannot 'start' instance .* while it is in vm_state active/);
    const resume = await t.request('POST', `${C}/servers/${id}/action`, { token: demo, body: { resume: null } });
    assert.equal(resume.status, 409);
    const unknown = await t.request('POST', `${C}/servers/${id}/action`, { token: demo, body: { dance: null } });
    assert.equal(unknown.status, 400);
    await remove(demo, id);
  });

  it('never over-commits the instance quota when 20 boots race for the last slots', async () => {
    const put = await t.request('PUT', `${C}/os-quota-sets/${other.projectId}`, { token: admin, body: { quota_set: { instances: 3 } } });
    assert.equal(put.status, 200);
    const img = await t.request('POST', '/image/v2/images', { token: admin, body: { name: 'pub', container_format: 'docker', disk_format: 'raw', visibility: 'public' } });
    const data = await fetch(`${t.url}/image/v2/images/${imageId}/file`, { headers: { 'x-auth-token': demo } });
    await t.request('PUT', `/image/v2/images/${img.body.id}/file`, { token: admin, body: Buffer.from(await data.arrayBuffer()), headers: { 'content-type': 'application/octet-stream' } });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.request('POST', `${C}/servers`, { token: other.token, body: { server: { name: `race-${i}`, imageRef: img.body.id, flavorRef: '1' } } })),
    );
    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status === 403);
    assert.equal(accepted.length, 3);
    assert.equal(refused.length, 17);
    assert.match(refused[0]!.body.forbidden.message, /Quota exceeded for instances/);
    const listed = (await t.request('GET', `${C}/servers`, { token: other.token })).body.servers;
    assert.equal(listed.length, 3);
    for (const r of accepted) await active(other.token, r.body.server.id);
    for (const r of accepted) await remove(other.token, r.body.server.id);
    const limits = (await t.request('GET', `${C}/limits`, { token: other.token })).body.limits.absolute;
    assert.equal(limits.totalInstancesUsed, 0);
  });

  it('reconciles: a dead container shows SHUTOFF, a removed one ERROR, an unknown one is removed', async () => {
    const a = (await boot(demo, { name: 'dies' })).body.server.id;
    const b = (await boot(demo, { name: 'vanishes' })).body.server.id;
    await active(demo, a);
    await active(demo, b);
    await docker.getContainer(`hafen-${a}`).kill();
    await active(demo, a, 'SHUTOFF');
    await docker.getContainer(`hafen-${b}`).remove({ force: true });
    const errored = await active(demo, b, 'ERROR');
    assert.match(errored.fault.message, /disappeared/);
    const engineImage = (await t.request('GET', `/image/v2/images/${imageId}`, { token: demo })).body.docker_image_id;
    const stray = await docker.createContainer({ Image: engineImage, name: 'stray-hafen-test', Labels: { 'hafen.server_id': 'f0f0f0f0-0000-0000-0000-000000000000', 'hafen.managed': 'true' }, HostConfig: { NetworkMode: 'none' } });
    await waitFor('stray removed', async () => {
      try {
        await stray.inspect();
        return undefined;
      } catch {
        return true;
      }
    });
    await remove(demo, a);
    await remove(demo, b);
  });

  it('gives a tenant image\'s labels no hold on another server: the config-drive helper is hafen\'s own (11.7)', async () => {
    const victim = (await boot(demo, { name: 'victim' })).body.server.id as string;
    await active(demo, victim);
    // Project B's image claims hafen's labels for the victim's id.
    const hostile = { 'hafen.server_id': victim, 'hafen.managed': 'true', 'hafen.helper_for': victim };
    const img = await t.request('POST', '/image/v2/images', { token: other.token, body: { name: 'labelled', container_format: 'docker', disk_format: 'raw' } });
    assert.equal((await t.request('PUT', `/image/v2/images/${img.body.id}/file`, { token: other.token, body: busyboxDockerArchive({ cmd: ['sh', '-c', 'exec sleep 3600'], labels: hostile }), headers: { 'content-type': 'application/octet-stream' } })).status, 204);
    const key = await t.request('POST', `${C}/os-keypairs`, { token: other.token, body: { keypair: { name: 'k-labels' } } });
    assert.equal(key.status, 200);
    // A key and user data: the server gets a config drive, filled by a helper container.
    const since = Math.floor(Date.now() / 1000) - 1;
    // The victim's own container may fall in that second (a quick boot): it is not a claim.
    const victimContainer = (await docker.getContainer(`hafen-${victim}`).inspect()).Id;
    const r = await t.request('POST', `${C}/servers`, { token: other.token, body: { server: { name: 'labelled', imageRef: img.body.id, flavorRef: '1', key_name: 'k-labels', user_data: Buffer.from('hello').toString('base64') } } });
    assert.equal(r.status, 202, r.text);
    const attacker = r.body.server.id as string;
    await active(other.token, attacker);
    await t.cloud.compute.service.reconcile();
    // No container was made carrying the victim's id but the victim's own.
    const until = Math.ceil(Date.now() / 1000);
    const createdWith = async (serverId: string) => {
      const stream = await docker.getEvents({ since, until, filters: { type: ['container'], event: ['create'], label: [`hafen.server_id=${serverId}`] } });
      let text = '';
      for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString();
      return text.split('\n').filter(Boolean).filter((line) => (JSON.parse(line) as { id?: string }).id !== victimContainer);
    };
    assert.ok((await createdWith(attacker)).length >= 1, 'the engine reports the attacker\'s own container');
    assert.deepEqual(await createdWith(victim), [], 'no container was created with the victim\'s server label');
    const claiming = await docker.listContainers({ all: true, filters: { label: [`hafen.server_id=${victim}`] } });
    assert.deepEqual(claiming.map((c) => c.Names[0]), [`/hafen-${victim}`]);
    // Deleting the attacker's server leaves the victim running.
    await remove(other.token, attacker);
    await t.cloud.compute.service.reconcile();
    assert.equal((await show(demo, victim)).body.server.status, 'ACTIVE');
    assert.equal((await docker.getContainer(`hafen-${victim}`).inspect()).State.Running, true);
    await remove(demo, victim);
  });
});
