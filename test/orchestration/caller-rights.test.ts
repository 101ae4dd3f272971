// Stacks act with the rights of the user who asks (issue 11 item 4), played as an attacker through
// the real openstack CLI: a member of a project updates a stack an admin made there and tries to make
// a public flavor through it; deletes it and tries to take the admin's flavor with it; and work a
// stack does after the request (the rest of a create) stops when its user loses the role.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';

describe('stacks act with the caller\'s rights', () => {
  let t: TestCloud;
  let admin: string;
  let adminProject: string;
  let memberId: string;
  let memberRole: string;
  let membersYaml: string;
  const H = () => `/orchestration/v1/${adminProject}`;
  const settled = (name: string, token = admin) =>
    waitFor(`${name} settled`, async () => {
      const r = await t.request('GET', `${H()}/stacks/${name}`, { token });
      if (r.status === 404) return { stack_status: 'GONE' } as Record<string, any>;
      return r.body.stack.stack_status.endsWith('IN_PROGRESS') ? undefined : (r.body.stack as Record<string, any>);
    }, 60_000);
  const asMember = (args: string[]) => t.openstack(args, 'hafen-member', { OS_CLIENT_CONFIG_FILE: membersYaml });
  const flavorNamed = async (name: string) => ((await t.request('GET', '/compute/v2.1/flavors/detail?is_public=None', { token: admin })).body.flavors as { name: string; id: string }[]).find((f) => f.name === name);
  const template = (resources: Record<string, unknown>) => JSON.stringify({ heat_template_version: '2021-04-16', resources });

  before(async () => {
    ({ t } = await startComputeCloud('caller-rights'));
    admin = await t.token('admin');
    adminProject = (await t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': admin } })).body.token.project.id;
    // A plain member of the admin's own project.
    const password = 'member-secret-pw'; // also below
    const user = await t.request('POST', '/identity/v3/users', { token: admin, body: { user: { name: 'stackmember', password } } });
    assert.equal(user.status, 201, user.text);
    memberId = user.body.user.id;
    memberRole = (await t.request('GET', '/identity/v3/roles?name=member', { token: admin })).body.roles[0].id;
    const grant = await t.request('PUT', `/identity/v3/projects/${adminProject}/users/${memberId}/roles/${memberRole}`, { token: admin });
    assert.equal(grant.status, 204, grant.text);
    const port = new URL(t.url).port;
    membersYaml = path.join(t.dataDir, 'members.yaml');
    fs.writeFileSync(membersYaml, [
      'clouds:',
      '  hafen-member:',
      '    auth:',
      `      auth_url: http://127.0.0.1:${port}/identity/v3`,
      '      username: stackmember',
      `      password: ${password}`,
      '      project_name: admin',
      '      user_domain_name: Default',
      '      project_domain_name: Default',
      '    region_name: RegionOne',
      '    identity_api_version: 3',
      '',
    ].join('\n'));
  });
  after(async () => {
    await t?.close();
  });

  it('a member updating an admin\'s stack cannot make a public flavor through it, and stack_owner names the creator', async () => {
    const created = await t.request('POST', `${H()}/stacks`, { token: admin, body: { stack_name: 'adminstack', template: JSON.parse(template({ n: { type: 'OS::Heat::None' } })) } });
    assert.equal(created.status, 201, created.text);
    assert.equal((await settled('adminstack')).stack_status, 'CREATE_COMPLETE');

    const shown = JSON.parse(await asMember(['stack', 'show', '-f', 'json', 'adminstack'])) as Record<string, unknown>;
    assert.equal(shown.stack_owner, 'admin', 'stack_owner is the user who created the stack, not the one asking');

    const file = path.join(t.dataDir, 'flavor.yaml');
    fs.writeFileSync(file, template({ n: { type: 'OS::Heat::None' }, f: { type: 'OS::Nova::Flavor', properties: { name: 'stolen-public', ram: 64, vcpus: 1, is_public: true } } }));
    await asMember(['stack', 'update', '-t', file, 'adminstack']).catch((err: Error) => err);
    const after = await settled('adminstack');
    assert.notEqual(after.stack_status, 'UPDATE_COMPLETE', 'the update made with a member\'s rights cannot make a flavor');
    assert.match(String(after.stack_status_reason), /Forbidden|not allowed|policy/i);
    assert.equal(await flavorNamed('stolen-public'), undefined, 'no flavor was made');
  });

  it('a member deleting an admin\'s stack cannot delete the admin\'s flavor through it', async () => {
    const created = await t.request('POST', `${H()}/stacks`, {
      token: admin,
      body: { stack_name: 'flavorstack', template: JSON.parse(template({ f: { type: 'OS::Nova::Flavor', properties: { name: 'admins-flavor', ram: 64, vcpus: 1 } } })) },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal((await settled('flavorstack')).stack_status, 'CREATE_COMPLETE');
    assert.ok(await flavorNamed('admins-flavor'));

    await asMember(['stack', 'delete', '--yes', 'flavorstack']);
    const s = await settled('flavorstack');
    assert.equal(s.stack_status, 'DELETE_FAILED', 'the member may not delete a flavor');
    assert.ok(await flavorNamed('admins-flavor'), 'the admin\'s flavor is still there');

    // The admin can.
    const del = await t.request('DELETE', `${H()}/stacks/flavorstack/${s.id}`, { token: admin });
    assert.equal(del.status, 204, del.text);
    assert.equal((await settled('flavorstack')).stack_status, 'GONE');
    assert.equal(await flavorNamed('admins-flavor'), undefined);
  });

  it('work after the request stops when its user loses the role', async () => {
    const file = path.join(t.dataDir, 'slow.yaml');
    fs.writeFileSync(file, template({
      wait: { type: 'OS::Heat::TestResource', properties: { action_wait_secs: { create: 20 } } },
      key: { type: 'OS::Nova::KeyPair', depends_on: ['wait'], properties: { name: 'made-after-revoke' } },
    }));
    // Through the API, so that the role goes while the create is surely still under way.
    const auth = await t.request('POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { id: memberId, password: 'member-secret-pw' } } }, scope: { project: { id: adminProject } } } },
    });
    assert.equal(auth.status, 201, auth.text);
    const created = await t.request('POST', `${H()}/stacks`, { token: auth.headers.get('x-subject-token')!, body: { stack_name: 'memberstack', template: JSON.parse(fs.readFileSync(file, 'utf8')), disable_rollback: false } });
    assert.equal(created.status, 201, created.text);
    const revoke = await t.request('DELETE', `/identity/v3/projects/${adminProject}/users/${memberId}/roles/${memberRole}`, { token: admin });
    assert.equal(revoke.status, 204, revoke.text);
    const s = await settled('memberstack');
    assert.match(s.stack_status, /FAILED|ROLLBACK/, `the create cannot go on without the role: ${s.stack_status}`);
    assert.notEqual(s.stack_status, 'CREATE_COMPLETE');
    const events = (await t.request('GET', `${H()}/stacks/memberstack/${s.id}/events?resource_name=key`, { token: admin })).body.events as { resource_status: string; resource_status_reason: string }[];
    assert.ok(!events.some((e) => e.resource_status === 'CREATE_COMPLETE'), 'no key pair was made after the role was gone');
    // Granted again, the member can delete what is left.
    const grant = await t.request('PUT', `/identity/v3/projects/${adminProject}/users/${memberId}/roles/${memberRole}`, { token: admin });
    assert.equal(grant.status, 204);
    await asMember(['stack', 'delete', '--yes', '--wait', 'memberstack']);
    assert.equal((await settled('memberstack')).stack_status, 'GONE');
  });
});
