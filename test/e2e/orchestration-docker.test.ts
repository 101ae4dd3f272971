// test: exclusive (floating IPs put addresses, NAT chains and routing rules into the host's own namespace, which every file sees)
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
import { claimTestSubnet } from '../helpers/subnets.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { engineClient } from '../../src/host/engine-client.ts';
import { checkoutDir } from '../../src/config.ts';

const exec = promisify(execFile);

/** A page's body (trimmed), retried until it answers or `ms` pass; undefined if it never did. */
async function page(url: string, ms = 0): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return (await r.text()).trim();
    } catch {
      // not answering (yet)
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// The historic plugin's wordpress/mysql example, in its style: HOT 2013-05-23, the web tier's
// settings joined with Fn::Join from the database's attributes, port_bindings as docker-py wrote them.
const CLASSIC = `heat_template_version: 2013-05-23
description: WordPress and its MySQL database, each a Docker container
parameters:
  image: {type: string, default: bb}
  db_password: {type: string, default: secret, hidden: true}
resources:
  mysql:
    type: DockerInc::Docker::Container
    properties:
      image: {get_param: image}
      name: mysql
      env:
        - Fn::Join: ["=", ["MYSQL_ROOT_PASSWORD", {get_param: db_password}]]
      cmd: [sh, -c, "echo mysqld ready for connections; echo port 3306; exec sleep 3600"]
      port_specs: ["3306"]
  wordpress:
    type: DockerInc::Docker::Container
    properties:
      image: {get_param: image}
      env:
        - Fn::Join: ["", ["WORDPRESS_DB_HOST=", {get_attr: [mysql, network_ip]}, ":3306"]]
        - Fn::Join: ["", ["DB_GATEWAY=", {get_attr: [mysql, network_gateway]}]]
        - Fn::Join: ["", ["DB_SAYS=", {get_attr: [mysql, logs_head]}]]
        - Fn::Join: ["", ["DB_LAST=", {get_attr: [mysql, logs_tail]}]]
        - Fn::Join: ["", ["DB_STATUS=", {get_attr: [mysql, info, State, Status]}]]
      cmd: [sh, -c, "mkdir -p /www && echo \\"db=$WORDPRESS_DB_HOST says=$DB_SAYS last=$DB_LAST status=$DB_STATUS\\" > /www/index.html && exec httpd -f -p 80 -h /www"]
      port_specs: ["80/tcp"]
      port_bindings: {"80/tcp": [{"HostPort": "80"}]}
outputs:
  db_ip: {value: {get_attr: [mysql, network_ip]}}
  db_info: {value: {get_attr: [mysql, info]}}
  db_network: {value: {get_attr: [mysql, network_info]}}
  db_logs: {value: {get_attr: [mysql, logs]}}
  db_tcp: {value: {get_attr: [mysql, network_tcp_ports]}}
  web_tcp: {value: {get_attr: [wordpress, network_tcp_ports]}}
  web_udp: {value: {get_attr: [wordpress, network_udp_ports]}}
  web_env: {value: {get_attr: [wordpress, info, Config, Env]}}
  url:
    value:
      Fn::Join: ["", ["http://", {get_attr: [wordpress, info, NetworkSettings, Ports, "80/tcp", 0, HostIp]}, ":", {get_attr: [wordpress, network_tcp_ports]}, "/"]]
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

  it('runs the historic wordpress/mysql template unchanged, its attributes as the plugin had them', async () => {
    fs.writeFileSync(path.join(dir, 'classic.yaml'), CLASSIC);
    await os(['stack', 'create', '-t', path.join(dir, 'classic.yaml'), '--wait', '--poll', '1', 'classic']);
    const created = await json(['stack', 'show', 'classic']);
    assert.equal(created.stack_status, 'CREATE_COMPLETE', created.stack_status_reason);
    const output = async (key: string) => (await json(['stack', 'output', 'show', 'classic', key])).output_value;
    const parsed = async (key: string) => {
      const v = await output(key);
      return typeof v === 'string' ? JSON.parse(v) : v;
    };
    const dbIp = await output('db_ip');
    assert.match(dbIp, /^\d+\.\d+\.\d+\.\d+$/);
    const url = (await output('url')) as string;
    assert.match(url, /^http:\/\/127\.\d+\.\d+\.\d+:80\/$/);
    const body = await waitFor('wordpress answers', async () => {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
        return r.ok ? await r.text() : undefined;
      } catch {
        return undefined;
      }
    }, 60_000);
    assert.equal(body.trim(), `db=${dbIp}:3306 says=mysqld ready for connections last=port 3306 status=running`);

    // info is the engine's inspect document of the container, in the tenant's terms.
    const resources = await json(['stack', 'resource', 'list', 'classic']);
    const mysqlId = resources.find((r: any) => r.resource_name === 'mysql').physical_resource_id;
    const webId = resources.find((r: any) => r.resource_name === 'wordpress').physical_resource_id;
    const info = await parsed('db_info');
    assert.equal(info.Id, mysqlId);
    assert.equal(info.Name, '/mysql');
    assert.equal(info.State.Running, true);
    assert.ok(info.Config.Env.includes('MYSQL_ROOT_PASSWORD=secret'), JSON.stringify(info.Config.Env));
    assert.deepEqual(info.Config.Cmd, ['sh', '-c', 'echo mysqld ready for connections; echo port 3306; exec sleep 3600']);
    assert.equal(info.HostConfig.Privileged, false);
    assert.equal(info.NetworkSettings.IPAddress, dbIp);
    const [netName, endpoint] = Object.entries(info.NetworkSettings.Networks)[0] as [string, any];
    assert.equal(endpoint.IPAddress, dbIp);
    const servers = await json(['server', 'show', mysqlId]);
    assert.ok(String(servers.addresses).includes(netName) || JSON.stringify(servers.addresses).includes(netName), `network ${netName} as Nova names it: ${JSON.stringify(servers.addresses)}`);
    assert.deepEqual(info.NetworkSettings.Ports, { '3306/tcp': null });
    // Nothing of the engine or the host: compare with what the engine itself says.
    const real = await docker.getContainer((await containersOf([mysqlId]))[0]!.Id).inspect();
    const text = JSON.stringify(info);
    for (const secret of [real.Id, real.Id.slice(0, 12), real.Image.replace('sha256:', ''), real.LogPath, real.HostsPath, real.ResolvConfPath, real.NetworkSettings.SandboxKey, real.NetworkSettings.SandboxID, Object.values(real.NetworkSettings.Networks)[0]!.NetworkID, Object.values(real.NetworkSettings.Networks)[0]!.EndpointID, real.Name, checkoutDir, 'hafen.server_id', 'hafen.cloud']) {
      if (secret) assert.ok(!text.includes(secret), `${secret} leaked into info`);
    }
    assert.ok(!('Pid' in info.State));

    const network = await parsed('db_network');
    assert.equal(network.IPAddress, dbIp);
    assert.equal(network.Gateway, endpoint.Gateway);
    assert.equal(network.TcpPorts, '');
    assert.equal(network.UdpPorts, '');
    assert.equal(await output('db_tcp'), '');
    assert.equal(await output('web_tcp'), '80');
    assert.equal(await output('web_udp'), '');
    assert.equal(await output('db_logs'), 'mysqld ready for connections\nport 3306\n');
    const env = await parsed('web_env');
    assert.ok(env.includes(`WORDPRESS_DB_HOST=${dbIp}:3306`), JSON.stringify(env));
    assert.ok(env.includes(`DB_GATEWAY=${endpoint.Gateway}`), JSON.stringify(env));

    // The containers are servers of the project, with the isolation profile.
    const ids = [mysqlId, webId];
    const listed = await json(['server', 'list']);
    for (const id of ids) assert.ok(listed.some((s: any) => s.ID === id), `server ${id} listed`);
    const running = await containersOf(ids);
    assert.equal(running.length, 2);
    for (const c of running) {
      const real = await docker.getContainer(c.Id).inspect();
      assert.equal(real.HostConfig.Privileged, false);
      assert.ok(!(real.HostConfig.CapAdd ?? []).some((cap: string) => ['SYS_ADMIN', 'NET_ADMIN', 'MKNOD'].includes(cap)));
      assert.deepEqual(real.HostConfig.Binds?.filter((b: string) => b.startsWith('/')) ?? [], []);
    }
    await os(['stack', 'delete', '--yes', '--wait', 'classic']);
    await waitFor('containers removed', async () => ((await containersOf(ids)).length === 0 ? true : undefined));
    await assert.rejects(fetch(url, { signal: AbortSignal.timeout(1500) }));
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
    command: ["sh", "-c", "echo app-up; mkdir -p /www && echo composed > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["8080:80"]
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
    // ports: ["8080:80"] answers on 8080 of the service's address (a port forwarding), not on 80.
    const published = (await json(['stack', 'output', 'show', 'composed', 'app_published'])).output_value as string;
    assert.match(published, /^127\.\d+\.\d+\.\d+:8080$/);
    assert.equal(await page(`http://${published}/`, 60_000), 'composed');
    assert.equal(await page(`http://${published.replace(/:8080$/, ':80')}/`), undefined, 'nothing on port 80');
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
    assert.equal(await page(`http://${published}/`), undefined, 'the forwarding goes with the stack');
  });

  it('forwards a floating IP\'s port with OS::Neutron::FloatingIPPortForward, updated in place', async () => {
    // A subnet no other test file on the shared engine holds (10.250.0.0/16 is where cluster node networks go).
    const { cidr } = await claimTestSubnet();
    const template = `heat_template_version: 2021-04-16
parameters:
  external: {type: number, default: 8081}
resources:
  net: {type: OS::Neutron::Net}
  subnet: {type: OS::Neutron::Subnet, properties: {network: {get_resource: net}, cidr: ${cidr}}}
  router: {type: OS::Neutron::Router, properties: {external_gateway_info: {network: public}}}
  iface: {type: OS::Neutron::RouterInterface, properties: {router: {get_resource: router}, subnet: {get_resource: subnet}}}
  sg:
    type: OS::Neutron::SecurityGroup
    properties: {rules: [{protocol: tcp, port_range_min: 80, port_range_max: 80, remote_ip_prefix: 0.0.0.0/0}]}
  port:
    type: OS::Neutron::Port
    properties: {network: {get_resource: net}, fixed_ips: [{subnet: {get_resource: subnet}}], security_groups: [{get_resource: sg}]}
  web:
    type: DockerInc::Docker::Container
    properties:
      image: bb
      networks: [{port: {get_resource: port}}]
      cmd: [sh, -c, "mkdir -p /www && echo forwarded-by-heat > /www/index.html && exec httpd -f -p 80 -h /www"]
  fip: {type: OS::Neutron::FloatingIP, properties: {floating_network: public}}
  forward:
    type: OS::Neutron::FloatingIPPortForward
    properties:
      floating_ip: {get_resource: fip}
      internal_port: {get_resource: port}
      internal_ip_address: {get_attr: [port, fixed_ips, 0, ip_address]}
      internal_port_number: 80
      external_port: {get_param: external}
      protocol: tcp
outputs:
  address: {value: {get_attr: [fip, floating_ip_address]}}
`;
    const file = path.join(dir, 'forward.yaml');
    fs.writeFileSync(file, template);
    await os(['stack', 'create', '-t', file, 'forward']);
    const shown = await waitFor('forward created', async () => {
      const s = await json(['stack', 'show', 'forward']);
      return s.stack_status.endsWith('IN_PROGRESS') ? undefined : s;
    }, 180_000);
    const failures = (await json(['stack', 'resource', 'list', 'forward'])).filter((r: any) => r.resource_status !== 'CREATE_COMPLETE');
    assert.equal(shown.stack_status, 'CREATE_COMPLETE', `${shown.stack_status_reason} ${JSON.stringify(await Promise.all(failures.map((r: any) => json(['stack', 'resource', 'show', 'forward', r.resource_name]))))}`);
    const address = (await json(['stack', 'output', 'show', 'forward', 'address'])).output_value as string;
    const fip = await json(['floating', 'ip', 'show', address]);
    const forwardings = await json(['floating', 'ip', 'port', 'forwarding', 'list', fip.id]);
    assert.equal(forwardings.length, 1);
    assert.equal(forwardings[0]['External Port'], 8081);
    assert.equal(await page(`http://${address}:8081/`, 60_000), 'forwarded-by-heat');
    await os(['stack', 'update', '--existing', '--parameter', 'external=8082', '--wait', 'forward']);
    assert.equal((await json(['stack', 'show', 'forward'])).stack_status, 'UPDATE_COMPLETE');
    assert.equal((await json(['stack', 'resource', 'show', 'forward', 'forward'])).physical_resource_id, (await json(['floating', 'ip', 'port', 'forwarding', 'list', fip.id]))[0].ID, 'updated in place');
    assert.equal(await page(`http://${address}:8082/`, 60_000), 'forwarded-by-heat');
    assert.equal(await page(`http://${address}:8081/`), undefined, 'the old external port is closed');
    await os(['stack', 'delete', '--yes', '--wait', 'forward']);
    assert.equal(await page(`http://${address}:8082/`), undefined, 'gone with the stack');
  });
});
