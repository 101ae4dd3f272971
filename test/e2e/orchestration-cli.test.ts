// Orchestration through Debian's real `openstack` CLI (python3-heatclient) with Heat's own resource
// types: create from a template, an environment and a provider template heatclient uploads in
// `files`, show, list, outputs, resources (nested too), events, update, suspend/resume/check,
// validation, resource types, template versions, a CFN template, a failed create, and delete.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startComputeCloud } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';

const TEMPLATE = `heat_template_version: 2021-04-16
description: The CLI's stack
parameters:
  greeting: {type: string, default: hello}
  count: {type: number, default: 2}
  secret: {type: string, hidden: true, default: s3cret}
resources:
  a:
    type: OS::Heat::Value
    properties: {value: {get_param: greeting}}
  pw:
    type: OS::Heat::RandomString
    properties: {length: 10, character_classes: [{class: digits, min: 3}]}
  test:
    type: OS::Heat::TestResource
    properties: {value: {str_replace: {template: $g world, params: {$g: {get_attr: [a, value]}}}}}
  after:
    type: OS::Heat::None
    depends_on: test
  grp:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      resource_def: {type: OS::Heat::Value, properties: {value: item-%index%}}
  echo:
    type: My::Echo
    properties: {word: {get_param: greeting}}
outputs:
  phrase: {value: {get_attr: [test, output]}, description: the phrase}
  pw: {value: {get_attr: [pw, value]}}
  items: {value: {get_attr: [grp, value]}}
  echoed: {value: {get_attr: [echo, echoed]}}
`;

const NESTED = `heat_template_version: 2021-04-16
parameters:
  word: {type: string}
resources:
  v: {type: OS::Heat::Value, properties: {value: {get_param: word}}}
outputs:
  echoed: {value: {get_attr: [v, value]}}
`;

const ENV = `parameters:
  count: 3
resource_registry:
  My::Echo: echo.yaml
`;

const CFN = `AWSTemplateFormatVersion: '2010-09-09'
Description: A CFN stack
Parameters:
  Word: {Type: String, Default: alpha}
Resources:
  First:
    Type: OS::Heat::RandomString
    Properties: {length: 8}
  Joined:
    Type: OS::Heat::Value
    Properties:
      value:
        Fn::Join: ['-', [{Ref: Word}, {Ref: First}, {'Fn::GetAtt': [First, value]}]]
Outputs:
  Joined:
    Description: joined
    Value: {'Fn::GetAtt': [Joined, value]}
  FirstRef:
    Value: {Ref: First}
`;

const FAILING = `heat_template_version: 2021-04-16
resources:
  ok: {type: OS::Heat::TestResource}
  bad: {type: OS::Heat::TestResource, properties: {fail: true}, depends_on: ok}
`;

