// test: exclusive (floating IPs NAT through host-wide chains shared by every cloud on the machine)
// Docker containers as Heat resources on a real engine through the real openstack CLI: the classic
// two-container example (the app's env joined from the database's network_ip and logs_head, a
// published port answering from the host), the isolation refusals, and a Compose file deployed as a
// stack and deleted without leaving a container.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { engineClient } from '../../src/host/engine-client.ts';
import { checkoutDir } from '../../src/config.ts';

const exec = promisify(execFile);

const CLASSIC = `heat_template_version: 2013-05-23
description: A web app and its database, each a Docker container
parameters:
  image: {type: string, default: bb}
resources:
  database:
    type: DockerInc::Docker::Container
    properties:
      image: {get_param: image}
      cmd: [sh, -c, "echo db-ready-v1; exec sleep 3600"]
      port_specs: ["3306"]
  web:
    type: DockerInc::Docker::Container
    properties:
      image: {get_param: image}
      env:
        - Fn::Join: ["", ["DB_HOST=", {get_attr: [database, network_ip]}]]
        - Fn::Join: ["", ["DB_SAYS=", {get_attr: [database, logs_head]}]]
      cmd: [sh, -c, "mkdir -p /www && echo \\"db=$DB_HOST says=$DB_SAYS\\" > /www/index.html && exec httpd -f -p 80 -h /www"]
      port_specs: ["80/tcp"]
      port_bindings: {"80/tcp": 80}
outputs:
  db_ip: {value: {get_attr: [database, network_ip]}}
  url: {value: {get_attr: [web, published_address]}}
`;

