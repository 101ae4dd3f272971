// OS-EP-FILTER through the openstack CLI: endpoints and endpoint groups associated with a project
// limit the catalog its tokens carry (fresh and already issued ones); other projects see everything.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { catalogServices } from '../../src/identity/bootstrap.ts';

describe('endpoint filtering (OS-EP-FILTER)', () => {
  let t: TestCloud;
  const os = (args: string[], cloud = 'hafen-admin') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-admin') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  const catalogOf = async (cloud: string) => (await json(['catalog', 'list'], cloud)) as { Name: string; Type: string; Endpoints: unknown }[];

  before(async () => {
    t = await startTestCloud('identity-endpoint-filter');
  });
  after(async () => t.close());

  it('limits a project catalog to its endpoints and endpoint groups', async () => {
    const all = catalogServices.map((s) => s.type).sort();
    assert.deepEqual((await catalogOf('hafen-demo')).map((c) => c.Type).sort(), all);
    const demo = (await json(['project', 'show', 'demo'])).id;
    const identityPublic = (await json(['endpoint', 'list', '--service', 'identity', '--interface', 'public']))[0].ID;
    const imageService = (await json(['service', 'show', 'image'])).id;
    const earlier = await t.token('demo'); // issued before any filter: its validated body follows the change

    // One endpoint associated directly.
    await os(['endpoint', 'add', 'project', identityPublic, 'demo']);
    assert.deepEqual((await json(['endpoint', 'list', '--project', 'demo'])).map((e: { ID: string }) => e.ID), [identityPublic]);
    const filtered = await catalogOf('hafen-demo');
    assert.deepEqual(filtered.map((c) => c.Type), ['identity']);
    const checked = await t.request('GET', '/identity/v3/auth/tokens', { token: await t.token('admin'), headers: { 'x-subject-token': earlier } });
    assert.deepEqual(checked.body.token.catalog.map((c: { type: string }) => c.type), ['identity']);
    assert.equal(checked.body.token.catalog[0].endpoints.length, 1);
    assert.equal((await t.request('GET', `/identity/v3/OS-EP-FILTER/projects/${demo}/endpoints/${identityPublic}`, { token: await t.token('admin') })).status, 204);
    assert.deepEqual((await catalogOf('hafen-admin')).map((c) => c.Type).sort(), all, 'other projects see the whole catalog');

    // An endpoint group: every image endpoint.
    const filtersFile = path.join(t.dataDir, 'image-endpoints.json');
    fs.writeFileSync(filtersFile, JSON.stringify({ service_id: imageService }));
    const group = await json(['endpoint', 'group', 'create', '--description', 'image endpoints', 'images', filtersFile]);
    assert.equal(group.name, 'images');
    assert.deepEqual(group.filters, { service_id: imageService });
    await os(['endpoint', 'group', 'add', 'project', 'images', 'demo']);
    assert.deepEqual((await json(['endpoint', 'group', 'list', '--project', 'demo'])).map((g: { Name: string }) => g.Name), ['images']);
    assert.deepEqual((await json(['endpoint', 'group', 'list', '--endpointgroup', 'images'])).map((p: { ID: string }) => p.ID), [demo]);
    const both = await t.request('GET', '/identity/v3/auth/catalog', { token: (await t.request('POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { id: 'default' }, password: t.cloud.identity.credentials.demo.password } } }, scope: { project: { id: demo } } } },
    })).headers.get('x-subject-token')! });
    assert.deepEqual(both.body.catalog.map((c: { type: string }) => c.type).sort(), ['identity', 'image']);
    assert.equal(both.body.catalog.find((c: { type: string }) => c.type === 'image').endpoints.length, 3);
    assert.equal((await json(['endpoint', 'list', '--project', 'demo'])).length, 4, 'the project lists direct and group endpoints');
    await os(['endpoint', 'group', 'set', '--name', 'glance', 'images']);
    assert.equal((await json(['endpoint', 'group', 'show', 'glance'])).name, 'glance');

    // Undone: the whole catalog again.
    await os(['endpoint', 'remove', 'project', identityPublic, 'demo']);
    assert.deepEqual((await catalogOf('hafen-demo')).map((c) => c.Type), ['image']);
    await os(['endpoint', 'group', 'remove', 'project', 'glance', 'demo']);
    assert.deepEqual((await catalogOf('hafen-demo')).map((c) => c.Type).sort(), all);
    await os(['endpoint', 'group', 'delete', 'glance']);
    assert.deepEqual(await json(['endpoint', 'group', 'list']), []);
  });

  it('checks its input and keeps members out', async () => {
    const admin = await t.token('admin');
    const demoToken = await t.token('demo');
    const demo = (await json(['project', 'show', 'demo'])).id;
    const endpoint = (await json(['endpoint', 'list', '--service', 'compute', '--interface', 'public']))[0].ID;
    const post = (token: string, body: unknown) => t.request('POST', '/identity/v3/OS-EP-FILTER/endpoint_groups', { token, body });
    for (const bad of [
      { endpoint_group: { name: 'x', filters: { colour: 'blue' } } },
      { endpoint_group: { name: 'x', filters: { interface: 'sideways' } } },
      { endpoint_group: { name: 'x' } },
      { endpoint_group: { name: 'x', filters: { service_id: '0123456789abcdef0123456789abcdef' } } },
    ]) {
      const r = await post(admin, bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.body.error.code, 400);
    }
    assert.equal((await t.request('PUT', `/identity/v3/OS-EP-FILTER/projects/${demo}/endpoints/0123456789abcdef0123456789abcdef`, { token: admin })).status, 404);
    assert.equal((await t.request('PUT', `/identity/v3/OS-EP-FILTER/projects/0123456789abcdef0123456789abcdef/endpoints/${endpoint}`, { token: admin })).status, 404);
    assert.equal((await t.request('DELETE', `/identity/v3/OS-EP-FILTER/projects/${demo}/endpoints/${endpoint}`, { token: admin })).status, 404);
    // A member cannot narrow or read anyone's catalog filters, its own project's included.
    assert.equal((await t.request('PUT', `/identity/v3/OS-EP-FILTER/projects/${demo}/endpoints/${endpoint}`, { token: demoToken })).status, 403);
    assert.equal((await post(demoToken, { endpoint_group: { name: 'mine', filters: {} } })).status, 403);
    assert.equal((await t.request('GET', `/identity/v3/OS-EP-FILTER/projects/${demo}/endpoints`, { token: demoToken })).status, 403);
    // A deleted endpoint leaves no association behind.
    const svc = await json(['service', 'create', '--name', 'gone', 'gone-type']);
    const ep = await json(['endpoint', 'create', svc.id, 'public', 'http://127.0.0.1:9/gone']);
    await os(['endpoint', 'add', 'project', ep.id, 'demo']);
    assert.deepEqual((await catalogOf('hafen-demo')).map((c) => c.Type), ['gone-type']);
    await os(['endpoint', 'delete', ep.id]);
    assert.deepEqual((await json(['endpoint', 'list', '--project', 'demo'])), []);
    assert.ok((await catalogOf('hafen-demo')).length >= catalogServices.length);
    await os(['service', 'delete', svc.id]);
  });
});
