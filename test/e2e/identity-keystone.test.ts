// Keystone's smaller parts as real clients use them: project tags and their list filters, projects
// acting as domains, regions by PUT and by an endpoint's legacy `region`, domains read from a
// project token, deleting a disabled domain with everything in it, app-credential expiry format.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';

describe('Keystone compatibility through the openstack CLI and HTTP', () => {
  let t: TestCloud;
  let admin: string;
  const os = (args: string[], cloud = 'hafen-admin') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-admin') => JSON.parse(await os([...args, '-f', 'json'], cloud));

  before(async () => {
    t = await startTestCloud('identity-keystone');
    admin = await t.token('admin');
  });
  after(async () => t.close());

  it('keeps project tags and filters projects by them', async () => {
    const a = await json(['project', 'create', '--tag', 'red', '--tag', 'big', 'tag-a']);
    assert.deepEqual([...a.tags].sort(), ['big', 'red']);
    await t.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'tag-b', tags: ['red'] } } });
    await t.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'tag-c', tags: ['blue'] } } });
    await os(['project', 'set', '--tag', 'small', 'tag-c']);
    const names = (projects: { name: string }[]) => projects.map((p) => p.name).filter((n) => n.startsWith('tag-')).sort();
    assert.deepEqual(names((await json(['project', 'list', '--tags', 'red,big', '--long'])).map((p: { Name: string }) => ({ name: p.Name }))), ['tag-a']);
    const list = async (query: string) => names((await t.request('GET', `/identity/v3/projects?${query}`, { token: admin })).body.projects);
    assert.deepEqual(await list('tags-any=big,blue'), ['tag-a', 'tag-c']);
    assert.deepEqual(await list('not-tags=red,big'), ['tag-b', 'tag-c']);
    assert.deepEqual(await list('not-tags-any=red'), ['tag-c']);
    assert.deepEqual(await list('tags=blue,small'), ['tag-c'], 'the CLI added a tag');

    // The tag routes themselves (openstacksdk's add_tag/remove_tag/set_tags).
    const base = `/identity/v3/projects/${a.id}/tags`;
    assert.deepEqual((await t.request('GET', base, { token: admin })).body.tags.sort(), ['big', 'red']);
    const put = await t.request('PUT', `${base}/green`, { token: admin });
    assert.equal(put.status, 201);
    assert.match(put.headers.get('location') ?? '', /\/tags\/green$/);
    assert.equal((await t.request('GET', `${base}/green`, { token: admin })).status, 204);
    assert.equal((await t.request('GET', `${base}/purple`, { token: admin })).status, 404);
    assert.equal((await t.request('DELETE', `${base}/green`, { token: admin })).status, 204);
    const replaced = await t.request('PUT', base, { token: admin, body: { tags: ['one', 'two'] } });
    assert.deepEqual(replaced.body.tags, ['one', 'two']);
    assert.equal((await t.request('PUT', base, { token: admin, body: { tags: ['a/b'] } })).status, 400);
    assert.equal((await t.request('PUT', base, { token: admin, body: { tags: Array.from({ length: 81 }, (_, i) => `t${i}`) } })).status, 400);
    assert.equal((await t.request('DELETE', base, { token: admin })).status, 204);
    assert.deepEqual((await t.request('GET', base, { token: admin })).body.tags, []);
    // A member cannot tag, nor learn of, a project that is not theirs.
    const demo = await t.token('demo');
    assert.equal((await t.request('GET', base, { token: demo })).status, 404);
    assert.equal((await t.request('PUT', `${base}/x`, { token: demo })).status, 404);
  });

  it('creates a project acting as a domain', async () => {
    const created = await t.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'acting-domain', is_domain: true } } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.project.is_domain, true);
    assert.equal(created.body.project.domain_id, null);
    const domain = await json(['domain', 'show', 'acting-domain']);
    assert.equal(domain.id, created.body.project.id);
    const asProjects = await t.request('GET', '/identity/v3/projects?is_domain=true', { token: admin });
    assert.ok(asProjects.body.projects.some((p: { id: string; is_domain: boolean }) => p.id === domain.id && p.is_domain));
    const plain = await t.request('GET', '/identity/v3/projects', { token: admin });
    assert.ok(!plain.body.projects.some((p: { id: string }) => p.id === domain.id), 'projects acting as domains are listed only when asked for');
    assert.equal((await t.request('GET', `/identity/v3/projects/${domain.id}`, { token: admin })).body.project.is_domain, true);
  });

  it('creates a region by PUT and by an endpoint\'s legacy region attribute', async () => {
    const put = await t.request('PUT', '/identity/v3/regions/RegionPut', { token: admin, body: { region: { description: 'by put' } } });
    assert.equal(put.status, 201, put.text);
    assert.equal(put.body.region.id, 'RegionPut');
    assert.equal((await json(['region', 'show', 'RegionPut'])).description, 'by put');
    assert.equal((await t.request('PUT', '/identity/v3/regions/RegionPut', { token: admin, body: { region: {} } })).status, 409);
    const bare = await t.request('PUT', '/identity/v3/regions/RegionBare', { token: admin, headers: { 'content-type': 'application/json', 'content-length': '0' } });
    assert.equal(bare.status, 201, bare.text);
    const svc = await json(['service', 'create', '--name', 'legacy', 'legacy-type']);
    const ep = await t.request('POST', '/identity/v3/endpoints', { token: admin, body: { endpoint: { service_id: svc.id, interface: 'public', url: 'http://127.0.0.1:9/legacy', region: 'RegionLegacy' } } });
    assert.equal(ep.status, 201, ep.text);
    assert.equal(ep.body.endpoint.region_id, 'RegionLegacy');
    assert.equal((await json(['region', 'show', 'RegionLegacy'])).region, 'RegionLegacy');
  });

  it('lets a project token read its own domain', async () => {
    const demo = await t.token('demo');
    assert.equal((await t.request('GET', '/identity/v3/domains/default', { token: demo })).status, 200);
    const other = await json(['domain', 'create', 'not-demos']);
    assert.equal((await t.request('GET', `/identity/v3/domains/${other.id}`, { token: demo })).status, 403);
  });

  it('deletes a disabled domain with its projects, users and groups', async () => {
    const post = async (path: string, body: unknown) => {
      const r = await t.request('POST', `/identity/v3/${path}`, { token: admin, body });
      assert.equal(r.status, 201, r.text);
      return Object.values(r.body)[0] as { id: string };
    };
    const d = await post('domains', { domain: { name: 'doomed' } });
    const parent = await post('projects', { project: { name: 'doomed-parent', domain_id: d.id } });
    await post('projects', { project: { name: 'doomed-child', parent_id: parent.id } });
    const user = await post('users', { user: { name: 'doomed-user', domain_id: d.id, password: 'pw-doomed-1' } });
    const group = await post('groups', { group: { name: 'doomed-group', domain_id: d.id } });
    const member = (await t.request('GET', '/identity/v3/roles?name=member', { token: admin })).body.roles[0].id;
    assert.equal((await t.request('PUT', `/identity/v3/projects/${parent.id}/users/${user.id}/roles/${member}`, { token: admin })).status, 204);
    assert.equal((await t.request('DELETE', `/identity/v3/domains/${d.id}`, { token: admin })).status, 403, 'an enabled domain stays');
    assert.equal((await t.request('PATCH', `/identity/v3/domains/${d.id}`, { token: admin, body: { domain: { enabled: false } } })).status, 200);
    await os(['domain', 'delete', 'doomed']);
    assert.equal((await t.request('GET', `/identity/v3/domains/${d.id}`, { token: admin })).status, 404);
    assert.equal((await t.request('GET', `/identity/v3/projects/${parent.id}`, { token: admin })).status, 404);
    assert.equal((await t.request('GET', `/identity/v3/users/${user.id}`, { token: admin })).status, 404);
    assert.equal((await t.request('GET', `/identity/v3/groups/${group.id}`, { token: admin })).status, 404);
    const left = await t.request('GET', `/identity/v3/role_assignments?user.id=${user.id}`, { token: admin });
    assert.deepEqual(left.body.role_assignments, []);
  });

  it('writes an application credential\'s expiry as Keystone does', async () => {
    const cred = await json(['application', 'credential', 'create', '--expiration', '2031-02-03T04:05:06', 'dated'], 'hafen-demo');
    assert.equal(cred.expires_at, '2031-02-03T04:05:06.000000');
    const precise = await t.request('POST', `/identity/v3/users/${cred.user_id}/application_credentials`, {
      token: await t.token('demo'),
      body: { application_credential: { name: 'precise', expires_at: '2031-02-03T04:05:06.123456' } },
    });
    assert.equal(precise.status, 201, precise.text);
    assert.equal(precise.body.application_credential.expires_at, '2031-02-03T04:05:06.123456');
  });

  it('lists effective role assignments with groups, inheritance and implied roles, without domain-specific roles', async () => {
    const post = async (path: string, body: unknown) => {
      const r = await t.request('POST', `/identity/v3/${path}`, { token: admin, body });
      assert.equal(r.status, 201, r.text);
      return Object.values(r.body)[0] as { id: string; name: string };
    };
    const put = async (path: string) => assert.ok([201, 204].includes((await t.request('PUT', `/identity/v3/${path}`, { token: admin })).status), path);
    const d = await post('domains', { domain: { name: 'eff' } });
    const parent = await post('projects', { project: { name: 'eff-parent', domain_id: d.id } });
    const child = await post('projects', { project: { name: 'eff-child', parent_id: parent.id } });
    const user = await post('users', { user: { name: 'eff-user', domain_id: d.id, password: 'pw-eff-user-1' } });
    const group = await post('groups', { group: { name: 'eff-group', domain_id: d.id } });
    await put(`groups/${group.id}/users/${user.id}`);
    const role = async (name: string) => (await t.request('GET', `/identity/v3/roles?name=${name}`, { token: admin })).body.roles[0].id as string;
    const [member, reader] = [await role('member'), await role('reader')];
    const auditor = await post('roles', { role: { name: 'auditor' } });
    const local = await post('roles', { role: { name: 'eff-local', domain_id: d.id } });
    await put(`roles/${local.id}/implies/${auditor.id}`);
    const refused = await t.request('PUT', `/identity/v3/roles/${auditor.id}/implies/${local.id}`, { token: admin });
    assert.equal(refused.status, 403, 'a global role may not imply a domain-specific one');
    await put(`projects/${parent.id}/groups/${group.id}/roles/${member}`);
    await os(['role', 'add', '--user', user.id, '--domain', d.id, '--inherited', reader]);
    await put(`projects/${child.id}/users/${user.id}/roles/${local.id}`);

    const effective = await json(['role', 'assignment', 'list', '--effective', '--user', user.id, '--names']);
    const seen = effective.map((a: { Role: string; Project: string }) => `${a.Role}@${a.Project.split('@')[0]}`).sort();
    assert.deepEqual(seen, ['auditor@eff-child', 'member@eff-parent', 'reader@eff-child', 'reader@eff-parent']);
    const raw = await t.request('GET', `/identity/v3/role_assignments?user.id=${user.id}&effective`, { token: admin });
    const viaGroup = raw.body.role_assignments.find((a: { role: { id: string } }) => a.role.id === member);
    assert.match(viaGroup.links.membership, new RegExp(`/groups/${group.id}/users/${user.id}$`));
    const implied = raw.body.role_assignments.find((a: { role: { id: string } }) => a.role.id === auditor.id);
    assert.match(implied.links.prior_role, new RegExp(`/roles/${local.id}$`));
    const stored = await json(['role', 'assignment', 'list', '--user', user.id, '--names']);
    assert.equal(stored.length, 2, 'without --effective: the stored assignments (inherited one and domain-specific one)');
    assert.equal((await t.request('GET', `/identity/v3/role_assignments?scope.OS-INHERIT:inherited_to=projects&user.id=${user.id}`, { token: admin })).body.role_assignments.length, 1);

    const token = await t.request('POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { id: user.id, password: 'pw-eff-user-1' } } }, scope: { project: { id: child.id } } } },
    });
    assert.equal(token.status, 201, token.text);
    assert.deepEqual(token.body.token.roles.map((r: { name: string }) => r.name).sort(), ['auditor', 'reader'], 'tokens carry implied roles and no domain-specific role');
  });
});
