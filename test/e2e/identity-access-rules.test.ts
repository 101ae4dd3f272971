// Access rules of application credentials through the openstack CLI: created with a credential,
// listed, shown and deleted (not while in use), shared by identical rules, carried in the token and
// enforced on every API; another user sees none of them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';

describe('application credential access rules', () => {
  let t: TestCloud;
  const os = (args: string[], cloud = 'hafen-demo', env: Record<string, string> = {}) => t.openstack(args, cloud, env);
  const json = async (args: string[], cloud = 'hafen-demo', env: Record<string, string> = {}) => JSON.parse(await os([...args, '-f', 'json'], cloud, env));
  const credEnv = (cred: { id: string; secret: string }) => ({
    OS_CLOUD: '',
    OS_AUTH_TYPE: 'v3applicationcredential',
    OS_AUTH_URL: `${t.url}/identity/v3`,
    OS_APPLICATION_CREDENTIAL_ID: cred.id,
    OS_APPLICATION_CREDENTIAL_SECRET: cred.secret,
    OS_IDENTITY_API_VERSION: '3',
  });
  const credToken = async (cred: { id: string; secret: string }) => {
    const r = await t.request('POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['application_credential'], application_credential: { id: cred.id, secret: cred.secret } } } },
    });
    assert.equal(r.status, 201, r.text);
    return { token: r.headers.get('x-subject-token')!, body: r.body };
  };

  before(async () => {
    t = await startTestCloud('identity-access-rules');
  });
  after(async () => t.close());

  it('limits a credential to the calls its rules name', async () => {
    const rules = [
      { service: 'image', method: 'GET', path: '/v2/images' },
      { service: 'image', method: 'GET', path: '/v2/images/{image_id}' },
      { service: 'identity', method: 'GET', path: '/v3/auth/projects' },
    ];
    const cred = await json(['application', 'credential', 'create', '--access-rules', JSON.stringify(rules), 'reader']);
    const carried = typeof cred.access_rules === 'string' ? JSON.parse(cred.access_rules.replace(/'/g, '"')) : cred.access_rules;
    assert.equal(carried.length, 3);
    assert.ok(carried.every((r: { id: string }) => /^[0-9a-f]{32}$/.test(r.id)));

    // The CLI logs in with it and lists images; the server list is outside its rules.
    assert.ok(Array.isArray(await json(['image', 'list'], '', credEnv(cred))));
    await assert.rejects(os(['server', 'list'], '', credEnv(cred)), /401|authentication/i);
    await assert.rejects(os(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', 'nope'], '', credEnv(cred)), /401|authentication/i);

    const { token, body } = await credToken(cred);
    assert.deepEqual(
      body.token.application_credential.access_rules.map((r: { path: string }) => r.path).sort(),
      rules.map((r) => r.path).sort(),
    );
    const validated = await t.request('GET', '/identity/v3/auth/tokens', { token: await t.token('admin'), headers: { 'x-subject-token': token } });
    assert.equal(validated.body.token.application_credential.access_rules.length, 3);
    const call = (method: string, path: string) => t.request(method, path, { token });
    assert.equal((await call('GET', '/image/v2/images')).status, 200);
    assert.equal((await call('GET', '/image/v2/images/00000000000000000000000000000000')).status, 404, 'a one-segment wildcard passes to the API');
    assert.equal((await call('GET', '/image/v2/images/x/members')).status, 401, 'but covers one segment only');
    assert.equal((await call('GET', '/image/v2/images?limit=1')).status, 200, 'the query is not part of the path');
    assert.equal((await call('DELETE', '/image/v2/images/00000000000000000000000000000000')).status, 401);
    assert.equal((await call('GET', '/compute/v2.1/servers')).status, 401);
    assert.equal((await call('GET', '/network/v2.0/networks')).status, 401);
    assert.equal((await call('GET', '/identity/v3/auth/projects')).status, 200);
    assert.equal((await call('GET', '/identity/v3/projects')).status, 401);
    assert.equal((await call('GET', '/image/v2/images/../../compute/v2.1/servers')).status !== 200, true);

    // A credential without rules is not limited by them.
    const free = await json(['application', 'credential', 'create', 'free']);
    assert.equal((await t.request('GET', '/compute/v2.1/servers', { token: (await credToken(free)).token })).status, 200);
  });

  it('keeps rules per user: listed, shared by identical rules, deleted when no credential uses them', async () => {
    const userId = (await json(['token', 'issue'])).user_id;
    const before = await json(['access', 'rule', 'list']);
    assert.ok(before.length >= 3);
    const imagesRule = before.find((r: { Path: string }) => r.Path === '/v2/images');
    assert.equal(imagesRule.Service, 'image');
    assert.equal(imagesRule.Method, 'GET');
    // The same rule again is the same rule; one given by id must be the user's.
    const again = await json(['application', 'credential', 'create', '--access-rules', JSON.stringify([{ service: 'image', method: 'GET', path: '/v2/images' }]), 'again']);
    assert.equal((await json(['access', 'rule', 'list'])).length, before.length);
    const byId = await t.request('POST', `/identity/v3/users/${userId}/application_credentials`, {
      token: await t.token('demo'),
      body: { application_credential: { name: 'by-id', access_rules: [{ id: imagesRule.ID }] } },
    });
    assert.equal(byId.status, 201, byId.text);
    assert.equal(byId.body.application_credential.access_rules[0].id, imagesRule.ID);
    const shown = await json(['access', 'rule', 'show', imagesRule.ID]);
    assert.equal(shown.path, '/v2/images');

    // In use: 403 through the CLI; free once the credentials using it are gone.
    await assert.rejects(os(['access', 'rule', 'delete', imagesRule.ID]), /403|in use|uses it|Forbidden/i);
    for (const name of ['reader', 'again', 'by-id']) await os(['application', 'credential', 'delete', name]);
    await os(['access', 'rule', 'delete', imagesRule.ID]);
    // (The CLI's show of a missing rule trips on its own name look-up, so HTTP asks.)
    const gone = await t.request('GET', `/identity/v3/users/${userId}/access_rules/${imagesRule.ID}`, { token: await t.token('demo') });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 404);
    assert.equal((await json(['access', 'rule', 'list'])).length, before.length - 1);
  });

  it("refuses malformed rules and keeps other users' rules out of sight", async () => {
    const demo = await t.token('demo');
    const userId = (await json(['token', 'issue'])).user_id;
    const create = (rule: unknown) =>
      t.request('POST', `/identity/v3/users/${userId}/application_credentials`, { token: demo, body: { application_credential: { name: `bad-${Math.random()}`, access_rules: [rule] } } });
    for (const bad of [
      { service: 'image', method: 'FETCH', path: '/v2/images' },
      { service: 'image', method: 'GET', path: 'v2/images' },
      { service: 'image', method: 'GET', path: '/v2/images', extra: 1 },
      { service: 'image', method: 'GET' },
      { id: '0123456789abcdef0123456789abcdef' },
    ]) {
      const r = await create(bad);
      assert.ok(r.status === 400 || r.status === 404, `${JSON.stringify(bad)}: ${r.status}`);
      assert.equal(r.body.error.code, r.status);
    }

    // Another user: not the demo user's rules (list 403, an item 404 like a missing one), nor by id in a credential.
    const admin = await t.token('admin');
    const other = await t.request('POST', '/identity/v3/users', { token: admin, body: { user: { name: 'rules-other', password: 'pw-other-1' } } });
    const demoProject = (await t.request('GET', '/identity/v3/projects?name=demo', { token: admin })).body.projects[0].id;
    const member = (await t.request('GET', '/identity/v3/roles?name=member', { token: admin })).body.roles[0].id;
    await t.request('PUT', `/identity/v3/projects/${demoProject}/users/${other.body.user.id}/roles/${member}`, { token: admin });
    const login = await t.request('POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { id: other.body.user.id, password: 'pw-other-1' } } }, scope: { project: { id: demoProject } } } },
    });
    const otherToken = login.headers.get('x-subject-token')!;
    const rule = (await t.request('GET', `/identity/v3/users/${userId}/access_rules`, { token: demo })).body.access_rules[0];
    assert.equal((await t.request('GET', `/identity/v3/users/${userId}/access_rules`, { token: otherToken })).status, 403);
    assert.equal((await t.request('GET', `/identity/v3/users/${userId}/access_rules/${rule.id}`, { token: otherToken })).status, 404);
    assert.equal((await t.request('DELETE', `/identity/v3/users/${userId}/access_rules/${rule.id}`, { token: otherToken })).status, 404);
    assert.equal((await t.request('GET', `/identity/v3/users/${other.body.user.id}/access_rules/${rule.id}`, { token: otherToken })).status, 404);
    const stolen = await t.request('POST', `/identity/v3/users/${other.body.user.id}/application_credentials`, {
      token: otherToken,
      body: { application_credential: { name: 'stolen', access_rules: [{ id: rule.id }] } },
    });
    assert.equal(stolen.status, 404);
    assert.equal((await t.request('GET', `/identity/v3/users/${userId}/access_rules/${rule.id}`, { token: demo })).status, 200);
  });
});
