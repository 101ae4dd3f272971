// Keystone trusts (OS-TRUST) through the openstack CLI and HTTP, and the delegation client built on
// them: trust-scoped tokens, impersonation, remaining uses, expiry, redelegation, and every way a
// trust dies (role lost, trustor disabled or deleted, trust deleted) — plus what a stranger cannot do.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ForbiddenError } from '../../src/platform/errors.ts';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import type { RequestContext } from '../../src/platform/auth/context.ts';

describe('identity trusts', () => {
  let t: TestCloud;
  let admin: string;
  let project: { id: string; name: string };
  let roles: Record<string, string>;
  const users: Record<string, { id: string; password: string }> = {};

  const userEnv = (name: string, extra: Record<string, string> = {}) => ({
    OS_CLOUD: '',
    OS_AUTH_URL: `${t.url}/identity/v3`,
    OS_USERNAME: name,
    OS_PASSWORD: users[name]!.password,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_IDENTITY_API_VERSION: '3',
    ...extra,
  });
  const cli = async (args: string[], env: Record<string, string>) => JSON.parse(await t.openstack([...args, '-f', 'json'], '', env));
  const login = async (name: string, scope?: unknown) => {
    const r = await t.request('POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { id: users[name]!.id, password: users[name]!.password } } }, ...(scope ? { scope } : {}) } },
    });
    return r;
  };
  const tokenOf = async (name: string, scope?: unknown) => {
    const r = await login(name, scope);
    assert.equal(r.status, 201, r.text);
    return r.headers.get('x-subject-token')!;
  };
  const trustToken = (name: string, trustId: string) => login(name, { 'OS-TRUST:trust': { id: trustId } });
  const createTrust = async (token: string, trust: Record<string, unknown>) => t.request('POST', '/identity/v3/OS-TRUST/trusts', { token, body: { trust } });
  const check = (token: string) => t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': token } });
  const grant = (method: 'PUT' | 'DELETE', user: string, role: string) =>
    t.request(method, `/identity/v3/projects/${project.id}/users/${users[user]!.id}/roles/${roles[role]}`, { token: admin });

  before(async () => {
    t = await startTestCloud('identity-trusts');
    admin = await t.token('admin');
    const p = await t.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'trusted' } } });
    project = p.body.project;
    const r = await t.request('GET', '/identity/v3/roles', { token: admin });
    roles = Object.fromEntries(r.body.roles.map((x: { name: string; id: string }) => [x.name, x.id]));
    for (const name of ['trustor', 'trustee', 'third', 'stranger']) {
      const password = `pw-${name}-1`;
      const u = await t.request('POST', '/identity/v3/users', { token: admin, body: { user: { name, password } } });
      users[name] = { id: u.body.user.id, password };
    }
    assert.equal((await grant('PUT', 'trustor', 'member')).status, 204);
  });
  after(async () => t.close());

  it('creates, shows, lists and uses an impersonating trust through the openstack CLI', async () => {
    const trustorEnv = userEnv('trustor', { OS_PROJECT_ID: project.id });
    const trust = await cli(['trust', 'create', '--project', project.id, '--role', roles.member!, '--impersonate', users.trustor!.id, users.trustee!.id], trustorEnv);
    assert.equal(trust.trustor_user_id, users.trustor!.id);
    assert.equal(trust.trustee_user_id, users.trustee!.id);
    assert.equal(trust.project_id, project.id);
    assert.equal(trust.impersonation, true);
    assert.match(trust.roles, /member/);
    const shown = await cli(['trust', 'show', trust.id], trustorEnv);
    assert.equal(shown.id, trust.id);
    const listed = await t.request('GET', `/identity/v3/OS-TRUST/trusts?trustor_user_id=${users.trustor!.id}`, { token: await tokenOf('trustor') });
    assert.deepEqual(listed.body.trusts.map((x: { id: string }) => x.id), [trust.id]);

    // The trustee gets a token of the trust (keystoneauth's --os-trust-id): it is the trustor's, on the project.
    const token = await cli(['token', 'issue'], userEnv('trustee', { OS_TRUST_ID: trust.id }));
    assert.equal(token.project_id, project.id);
    assert.equal(token.user_id, users.trustor!.id, 'impersonation: the token is the trustor\'s');
    const body = (await check(token.id)).body.token;
    assert.deepEqual(body['OS-TRUST:trust'], { id: trust.id, impersonation: true, trustee_user: { id: users.trustee!.id }, trustor_user: { id: users.trustor!.id } });
    assert.deepEqual(body.roles.map((r: { name: string }) => r.name).sort(), ['member', 'reader'], 'implied roles come with the delegated one');
    const flavors = await t.request('GET', '/compute/v2.1/flavors', { token: token.id });
    assert.equal(flavors.status, 200, 'the trust token works in other services');
    // A trust token cannot be turned into another token.
    const rescope = await t.request('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: token.id } } } } });
    assert.equal(rescope.status, 403);

    await t.openstack(['trust', 'delete', trust.id], '', trustorEnv);
    assert.equal((await check(token.id)).status, 404, 'deleting the trust revokes its tokens');
    assert.equal((await trustToken('trustee', trust.id)).status, 404);
  });

  it('gives a token without impersonation to the trustee, and counts remaining uses', async () => {
    const trustor = await tokenOf('trustor');
    const created = await createTrust(trustor, { trustor_user_id: users.trustor!.id, trustee_user_id: users.trustee!.id, project_id: project.id, impersonation: false, roles: [{ name: 'reader' }], remaining_uses: 2 });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.trust.remaining_uses, 2);
    assert.deepEqual(created.body.trust.roles.map((r: { name: string }) => r.name), ['reader']);
    const first = await trustToken('trustee', created.body.trust.id);
    assert.equal(first.status, 201, first.text);
    assert.equal(first.body.token.user.id, users.trustee!.id);
    assert.deepEqual(first.body.token.roles.map((r: { name: string }) => r.name), ['reader']);
    assert.equal((await trustToken('trustee', created.body.trust.id)).status, 201);
    assert.equal((await trustToken('trustee', created.body.trust.id)).status, 404, 'no uses left');
    assert.equal((await t.request('GET', `/identity/v3/OS-TRUST/trusts/${created.body.trust.id}`, { token: trustor })).status, 404);
  });

  it('expires', async () => {
    const trustor = await tokenOf('trustor');
    // Long enough for the create and the first token at load 20; then waited out to the millisecond.
    const expiresAt = new Date(Date.now() + 8000).toISOString().replace('Z', '');
    const created = await createTrust(trustor, { trustor_user_id: users.trustor!.id, trustee_user_id: users.trustee!.id, project_id: project.id, impersonation: true, roles: [{ name: 'member' }], expires_at: expiresAt });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.trust.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const token = await trustToken('trustee', created.body.trust.id);
    assert.equal(token.status, 201);
    assert.ok(Date.parse(token.body.token.expires_at) <= Date.parse(`${expiresAt}Z`) + 1, 'a trust token ends with its trust');
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(`${expiresAt}Z`) + 200 - Date.now())));
    assert.equal((await trustToken('trustee', created.body.trust.id)).status, 404);
    assert.equal((await check(token.headers.get('x-subject-token')!)).status, 404);
  });

  it('dies with the trustor\'s role, comes back with it, and dies when the trustor is disabled or deleted', async () => {
    assert.equal((await grant('PUT', 'third', 'member')).status, 204);
    const thirdToken = await tokenOf('third');
    const created = await createTrust(thirdToken, { trustor_user_id: users.third!.id, trustee_user_id: users.trustee!.id, project_id: project.id, impersonation: false, roles: [{ name: 'member' }] });
    assert.equal(created.status, 201, created.text);
    const id = created.body.trust.id;
    const token = (await trustToken('trustee', id)).headers.get('x-subject-token')!;
    assert.equal((await check(token)).status, 200);
    assert.equal((await grant('DELETE', 'third', 'member')).status, 204);
    assert.equal((await check(token)).status, 404, 'the trustee\'s token died with the trustor\'s role');
    assert.equal((await t.request('GET', '/compute/v2.1/flavors', { token })).status, 401);
    assert.equal((await trustToken('trustee', id)).status, 403);
    assert.equal((await grant('PUT', 'third', 'member')).status, 204);
    const again = (await trustToken('trustee', id)).headers.get('x-subject-token')!;
    assert.equal((await check(again)).status, 200);
    await t.request('PATCH', `/identity/v3/users/${users.third!.id}`, { token: admin, body: { user: { enabled: false } } });
    assert.equal((await check(again)).status, 404, 'disabling the trustor revokes the trustee\'s token');
    assert.equal((await trustToken('trustee', id)).status, 403);
    await t.request('PATCH', `/identity/v3/users/${users.third!.id}`, { token: admin, body: { user: { enabled: true } } });
    assert.equal((await trustToken('trustee', id)).status, 201);
  });

  it('redelegates within the bounds of the parent trust, and deleting the parent deletes the child', async () => {
    const trustor = await tokenOf('trustor');
    const parent = await createTrust(trustor, { trustor_user_id: users.trustor!.id, trustee_user_id: users.trustee!.id, project_id: project.id, impersonation: false, roles: [{ name: 'member' }], allow_redelegation: true, redelegation_count: 2 });
    assert.equal(parent.status, 201, parent.text);
    assert.equal(parent.body.trust.redelegation_count, 2);
    const viaTrust = (await trustToken('trustee', parent.body.trust.id)).headers.get('x-subject-token')!;
    const wider = await createTrust(viaTrust, { trustor_user_id: users.trustee!.id, trustee_user_id: users.stranger!.id, project_id: project.id, impersonation: false, roles: [{ name: 'admin' }] });
    assert.equal(wider.status, 404, 'a role the original trustor lacks');
    const notInParent = await createTrust(trustor, { trustor_user_id: users.trustor!.id, trustee_user_id: users.trustee!.id, project_id: project.id, impersonation: false, roles: [{ name: 'reader' }], allow_redelegation: false });
    assert.equal(notInParent.status, 201);
    const child = await createTrust(viaTrust, { trustor_user_id: users.trustee!.id, trustee_user_id: users.stranger!.id, project_id: project.id, impersonation: false, roles: [{ name: 'member' }], allow_redelegation: true });
    assert.equal(child.status, 201, child.text);
    assert.equal(child.body.trust.redelegation_count, 1);
    assert.equal(child.body.trust.redelegated_trust_id, parent.body.trust.id);
    const childToken = await trustToken('stranger', child.body.trust.id);
    assert.equal(childToken.status, 201, childToken.text);
    assert.deepEqual(childToken.body.token.roles.map((r: { name: string }) => r.name).sort(), ['member', 'reader']);
    const impersonating = await createTrust(viaTrust, { trustor_user_id: users.trustee!.id, trustee_user_id: users.stranger!.id, project_id: project.id, impersonation: true, roles: [{ name: 'member' }] });
    assert.equal(impersonating.status, 403, 'impersonation the parent did not allow');
    // A trust that does not allow redelegation cannot be redelegated.
    const plainToken = (await trustToken('trustee', notInParent.body.trust.id)).headers.get('x-subject-token')!;
    const refused = await createTrust(plainToken, { trustor_user_id: users.trustee!.id, trustee_user_id: users.stranger!.id, project_id: project.id, impersonation: false, roles: [{ name: 'reader' }] });
    assert.equal(refused.status, 403);

    assert.equal((await t.request('DELETE', `/identity/v3/OS-TRUST/trusts/${parent.body.trust.id}`, { token: trustor })).status, 204);
    assert.equal((await check(childToken.headers.get('x-subject-token')!)).status, 404);
    assert.equal((await trustToken('stranger', child.body.trust.id)).status, 404);
  });

  it('keeps trusts between their parties', async () => {
    const trustor = await tokenOf('trustor');
    const stranger = await tokenOf('stranger');
    const created = await createTrust(trustor, { trustor_user_id: users.trustor!.id, trustee_user_id: users.trustee!.id, project_id: project.id, impersonation: true, roles: [{ name: 'member' }] });
    const id = created.body.trust.id;
    for (const [method, path] of [
      ['GET', `/identity/v3/OS-TRUST/trusts/${id}`],
      ['GET', `/identity/v3/OS-TRUST/trusts/${id}/roles`],
      ['GET', `/identity/v3/OS-TRUST/trusts/${id}/roles/${roles.member}`],
      ['DELETE', `/identity/v3/OS-TRUST/trusts/${id}`],
    ] as const) {
      const foreign = await t.request(method, path, { token: stranger });
      const missing = await t.request(method, path.replace(id, '0'.repeat(32)), { token: stranger });
      assert.equal(foreign.status, 404, `${method} ${path}`);
      assert.deepEqual(foreign.body, { ...missing.body, error: { ...missing.body.error, message: foreign.body.error.message } });
    }
    assert.equal((await t.request('GET', `/identity/v3/OS-TRUST/trusts/${id}/roles`, { token: await tokenOf('trustee') })).status, 200, 'the trustee reads it');
    assert.equal((await t.request('GET', '/identity/v3/OS-TRUST/trusts', { token: stranger })).status, 403);
    assert.equal((await t.request('GET', `/identity/v3/OS-TRUST/trusts?trustor_user_id=${users.trustor!.id}`, { token: stranger })).status, 403);
    assert.equal((await trustToken('stranger', id)).status, 403, 'only the trustee consumes a trust');
    // A trust in someone else's name, or of roles one does not hold, is refused.
    const forged = await createTrust(stranger, { trustor_user_id: users.trustor!.id, trustee_user_id: users.stranger!.id, project_id: project.id, impersonation: true, roles: [{ name: 'member' }] });
    assert.equal(forged.status, 403);
    const unheld = await createTrust(stranger, { trustor_user_id: users.stranger!.id, trustee_user_id: users.stranger!.id, project_id: project.id, impersonation: true, roles: [{ name: 'member' }] });
    assert.equal(unheld.status, 404);
    const noRoles = await createTrust(trustor, { trustor_user_id: users.trustor!.id, trustee_user_id: users.trustee!.id, project_id: project.id, impersonation: true, roles: [] });
    assert.equal(noRoles.status, 403);
    const badBody = await createTrust(trustor, { trustor_user_id: users.trustor!.id, trustee_user_id: users.trustee!.id, project_id: project.id, roles: [{ name: 'member' }] });
    assert.equal(badBody.status, 400, 'impersonation is required');
    assert.equal(badBody.body.error.code, 400);
    assert.equal((await createTrust(trustor, { trustor_user_id: users.trustor!.id, trustee_user_id: users.trustee!.id, project_id: project.id, impersonation: true, roles: [{ name: 'member' }], remaining_uses: 0 })).status, 400);
  });

  it('serves delegations for deferred work that die with the trustor\'s role or the trust', async () => {
    const client = t.cloud.identity.client;
    assert.equal((await grant('PUT', 'stranger', 'member')).status, 204);
    const token = await tokenOf('stranger', { project: { id: project.id } });
    const ctx: RequestContext = await t.cloud.identity.tokens.validate(token);
    const { trustId } = await client.createDelegation(ctx, {});
    const acting = await client.contextOfDelegation(trustId);
    assert.equal(acting.userId, users.stranger!.id);
    assert.deepEqual(acting.scope, ctx.scope);
    assert.deepEqual([...acting.roles].sort(), ['member', 'reader']);
    assert.equal(acting.trust?.id, trustId);
    assert.equal((await t.request('GET', '/compute/v2.1/flavors', { token: acting.token })).status, 200, 'its token works in other services');
    await assert.rejects(client.createDelegation(ctx, { roles: ['admin'] }), ForbiddenError);
    const readerOnly = await client.createDelegation(ctx, { roles: ['reader'] });
    assert.deepEqual((await client.contextOfDelegation(readerOnly.trustId)).roles, ['reader']);

    assert.equal((await grant('DELETE', 'stranger', 'member')).status, 204);
    await assert.rejects(client.contextOfDelegation(trustId), ForbiddenError);
    assert.equal((await t.request('GET', '/compute/v2.1/flavors', { token: acting.token })).status, 401, 'the token it gave died too');
    assert.equal((await grant('PUT', 'stranger', 'member')).status, 204);
    assert.equal((await client.contextOfDelegation(trustId)).userId, users.stranger!.id);

    const expiry = new Date(Date.now() + 6000);
    const expiring = await client.createDelegation(ctx, { expiresAt: expiry });
    await client.contextOfDelegation(expiring.trustId);
    await new Promise((r) => setTimeout(r, Math.max(0, expiry.getTime() + 200 - Date.now())));
    await assert.rejects(client.contextOfDelegation(expiring.trustId), ForbiddenError);

    await client.deleteDelegation(trustId);
    await client.deleteDelegation(trustId);
    await assert.rejects(client.contextOfDelegation(trustId), ForbiddenError);

    const doomed = await client.createDelegation(ctx, {});
    await t.request('DELETE', `/identity/v3/users/${users.stranger!.id}`, { token: admin });
    await assert.rejects(client.contextOfDelegation(doomed.trustId), ForbiddenError);
  });
});