describe('orchestration through the openstack CLI', () => {
  let t: TestCloud;
  const file = (name: string) => path.join(t.dataDir, name);
  const os = (args: string[]) => t.openstack(args);
  const json = async (args: string[]) => JSON.parse(await os([...args, '-f', 'json']));
  const outputs = async (stack: string) => Object.fromEntries((await json(['stack', 'show', stack])).outputs.map((o: { output_key: string; output_value: unknown }) => [o.output_key, o.output_value]));

  before(async () => {
    ({ t } = await startComputeCloud('orchestration-cli'));
    fs.writeFileSync(file('t.yaml'), TEMPLATE);
    fs.writeFileSync(file('echo.yaml'), NESTED);
    fs.writeFileSync(file('env.yaml'), ENV);
    fs.writeFileSync(file('cfn.yaml'), CFN);
    fs.writeFileSync(file('failing.yaml'), FAILING);
  });
  after(async () => {
    await t?.close();
  });

  it('validates a template with its environment, and lists resource types and template versions', async () => {
    const v = await json(['orchestration', 'template', 'validate', '-t', file('t.yaml'), '-e', file('env.yaml')]);
    assert.equal(v.Description, "The CLI's stack");
    assert.equal(v.Parameters.greeting.Default, 'hello');
    assert.equal(v.Parameters.count.Value, 3, 'the environment parameter');
    assert.equal(v.Parameters.secret.NoEcho, 'true');
    assert.match(v.Environment.resource_registry['My::Echo'], /^file:\/\/.*\/echo\.yaml$/);
    await assert.rejects(os(['orchestration', 'template', 'validate', '-t', file('echo.yaml'), '-e', file('env.yaml'), '--parameter', 'nope=1']), /nope|not.*valid|Parameter/i);

    const types = (await json(['orchestration', 'resource', 'type', 'list'])).map((r: Record<string, string>) => r['Resource Type']);
    for (const ty of ['OS::Heat::Value', 'OS::Heat::RandomString', 'OS::Heat::TestResource', 'OS::Heat::None', 'OS::Heat::ResourceGroup']) assert.ok(types.includes(ty), ty);
    const filtered = (await json(['orchestration', 'resource', 'type', 'list', '--filter', 'name=Random'])).map((r: Record<string, string>) => r['Resource Type']);
    assert.deepEqual(filtered, ['OS::Heat::RandomString']);
    const shown = await json(['orchestration', 'resource', 'type', 'show', 'OS::Heat::RandomString']);
    assert.equal(shown.resource_type, 'OS::Heat::RandomString');
    assert.equal(shown.properties.length.type, 'integer');
    assert.ok('value' in shown.attributes);

    const versions = (await json(['orchestration', 'template', 'version', 'list'])).map((r: Record<string, string>) => r.Version);
    assert.ok(versions.includes('heat_template_version.2021-04-16'), versions.join(' '));
    assert.ok(versions.includes('AWSTemplateFormatVersion.2010-09-09'));
  });

  it('creates a stack with a provider template from the environment and waits for it', async () => {
    const out = await os(['stack', 'create', '-t', file('t.yaml'), '-e', file('env.yaml'), '--parameter', 'greeting=hi', '--wait', '--poll', '1', 'cli', '-f', 'json']);
    // --wait prints the events, then the stack.
    assert.match(out, /\[cli\]: CREATE_COMPLETE {2}Stack CREATE completed successfully/);
    const created = JSON.parse(out.slice(out.indexOf('\n{') + 1));
    assert.equal(created.stack_status, 'CREATE_COMPLETE');

    const list = await json(['stack', 'list']);
    assert.deepEqual(list.map((s: Record<string, string>) => [s['Stack Name'], s['Stack Status']]), [['cli', 'CREATE_COMPLETE']]);

    const s = await json(['stack', 'show', 'cli']);
    assert.equal(s.id, created.id);
    assert.equal(s.description, "The CLI's stack");
    assert.equal(s.parameters.greeting, 'hi');
    assert.equal(s.parameters.count, '3');
    assert.equal(s.parameters.secret, '******');
    assert.equal((await json(['stack', 'show', '--no-resolve-outputs', 'cli'])).outputs, undefined);
    const out2 = await outputs('cli');
    assert.equal(out2.phrase, 'hi world');
    assert.deepEqual(out2.items, ['item-0', 'item-1', 'item-2']);
    assert.equal(out2.echoed, 'hi');
    assert.equal(String(out2.pw).length, 10);
    assert.ok((String(out2.pw).match(/\d/g) ?? []).length >= 3);

    const keys = (await json(['stack', 'output', 'list', 'cli'])).map((o: { output_key: string }) => o.output_key).sort();
    assert.deepEqual(keys, ['echoed', 'items', 'phrase', 'pw']);
    const phrase = await json(['stack', 'output', 'show', 'cli', 'phrase']);
    assert.deepEqual([phrase.output_value, phrase.description], ['hi world', 'the phrase']);
    const all = await json(['stack', 'output', 'show', 'cli', '--all']);
    assert.equal(JSON.parse(all.items).output_value.length, 3);

    const tpl = await json(['stack', 'template', 'show', 'cli']);
    assert.equal(tpl.heat_template_version, '2021-04-16');
    assert.deepEqual(Object.keys(tpl.resources).sort(), ['a', 'after', 'echo', 'grp', 'pw', 'test']);
  });

  it('lists resources (nested too), shows one, and lists events', async () => {
    const res = await json(['stack', 'resource', 'list', 'cli']);
    assert.deepEqual(res.map((r: Record<string, string>) => r.resource_name).sort(), ['a', 'after', 'echo', 'grp', 'pw', 'test']);
    assert.ok(res.every((r: Record<string, string>) => r.resource_status === 'CREATE_COMPLETE'));
    assert.match(res.find((r: Record<string, string>) => r.resource_name === 'echo').resource_type, /^file:\/\/.*echo\.yaml$/);

    const nested = await json(['stack', 'resource', 'list', '--nested-depth', '1', 'cli']);
    const names = nested.map((r: Record<string, string>) => `${r.stack_name.startsWith('cli-') ? r.stack_name.replace(/-[a-z0-9]+$/, '') : r.stack_name}/${r.resource_name}`).sort();
    assert.deepEqual(names, ['cli-echo/v', 'cli-grp/0', 'cli-grp/1', 'cli-grp/2', 'cli/a', 'cli/after', 'cli/echo', 'cli/grp', 'cli/pw', 'cli/test']);

    const a = await json(['stack', 'resource', 'show', 'cli', 'a']);
    assert.equal(a.resource_type, 'OS::Heat::Value');
    assert.equal(a.resource_status, 'CREATE_COMPLETE');
    assert.deepEqual(a.attributes, { value: 'hi' });
    assert.deepEqual(a.required_by, ['test']);
    // A nested stack's resource links to it by the nested stack's own name and id.
    const grp = await json(['stack', 'resource', 'show', 'cli', 'grp']);
    const nestedHref = grp.links.find((l: { rel: string }) => l.rel === 'nested').href as string;
    const nestedStack = await json(['stack', 'show', nestedHref.split('/stacks/')[1]!]);
    assert.equal(nestedStack.id, grp.physical_resource_id);
    assert.match(nestedStack.stack_name, /^cli-grp-/);

    const events = await json(['stack', 'event', 'list', 'cli']);
    assert.deepEqual([events[0].resource_name, events[0].resource_status], ['cli', 'CREATE_IN_PROGRESS']);
    assert.deepEqual([events.at(-1).resource_name, events.at(-1).resource_status], ['cli', 'CREATE_COMPLETE']);
    const forA = events.filter((e: Record<string, string>) => e.resource_name === 'a').map((e: Record<string, string>) => e.resource_status);
    assert.deepEqual(forA, ['CREATE_IN_PROGRESS', 'CREATE_COMPLETE']);
    const one = await json(['stack', 'event', 'show', 'cli', 'a', events.find((e: Record<string, string>) => e.resource_name === 'a').id]);
    assert.equal(one.resource_status, 'CREATE_IN_PROGRESS');
    const deep = await json(['stack', 'event', 'list', '--nested-depth', '1', 'cli']);
    assert.ok(deep.some((e: Record<string, string>) => e.resource_name === 'v'), 'events of the nested stacks');
  });

  it('updates with --existing and new parameters', async () => {
    const before = await json(['stack', 'resource', 'show', 'cli', 'test']);
    // `stack update` has --wait but no --poll in this heatclient.
    const out = await os(['stack', 'update', '--existing', '--parameter', 'greeting=yo', '--parameter', 'count=1', '--wait', 'cli', '-f', 'json']);
    assert.match(out, /\[cli\]: UPDATE_COMPLETE {2}Stack UPDATE completed successfully/);
    const s = await json(['stack', 'show', 'cli']);
    assert.equal(s.stack_status, 'UPDATE_COMPLETE');
    assert.equal(s.parameters.greeting, 'yo');
    const o = await outputs('cli');
    assert.equal(o.phrase, 'yo world');
    assert.deepEqual(o.items, ['item-0']);
    assert.equal(o.echoed, 'yo');
    const afterUpdate = await json(['stack', 'resource', 'show', 'cli', 'test']);
    assert.equal(afterUpdate.physical_resource_id, before.physical_resource_id, 'TestResource value is updated in place');
    assert.equal(afterUpdate.resource_status, 'UPDATE_COMPLETE');
    const nested = await json(['stack', 'resource', 'list', '--nested-depth', '1', 'cli']);
    assert.equal(nested.filter((r: Record<string, string>) => r.stack_name.startsWith('cli-grp-')).length, 1);
  });

  it('suspends, resumes and checks, waiting for each', async () => {
    for (const [action, want] of [['suspend', 'SUSPEND_COMPLETE'], ['resume', 'RESUME_COMPLETE'], ['check', 'CHECK_COMPLETE']] as const) {
      const out = await os(['stack', action, '--wait', 'cli', '-f', 'json']);
      const shown = JSON.parse(out.slice(out.indexOf('\n[') + 1));
      assert.equal(shown[0]['Stack Status'], want);
      assert.equal((await json(['stack', 'show', 'cli'])).stack_status, want);
      const res = await json(['stack', 'resource', 'list', 'cli']);
      assert.ok(res.every((r: Record<string, string>) => r.resource_status === want), `${action}: ${JSON.stringify(res)}`);
    }
  });

  it('creates a CFN template with Ref, Fn::Join and Fn::GetAtt', async () => {
    const v = await json(['orchestration', 'template', 'validate', '-t', file('cfn.yaml')]);
    assert.equal(v.Description, 'A CFN stack');
    assert.equal(v.Parameters.Word.Type, 'String');
    await os(['stack', 'create', '-t', file('cfn.yaml'), '--parameter', 'Word=beta', '--wait', '--poll', '1', 'cfn']);
    const s = await json(['stack', 'show', 'cfn']);
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const o = await outputs('cfn');
    assert.match(String(o.FirstRef), /^[A-Za-z0-9]{8}$/);
    assert.equal(o.Joined, `beta-${o.FirstRef}-${o.FirstRef}`);
    const joined = await json(['stack', 'output', 'show', 'cfn', 'Joined']);
    assert.equal(joined.description, 'joined');
    assert.equal((await json(['stack', 'template', 'show', 'cfn'])).AWSTemplateFormatVersion, '2010-09-09');
  });

  it('reports a failed create, and deletes stacks waiting for them to go', async () => {
    await assert.rejects(os(['stack', 'create', '-t', file('failing.yaml'), '--wait', '--poll', '1', 'broken']), /Stack broken CREATE_FAILED/);
    const b = await json(['stack', 'show', 'broken']);
    assert.equal(b.stack_status, 'CREATE_FAILED');
    assert.match(b.stack_status_reason, /resources\.bad: Test Resource failed/);
    const failed = await json(['stack', 'resource', 'list', '--filter', 'status=FAILED', 'broken']);
    assert.deepEqual(failed.map((r: Record<string, string>) => r.resource_name), ['bad']);
    assert.match(await os(['stack', 'failures', 'list', 'broken']), /broken\.bad:[\s\S]*status: CREATE_FAILED/);

    for (const name of ['cli', 'cfn', 'broken']) await os(['stack', 'delete', '--yes', '--wait', name]);
    assert.deepEqual(await json(['stack', 'list']), []);
    assert.deepEqual(await json(['stack', 'list', '--nested']), [], 'nested stacks went with their parents');
    await assert.rejects(os(['stack', 'show', 'cli']), /Stack not found: cli/);
  });
});
