// Token life: bad credentials, tampered/truncated/expired tokens, revocation events, lockout, key rotation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { TokenCodec } from '../../src/identity/tokens.ts';
import { rotateKeys } from '../../src/identity/signing-keys.ts';
import { RevocationList } from '../../src/identity/revocations.ts';

function passwordAuth(name: string, password: string, scope?: unknown) {
  return { auth: { identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } }, ...(scope ? { scope } : {}) } };
}

describe('identity tokens', () => {
  let t: TestCloud;
  let admin: string;
  before(async () => {
    t = await startTestCloud('identity-tokens', { HAFEN_LOCKOUT_ATTEMPTS: '3', HAFEN_LOCKOUT_DURATION: '60', HAFEN_SIGNING_KEYS_KEPT: '2' });
    admin = await t.token('admin');
  });
  after(async () => t.close());

  const createUser = async (name: string, password: string, project?: string) => {
    const u = await t.request('POST', '/identity/v3/users', { token: admin, body: { user: { name, password } } });
    assert.equal(u.status, 201);
    if (project) {
      const p = await t.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name: project } } });
      assert.equal(p.status, 201);
      const roles = await t.request('GET', '/identity/v3/roles?name=member', { token: admin });
      const g = await t.request('PUT', `/identity/v3/projects/${p.body.project.id}/users/${u.body.user.id}/roles/${roles.body.roles[0].id}`, { token: admin });
      assert.equal(g.status, 204);
      return { user: u.body.user, project: p.body.project, memberRole: roles.body.roles[0] };
    }
    return { user: u.body.user, project: undefined, memberRole: undefined };
  };
  const issue = (body: unknown) => t.request('POST', '/identity/v3/auth/tokens', { body });
  const check = (token: string) => t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': token } });

  it('answers a wrong user name and a wrong password the same way', async () => {
    const wrongPassword = await issue(passwordAuth('demo', 'not-it'));
    const wrongUser = await issue(passwordAuth('nobody-here', 'not-it'));
    assert.equal(wrongPassword.status, 401);
    assert.equal(wrongUser.status, 401);
    assert.deepEqual(wrongPassword.body, wrongUser.body);
    assert.equal(wrongPassword.body.error.code, 401);
  });

  it('rejects bad auth requests in Keystone envelopes and creates nothing', async () => {
    const unknown = await issue({ auth: { identity: { methods: ['kerberos'] } } });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error.title, 'Unauthorized');
    assert.equal((await issue({ auth: { identity: { methods: [] } } })).status, 400);
    assert.equal((await issue({ nothing: true })).status, 400);
    assert.equal((await issue({ auth: { identity: { methods: ['password'], password: { user: { name: 'demo', password: 'x' } } } } })).status, 400);
    assert.equal((await issue({ auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { id: 'default' }, password: 7 } } } } })).status, 400);
    const malformed = await t.request('POST', '/identity/v3/auth/tokens', { body: '{"auth": {"identity": ' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 400);
    const wrongType = await t.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 12 } } });
    assert.equal(wrongType.status, 400);
    const missing = await t.request('POST', '/identity/v3/users', { token: admin, body: { user: { password: 'x' } } });
    assert.equal(missing.status, 400);
    const projects = await t.request('GET', '/identity/v3/projects', { token: admin });
    assert.deepEqual(projects.body.projects.map((p: { name: string }) => p.name).sort(), ['admin', 'demo']);
  });

  it('refuses scoping to a disabled or foreign project', async () => {
    const { project } = await createUser('scoper', 'pw-scoper', 'scoper-proj');
    assert.equal((await issue(passwordAuth('scoper', 'pw-scoper', { project: { id: project!.id } }))).status, 201);
    const foreign = await issue(passwordAuth('scoper', 'pw-scoper', { project: { name: 'admin', domain: { id: 'default' } } }));
    assert.equal(foreign.status, 401);
    const token = (await issue(passwordAuth('scoper', 'pw-scoper', { project: { id: project!.id } }))).headers.get('x-subject-token')!;
    const disabled = await t.request('PATCH', `/identity/v3/projects/${project!.id}`, { token: admin, body: { project: { enabled: false } } });
    assert.equal(disabled.status, 200);
    assert.equal((await issue(passwordAuth('scoper', 'pw-scoper', { project: { id: project!.id } }))).status, 401);
    assert.equal((await check(token)).status, 404, 'disabling the project revokes its tokens');
  });

  it('rejects tampered, truncated and expired tokens', async () => {
    const good = await t.token('demo');
    assert.equal((await check(good)).status, 200);
    const parts = good.split('.');
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    claims.roles.push({ id: 'x', name: 'admin' });
    const tampered = [parts[0], Buffer.from(JSON.stringify(claims)).toString('base64url'), parts[2], parts[3]].join('.');
    for (const bad of [tampered, good.slice(0, good.length - 5), 'garbage', `${good}x`]) {
      const r = await t.request('GET', '/identity/v3/auth/projects', { token: bad });
      assert.equal(r.status, 401, bad.slice(0, 20));
      assert.equal(r.body.error.code, 401);
    }
    const codec = new TokenCodec(t.dataDir);
    const now = Date.now() / 1000;
    const expired = codec.encode({ ...claims, roles: claims.roles.slice(0, -1), issuedAt: now - 7200, expiresAt: now - 3600 });
    assert.equal((await t.request('GET', '/identity/v3/auth/projects', { token: expired })).status, 401);
    const fresh = codec.encode({ ...claims, roles: claims.roles.slice(0, -1), issuedAt: now, expiresAt: now + 600 });
    assert.equal((await t.request('GET', '/identity/v3/auth/projects', { token: fresh })).status, 200, 'the same claims signed properly pass');
  });

  it('revokes tokens when the user is disabled or loses the role', async () => {
    const { user, project, memberRole } = await createUser('rev', 'pw-rev', 'rev-proj');
    const scope = { project: { id: project!.id } };
    const t1 = (await issue(passwordAuth('rev', 'pw-rev', scope))).headers.get('x-subject-token')!;
    assert.equal((await t.request('GET', '/identity/v3/auth/projects', { token: t1 })).status, 200);
    await t.request('DELETE', `/identity/v3/projects/${project!.id}/users/${user.id}/roles/${memberRole!.id}`, { token: admin });
    assert.equal((await t.request('GET', '/identity/v3/auth/projects', { token: t1 })).status, 401);
    assert.equal((await issue(passwordAuth('rev', 'pw-rev', scope))).status, 401);
    await t.request('PUT', `/identity/v3/projects/${project!.id}/users/${user.id}/roles/${memberRole!.id}`, { token: admin });
    const t2 = (await issue(passwordAuth('rev', 'pw-rev', scope))).headers.get('x-subject-token')!;
    await t.request('PATCH', `/identity/v3/users/${user.id}`, { token: admin, body: { user: { enabled: false } } });
    assert.equal((await t.request('GET', '/identity/v3/auth/projects', { token: t2 })).status, 401);
    assert.equal((await issue(passwordAuth('rev', 'pw-rev', scope))).status, 401);
  });

  it('locks a user out after repeated failures', async () => {
    await createUser('locky', 'pw-locky');
    for (let i = 0; i < 3; i++) assert.equal((await issue(passwordAuth('locky', 'wrong'))).status, 401);
    const locked = await issue(passwordAuth('locky', 'pw-locky'));
    assert.equal(locked.status, 401, 'the right password does not open a locked account');
  });

  it('keeps tokens valid across a key rotation until their key is dropped', async () => {
    const before = await t.token('demo');
    rotateKeys(t.dataDir, 2);
    await new Promise((r) => setTimeout(r, 1100)); // the codec re-reads the key ring at most once a second
    const after1 = (await issue(passwordAuth('demo', t.cloud.identity.credentials.demo.password, { project: { name: 'demo', domain: { id: 'default' } } }))).headers.get('x-subject-token')!;
    assert.notEqual(after1.split('.')[2], before.split('.')[2], 'new tokens are signed with the new key');
    assert.equal((await check(before)).status, 200);
    assert.equal((await check(after1)).status, 200);
    rotateKeys(t.dataDir, 2);
    await new Promise((r) => setTimeout(r, 1100));
    admin = (await issue(passwordAuth('admin', t.cloud.identity.credentials.admin.password, { project: { name: 'admin', domain: { id: 'default' } } }))).headers.get('x-subject-token')!;
    assert.equal((await check(before)).status, 404, 'the dropped key no longer validates');
    assert.equal((await check(after1)).status, 200);
  });

  it('validates from kept bodies that follow catalog changes and revocations', async () => {
    const token = (await issue(passwordAuth('demo', t.cloud.identity.credentials.demo.password, { project: { name: 'demo', domain: { id: 'default' } } }))).headers.get('x-subject-token')!;
    const first = await check(token);
    assert.equal(first.status, 200);
    assert.match(first.headers.get('content-type') ?? '', /^application\/json/);
    const projectId = first.body.token.project.id;
    const urls = (r: { body: any }) => r.body.token.catalog.flatMap((c: any) => c.endpoints.map((e: any) => e.url));
    const svc = await t.request('POST', '/identity/v3/services', { token: admin, body: { service: { type: 'kept-bodies', name: 'kept' } } });
    assert.equal(svc.status, 201);
    const ep = await t.request('POST', '/identity/v3/endpoints', { token: admin, body: { endpoint: { service_id: svc.body.service.id, interface: 'public', url: 'http://127.0.0.1:9/kept/$(project_id)s' } } });
    assert.equal(ep.status, 201);
    assert.ok(urls(await check(token)).includes(`http://127.0.0.1:9/kept/${projectId}`), 'a new endpoint shows at once, its project filled');
    assert.equal((await t.request('DELETE', `/identity/v3/endpoints/${ep.body.endpoint.id}`, { token: admin })).status, 204);
    assert.ok(!urls(await check(token)).some((u: string) => u.includes('/kept/')), 'a deleted endpoint is gone at once');
    assert.equal((await t.request('GET', '/identity/v3/auth/tokens?nocatalog', { token: admin, headers: { 'x-subject-token': token } })).body.token.catalog, undefined);
    assert.equal((await t.request('DELETE', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': token } })).status, 204);
    assert.equal((await check(token)).status, 404, 'a revoked token is not served from the kept body');
    assert.equal((await t.request('HEAD', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': token } })).status, 404);
    assert.equal((await t.request('GET', '/identity/v3/auth/projects', { token })).status, 401);
  });

  it('stops serving a kept body at once when the role goes or the project or user is disabled', async () => {
    const { user, project, memberRole } = await createUser('kept', 'pw-kept', 'kept-proj');
    const scope = { project: { id: project!.id } };
    const fresh = async () => {
      const r = await issue(passwordAuth('kept', 'pw-kept', scope));
      assert.equal(r.status, 201);
      const token = r.headers.get('x-subject-token')!;
      // Both kinds of body are rendered and kept before the change.
      for (let i = 0; i < 2; i++) {
        assert.equal((await check(token)).status, 200);
        assert.equal((await t.request('GET', '/identity/v3/auth/tokens?nocatalog', { token: admin, headers: { 'x-subject-token': token } })).status, 200);
      }
      return token;
    };
    const gone = async (token: string, what: string) => {
      assert.equal((await check(token)).status, 404, `${what}: the kept body is not served`);
      assert.equal((await t.request('GET', '/identity/v3/auth/tokens?nocatalog', { token: admin, headers: { 'x-subject-token': token } })).status, 404, `${what}: nocatalog`);
      assert.equal((await t.request('HEAD', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': token } })).status, 404, `${what}: HEAD`);
      assert.equal((await t.request('GET', '/identity/v3/auth/projects', { token })).status, 401, `${what}: as X-Auth-Token`);
    };
    const roleUrl = `/identity/v3/projects/${project!.id}/users/${user.id}/roles/${memberRole!.id}`;
    const t1 = await fresh();
    assert.equal((await t.request('DELETE', roleUrl, { token: admin })).status, 204);
    await gone(t1, 'role assignment removed');
    assert.equal((await t.request('PUT', roleUrl, { token: admin })).status, 204);

    const t2 = await fresh();
    assert.equal((await t.request('PATCH', `/identity/v3/projects/${project!.id}`, { token: admin, body: { project: { enabled: false } } })).status, 200);
    await gone(t2, 'project disabled');
    assert.equal((await t.request('PATCH', `/identity/v3/projects/${project!.id}`, { token: admin, body: { project: { enabled: true } } })).status, 200);

    const t3 = await fresh();
    assert.equal((await t.request('PATCH', `/identity/v3/users/${user.id}`, { token: admin, body: { user: { enabled: false } } })).status, 200);
    await gone(t3, 'user disabled');
    assert.equal((await t.request('PATCH', `/identity/v3/users/${user.id}`, { token: admin, body: { user: { enabled: true } } })).status, 200);

    const t4 = await fresh();
    assert.equal((await t.request('DELETE', `/identity/v3/users/${user.id}`, { token: admin })).status, 204);
    await gone(t4, 'user deleted');
  });

  it("picks up another controller's revocations from the table", async () => {
    const token = (await issue(passwordAuth('demo', t.cloud.identity.credentials.demo.password, { project: { name: 'demo', domain: { id: 'default' } } }))).headers.get('x-subject-token')!;
    assert.equal((await t.request('GET', '/identity/v3/auth/projects', { token })).status, 200);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    // Another controller's revocation list over the same database: this cloud's memory does not see the write.
    await new RevocationList(t.cloud.identity.service.store.db, 3600_000).revoke({ auditId: claims.auditIds[0] });
    const deadline = Date.now() + 30_000;
    let status = 200;
    while (Date.now() < deadline && status === 200) {
      await new Promise((r) => setTimeout(r, 250));
      status = (await t.request('GET', '/identity/v3/auth/projects', { token })).status;
    }
    assert.equal(status, 401);
  });
});