describe('Docker containers in stacks', () => {
  let t: TestCloud;
  let docker: Docker;
  let dir: string;
  const os = (args: string[]) => t.openstack(args);
  const json = async (args: string[]) => JSON.parse(await os([...args, '-f', 'json']));
  const containersOf = async (serverIds: string[]) => (await docker.listContainers({ all: true })).filter((c) => serverIds.includes(c.Labels['hafen.server_id'] ?? ''));

  before(async () => {
    const c = await startComputeCloud('orchestration-docker');
    t = c.t;
    docker = engineClient(c.socket);
    dir = t.dataDir;
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', c.imageTar, 'bb']);
  });
  after(async () => {
    await t?.close();
  });

  it('runs the classic web app and database, and the app answers at its published address', async () => {
    fs.writeFileSync(path.join(dir, 'classic.yaml'), CLASSIC);
    await os(['stack', 'create', '-t', path.join(dir, 'classic.yaml'), '--wait', '--poll', '1', 'classic']);
    const created = await json(['stack', 'show', 'classic']);
    assert.equal(created.stack_status, 'CREATE_COMPLETE', created.stack_status_reason);
    const outputs = Object.fromEntries((await json(['stack', 'output', 'list', 'classic'])).map((o: any) => [o.output_key, true]));
    assert.ok(outputs.db_ip && outputs.url);
    const dbIp = (await json(['stack', 'output', 'show', 'classic', 'db_ip'])).output_value;
    const url = (await json(['stack', 'output', 'show', 'classic', 'url'])).output_value as string;
    assert.match(dbIp, /^\d+\.\d+\.\d+\.\d+$/);
    assert.match(url, /^127\.64\.\d+\.\d+:80$/);
    const body = await waitFor('web answers', async () => {
      try {
        const r = await fetch(`http://${url}/`, { signal: AbortSignal.timeout(2000) });
        return r.ok ? await r.text() : undefined;
      } catch {
        return undefined;
      }
    });
    assert.equal(body.trim(), `db=${dbIp} says=db-ready-v1`);
    // The containers are servers of the project, with the isolation profile.
    const resources = await json(['stack', 'resource', 'list', 'classic']);
    const ids = resources.map((r: any) => r.physical_resource_id);
    const servers = await json(['server', 'list']);
    for (const id of ids) assert.ok(servers.some((s: any) => s.ID === id), `server ${id} listed`);
    const running = await containersOf(ids);
    assert.equal(running.length, 2);
    for (const c of running) {
      const info = await docker.getContainer(c.Id).inspect();
      assert.equal(info.HostConfig.Privileged, false);
      assert.ok(!(info.HostConfig.CapAdd ?? []).some((cap: string) => ['SYS_ADMIN', 'NET_ADMIN', 'MKNOD'].includes(cap)));
      assert.deepEqual(info.HostConfig.Binds?.filter((b: string) => b.startsWith('/')) ?? [], []);
    }
    await os(['stack', 'delete', '--yes', '--wait', 'classic']);
    await waitFor('containers removed', async () => ((await containersOf(ids)).length === 0 ? true : undefined));
    await assert.rejects(fetch(`http://${url}/`, { signal: AbortSignal.timeout(1500) }));
  });

  it('refuses what would break isolation, before anything is made', async () => {
    for (const [prop, value, pattern] of [
      ['privileged', 'true', /privileged/],
      ['devices', '["/dev/sda"]', /devices/],
      ['cap_add', '["SYS_ADMIN"]', /SYS_ADMIN is refused/],
      ['volumes', '{"/data": "/etc"}', /host paths are never mounted/],
    ] as const) {
      const file = path.join(dir, `bad-${prop}.yaml`);
      fs.writeFileSync(file, `heat_template_version: 2021-04-16\nresources:\n  c:\n    type: DockerInc::Docker::Container\n    properties:\n      image: bb\n      ${prop}: ${value}\n`);
      await assert.rejects(os(['stack', 'create', '-t', file, `bad-${prop}`]), pattern);
    }
    assert.deepEqual((await json(['stack', 'list'])).filter((s: any) => s['Stack Name'].startsWith('bad-')), []);
  });

  it('lets a container signal its wait condition through the handle it is given', async () => {
    const script = [
      'H=${ENDPOINT#http://}; HP=${H%%/*}; P=/${H#*/}; HOST=${HP%:*}; PORT=${HP#*:}',
      `B='{"status":"SUCCESS","reason":"box is up","data":"hello from the box","id":"box"}'`,
      'until printf "POST $P HTTP/1.0\\r\\nX-Auth-Token: $TOKEN\\r\\nContent-Type: application/json\\r\\nContent-Length: ${#B}\\r\\n\\r\\n$B" | nc -w 5 $HOST $PORT | grep -q " 200 "; do sleep 1; done',
      'echo signalled; exec sleep 3600',
    ].join('\n');
    const template = {
      heat_template_version: '2021-04-16',
      resources: {
        handle: { type: 'OS::Heat::WaitConditionHandle' },
        waiter: { type: 'OS::Heat::WaitCondition', properties: { handle: { get_resource: 'handle' }, timeout: 90 } },
        box: {
          type: 'DockerInc::Docker::Container',
          properties: {
            image: 'bb',
            env: [{ list_join: ['', ['ENDPOINT=', { get_attr: ['handle', 'endpoint'] }]] }, { list_join: ['', ['TOKEN=', { get_attr: ['handle', 'token'] }]] }],
            cmd: ['sh', '-c', script],
          },
        },
      },
      outputs: { data: { value: { get_attr: ['waiter', 'data'] } }, endpoint: { value: { get_attr: ['handle', 'endpoint'] } } },
    };
    const token = await t.token('demo');
    const project = (await t.request('GET', '/identity/v3/auth/tokens', { token, headers: { 'x-subject-token': token } })).body.token.project.id;
    const r = await t.request('POST', `/orchestration/v1/${project}/stacks`, { token, body: { stack_name: 'signalled', template } });
    assert.equal(r.status, 201, r.text);
    const shown = await waitFor('wait condition', async () => {
      const s = await json(['stack', 'show', 'signalled']);
      return s.stack_status.endsWith('IN_PROGRESS') ? undefined : s;
    }, 90_000);
    assert.equal(shown.stack_status, 'CREATE_COMPLETE', shown.stack_status_reason);
    const data = (await json(['stack', 'output', 'show', 'signalled', 'data'])).output_value;
    assert.deepEqual(JSON.parse(data), { box: 'hello from the box' });
    const endpoint = (await json(['stack', 'output', 'show', 'signalled', 'endpoint'])).output_value as string;
    assert.match(endpoint, /^http:\/\/hafen-api:\d+\/orchestration\/v1\/signal\/[0-9a-f-]{36}$/);
    // The handle's token, not any other, is taken.
    const bad = await t.request('POST', new URL(endpoint).pathname, { headers: { 'x-auth-token': 'not-the-token' }, body: { status: 'FAILURE' } });
    assert.equal(bad.status, 401);
    await os(['stack', 'delete', '--yes', '--wait', 'signalled']);
  });

  it('removes with the stack a server that a cut-short create made before recording it', async () => {
    const token = await t.token('demo');
    const project = (await t.request('GET', '/identity/v3/auth/tokens', { token, headers: { 'x-subject-token': token } })).body.token.project.id;
    // A create that fails before compute answers: the resource has no physical id.
    const template = { heat_template_version: '2021-04-16', resources: { box: { type: 'DockerInc::Docker::Container', properties: { image: 'bb', memory: 2 ** 50 } } } };
    const r = await t.request('POST', `/orchestration/v1/${project}/stacks`, { token, body: { stack_name: 'cutshort', template } });
    assert.equal(r.status, 201, r.text);
    const stackId = r.body.stack.id;
    const failed = await waitFor('cut short', async () => {
      const s = await json(['stack', 'show', 'cutshort']);
      return s.stack_status.endsWith('IN_PROGRESS') ? undefined : s;
    });
    assert.equal(failed.stack_status, 'CREATE_FAILED');
    // What a crash between compute's answer and the recorded id would leave: a server of the resource.
    const image = (await json(['image', 'show', 'bb'])).id;
    const boot = await t.request('POST', '/compute/v2.1/servers', { token, body: { server: { name: 'orphan', imageRef: image, flavorRef: '1', metadata: { 'heat:stack_id': stackId, 'heat:resource': 'box' } } } });
    assert.equal(boot.status, 202, boot.text);
    const orphan = boot.body.server.id;
    await os(['stack', 'delete', '--yes', '--wait', 'cutshort']);
    await waitFor('orphan removed', async () => ((await t.request('GET', `/compute/v2.1/servers/${orphan}`, { token })).status === 404 ? true : undefined));
  });

  it('deploys a Compose file as a stack', async () => {
    const compose = `version: "3.8"
services:
  cache:
    image: bb
    command: sh -c "echo cache-up; exec sleep 3600"
    environment:
      ROLE: cache
    env_file: cache.env
    volumes: ["data:/shared"]
    restart: unless-stopped
  app:
    image: bb
    command: ["sh", "-c", "echo app-up; exec sleep 3600"]
    depends_on: [cache]
    labels:
      tier: front
    volumes: ["data:/data"]
volumes:
  data: {}
`;
    const file = path.join(dir, 'docker-compose.yml');
    fs.writeFileSync(file, compose);
    fs.writeFileSync(path.join(dir, 'cache.env'), '# from a file\nTIER=backend\n');
    const hafen = await exec(process.execPath, [path.join(checkoutDir, 'bin/hafen.mjs'), 'stack', 'create', '--compose', file, '--wait', 'composed'], { env: { ...process.env, ...t.env }, timeout: 120_000 });
    assert.match(hafen.stdout, /CREATE_COMPLETE/);
    const shown = await json(['stack', 'show', 'composed']);
    assert.equal(shown.stack_status, 'CREATE_COMPLETE', shown.stack_status_reason);
    const resources = await json(['stack', 'resource', 'list', 'composed']);
    assert.deepEqual(resources.map((x: any) => x.resource_name).sort(), ['app', 'cache']);
    const ids = resources.map((x: any) => x.physical_resource_id);
    const cs = await containersOf(ids);
    assert.equal(cs.length, 2, `${JSON.stringify(await Promise.all(ids.map((id: string) => json(['server', 'show', id]))))}`);
    const app = await docker.getContainer(cs.find((c) => c.Labels.tier === 'front')!.Id).inspect();
    assert.ok(app.Mounts.some((m) => m.Destination === '/data' && m.Type === 'volume'));
    const cache = await docker.getContainer(cs.find((c) => !c.Labels.tier)!.Id).inspect();
    assert.ok(cache.Config.Env.includes('ROLE=cache'));
    assert.ok(cache.Config.Env.includes('TIER=backend'));
    assert.equal(cache.HostConfig.RestartPolicy?.Name, 'unless-stopped');
    // Services find each other by name, as in Compose.
    const cacheIp = Object.values(cache.NetworkSettings.Networks)[0]!.IPAddress;
    const run = async (id: string, cmd: string[]) => {
      const probe = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
      return new Promise<string>((resolve, reject) => {
        probe.start({}, (err, stream) => {
          if (err || !stream) return reject(err);
          let text = '';
          stream.on('data', (c: Buffer) => (text += c.toString('latin1')));
          stream.on('end', () => resolve(text));
        });
      });
    };
    const out = await run(app.Id, ['nslookup', 'cache']);
    assert.ok(out.includes(cacheIp), `nslookup cache from app: ${out}`);
    // The named volume is the stack's, shared by the services that mount it.
    const wrote = await run(app.Id, ['sh', '-c', 'echo from-app > /data/note && cat /data/note']);
    assert.match(await run(cache.Id, ['cat', '/shared/note']), /from-app/, `${wrote} ${JSON.stringify(app.Mounts)} ${JSON.stringify(cache.Mounts)}`);
    const volume = app.Mounts.find((m) => m.Destination === '/data')!.Name!;
    assert.match(volume, /^hafen-vol-[0-9a-f]{32}$/);
    const events = await json(['stack', 'event', 'list', 'composed']);
    const order = events.filter((e: any) => e.resource_status === 'CREATE_COMPLETE').map((e: any) => e.resource_name);
    assert.ok(order.indexOf('cache') < order.indexOf('app'), 'depends_on is honoured');
    const token = await t.token('demo');
    const project = (await t.request('GET', '/identity/v3/auth/tokens', { token, headers: { 'x-subject-token': token } })).body.token.project.id;
    const bad = await t.request('POST', `/orchestration/v1/${project}/stacks`, { token, body: { stack_name: 'badcompose', template: 'services:\n  x:\n    image: bb\n    volumes: ["/etc:/host"]\n', template_format: 'compose' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /host paths are refused/);
    await os(['stack', 'delete', '--yes', '--wait', 'composed']);
    await waitFor('compose containers removed', async () => ((await containersOf(ids)).length === 0 ? true : undefined));
    await waitFor('named volume removed with the last container', async () => ((await docker.listVolumes()).Volumes?.some((v) => v.Name === volume) ? undefined : true));
  });
});
