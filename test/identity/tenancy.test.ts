// Cross-tenant identity: a member of one project never sees, changes or learns of another's
// projects, users, groups, roles, assignments, domains, catalog entries or application credentials.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { catalogServices } from '../../src/identity/bootstrap.ts';

describe('identity tenancy', () => {
  let t: TestCloud;
  let admin: string;
  let demo: string;
  let ids: Record<string, string>;
  before(async () => {
    t = await startTestCloud('identity-tenancy');
    admin = await t.token('admin');
    demo = await t.token('demo');
    const get = async (path: string, key: string, name: string) =>
      (await t.request('GET', `${path}?name=${name}`, { token: admin })).body[key][0].id as string;
    const group = await t.request('POST', '/identity/v3/groups', { token: admin, body: { group: { name: 'admins-group' } } });
    const adminInfo = await t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': admin } });
    const cred = await t.request('POST', `/identity/v3/users/${adminInfo.body.token.user.id}/application_credentials`, {
      token: admin,
      body: { application_credential: { name: 'admin-cred' } },
    });
    assert.equal(cred.status, 201);
    ids = {
      adminProject: await get('/identity/v3/projects', 'projects', 'admin'),
      adminUser: adminInfo.body.token.user.id,
      group: group.body.group.id,
      adminRole: await get('/identity/v3/roles', 'roles', 'admin'),
      cred: cred.body.application_credential.id,
      demoUser: (await t.request('GET', '/identity/v3/auth/tokens', { token: demo, headers: { 'x-subject-token': demo } })).body.token.user.id,
    };
  });
  after(async () => t.close());

  it('answers another project\'s or user\'s resource ids with 404, like ids that do not exist', async () => {
    for (const path of [
      `/identity/v3/projects/${ids.adminProject}`,
      `/identity/v3/users/${ids.adminUser}`,
      `/identity/v3/users/${ids.adminUser}/application_credentials/${ids.cred}`,
      `/identity/v3/users/${ids.demoUser}/application_credentials/${ids.cred}`,
    ]) {
      const foreign = await t.request('GET', path, { token: demo });
      const missing = await t.request('GET', path.replace(/[0-9a-f]{32}$/, '0'.repeat(32)), { token: demo });
      assert.equal(foreign.status, 404, path);
      assert.equal(missing.status, 404, path);
      assert.equal(foreign.body.error.title, 'Not Found');
    }
  });

  it('refuses identity management and admin-only collections to members', async () => {
    const forbidden: [string, string, unknown?][] = [
      ['GET', '/identity/v3/projects'],
      ['GET', '/identity/v3/users'],
      ['GET', '/identity/v3/groups'],
      ['GET', '/identity/v3/roles'],
      ['GET', '/identity/v3/domains'],
      ['GET', '/identity/v3/services'],
      ['GET', '/identity/v3/endpoints'],
      ['GET', '/identity/v3/role_inferences'],
      ['GET', `/identity/v3/groups/${ids.group}`],
      ['GET', `/identity/v3/roles/${ids.adminRole}`],
      ['GET', `/identity/v3/role_assignments?user.id=${ids.adminUser}`],
      ['GET', `/identity/v3/users/${ids.adminUser}/application_credentials`],
      ['GET', `/identity/v3/users/${ids.adminUser}/projects`],
      ['POST', '/identity/v3/projects', { project: { name: 'sneaky' } }],
      ['POST', '/identity/v3/users', { user: { name: 'sneaky' } }],
      ['POST', '/identity/v3/groups', { group: { name: 'sneaky' } }],
      ['POST', '/identity/v3/roles', { role: { name: 'sneaky' } }],
      ['POST', '/identity/v3/domains', { domain: { name: 'sneaky' } }],
      ['PATCH', `/identity/v3/projects/${ids.adminProject}`, { project: { description: 'x' } }],
      ['PATCH', `/identity/v3/users/${ids.adminUser}`, { user: { enabled: false } }],
      ['DELETE', `/identity/v3/groups/${ids.group}`],
      ['PUT', `/identity/v3/projects/${ids.adminProject}/users/${ids.demoUser}/roles/${ids.adminRole}`],
      ['PUT', `/identity/v3/system/users/${ids.demoUser}/roles/${ids.adminRole}`],
      ['PUT', `/identity/v3/groups/${ids.group}/users/${ids.demoUser}`],
      ['POST', `/identity/v3/users/${ids.adminUser}/application_credentials`, { application_credential: { name: 'x' } }],
    ];
    for (const [method, path, body] of forbidden) {
      const r = await t.request(method, path, { token: demo, body });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.body.error.code, 403);
    }
    // Nothing of it happened.
    const projects = await t.request('GET', '/identity/v3/projects', { token: admin });
    assert.deepEqual(projects.body.projects.map((p: { name: string }) => p.name).sort(), ['admin', 'demo']);
    const assignments = await t.request('GET', `/identity/v3/role_assignments?user.id=${ids.demoUser}`, { token: admin });
    assert.equal(assignments.body.role_assignments.length, 1);
  });

  it('lets a member read only itself, its projects and its own credentials', async () => {
    assert.equal((await t.request('GET', `/identity/v3/users/${ids.demoUser}`, { token: demo })).status, 200);
    const mine = await t.request('GET', '/identity/v3/auth/projects', { token: demo });
    assert.deepEqual(mine.body.projects.map((p: { name: string }) => p.name), ['demo']);
    const creds = await t.request('GET', `/identity/v3/users/${ids.demoUser}/application_credentials`, { token: demo });
    assert.deepEqual(creds.body.application_credentials, []);
    const own = await t.request('GET', `/identity/v3/role_assignments?user.id=${ids.demoUser}`, { token: demo });
    assert.equal(own.status, 200);
    assert.equal(own.body.role_assignments.length, 1);
    const catalog = await t.request('GET', '/identity/v3/auth/catalog', { token: demo });
    assert.equal(catalog.body.catalog.length, catalogServices.length);
  });

  it('limits an application credential to the roles it was given', async () => {
    const cred = await t.request('POST', `/identity/v3/users/${ids.demoUser}/application_credentials`, {
      token: demo,
      body: { application_credential: { name: 'read-only', roles: [{ name: 'reader' }] } },
    });
    assert.equal(cred.status, 201);
    assert.deepEqual(cred.body.application_credential.roles.map((r: { name: string }) => r.name), ['reader']);
    const tok = await t.request('POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['application_credential'], application_credential: { id: cred.body.application_credential.id, secret: cred.body.application_credential.secret } } } },
    });
    assert.equal(tok.status, 201);
    assert.deepEqual(tok.body.token.roles.map((r: { name: string }) => r.name), ['reader']);
    const escalate = await t.request('POST', `/identity/v3/users/${ids.demoUser}/application_credentials`, {
      token: demo,
      body: { application_credential: { name: 'escalate', roles: [{ name: 'admin' }] } },
    });
    assert.equal(escalate.status, 400);
    const expired = await t.request('POST', `/identity/v3/users/${ids.demoUser}/application_credentials`, {
      token: demo,
      body: { application_credential: { name: 'old', expires_at: '2001-01-01T00:00:00' } },
    });
    assert.equal(expired.status, 400);
  });
});
