// Keystone's credentials (ec2 included), policies, OAuth1 consumers and unified limits through the
// openstack CLI, with what another project's user may not see, and limits read by the quota client.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';

describe('Keystone credentials, policies, consumers and limits', () => {
  let t: TestCloud;
  let admin: string;
  let demo: string;
  let demoUser: string;
  let demoProject: string;
  const json = async (args: string[], cloud = 'hafen-admin') => JSON.parse(await t.openstack([...args, '-f', 'json'], cloud));

  before(async () => {
    t = await startTestCloud('identity-extras');
    admin = await t.token('admin');
    demo = await t.token('demo');
    const me = await t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': demo } });
    demoUser = me.body.token.user.id;
    demoProject = me.body.token.project.id;
  });
  after(async () => t.close());

  it('keeps credentials encrypted, ec2 ones by their access key, each visible to its owner only', async () => {
    const cred = await json(['credential', 'create', '--type', 'ec2', '--project', demoProject, demoUser, JSON.stringify({ access: 'akey-1', secret: 'skey-1' })]);
    assert.equal(cred.id, createHash('sha256').update('akey-1').digest('hex'));
    assert.equal(JSON.parse(cred.blob).secret, 'skey-1');
    const stored = await t.cloud.identity.service.store.get<{ blob: string }>('identity_credentials', cred.id);
    assert.ok(stored && !stored.blob.includes('skey-1'), 'the blob is encrypted at rest');
    const other = await t.request('POST', '/identity/v3/credentials', { token: admin, body: { credential: { type: 'totp', user_id: (await t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': admin } })).body.token.user.id, blob: 'admin-secret' } } });
    assert.equal(other.status, 201, other.text);
    // The owner sees and changes theirs; another's answers 404 and is not listed.
    const mine = await t.request('GET', '/identity/v3/credentials', { token: demo });
    assert.deepEqual(mine.body.credentials.map((c: { id: string }) => c.id), [cred.id]);
    assert.equal((await t.request('GET', `/identity/v3/credentials/${other.body.credential.id}`, { token: demo })).status, 404);
    assert.equal((await t.request('DELETE', `/identity/v3/credentials/${other.body.credential.id}`, { token: demo })).status, 404);
    const forged = await t.request('POST', '/identity/v3/credentials', { token: demo, body: { credential: { type: 'totp', user_id: other.body.credential.user_id, blob: 'x' } } });
    assert.equal(forged.status, 403);
    const badEc2 = await t.request('POST', '/identity/v3/credentials', { token: demo, body: { credential: { type: 'ec2', user_id: demoUser, project_id: demoProject, blob: 'not json' } } });
    assert.equal(badEc2.status, 400);
    const updated = await t.request('PATCH', `/identity/v3/credentials/${cred.id}`, { token: demo, body: { credential: { blob: JSON.stringify({ access: 'akey-1', secret: 'skey-2' }) } } });
    assert.equal(JSON.parse(updated.body.credential.blob).secret, 'skey-2');
    await t.openstack(['credential', 'delete', cred.id], 'hafen-admin');
    assert.equal((await t.request('GET', `/identity/v3/credentials/${cred.id}`, { token: admin })).status, 404);

    // EC2 credentials as `openstack ec2 credentials` makes them.
    const ec2 = await json(['ec2', 'credentials', 'create'], 'hafen-demo');
    assert.match(ec2.access, /^[0-9a-f]{32}$/);
    assert.ok(ec2.secret);
    const list = await t.request('GET', `/identity/v3/users/${demoUser}/credentials/OS-EC2`, { token: demo });
    assert.deepEqual(list.body.credentials.map((c: { access: string; tenant_id: string }) => [c.access, c.tenant_id]), [[ec2.access, demoProject]]);
    assert.equal((await t.request('GET', `/identity/v3/users/${demoUser}/credentials/OS-EC2/${ec2.access}`, { token: demo })).body.credential.secret, ec2.secret);
    const adminProject = (await t.request('GET', '/identity/v3/projects?name=admin', { token: admin })).body.projects[0].id;
    assert.equal((await t.request('POST', `/identity/v3/users/${demoUser}/credentials/OS-EC2`, { token: demo, body: { tenant_id: adminProject } })).status, 403, 'not for a project without a role on it');
    assert.equal((await t.request('DELETE', `/identity/v3/users/${demoUser}/credentials/OS-EC2/${ec2.access}`, { token: demo })).status, 204);
    assert.deepEqual((await t.request('GET', `/identity/v3/users/${demoUser}/credentials/OS-EC2`, { token: demo })).body.credentials, []);
  });

  it('stores policies and OAuth1 consumers for administrators', async () => {
    const file = path.join(t.dataDir, 'policy.json');
    fs.writeFileSync(file, JSON.stringify({ 'compute:get': '' }));
    const p = await json(['policy', 'create', '--type', 'application/json', file]);
    assert.equal(p.type, 'application/json');
    assert.deepEqual(JSON.parse((await t.request('GET', `/identity/v3/policies/${p.id}`, { token: admin })).body.policy.blob), { 'compute:get': '' });
    assert.equal((await t.request('GET', '/identity/v3/policies', { token: demo })).status, 403);
    assert.equal((await t.request('DELETE', `/identity/v3/policies/${p.id}`, { token: admin })).status, 204);

    const c = await json(['consumer', 'create', '--description', 'an app']);
    assert.ok(c.secret, 'the secret is shown on create');
    const shown = await t.request('GET', `/identity/v3/OS-OAUTH1/consumers/${c.id}`, { token: admin });
    assert.equal(shown.body.consumer.description, 'an app');
    assert.equal(shown.body.consumer.secret, undefined, 'and never again');
    assert.equal((await t.request('PATCH', `/identity/v3/OS-OAUTH1/consumers/${c.id}`, { token: admin, body: { consumer: { description: 'renamed' } } })).body.consumer.description, 'renamed');
    assert.equal((await t.request('GET', '/identity/v3/OS-OAUTH1/consumers', { token: demo })).status, 403);
    assert.equal((await t.request('DELETE', `/identity/v3/OS-OAUTH1/consumers/${c.id}`, { token: admin })).status, 204);
  });

  it('serves unified limits, which the quota client reads', async () => {
    const reg = await json(['registered', 'limit', 'create', '--service', 'nova', '--default-limit', '10', '--region', 'RegionOne', 'cores']);
    assert.equal(reg.default_limit, 10);
    const lim = await json(['limit', 'create', '--project', demoProject, '--service', 'nova', '--resource-limit', '5', '--region', 'RegionOne', 'cores']);
    assert.equal(lim.resource_limit, 5);
    const client = t.cloud.identity.client;
    assert.equal(await client.limitOf(demoProject, 'compute', 'cores', 'RegionOne'), 5);
    const adminProject = (await t.request('GET', '/identity/v3/projects?name=admin', { token: admin })).body.projects[0].id;
    assert.equal(await client.limitOf(adminProject, 'compute', 'cores', 'RegionOne'), 10, 'the registered default');
    assert.equal(await client.limitOf(adminProject, 'compute', 'ram', 'RegionOne'), undefined);
    // A project's member sees its own limits, not another project's.
    await t.request('POST', '/identity/v3/limits', { token: admin, body: { limits: [{ project_id: adminProject, service_id: reg.service_id, region_id: 'RegionOne', resource_name: 'cores', resource_limit: 50 }] } });
    const seen = await t.request('GET', '/identity/v3/limits', { token: demo });
    assert.deepEqual(seen.body.limits.map((l: { project_id: string }) => l.project_id), [demoProject]);
    const unregistered = await t.request('POST', '/identity/v3/limits', { token: admin, body: { limits: [{ project_id: demoProject, service_id: reg.service_id, resource_name: 'gpus', resource_limit: 1 }] } });
    assert.equal(unregistered.status, 403);
    const dup = await t.request('POST', '/identity/v3/registered_limits', { token: admin, body: { registered_limits: [{ service_id: reg.service_id, region_id: 'RegionOne', resource_name: 'cores', default_limit: 3 }] } });
    assert.equal(dup.status, 409);
    assert.equal((await t.request('DELETE', `/identity/v3/registered_limits/${reg.id}`, { token: admin })).status, 403, 'limits still refer to it');
    assert.equal((await t.request('PATCH', `/identity/v3/limits/${lim.id}`, { token: admin, body: { limit: { resource_limit: 7 } } })).body.limit.resource_limit, 7);
    assert.equal(await client.limitOf(demoProject, 'compute', 'cores', 'RegionOne'), 7);
    assert.equal((await t.request('GET', '/identity/v3/limits/model', { token: demo })).body.model.name, 'flat');
  });
});
