// Keystone's security compliance: change upon first use, expiry, minimum age, history, strength,
// lockout, lock_password and MFA rules, with the per-user options that exempt a user; and users'
// extra attributes. Through the openstack CLI where it has the call, HTTP otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';

describe('security compliance', () => {
  let t: TestCloud;
  let admin: string;
  before(async () => {
    t = await startTestCloud('security-compliance', {
      HAFEN_UNIQUE_LAST_PASSWORD_COUNT: '3',
      HAFEN_MINIMUM_PASSWORD_AGE: '1',
      HAFEN_CHANGE_PASSWORD_UPON_FIRST_USE: 'true',
      HAFEN_PASSWORD_EXPIRES_DAYS: '30',
      HAFEN_PASSWORD_REGEX: '^(?=.*\\d).{8,}$',
      HAFEN_PASSWORD_REGEX_DESCRIPTION: 'at least 8 characters with a digit',
      HAFEN_LOCKOUT_ATTEMPTS: '2',
      HAFEN_LOCKOUT_DURATION: '600',
    });
    admin = await t.token('admin');
  });
  after(async () => t.close());

  const login = (userId: string, password: string) =>
    t.request('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: userId, password } } } } } });
  const createUser = async (name: string, password: string, extra: Record<string, unknown> = {}) => {
    const r = await t.request('POST', '/identity/v3/users', { token: admin, body: { user: { name, password, ...extra } } });
    assert.equal(r.status, 201, r.text);
    return r.body.user as { id: string; password_expires_at: string | null; options: Record<string, unknown> } & Record<string, unknown>;
  };
  const patchUser = (id: string, user: Record<string, unknown>) => t.request('PATCH', `/identity/v3/users/${id}`, { token: admin, body: { user } });
  const selfChange = (id: string, original: string, password: string) =>
    t.request('POST', `/identity/v3/users/${id}/password`, { body: { user: { original_password: original, password } } });

  it('makes a user change an administrator\'s password at first use, then keeps age, history and strength rules', async () => {
    const u = await createUser('first-use', 'Passw0rd1');
    assert.ok(u.password_expires_at, 'the password set by an administrator is already expired');
    const expired = await login(u.id, 'Passw0rd1');
    assert.equal(expired.status, 401);
    assert.match(expired.body.error.message, /password is expired/);
    // No token is needed to change it: the original password authenticates.
    assert.equal((await selfChange(u.id, 'wrong-one1', 'Passw0rd2')).status, 401);
    assert.equal((await selfChange(u.id, 'Passw0rd1', 'Passw0rd2')).status, 204);
    const ok = await login(u.id, 'Passw0rd2');
    assert.equal(ok.status, 201);
    const expiresAt = Date.parse(`${ok.body.token.user.password_expires_at}Z`);
    assert.ok(Math.abs(expiresAt - (Date.now() + 30 * 86400_000)) < 600_000, 'a chosen password expires after password_expires_days');
    assert.match(ok.body.token.user.password_expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);

    const tooSoon = await selfChange(u.id, 'Passw0rd2', 'Passw0rd3');
    assert.equal(tooSoon.status, 400);
    assert.match(tooSoon.body.error.message, /minimum password age/);
    // An administrator's reset is not held by the minimum age, but the user must change it again.
    assert.equal((await patchUser(u.id, { password: 'Passw0rd3' })).status, 200);
    assert.equal((await login(u.id, 'Passw0rd3')).status, 401);
    const reused = await selfChange(u.id, 'Passw0rd3', 'Passw0rd2');
    assert.equal(reused.status, 400, 'one of the last passwords');
    assert.match(reused.body.error.message, /identical to a previous password/);
    const weak = await selfChange(u.id, 'Passw0rd3', 'weakpassword');
    assert.equal(weak.status, 400);
    assert.match(weak.body.error.message, /at least 8 characters with a digit/);
    assert.equal((await patchUser(u.id, { password: 'short1' })).status, 400, 'strength holds for administrators too');
    assert.equal((await selfChange(u.id, 'Passw0rd3', 'Passw0rd4')).status, 204);
    assert.equal((await login(u.id, 'Passw0rd4')).status, 201);
  });

  it('exempts users by their options, through the openstack CLI', async () => {
    const created = JSON.parse(
      await t.openstack(['user', 'create', '--password', 'Exempt0001', '--ignore-change-password-upon-first-use', '--ignore-password-expiry', '--ignore-lockout-failure-attempts', 'exempt', '-f', 'json'], 'hafen-admin'),
    );
    assert.equal(created.options.ignore_change_password_upon_first_use, true);
    assert.equal((await login(created.id, 'Exempt0001')).status, 201, 'no change at first use');
    for (let i = 0; i < 3; i++) assert.equal((await login(created.id, 'wrong-pass1')).status, 401);
    assert.equal((await login(created.id, 'Exempt0001')).status, 201, 'never locked out');
    const shown = JSON.parse(await t.openstack(['user', 'show', 'exempt', '-f', 'json'], 'hafen-admin'));
    assert.equal(shown.password_expires_at, null, 'its password never expires');
    // An option set to null is removed.
    const cleared = await patchUser(created.id, { options: { ignore_password_expiry: null } });
    assert.equal(cleared.body.user.options.ignore_password_expiry, undefined);
    assert.ok(cleared.body.user.password_expires_at);
  });

  it('locks out after repeated failures, expires old passwords, and holds lock_password and MFA rules', async () => {
    const u = await createUser('rules', 'Rules0001', { options: { ignore_change_password_upon_first_use: true } });
    assert.equal((await login(u.id, 'Rules0001')).status, 201);
    for (let i = 0; i < 2; i++) assert.equal((await login(u.id, 'wrong-pass1')).status, 401);
    assert.equal((await login(u.id, 'Rules0001')).status, 401, 'locked out');
    assert.equal((await patchUser(u.id, { enabled: true })).status, 200);
    assert.equal((await login(u.id, 'Rules0001')).status, 201, 're-enabling clears the lockout');

    // A password older than password_expires_days stops working.
    await t.cloud.identity.service.store.update('identity_users', u.id, { password_changed_at: new Date(Date.now() - 31 * 86400_000).toISOString() }, 'user');
    assert.equal((await login(u.id, 'Rules0001')).status, 401);
    assert.equal((await patchUser(u.id, { options: { ignore_password_expiry: true } })).status, 200);
    assert.equal((await login(u.id, 'Rules0001')).status, 201);

    assert.equal((await patchUser(u.id, { options: { lock_password: true } })).status, 200);
    assert.equal((await selfChange(u.id, 'Rules0001', 'Rules0002')).status, 400, 'lock_password: only an administrator changes it');

    assert.equal((await patchUser(u.id, { options: { multi_factor_auth_enabled: true, multi_factor_auth_rules: [['password', 'totp']] } })).status, 200);
    assert.equal((await login(u.id, 'Rules0001')).status, 401, 'a rule needing totp is not met by a password');
    assert.equal((await patchUser(u.id, { options: { multi_factor_auth_rules: [['password', 'totp'], ['password']] } })).status, 200);
    assert.equal((await login(u.id, 'Rules0001')).status, 201);
    assert.equal((await patchUser(u.id, { options: { no_such_option: true } })).status, 400);
  });

  it('keeps a user\'s extra attributes', async () => {
    const u = await createUser('extra', 'Extra0001', { email: 'e@example.org', description: 'has extras', team: 'blue', shoe_size: 42 });
    assert.equal(u.team, 'blue');
    assert.equal(u.shoe_size, 42);
    const patched = await patchUser(u.id, { team: 'red' });
    assert.equal(patched.body.user.team, 'red');
    assert.equal(patched.body.user.shoe_size, 42);
    const shown = JSON.parse(await t.openstack(['user', 'show', 'extra', '-f', 'json'], 'hafen-admin'));
    assert.equal(shown.team, 'red');
    assert.equal(shown.email, 'e@example.org');
    const listed = await t.request('GET', '/identity/v3/users?name=extra', { token: admin });
    assert.equal(listed.body.users[0].shoe_size, 42);
  });
});
