// The identity flows of issue 3 through Debian's real `openstack` CLI against a running cloud.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { catalogServices } from '../../src/identity/bootstrap.ts';

describe('identity through the openstack CLI', () => {
  let t: TestCloud;
  // Admin unless a test says otherwise.
  const os = (args: string[], cloud = 'hafen-admin', env: Record<string, string> = {}) => t.openstack(args, cloud, env);
  const json = async (args: string[], cloud = 'hafen-admin', env: Record<string, string> = {}) =>
    JSON.parse(await os([...args, '-f', 'json'], cloud, env));

  before(async () => {
    t = await startTestCloud('identity-cli');
  });
  after(async () => t.close());

  it('issues and revokes tokens', async () => {
    const token = await json(['token', 'issue'], 'hafen-demo');
    assert.match(token.id, /^hf1\./);
    const demoProject = (await json(['project', 'show', 'demo'])).id;
    assert.equal(token.project_id, demoProject);
    const valid = await t.request('GET', '/identity/v3/auth/tokens', { token: await t.token('admin'), headers: { 'x-subject-token': token.id } });
    assert.equal(valid.status, 200);
    await os(['token', 'revoke', token.id], 'hafen-admin');
    const gone = await t.request('GET', '/identity/v3/auth/tokens', { token: await t.token('admin'), headers: { 'x-subject-token': token.id } });
    assert.equal(gone.status, 404);
    const used = await t.request('GET', '/identity/v3/auth/projects', { token: token.id });
    assert.equal(used.status, 401);
  });

  it('manages projects', async () => {
    const p = await json(['project', 'create', '--description', 'first', 'cli-proj']);
    assert.equal(p.name, 'cli-proj');
    assert.equal(p.description, 'first');
    const list = await json(['project', 'list']);
    assert.ok(list.some((x: { Name: string }) => x.Name === 'cli-proj'));
    await os(['project', 'set', '--description', 'second', '--disable', 'cli-proj']);
    const shown = await json(['project', 'show', 'cli-proj']);
    assert.equal(shown.description, 'second');
    assert.equal(shown.enabled, false);
    await os(['project', 'delete', 'cli-proj']);
    await assert.rejects(os(['project', 'show', 'cli-proj']), /No project|Could not find/);
  });

  it('manages users, passwords, roles and assignments', async () => {
    const p = await json(['project', 'create', 'team']);
    const u = await json(['user', 'create', '--password', 'first-pass', '--project', 'team', 'alice']);
    assert.equal(u.name, 'alice');
    const users = await json(['user', 'list']);
    assert.ok(users.some((x: { Name: string }) => x.Name === 'alice'));
    await os(['role', 'add', '--user', 'alice', '--project', 'team', 'member']);
    const assignments = await json(['role', 'assignment', 'list', '--user', 'alice', '--names']);
    assert.deepEqual(assignments.map((a: { Role: string; Project: string }) => [a.Role, a.Project]), [['member', 'team@Default']]);
    const aliceEnv = { OS_CLOUD: '', OS_AUTH_URL: `${t.url}/identity/v3`, OS_USERNAME: 'alice', OS_PASSWORD: 'first-pass', OS_PROJECT_NAME: 'team', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    const aliceToken = await json(['token', 'issue'], '', aliceEnv);
    assert.equal(aliceToken.project_id, p.id);
    await os(['user', 'set', '--password', 'second-pass', 'alice']);
    await assert.rejects(os(['token', 'issue'], '', aliceEnv), /401|authentication/i);
    await json(['token', 'issue'], '', { ...aliceEnv, OS_PASSWORD: 'second-pass' });
    // The password change revoked the token issued before it.
    assert.equal((await t.request('GET', '/identity/v3/auth/projects', { token: aliceToken.id })).status, 401);
    await os(['role', 'remove', '--user', 'alice', '--project', 'team', 'member']);
    assert.deepEqual(await json(['role', 'assignment', 'list', '--user', 'alice']), []);
    await assert.rejects(os(['token', 'issue'], '', { ...aliceEnv, OS_PASSWORD: 'second-pass' }), /401|no access|authentication/i);
  });

  it('manages groups and their members', async () => {
    await os(['user', 'create', '--password', 'pw-bob-1', 'bob']);
    const g = await json(['group', 'create', '--description', 'ops team', 'ops']);
    assert.equal(g.name, 'ops');
    await os(['group', 'add', 'user', 'ops', 'bob']);
    assert.match(await os(['group', 'contains', 'user', 'ops', 'bob']), /bob in group ops/);
    const members = await json(['user', 'list', '--group', 'ops']);
    assert.deepEqual(members.map((m: { Name: string }) => m.Name), ['bob']);
    await os(['role', 'add', '--group', 'ops', '--project', 'demo', 'reader']);
    const bobEnv = { OS_CLOUD: '', OS_AUTH_URL: `${t.url}/identity/v3`, OS_USERNAME: 'bob', OS_PASSWORD: 'pw-bob-1', OS_PROJECT_NAME: 'demo', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    await json(['token', 'issue'], '', bobEnv);
    const groups = await json(['group', 'list']);
    assert.ok(groups.some((x: { Name: string }) => x.Name === 'ops'));
    assert.equal((await json(['group', 'show', 'ops'])).description, 'ops team');
    await os(['group', 'remove', 'user', 'ops', 'bob']);
    await assert.rejects(os(['token', 'issue'], '', bobEnv), /401|no access|authentication/i);
    await os(['group', 'delete', 'ops']);
    await assert.rejects(os(['group', 'show', 'ops']), /No group|Could not find/);
  });

  it('creates, uses and deletes application credentials', async () => {
    const cred = await json(['application', 'credential', 'create', '--role', 'member', '--description', 'ci', 'ci-cred'], 'hafen-demo');
    assert.ok(cred.secret);
    assert.match(cred.roles, /member/);
    const list = await json(['application', 'credential', 'list'], 'hafen-demo');
    assert.deepEqual(list.map((c: { Name: string }) => c.Name), ['ci-cred']);
    const credEnv = {
      OS_CLOUD: '',
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_AUTH_URL: `${t.url}/identity/v3`,
      OS_APPLICATION_CREDENTIAL_ID: cred.id,
      OS_APPLICATION_CREDENTIAL_SECRET: cred.secret,
      OS_IDENTITY_API_VERSION: '3',
    };
    const token = await json(['token', 'issue'], '', credEnv);
    assert.equal(token.project_id, (await json(['project', 'show', 'demo'])).id);
    await assert.rejects(os(['token', 'issue'], '', { ...credEnv, OS_APPLICATION_CREDENTIAL_SECRET: 'wrong' }), /401|authentication/i);
    // Its owner reads it back without the secret.
    const ownView = await t.request('GET', `/identity/v3/users/${token.user_id}/application_credentials/${cred.id}`, { token: await t.token('demo') });
    assert.equal(ownView.status, 200);
    assert.equal(ownView.body.application_credential.secret, undefined);
    await os(['application', 'credential', 'delete', 'ci-cred'], 'hafen-demo');
    assert.equal((await t.request('GET', '/identity/v3/auth/projects', { token: token.id })).status, 401);
    await assert.rejects(os(['token', 'issue'], '', credEnv), /401|authentication/i);
  });

  it('lists the catalog and endpoints', async () => {
    const catalog = await json(['catalog', 'list'], 'hafen-demo');
    const types = catalog.map((c: { Type: string }) => c.Type).sort();
    assert.deepEqual(types, catalogServices.map((s) => s.type).sort());
    const endpoints = await json(['endpoint', 'list']);
    assert.equal(endpoints.length, 3 * catalogServices.length);
    assert.ok(endpoints.every((e: { URL: string }) => e.URL.startsWith(t.url)));
    const svc = await json(['service', 'create', '--name', 'extra', 'extra-type']);
    const ep = await json(['endpoint', 'create', '--region', 'RegionOne', svc.id, 'public', 'http://127.0.0.1:1/extra']);
    assert.equal(ep.url, 'http://127.0.0.1:1/extra');
    await os(['endpoint', 'delete', ep.id]);
    await os(['service', 'delete', svc.id]);
    assert.equal((await json(['endpoint', 'list'])).length, 3 * catalogServices.length);
  });

  it('manages domains', async () => {
    const d = await json(['domain', 'create', '--description', 'other org', 'org2']);
    assert.equal(d.name, 'org2');
    const list = await json(['domain', 'list']);
    assert.deepEqual(list.map((x: { Name: string }) => x.Name).sort(), ['Default', 'org2']);
    await os(['domain', 'set', '--disable', 'org2']);
    assert.equal((await json(['domain', 'show', 'org2'])).enabled, false);
    await os(['domain', 'delete', 'org2']);
    assert.deepEqual((await json(['domain', 'list'])).map((x: { Name: string }) => x.Name), ['Default']);
  });
});
