// Heat v1 API and engine on a real cloud with Heat's own resource types: create with parallel and
// chained resources, outputs and attributes, rollback, update in place and by replacement, nested
// stacks, suspend/resume/check, tenancy, and the errors bad templates get.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import http from 'node:http';

describe('orchestration API', () => {
  let t: TestCloud;
  let demo: string;
  let project: string;
  const H = () => `/orchestration/v1/${project}`;

  const create = (body: Record<string, unknown>, token = demo, tenant = project) => t.request('POST', `/orchestration/v1/${tenant}/stacks`, { token, body });
  const show = async (name: string, token = demo) => {
    const r = await t.request('GET', `${H()}/stacks/${name}`, { token });
    return r;
  };
  const settled = (name: string, token = demo) =>
    waitFor(`${name} settled`, async () => {
      const r = await show(name, token);
      if (r.status === 404) return { stack_status: 'GONE' } as Record<string, any>;
      return r.body.stack.stack_status.endsWith('IN_PROGRESS') ? undefined : r.body.stack;
    });

  before(async () => {
    ({ t } = await startComputeCloud('orchestration-api'));
    demo = await t.token('demo');
    const tok = await t.request('GET', '/identity/v3/auth/tokens', { token: demo, headers: { 'x-subject-token': demo } });
    project = tok.body.token.project.id;
  });
  after(async () => {
    await t?.close();
  });

  it('answers version discovery at its root', async () => {
    const r = await t.request('GET', '/orchestration/');
    assert.equal(r.status, 300);
    assert.equal(r.body.versions[0].id, 'v1.0');
  });

  it('creates independent and chained resources, with outputs from attributes', async () => {
    const r = await create({
      stack_name: 'basic',
      template: {
        heat_template_version: '2021-04-16',
        parameters: { greeting: { type: 'string', default: 'hello' }, secret: { type: 'string', hidden: true, default: 'x' } },
        resources: {
          a: { type: 'OS::Heat::Value', properties: { value: { get_param: 'greeting' } } },
          b: { type: 'OS::Heat::Value', properties: { value: { str_replace: { template: '$x world', params: { $x: { get_attr: ['a', 'value'] } } } } } },
          pw: { type: 'OS::Heat::RandomString', properties: { length: 12, character_classes: [{ class: 'digits', min: 2 }] } },
          n: { type: 'OS::Heat::None', depends_on: ['b'] },
        },
        outputs: { phrase: { value: { get_attr: ['b', 'value'] } }, pw: { value: { get_attr: ['pw', 'value'] } }, ref: { value: { get_resource: 'pw' } } },
      },
      parameters: { greeting: 'hi' },
    });
    assert.equal(r.status, 201, r.text);
    assert.match(r.body.stack.links[0].href, /\/stacks\/basic\//);
    const s = await settled('basic');
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const out = Object.fromEntries(s.outputs.map((o: any) => [o.output_key, o.output_value]));
    assert.equal(out.phrase, 'hi world');
    assert.equal(out.pw.length, 12);
    assert.equal(out.pw, out.ref);
    assert.ok((out.pw.match(/\d/g) ?? []).length >= 2);
    assert.equal(s.parameters.secret, '******');
    const res = await t.request('GET', `${H()}/stacks/basic/${s.id}/resources`, { token: demo });
    assert.equal(res.body.resources.length, 4);
    assert.ok(res.body.resources.every((x: any) => x.resource_status === 'CREATE_COMPLETE'));
    assert.deepEqual(res.body.resources.find((x: any) => x.resource_name === 'a').required_by, ['b']);
    const ev = await t.request('GET', `${H()}/stacks/basic/events`, { token: demo });
    assert.equal(ev.status, 200);
    assert.equal(ev.body.events.at(-1).resource_status, 'CREATE_COMPLETE');
    assert.equal(ev.body.events.at(-1).resource_name, 'basic');
  });

  it('rolls back a failed create unless rollback is disabled', async () => {
    const template = {
      heat_template_version: '2016-10-14',
      resources: { ok: { type: 'OS::Heat::TestResource' }, bad: { type: 'OS::Heat::TestResource', properties: { fail: true }, depends_on: 'ok' } },
    };
    assert.equal((await create({ stack_name: 'rb', template, disable_rollback: false })).status, 201);
    const s = await settled('rb');
    assert.equal(s.stack_status, 'ROLLBACK_COMPLETE');
    const res = await t.request('GET', `${H()}/stacks/rb/${s.id}/resources`, { token: demo });
    assert.equal(res.body.resources.length, 0);
    assert.equal((await create({ stack_name: 'norb', template })).status, 201);
    const n = await settled('norb');
    assert.equal(n.stack_status, 'CREATE_FAILED');
    assert.match(n.stack_status_reason, /Resource CREATE failed: .*resources\.bad: Test Resource failed/);
  });

  it('updates in place, replaces, adds and removes, and previews the changes', async () => {
    const v1 = { heat_template_version: '2021-04-16', resources: { keep: { type: 'OS::Heat::TestResource', properties: { value: 'one' } }, swap: { type: 'OS::Heat::TestResource', properties: { value: 'a', update_replace: true } }, gone: { type: 'OS::Heat::None' } }, outputs: { keep: { value: { get_attr: ['keep', 'output'] } } } };
    assert.equal((await create({ stack_name: 'upd', template: v1 })).status, 201);
    const s1 = await settled('upd');
    assert.equal(s1.stack_status, 'CREATE_COMPLETE');
    const before = (await t.request('GET', `${H()}/stacks/upd/${s1.id}/resources`, { token: demo })).body.resources;
    const id = (n: string) => before.find((r: any) => r.resource_name === n).physical_resource_id;
    const v2 = { heat_template_version: '2021-04-16', resources: { keep: { type: 'OS::Heat::TestResource', properties: { value: 'two' } }, swap: { type: 'OS::Heat::TestResource', properties: { value: 'b', update_replace: true } }, added: { type: 'OS::Heat::None' } }, outputs: { keep: { value: { get_attr: ['keep', 'output'] } } } };
    const preview = await t.request('PUT', `${H()}/stacks/upd/${s1.id}/preview`, { token: demo, body: { template: v2 } });
    assert.equal(preview.status, 200, preview.text);
    const names = (k: string) => preview.body.resource_changes[k].map((r: any) => r.resource_name).sort();
    assert.deepEqual(names('added'), ['added']);
    assert.deepEqual(names('deleted'), ['gone']);
    assert.deepEqual(names('updated'), ['keep', 'swap']);
    const up = await t.request('PUT', `${H()}/stacks/upd/${s1.id}`, { token: demo, body: { template: v2 } });
    assert.equal(up.status, 202, up.text);
    const s2 = await settled('upd');
    assert.equal(s2.stack_status, 'UPDATE_COMPLETE', s2.stack_status_reason);
    assert.equal(s2.outputs[0].output_value, 'two');
    const after2 = (await t.request('GET', `${H()}/stacks/upd/${s1.id}/resources`, { token: demo })).body.resources;
    const id2 = (n: string) => after2.find((r: any) => r.resource_name === n)?.physical_resource_id;
    assert.equal(id2('keep'), id('keep'), 'updated in place');
    assert.notEqual(id2('swap'), id('swap'), 'replaced');
    assert.equal(id2('gone'), undefined);
    assert.ok(id2('added') !== undefined);
    // PATCH keeps the template and changes only a parameter-free property? here: a failed update rolls back
    const bad = { heat_template_version: '2021-04-16', resources: { keep: { type: 'OS::Heat::TestResource', properties: { value: 'three', fail: true } } } };
    await t.request('PATCH', `${H()}/stacks/upd/${s1.id}`, { token: demo, body: { template: bad, disable_rollback: false } });
    const s3 = await settled('upd');
    assert.equal(s3.stack_status, 'ROLLBACK_COMPLETE', s3.stack_status_reason);
    const after3 = (await t.request('GET', `${H()}/stacks/upd/${s1.id}/resources`, { token: demo })).body.resources.map((r: any) => r.resource_name).sort();
    assert.deepEqual(after3, ['added', 'keep', 'swap']);
  });

  it('runs nested stacks from provider templates and resource groups', async () => {
    const child = 'heat_template_version: 2021-04-16\nparameters:\n  word: {type: string}\nresources:\n  v: {type: OS::Heat::Value, properties: {value: {get_param: word}}}\noutputs:\n  echoed: {value: {get_attr: [v, value]}}\n';
    const r = await create({
      stack_name: 'nest',
      template: {
        heat_template_version: '2021-04-16',
        resources: {
          p: { type: 'My::Echo', properties: { word: 'deep' } },
          g: { type: 'OS::Heat::ResourceGroup', properties: { count: 3, resource_def: { type: 'OS::Heat::Value', properties: { value: 'item-%index%' } } } },
        },
        outputs: { echoed: { value: { get_attr: ['p', 'echoed'] } }, items: { value: { get_attr: ['g', 'value'] } }, second: { value: { get_attr: ['g', 'resource.1.value'] } } },
      },
      files: { 'file:///tmp/echo.yaml': child },
      environment: { resource_registry: { 'My::Echo': 'file:///tmp/echo.yaml' } },
    });
    assert.equal(r.status, 201, r.text);
    const s = await settled('nest');
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const out = Object.fromEntries(s.outputs.map((o: any) => [o.output_key, o.output_value]));
    assert.equal(out.echoed, 'deep');
    assert.deepEqual(out.items, ['item-0', 'item-1', 'item-2']);
    assert.equal(out.second, 'item-1');
    const nested = await t.request('GET', `${H()}/stacks/nest/${s.id}/resources?nested_depth=1`, { token: demo });
    assert.equal(nested.body.resources.length, 2 + 1 + 3);
    const del = await t.request('DELETE', `${H()}/stacks/nest/${s.id}`, { token: demo });
    assert.equal(del.status, 204);
    assert.equal((await settled('nest')).stack_status, 'GONE');
    const all = await t.request('GET', `${H()}/stacks?show_nested=true`, { token: demo });
    assert.ok(!all.body.stacks.some((x: any) => x.stack_name.startsWith('nest')), 'nested stacks deleted with the parent');
  });

  it('fetches template_url from loopback only', async () => {
    const server = http.createServer((_req, res) => res.end('heat_template_version: 2021-04-16\nresources:\n  v: {type: OS::Heat::Value, properties: {value: fetched}}\noutputs:\n  v: {value: {get_attr: [v, value]}}\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      assert.equal((await create({ stack_name: 'byurl', template_url: `http://127.0.0.1:${port}/t.yaml` })).status, 201);
      const s = await settled('byurl');
      assert.equal(s.outputs[0].output_value, 'fetched');
      const far = await create({ stack_name: 'far', template_url: 'http://192.0.2.1/t.yaml' });
      assert.equal(far.status, 400);
      assert.match(far.body.error.message, /only loopback addresses/);
    } finally {
      server.close();
    }
  });

  it('fails a create that outlives its timeout, and rolls it back when asked', async () => {
    const template = { heat_template_version: '2021-04-16', resources: { slow: { type: 'OS::Heat::TestResource', properties: { action_wait_secs: { create: 300 } } }, quick: { type: 'OS::Heat::None' } } };
    assert.equal((await create({ stack_name: 'slow', template, timeout_mins: 1, disable_rollback: false })).status, 201);
    const started = Date.now();
    const s = await waitFor('rolled back after the timeout', async () => {
      const r = await show('slow');
      if (Date.now() - started > 100_000) throw new Error(`stuck: ${r.body.stack.stack_status} ${r.body.stack.stack_status_reason}`);
      return ['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED'].includes(r.body.stack.stack_status) ? r.body.stack : undefined;
    }, 120_000);
    assert.equal(s.stack_status, 'ROLLBACK_COMPLETE');
    assert.ok(Date.now() - started >= 55_000, 'not before the minute');
    const events = (await t.request('GET', `${H()}/stacks/slow/${s.id}/events`, { token: demo })).body.events;
    assert.ok(events.some((e: any) => e.resource_name === 'slow' && e.resource_status === 'CREATE_FAILED' && /timed out/.test(e.resource_status_reason)), JSON.stringify(events.map((e: any) => [e.resource_name, e.resource_status, e.resource_status_reason])));
    assert.equal((await t.request('GET', `${H()}/stacks/slow/${s.id}/resources`, { token: demo })).body.resources.length, 0);
  });

  it('deletes a stack whose stored template no longer builds', async () => {
    assert.equal((await create({ stack_name: 'stale', template: { heat_template_version: '2021-04-16', resources: { a: { type: 'OS::Heat::Value', properties: { value: 1 } }, b: { type: 'OS::Heat::None' } } } })).status, 201);
    const s = await settled('stale');
    assert.equal(s.stack_status, 'CREATE_COMPLETE');
    // As after an upgrade that dropped a type: the stored template names one that no longer exists.
    await t.cloud.orchestration.service.store.updateStack(s.id, { template: JSON.stringify({ heat_template_version: '2021-04-16', resources: { a: { type: 'OS::Gone::Type' }, b: { type: 'OS::Heat::None' } } }) });
    assert.equal((await t.request('DELETE', `${H()}/stacks/stale/${s.id}`, { token: demo })).status, 204);
    assert.equal((await settled('stale')).stack_status, 'GONE');
  });

  it('suspends, resumes and checks', async () => {
    assert.equal((await create({ stack_name: 'src', template: { heat_template_version: '2021-04-16', resources: { a: { type: 'OS::Heat::None' } } } })).status, 201);
    const s = await settled('src');
    for (const [action, want] of [['suspend', 'SUSPEND_COMPLETE'], ['resume', 'RESUME_COMPLETE'], ['check', 'CHECK_COMPLETE']] as const) {
      const r = await t.request('POST', `${H()}/stacks/src/${s.id}/actions`, { token: demo, body: { [action]: null } });
      assert.equal(r.status, 200, r.text);
      assert.equal((await settled('src')).stack_status, want);
    }
  });

  it('refuses bad templates with the path of the offending element, and creates nothing', async () => {
    const bad = async (template: unknown, pattern: RegExp, extra: Record<string, unknown> = {}) => {
      const r = await create({ stack_name: 'badtpl', template, ...extra });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.code, 400);
      assert.match(r.body.error.message, pattern);
      assert.equal(r.body.error.type, 'StackValidationFailed');
      assert.equal((await show('badtpl')).status, 404);
    };
    await bad('heat_template_version: 2021-04-16\nresources: [oops', /Error parsing template/);
    await bad({ heat_template_version: '2021-04-16', resources: { x: { type: 'OS::Nope::Thing' } } }, /resources\.x: The Resource Type \(OS::Nope::Thing\) could not be found/);
    await bad({ heat_template_version: '2021-04-16', resources: { w: { type: 'OS::Heat::WaitCondition', properties: { timeout: 5 } } } }, /resources\.w\.properties: Property handle not assigned/);
    await bad({ heat_template_version: '2021-04-16', resources: { r: { type: 'OS::Heat::RandomString', properties: { length: 'long' } } } }, /resources\.r\.properties\.length: Value 'long' is not an integer/);
    await bad({ heat_template_version: '2021-04-16', resources: { a: { type: 'OS::Heat::Value', properties: { value: 1 } } }, outputs: { o: { value: { get_attr: ['a', 'nope'] } } } }, /outputs\.o\.value\.get_attr: The Referenced Attribute \(a nope\) is incorrect/);
    await bad({ heat_template_version: '2021-04-16', resources: { a: { type: 'OS::Heat::Value', properties: { value: { get_resource: 'missing' } } } } }, /The specified reference "missing"/);
    await bad({ heat_template_version: '2021-04-16', resources: { a: { type: 'OS::Heat::None', depends_on: 'b' }, b: { type: 'OS::Heat::None', depends_on: 'a' } } }, /Circular Dependency Found: (a -> b -> a|b -> a -> b)/);
    await bad({ heat_template_version: '2021-04-16', parameters: { n: { type: 'number', constraints: [{ range: { min: 1, max: 3 } }] } }, resources: {} }, /Parameter 'n' is invalid: 7 is out of range/, { parameters: { n: 7 } });
    await bad({ heat_template_version: '2021-04-16', resources: { big: { type: 'OS::Heat::Value', properties: { value: 'x'.repeat(600_000) } } } }, /exceeds maximum/);
    const deep = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}.yaml`, `heat_template_version: 2021-04-16\nresources:\n  x: {type: f${i + 1}.yaml}\n`]));
    await bad({ heat_template_version: '2021-04-16', resources: { x: { type: 'f0.yaml' } } }, /Recursion depth exceeds 5/, { files: { ...deep(8), 'f8.yaml': 'heat_template_version: 2021-04-16\n' } });
    const dup = await create({ stack_name: 'basic', template: { heat_template_version: '2021-04-16' } });
    assert.equal(dup.status, 409);
  });

  it('keeps other projects out', async () => {
    const other = await memberOfNewProject(t, 'heat-other');
    const lookup = await fetch(`${t.url}${H()}/stacks/basic`, { headers: { 'x-auth-token': demo }, redirect: 'manual' });
    assert.equal(lookup.status, 302);
    const location = lookup.headers.get('location')!;
    assert.match(location, /\/stacks\/basic\/[0-9a-f-]{36}$/);
    assert.equal((await t.request('GET', `/orchestration/v1/${other.projectId}/stacks/basic`, { token: other.token })).status, 404);
    assert.equal((await t.request('GET', `/orchestration/v1/${other.projectId}/stacks`, { token: other.token })).body.stacks.length, 0);
    assert.equal((await t.request('GET', `/orchestration/v1/${project}/stacks`, { token: other.token })).status, 404);
    const id = location.split('/').pop();
    assert.equal((await t.request('DELETE', `/orchestration/v1/${other.projectId}/stacks/basic/${id}`, { token: other.token })).status, 404);
    assert.equal((await t.request('GET', `/orchestration/v1/${other.projectId}/stacks/${id}`, { token: other.token })).status, 404);
  });

  it('answers as Heat does: Location of a new stack, validate without parameter values, type templates, JSON without charset', async () => {
    const r = await create({ stack_name: 'located', template: { heat_template_version: '2021-04-16', resources: { n: { type: 'OS::Heat::None' } } } });
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.get('location') ?? '', new RegExp(`/orchestration/v1/${project}/stacks/located/${r.body.stack.id}$`));
    assert.equal(r.headers.get('content-type'), 'application/json');
    await settled('located');
    const v = await t.request('POST', `${H()}/validate`, { token: demo, body: { template: { heat_template_version: '2021-04-16', parameters: { size: { type: 'number' } }, resources: { v: { type: 'OS::Heat::Value', properties: { value: { get_param: 'size' } } } } } } });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.body.Parameters.size.Type, 'number');
    const tt = await t.request('GET', `${H()}/resource_types/OS::Nova::Server/template?template_type=hot`, { token: demo });
    assert.equal(tt.status, 200, tt.text);
    assert.deepEqual(Object.keys(tt.body.resources), ['Server']);
    assert.deepEqual(tt.body.outputs.name.value, { get_attr: ['Server', 'name'] });
    const bad = await t.request('POST', `${H()}/stacks/located/actions`, { token: demo, body: { suspend: null, resume: null } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.headers.get('content-type'), 'application/json');
  });
});
