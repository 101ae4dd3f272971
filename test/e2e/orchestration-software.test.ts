// Heat's software configuration API on a real engine through the real openstack CLI
// (python3-heatclient): software configs created, listed, shown and deleted; a deployment of a
// `script` config to a server runs in its container with its inputs as environment variables and
// reports deploy_stdout, deploy_stderr, deploy_status_code and its declared outputs; a failing
// script fails its deployment; another project sees and touches none of it; and a stack with
// OS::Heat::SoftwareConfig + OS::Heat::SoftwareDeployment on a server whose outputs the stack shows
// (and a StructuredConfig + StructuredDeployment whose derived config has its inputs substituted);
// a CloudConfig and a script in a MultipartMime given to a server as its user_data
// (SOFTWARE_CONFIG), and a SoftwareDeploymentGroup running one script on two servers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';

const SCRIPT = `#!/bin/sh
echo "Hello $name from $deploy_server_id during $deploy_action"
echo "a warning" >&2
printf 'result-%s' "$name" > "$heat_outputs_path.result"
id -u > /tmp/deployed-by
`;

const DEFINITION = `inputs:
  - name: name
    default: nobody
outputs:
  - name: result
`;

describe('Software configs and deployments', () => {
  let t: TestCloud;
  let dir: string;
  let serverId: string;
  const os = (args: string[]) => t.openstack(args);
  const json = async (args: string[]) => JSON.parse(await os([...args, '-f', 'json']));
  const settled = (id: string) =>
    waitFor(`deployment ${id}`, async () => {
      const d = await json(['software', 'deployment', 'show', '--long', id]);
      return d.status === 'IN_PROGRESS' ? undefined : d;
    }, 120_000);

  before(async () => {
    const c = await startComputeCloud('orchestration-software');
    t = c.t;
    dir = t.dataDir;
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', c.imageTar, 'bb']);
    serverId = (await json(['server', 'create', '--image', 'bb', '--flavor', 'm1.tiny', '--wait', 'box'])).id;
  });
  after(async () => {
    await t?.close();
  });

  it('runs a script config deployed to a server and reports its outputs, through the openstack CLI', async () => {
    fs.writeFileSync(path.join(dir, 'hello.sh'), SCRIPT);
    fs.writeFileSync(path.join(dir, 'hello.yaml'), DEFINITION);
    const config = await json(['software', 'config', 'create', '--config-file', path.join(dir, 'hello.sh'), '--definition-file', path.join(dir, 'hello.yaml'), '--group', 'script', 'hello']);
    assert.equal(config.name, 'hello');
    assert.equal(config.group, 'script');
    assert.equal(config.config, SCRIPT);
    assert.deepEqual(config.inputs, [{ name: 'name', type: 'String', description: null, default: 'nobody', replace_on_change: false }]);
    assert.deepEqual(config.outputs, [{ name: 'result', type: 'String', description: null, error_output: false }]);
    const listed = await json(['software', 'config', 'list']);
    assert.ok(listed.some((c: any) => c.id === config.id && c.name === 'hello' && c.group === 'script'), JSON.stringify(listed));
    const shown = await json(['software', 'config', 'show', config.id]);
    assert.equal(shown.config, SCRIPT);

    const created = await json(['software', 'deployment', 'create', '--config', config.id, '--server', serverId, '--input-value', 'name=world', '--signal-transport', 'NO_SIGNAL', '--action', 'CREATE', 'hello-world']);
    assert.equal(created.status, 'IN_PROGRESS');
    assert.equal(created.server_id, serverId);
    const done = await settled(created.id);
    assert.equal(done.status, 'COMPLETE', done.status_reason);
    assert.equal(done.output_values.deploy_stdout, `Hello world from ${serverId} during CREATE\n`);
    assert.equal(done.output_values.deploy_stderr, 'a warning\n');
    assert.equal(done.output_values.deploy_status_code, 0);
    assert.equal(done.output_values.result, 'result-world');
    const out = await os(['software', 'deployment', 'output', 'show', created.id, 'deploy_stdout']);
    assert.match(out, new RegExp(`Hello world from ${serverId} during CREATE`));
    assert.match(await os(['software', 'deployment', 'output', 'show', created.id, 'result']), /result: result-world/);
    const deployments = await json(['software', 'deployment', 'list', '--server', serverId]);
    assert.deepEqual(deployments.map((d: any) => [d.id, d.status]), [[created.id, 'COMPLETE']]);
    // The metadata a server's agent would read: the derived config with its inputs' values.
    const metadata = JSON.parse(await os(['software', 'deployment', 'metadata', 'show', serverId]));
    assert.equal(metadata.length, 1);
    assert.equal(metadata[0].group, 'script');
    assert.ok(metadata[0].inputs.some((i: any) => i.name === 'name' && i.value === 'world'), JSON.stringify(metadata[0].inputs));

    // A script that fails fails its deployment, with Heat's reason and its outputs.
    fs.writeFileSync(path.join(dir, 'fail.sh'), 'echo trying; echo broken >&2; exit 3\n');
    const failing = await json(['software', 'config', 'create', '--config-file', path.join(dir, 'fail.sh'), '--group', 'script', 'failing']);
    const failed = await settled((await json(['software', 'deployment', 'create', '--config', failing.id, '--server', serverId, '--signal-transport', 'NO_SIGNAL', 'failing'])).id);
    assert.equal(failed.status, 'FAILED');
    assert.equal(failed.status_reason, 'deploy_status_code : Deployment exited with non-zero status code: 3');
    assert.deepEqual(failed.output_values, { deploy_stdout: 'trying\n', deploy_stderr: 'broken\n', deploy_status_code: 3 });

    // Another project sees none of it and cannot run anything in this project's server.
    const stranger = await memberOfNewProject(t, 'software-stranger');
    const base = `/orchestration/v1/${stranger.projectId}`;
    for (const p of [`/software_configs/${config.id}`, `/software_deployments/${created.id}`]) {
      const r = await t.request('GET', `${base}${p}`, { token: stranger.token });
      assert.equal(r.status, 404, `${p}: ${r.text}`);
    }
    assert.deepEqual((await t.request('GET', `${base}/software_configs`, { token: stranger.token })).body.software_configs, []);
    assert.deepEqual((await t.request('GET', `${base}/software_deployments`, { token: stranger.token })).body.software_deployments, []);
    assert.deepEqual((await t.request('GET', `${base}/software_deployments/metadata/${serverId}`, { token: stranger.token })).body.metadata, []);
    for (const [method, p, body] of [
      ['PUT', `/software_deployments/${created.id}`, { status: 'IN_PROGRESS' }],
      ['DELETE', `/software_deployments/${created.id}`, undefined],
      ['DELETE', `/software_configs/${config.id}`, undefined],
    ] as const) {
      const r = await t.request(method, `${base}${p}`, { token: stranger.token, body });
      assert.equal(r.status, 404, `${method} ${p}: ${r.text}`);
    }
    const own = await t.request('POST', `${base}/software_configs`, { token: stranger.token, body: { name: 'evil', group: 'script', config: 'touch /tmp/stranger-was-here' } });
    assert.equal(own.status, 200, own.text);
    const onOurs = await t.request('POST', `${base}/software_deployments`, { token: stranger.token, body: { config_id: own.body.software_config.id, server_id: serverId, status: 'IN_PROGRESS' } });
    assert.equal(onOurs.status, 404, onOurs.text);
    const withOurConfig = await t.request('POST', `${base}/software_deployments`, { token: stranger.token, body: { config_id: config.id, server_id: serverId } });
    assert.equal(withOurConfig.status, 404, withOurConfig.text);
    // The path's project must be the token's.
    const token = await t.token('demo');
    assert.equal((await t.request('GET', `${base}/software_configs/${own.body.software_config.id}`, { token })).status, 404);
    fs.writeFileSync(path.join(dir, 'probe.sh'), 'test -e /tmp/stranger-was-here && echo yes || echo no\n');
    const probeConfig = await json(['software', 'config', 'create', '--config-file', path.join(dir, 'probe.sh'), '--group', 'script', 'probe']);
    const probe = await settled((await json(['software', 'deployment', 'create', '--config', probeConfig.id, '--server', serverId, '--signal-transport', 'NO_SIGNAL', 'probe'])).id);
    assert.equal(probe.output_values.deploy_stdout, 'no\n');

    // A bad body answers 400 in Heat's body.
    const project = (await json(['token', 'issue'])).project_id;
    const bad = await t.request('POST', `/orchestration/v1/${project}/software_deployments`, { token, body: { config_id: config.id, server_id: serverId, status: 'DONE' } });
    assert.equal(bad.status, 400, bad.text);
    assert.ok(bad.body.error, bad.text);

    // A config still deployed is not deleted; the CLI's deployment delete takes its derived config along.
    await assert.rejects(os(['software', 'config', 'delete', done.config_id]), /409|deployment|Unable/i);
    await os(['software', 'deployment', 'delete', created.id]);
    await assert.rejects(os(['software', 'deployment', 'show', created.id]), /not found/i);
    assert.equal((await t.request('GET', `/orchestration/v1/${project}/software_configs/${done.config_id}`, { token })).status, 404);
    await os(['software', 'config', 'delete', config.id]);
    await assert.rejects(os(['software', 'config', 'show', config.id]), /not found/i);
    await os(['server', 'delete', '--wait', serverId]);
  });

  it('deploys a SoftwareConfig to a server in a stack and shows its outputs as the stack\'s', async () => {
    const template = {
      heat_template_version: '2021-04-16',
      parameters: { who: { type: 'string', default: 'stack' } },
      resources: {
        server: { type: 'OS::Nova::Server', properties: { image: 'bb', flavor: 'm1.tiny' } },
        config: {
          type: 'OS::Heat::SoftwareConfig',
          properties: {
            group: 'script',
            inputs: [{ name: 'who' }],
            outputs: [{ name: 'greeting' }],
            config: '#!/bin/sh\necho "deploying for $who"\nprintf "hello %s" "$who" > "$heat_outputs_path.greeting"\n',
          },
        },
        deployment: {
          type: 'OS::Heat::SoftwareDeployment',
          properties: { config: { get_resource: 'config' }, server: { get_resource: 'server' }, input_values: { who: { get_param: 'who' } } },
        },
        // Structured data for a tool of its own (no script: nothing runs it, NO_SIGNAL does not wait).
        structured: {
          type: 'OS::Heat::StructuredConfig',
          properties: { config: { greeting: { get_input: 'who' }, server: { get_input: 'deploy_server_id' }, unknown: { get_input: 'nope' }, fixed: [1, 'two'] }, inputs: [{ name: 'who' }] },
        },
        structured_deployment: {
          type: 'OS::Heat::StructuredDeployment',
          properties: { config: { get_resource: 'structured' }, server: { get_resource: 'server' }, input_values: { who: { get_param: 'who' } }, signal_transport: 'NO_SIGNAL' },
        },
      },
      outputs: {
        greeting: { value: { get_attr: ['deployment', 'greeting'] } },
        stdout: { value: { get_attr: ['deployment', 'deploy_stdout'] } },
        code: { value: { get_attr: ['deployment', 'deploy_status_code'] } },
      },
    };
    const file = path.join(dir, 'software.yaml');
    fs.writeFileSync(file, JSON.stringify(template));
    await os(['stack', 'create', '-t', file, 'soft']);
    const shown = await waitFor('software stack', async () => {
      const s = await json(['stack', 'show', 'soft']);
      return s.stack_status.endsWith('IN_PROGRESS') ? undefined : s;
    }, 180_000);
    assert.equal(shown.stack_status, 'CREATE_COMPLETE', shown.stack_status_reason);
    const output = async (key: string) => (await json(['stack', 'output', 'show', 'soft', key])).output_value;
    assert.equal(await output('greeting'), 'hello stack');
    assert.equal(await output('stdout'), 'deploying for stack\n');
    assert.equal(String(await output('code')), '0');
    // The deployment is one of the API's, on the stack's server.
    const server = (await json(['stack', 'resource', 'show', 'soft', 'server'])).physical_resource_id;
    const deployments = await json(['software', 'deployment', 'list', '--server', server]);
    assert.equal(deployments.length, 2);
    const scriptDeployment = (await json(['stack', 'resource', 'show', 'soft', 'deployment'])).physical_resource_id;
    assert.equal(deployments.find((d: any) => d.id === scriptDeployment).status, 'COMPLETE');
    // The structured deployment's derived config has its inputs substituted (an unknown one kept, LAX).
    const metadata = JSON.parse(await os(['software', 'deployment', 'metadata', 'show', server]));
    const derived = metadata.find((m: any) => m.group === 'Heat::Ungrouped');
    assert.ok(derived, JSON.stringify(metadata));
    assert.deepEqual(JSON.parse(derived.config), { greeting: 'stack', server, unknown: { get_input: 'nope' }, fixed: [1, 'two'] });
    // A changed input deploys again (action UPDATE).
    await os(['stack', 'update', '--existing', '--parameter', 'who=update', '--wait', 'soft']);
    assert.equal((await json(['stack', 'show', 'soft'])).stack_status, 'UPDATE_COMPLETE');
    assert.equal(await output('greeting'), 'hello update');
    await os(['stack', 'delete', '--yes', '--wait', 'soft']);
    assert.deepEqual(await json(['software', 'deployment', 'list', '--server', server]), []);
  });

  it('gives a server a CloudConfig and a script as one MIME user_data, and deploys one script to two servers', async () => {
    const template = {
      heat_template_version: '2021-04-16',
      resources: {
        cloud: { type: 'OS::Heat::CloudConfig', properties: { cloud_config: { runcmd: ['echo from cloud-config'] } } },
        script: { type: 'OS::Heat::SoftwareConfig', properties: { group: 'script', config: '#!/bin/sh\necho "group member $deploy_server_id"\n' } },
        mime: {
          type: 'OS::Heat::MultipartMime',
          properties: { parts: [{ config: { get_resource: 'cloud' }, subtype: 'cloud-config' }, { config: '#!/bin/sh\necho literal\n', filename: 'boot.sh', subtype: 'x-shellscript' }] },
        },
        first: { type: 'OS::Nova::Server', properties: { image: 'bb', flavor: 'm1.tiny', user_data_format: 'SOFTWARE_CONFIG', user_data: { get_resource: 'mime' } } },
        second: { type: 'OS::Nova::Server', properties: { image: 'bb', flavor: 'm1.tiny' } },
        group: {
          type: 'OS::Heat::SoftwareDeploymentGroup',
          properties: { config: { get_resource: 'script' }, servers: { a: { get_resource: 'first' }, b: { get_resource: 'second' } } },
        },
      },
      outputs: {
        stdouts: { value: { get_attr: ['group', 'deploy_stdouts'] } },
        codes: { value: { get_attr: ['group', 'deploy_status_codes'] } },
        cloud: { value: { get_attr: ['cloud', 'config'] } },
      },
    };
    const file = path.join(dir, 'mime.yaml');
    fs.writeFileSync(file, JSON.stringify(template));
    await os(['stack', 'create', '--wait', '-t', file, 'mime']);
    const shown = await json(['stack', 'show', 'mime']);
    assert.equal(shown.stack_status, 'CREATE_COMPLETE', shown.stack_status_reason);
    const output = async (key: string) => (await json(['stack', 'output', 'show', 'mime', key])).output_value;
    const physical = async (name: string) => (await json(['stack', 'resource', 'show', 'mime', name])).physical_resource_id;
    const [first, second] = [await physical('first'), await physical('second')];
    assert.deepEqual(await output('stdouts'), { a: `group member ${first}\n`, b: `group member ${second}\n` });
    assert.deepEqual(Object.values(await output('codes')).map(String), ['0', '0']);
    assert.equal(await output('cloud'), '#cloud-config\nruncmd:\n  - echo from cloud-config\n');
    // The first server's user data is the MIME message: the cloud-config and the literal script, each a part.
    const admin = await t.token('admin');
    const server = (await t.request('GET', `/compute/v2.1/servers/${first}`, { token: admin, headers: { 'openstack-api-version': 'compute 2.3' } })).body.server;
    const userData = Buffer.from(server['OS-EXT-SRV-ATTR:user_data'], 'base64').toString('utf8');
    assert.match(userData, /^Content-Type: multipart\/mixed; boundary="/);
    assert.match(userData, /Content-Type: text\/cloud-config; charset="us-ascii"[\s\S]*\n\n#cloud-config\nruncmd:\n  - echo from cloud-config\n/);
    assert.match(userData, /Content-Type: text\/x-shellscript; charset="us-ascii"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\nContent-Disposition: attachment; filename="boot.sh"\n\n#!\/bin\/sh\necho literal\n/);
    // The group's deployments are the API's, one per server; deleting the stack removes them.
    assert.equal((await json(['software', 'deployment', 'list', '--server', second])).length, 1);
    await os(['stack', 'delete', '--yes', '--wait', 'mime']);
    assert.deepEqual(await json(['software', 'deployment', 'list', '--server', second]).catch(() => []), []);
  });
});
