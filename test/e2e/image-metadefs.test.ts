// Issue 13: Glance's metadata definitions catalog through the real `glance` CLI (python-glanceclient,
// which checks every body against the schemas under /v2/schemas/metadefs), and HTTP for what the
// CLI has no call for: visibility across projects, admin-only changes, protected namespaces, errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';

const exec = promisify(execFile);

describe('metadata definitions catalog (issue 13)', () => {
  let t: TestCloud;
  const N = 'OS::Hafen::Limits';
  const glance = async (args: string[], who: 'admin' | 'demo' = 'admin') => {
    const c = t.cloud.identity.credentials[who];
    try {
      const { stdout } = await exec('glance', args, {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          OS_AUTH_URL: `${t.url}/identity/v3`,
          OS_USERNAME: c.username,
          OS_PASSWORD: c.password,
          OS_PROJECT_NAME: c.project,
          OS_USER_DOMAIN_ID: 'default',
          OS_PROJECT_DOMAIN_ID: 'default',
          OS_IDENTITY_API_VERSION: '3',
        },
        timeout: 180_000,
      });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`glance ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
    }
  };
  /** The rows of glance's property table as a map. */
  const table = (out: string) => Object.fromEntries(out.split('\n').filter((l) => /^\| \S/.test(l)).map((l) => l.split('|').map((c) => c.trim())).map((c) => [c[1], c[2]]));

  before(async () => {
    t = await startTestCloud('image-metadefs');
  });
  after(async () => t.close());

  it('builds a namespace with a property, an object, tags and a resource type through the glance CLI', async () => {
    const ns = table(await glance(['md-namespace-create', '--display-name', 'Hafen limits', '--description', 'Container limits', '--visibility', 'public', N]));
    assert.equal(ns.namespace, N);
    assert.equal(ns.visibility, 'public');
    assert.match(await glance(['md-resource-type-list']), /OS::Glance::Image/);
    await glance(['md-resource-type-associate', N, '--name', 'OS::Glance::Image', '--prefix', 'hafen_']);
    assert.match(await glance(['md-namespace-resource-type-list', N]), /OS::Glance::Image \| hafen_/);
    const prop = table(await glance(['md-property-create', N, '--name', 'pids', '--title', 'Process limit', '--schema', '{"type": "integer", "minimum": 1}']));
    assert.equal(prop.type, 'integer');
    assert.equal(prop.minimum, '1');
    await glance(['md-object-create', N, '--name', 'Memory', '--schema', '{"description": "memory limits", "required": ["ram"], "properties": {"ram": {"type": "integer", "title": "RAM"}}}']);
    assert.equal(table(await glance(['md-object-property-show', N, 'Memory', 'ram'])).title, 'RAM');
    await glance(['md-tag-create-multiple', N, '--names', 'small,large']);
    await glance(['md-tag-create', N, '--name', 'medium']);
    await glance(['md-tag-update', N, 'medium', '--name', 'mid']);
    assert.deepEqual((await glance(['md-tag-list', N])).match(/\| (\w+)\s+\|/g)!.map((m) => m.replace(/[|\s]/g, '')).filter((n) => n !== 'name').sort(), ['large', 'mid', 'small']);
    const shown = table(await glance(['md-namespace-show', N]));
    assert.equal(shown.objects, '["Memory"]');
    assert.equal(shown.properties, '["pids"]');
    assert.equal(shown.resource_type_associations, '["OS::Glance::Image"]');
    // Seen for a resource type, property names carry its prefix.
    const prefixed = table(await glance(['md-namespace-show', N, '--resource-type', 'OS::Glance::Image']));
    assert.equal(prefixed.properties, '["hafen_pids"]');
    const updated = table(await glance(['md-namespace-update', N, '--description', 'Limits of containers']));
    assert.equal(updated.description, 'Limits of containers');
    assert.match(await glance(['md-namespace-list']), new RegExp(N));
    // Another project reads the public namespace through the CLI.
    assert.match(await glance(['md-property-list', N], 'demo'), /pids/);
  });

  it('keeps private namespaces to their project, changes to admins, and protected namespaces whole', async () => {
    const admin = await t.token('admin');
    const demo = await t.token('demo');
    const priv = await t.request('POST', '/image/v2/metadefs/namespaces', { token: admin, body: { namespace: 'Private::One', visibility: 'private', protected: true, tags: [{ name: 't' }], properties: { p: { title: 'P', type: 'string' } } } });
    assert.equal(priv.status, 201, priv.text);
    assert.equal(priv.headers.get('location'), '/v2/metadefs/namespaces/Private::One');
    assert.deepEqual(priv.body.tags, [{ name: 't' }]);
    // Another project: 404 for the private namespace everywhere, never listed.
    for (const path of ['', '/objects', '/properties', '/properties/p', '/tags', '/tags/t', '/resource_types']) {
      assert.equal((await t.request('GET', `/image/v2/metadefs/namespaces/Private::One${path}`, { token: demo })).status, 404, path);
    }
    const listed = (await t.request('GET', '/image/v2/metadefs/namespaces', { token: demo })).body.namespaces.map((n: { namespace: string }) => n.namespace);
    assert.ok(!listed.includes('Private::One'));
    assert.ok(listed.includes(N));
    // Members may not change the catalog: 403 on a namespace they see, 404 on one they do not.
    assert.equal((await t.request('POST', '/image/v2/metadefs/namespaces', { token: demo, body: { namespace: 'Mine' } })).status, 403);
    assert.equal((await t.request('POST', `/image/v2/metadefs/namespaces/${N}/tags/x`, { token: demo })).status, 403);
    assert.equal((await t.request('DELETE', `/image/v2/metadefs/namespaces/${N}`, { token: demo })).status, 403);
    assert.equal((await t.request('DELETE', '/image/v2/metadefs/namespaces/Private::One', { token: demo })).status, 404);
    // Protected: neither it nor its contents can be deleted until unprotected.
    assert.equal((await t.request('DELETE', '/image/v2/metadefs/namespaces/Private::One', { token: admin })).status, 403);
    assert.equal((await t.request('DELETE', '/image/v2/metadefs/namespaces/Private::One/tags/t', { token: admin })).status, 403);
    assert.equal((await t.request('PUT', '/image/v2/metadefs/namespaces/Private::One', { token: admin, body: { namespace: 'Private::One', protected: false } })).status, 200);
    assert.equal((await t.request('DELETE', '/image/v2/metadefs/namespaces/Private::One', { token: admin })).status, 204);
    assert.equal((await t.request('GET', '/image/v2/metadefs/namespaces/Private::One', { token: admin })).status, 404);
  });

  it('answers bad input and duplicates as Glance does, and publishes the schemas', async () => {
    const admin = await t.token('admin');
    assert.equal((await t.request('POST', '/image/v2/metadefs/namespaces', { token: admin, body: { namespace: N } })).status, 409);
    assert.equal((await t.request('POST', '/image/v2/metadefs/namespaces', { token: admin, body: { display_name: 'no name' } })).status, 400);
    assert.equal((await t.request('POST', '/image/v2/metadefs/namespaces', { token: admin, body: { namespace: 'x', visibility: 'everyone' } })).status, 400);
    assert.equal((await t.request('POST', `/image/v2/metadefs/namespaces/${N}/properties`, { token: admin, body: { name: 'q', title: 'Q', type: 'colour' } })).status, 400);
    assert.equal((await t.request('POST', `/image/v2/metadefs/namespaces/${N}/tags/mid`, { token: admin })).status, 409);
    assert.equal((await t.request('GET', '/image/v2/metadefs/namespaces?limit=1&sort_dir=sideways', { token: admin })).status, 400);
    const page = await t.request('GET', '/image/v2/metadefs/namespaces?limit=1', { token: admin });
    assert.equal(page.body.namespaces.length, 1);
    assert.equal(page.body.schema, '/v2/schemas/metadefs/namespaces');
    for (const kind of ['namespace', 'namespaces', 'object', 'objects', 'property', 'properties', 'tag', 'tags', 'resource_type', 'resource_types']) {
      const s = await t.request('GET', `/image/v2/schemas/metadefs/${kind}`, { token: admin });
      assert.equal(s.status, 200, kind);
      assert.ok(s.body.name && s.body.properties, kind);
    }
    assert.equal((await t.request('GET', '/image/v2/schemas/metadefs/nothing', { token: admin })).status, 404);
    // Everything of a namespace in one call each, then the namespace.
    for (const what of ['objects', 'properties', 'tags']) assert.equal((await t.request('DELETE', `/image/v2/metadefs/namespaces/${N}/${what}`, { token: admin })).status, 204);
    const empty = await t.request('GET', `/image/v2/metadefs/namespaces/${N}`, { token: admin });
    assert.equal(empty.body.objects, undefined);
    assert.equal(empty.body.tags, undefined);
    assert.equal((await t.request('DELETE', `/image/v2/metadefs/namespaces/${N}/resource_types/OS::Glance::Image`, { token: admin })).status, 204);
    assert.equal((await t.request('DELETE', `/image/v2/metadefs/namespaces/${N}`, { token: admin })).status, 204);
  });
});
