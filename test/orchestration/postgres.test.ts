// Orchestration on PostgreSQL: the same migrations and engine writes as on SQLite (stacks, resources,
// events with a bigserial sequence), through create, nested stacks, update, outputs and delete.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { testPostgresUrl } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/compute.ts';

describe('orchestration on PostgreSQL', () => {
  let t: TestCloud;
  let token: string;
  let base: string;
  const settled = (name: string) =>
    waitFor(`${name} settled`, async () => {
      const r = await t.request('GET', `${base}/stacks/${name}`, { token });
      if (r.status === 404) return { stack_status: 'GONE' } as Record<string, any>;
      return r.body.stack.stack_status.endsWith('IN_PROGRESS') ? undefined : r.body.stack;
    });

  before(async () => {
    t = await startTestCloud('orch-pg', { HAFEN_DATABASE_URL: await testPostgresUrl(), HAFEN_DOCKER_HOSTS: 'unix:///nonexistent.sock' });
    token = await t.token('demo');
    const me = await t.request('GET', '/identity/v3/auth/tokens', { token, headers: { 'x-subject-token': token } });
    base = `/orchestration/v1/${me.body.token.project.id}`;
  });
  after(async () => {
    await t?.close();
  });

  it('creates, updates and deletes stacks with nested resources', async () => {
    const template = (count: number) => ({
      heat_template_version: '2021-04-16',
      resources: {
        g: { type: 'OS::Heat::ResourceGroup', properties: { count, resource_def: { type: 'OS::Heat::Value', properties: { value: 'v%index%' } } } },
        r: { type: 'OS::Heat::RandomString', properties: { length: 8 } },
        after: { type: 'OS::Heat::None', depends_on: ['g', 'r'] },
      },
      outputs: { values: { value: { get_attr: ['g', 'value'] } } },
    });
    const c = await t.request('POST', `${base}/stacks`, { token, body: { stack_name: 'pgstack', template: template(2) } });
    assert.equal(c.status, 201, c.text);
    let s = await settled('pgstack');
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    assert.deepEqual(s.outputs[0].output_value, ['v0', 'v1']);
    const u = await t.request('PATCH', `${base}/stacks/pgstack/${s.id}`, { token, body: { template: template(3) } });
    assert.equal(u.status, 202, u.text);
    s = await settled('pgstack');
    assert.equal(s.stack_status, 'UPDATE_COMPLETE', s.stack_status_reason);
    assert.deepEqual(s.outputs[0].output_value, ['v0', 'v1', 'v2']);
    const events = await t.request('GET', `${base}/stacks/pgstack/${s.id}/events`, { token });
    assert.ok(events.body.events.length >= 8);
    const seqOrdered = events.body.events.map((e: any) => e.event_time);
    assert.deepEqual(seqOrdered, [...seqOrdered].sort());
    const dup = await t.request('POST', `${base}/stacks`, { token, body: { stack_name: 'pgstack', template: template(1) } });
    assert.equal(dup.status, 409);
    assert.equal((await t.request('DELETE', `${base}/stacks/pgstack/${s.id}`, { token })).status, 204);
    assert.equal((await settled('pgstack')).stack_status, 'GONE');
  });
});
