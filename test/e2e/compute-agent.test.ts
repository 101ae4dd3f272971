// Remote agents: a cloud with no engine of its own (HAFEN_DOCKER_HOSTS=none) and two nested Docker
// hosts, each driven only by its own `hafen agent` child process (logged in with the application
// credential of a user holding only the hafen-agent role, or as that user through clouds.yaml). Servers are booted through the
// real openstack CLI and land on both hosts, their actions and security groups go through the
// agents; an agent that stops, or whose engine stops answering, takes its host down, and one that
// comes back brings it up again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type Docker from 'dockerode';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { startTestHosts, type NestedHostSet } from '../helpers/hosts.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { waitFor } from '../helpers/compute.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { checkoutDir } from '../../src/config.ts';
import { defaultHostId } from '../../src/agent/remote/agent.ts';
import { makeAgentCredentials, type AgentCredentials } from '../helpers/agents.ts';

interface AgentProcess {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

describe('compute on hosts driven by remote agents', () => {
  let hosts: NestedHostSet;
  let t: TestCloud;
  let engines: Docker[];
  let hostIds: string[];
  let credential: string;
  let agentUser: AgentCredentials;
  const agents: (AgentProcess | undefined)[] = [];
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  const ids = new Map<string, string>();
  /** The server's host, as an admin sees it (by id: an admin's name look-up is in its own project). */
  const hostOf = async (name: string) => (await adminShow(name))['OS-EXT-SRV-ATTR:host'] as string;
  // host_status is shown from microversion 2.16 (the CLI's novaclient speaks 2.1 unless told).
  const adminShow = async (name: string) => json(['--os-compute-api-version', '2.16', 'server', 'show', ids.get(name)!], 'hafen-admin');
  const hypervisors = async () => (await t.request('GET', '/compute/v2.1/os-hypervisors/detail', { token: await t.token('admin') })).body.hypervisors as { hypervisor_hostname: string; id: string; state: string; vcpus: number; memory_mb: number }[];
  const stateOf = async (hostId: string) => (await hypervisors()).find((h) => h.hypervisor_hostname === hostId)?.state;
  /** The server's container on a nested engine (running or not), by hafen's label. */
  const containersOf = async (engine: Docker, serverId: string) => engine.listContainers({ all: true, filters: { label: [`hafen.server_id=${serverId}`] } });

  const startAgent = (endpoint: string, env: Record<string, string> = { HAFEN_AGENT_CREDENTIAL: credential }, args: string[] = []): AgentProcess => {
    const child = spawn(process.execPath, [path.join(checkoutDir, 'bin/hafen.mjs'), 'agent', '--controller', t.url, '--docker', endpoint, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', HAFEN_DATA_DIR: t.dataDir, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, log: () => log, exited };
  };
  /** Boots through the CLI and waits (polling the API: the CLI's --wait sleeps 5 s a round). */
  const boot = async (name: string, extra: string[] = []) => {
    const id = (await json(['server', 'create', '--image', 'bb', '--flavor', 'm1.tiny', ...extra, name])).id as string;
    ids.set(name, id);
    assert.equal(await statusBecomes(name, ['ACTIVE', 'ERROR']), 'ACTIVE', JSON.stringify((await adminShow(name)).fault));
    return id;
  };
  const statusBecomes = (name: string, want: string[]) =>
    waitFor(`${name} ${want.join('/')}`, async () => {
      const s = (await t.request('GET', `/compute/v2.1/servers/${ids.get(name)}`, { token: await t.token('demo') })).body?.server;
      return s && want.includes(s.status) ? (s.status as string) : undefined;
    }, 60_000);
  const registered = (a: AgentProcess) => waitFor('agent registered', async () => (/registered host-/.test(a.log()) ? true : a.child.exitCode !== null ? Promise.reject(new Error(`agent exited: ${a.log()}`)) : undefined), 120_000);

  before(async () => {
    await testEngineSocket();
    hosts = await startTestHosts(2);
    engines = hosts.hosts.map((h) => engineClient(h.endpoint));
    hostIds = await Promise.all(hosts.hosts.map((h) => defaultHostId(h.endpoint)));
    t = await startTestCloud('compute-agent', { HAFEN_DOCKER_HOSTS: 'none', HAFEN_RECONCILE_INTERVAL: '1', HAFEN_HOST_DOWN_AFTER: '10' });
    const tar = path.join(t.dataDir, 'bb.tar');
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh', '-c', 'echo booted; exec sleep 3600'] }));
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', tar, 'bb']);
    const web = path.join(t.dataDir, 'web.tar');
    fs.writeFileSync(web, busyboxDockerArchive({ cmd: ['sh', '-c', 'mkdir -p /tmp/www && echo hello-web > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'] }));
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', web, 'web']);
    agentUser = await makeAgentCredentials(t);
    credential = agentUser.applicationCredential;
  });
  after(async () => {
    // The agents' own words, for a failed run: .hafen-test/compute-agent-*/agent-N.log.
    for (const [i, a] of agents.entries()) if (a) fs.writeFileSync(path.join(t.dataDir, `agent-${i}.log`), a.log());
    for (const a of agents) {
      if (a && a.child.exitCode === null) {
        a.child.kill('SIGKILL');
        await a.exited;
      }
    }
    await t?.close();
    await hosts?.teardown();
  });

  it('refuses agents without valid agent credentials', async () => {
    assert.equal((await t.request('POST', '/agent/v1/sessions', { body: {} })).status, 401);
    const demo = await t.request('POST', '/agent/v1/sessions', { token: await t.token('demo'), body: {} });
    assert.equal(demo.status, 403, demo.text);
    // An admin's token is not an agent's either: the endpoint takes the hafen-agent role alone.
    const admin = await t.request('POST', '/agent/v1/sessions', { token: await t.token('admin'), body: {} });
    assert.equal(admin.status, 403, admin.text);
    const badRegistration = await t.request('POST', '/agent/v1/sessions', { token: agentUser.token, body: { hostId: 'x' } });
    assert.equal(badRegistration.status, 400, badRegistration.text);
    assert.match(badRegistration.body.error.message, /registration/);
    // A wrong secret, and a member's (not an agent's) credential: the agent process gives up and says why.
    const wrong = startAgent(hosts.hosts[0]!.endpoint, { HAFEN_AGENT_CREDENTIAL: `${credential.split(':')[0]}:not-the-secret` });
    assert.equal(await wrong.exited, 1);
    assert.match(wrong.log(), /refused the agent's credentials: 401/);
    const member = await json(['application', 'credential', 'create', 'not-an-agent']);
    const demoAgent = startAgent(hosts.hosts[0]!.endpoint, { HAFEN_AGENT_CREDENTIAL: `${member.id}:${member.secret}` });
    assert.equal(await demoAgent.exited, 1);
    assert.match(demoAgent.log(), /403/);
    assert.deepEqual(await hypervisors(), []);
  });

  it('registers each host with its capacity when its agent connects', async () => {
    // One logs in with the application credential, the other as the agent user of a clouds.yaml (a password).
    agents[0] = startAgent(hosts.hosts[0]!.endpoint);
    agents[1] = startAgent(hosts.hosts[1]!.endpoint, {}, ['--cloud', 'hafen-agent', '--clouds-yaml', agentUser.cloudsYaml]);
    await Promise.all([registered(agents[0]), registered(agents[1])]);
    const hv = await hypervisors();
    assert.deepEqual(hv.map((h) => h.hypervisor_hostname).sort(), [...hostIds].sort());
    for (const [i, engine] of engines.entries()) {
      const info = await engine.info();
      const h = hv.find((x) => x.hypervisor_hostname === hostIds[i])!;
      assert.equal(h.state, 'up');
      assert.equal(h.vcpus, info.NCPU);
      assert.equal(h.memory_mb, Math.floor(info.MemTotal / 2 ** 20));
    }
    const services = await json(['compute', 'service', 'list'], 'hafen-admin');
    assert.deepEqual(services.map((s: { Host: string; State: string }) => [s.Host, s.State]).sort(), hostIds.map((h) => [h, 'up']).sort());
  });

  it('boots servers through the openstack CLI on both hosts and runs their actions there', async () => {
    for (const name of ['s1', 's2']) await boot(name);
    const placed = [await hostOf('s1'), await hostOf('s2')];
    assert.deepEqual([...placed].sort(), [...hostIds].sort(), 'one server on each host');
    for (const name of ['s1', 's2']) {
      const id = ids.get(name)!;
      const i = hostIds.indexOf(await hostOf(name));
      const [c] = await containersOf(engines[i]!, id);
      assert.equal(c?.State, 'running', `${name}'s container runs on its host's engine`);
      assert.equal((await containersOf(engines[1 - i]!, id)).length, 0, `and not on the other`);
    }
    // Console, power and snapshot go through the agent of s1's host.
    assert.match(await waitFor('console', async () => { const log = await os(['console', 'log', 'show', 's1']); return /booted/.test(log) ? log : undefined; }), /booted/);
    const s1Host = engines[hostIds.indexOf(await hostOf('s1'))]!;
    await os(['server', 'stop', 's1']);
    await statusBecomes('s1', ['SHUTOFF']);
    assert.equal((await containersOf(s1Host, ids.get('s1')!))[0]?.State, 'exited');
    await os(['server', 'start', 's1']);
    await statusBecomes('s1', ['ACTIVE']);
    await os(['server', 'image', 'create', '--name', 's1-snap', '--wait', 's1']);
    const snap = await json(['image', 'show', 's1-snap']);
    assert.equal(snap.status, 'active');
    assert.ok(snap.size > 100_000, `the snapshot archive streamed back (${snap.size} bytes)`);
  });

  it('resizes and plugs interfaces through the agent of the server\'s host', async () => {
    const host = engines[hostIds.indexOf(await hostOf('s2'))]!;
    const container = () => host.getContainer(`hafen-${ids.get('s2')}`).inspect();
    await os(['server', 'resize', '--flavor', 'm1.small', 's2']);
    await statusBecomes('s2', ['VERIFY_RESIZE']);
    assert.equal((await container()).HostConfig.Memory, 256 * 2 ** 20);
    await os(['server', 'resize', 'confirm', 's2']);
    await statusBecomes('s2', ['ACTIVE']);
    const net = (await json(['network', 'create', 'agentnet'])).id as string;
    await os(['subnet', 'create', '--network', 'agentnet', '--subnet-range', '10.77.0.0/24', 'agentnet-sub']);
    await os(['server', 'add', 'network', 's2', 'agentnet']);
    const attached = Object.values((await container()).NetworkSettings.Networks).map((n) => n.IPAddress);
    assert.ok(attached.some((ip) => /^10\.77\.0\.\d+$/.test(ip)), JSON.stringify(attached));
    assert.equal((await json(['server', 'show', 's2'])).addresses.agentnet?.length, 1);
    await os(['server', 'remove', 'network', 's2', 'agentnet']);
    assert.ok(!Object.values((await container()).NetworkSettings.Networks).some((n) => n.IPAddress.startsWith('10.77.0.')));
    await os(['network', 'delete', net]);
  });

  it('enforces security groups on an agent\'s host: rules come and go through the agent', async () => {
    const hostId = await hostOf('s2');
    const engine = engines[hostIds.indexOf(hostId)]!;
    await os(['security', 'group', 'create', 'closed']);
    // Next to s2 by the same_host hint (forcing a host is an admin's right).
    const extra = ['--hint', `same_host=${ids.get('s2')}`];
    await boot('web', ['--image', 'web', ...extra]);
    await boot('client', extra);
    const webIp = ((await json(['server', 'show', 'web'])).addresses.default as string[])[0]!;
    const reaches = async () => {
      const exec = await engine.getContainer(`hafen-${ids.get('client')}`).exec({ Cmd: ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 1 ${webIp} 8080`], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      let out = '';
      await new Promise((resolve) => stream.on('data', (d: Buffer) => (out += d.toString())).on('end', resolve).on('close', resolve));
      return (await exec.inspect()).ExitCode === 0 && out.includes('hello-web');
    };
    // In the default group, the client (a member too) gets in; in a group with no ingress rule, not.
    await waitFor('port 8080 open to the default group', async () => ((await reaches()) ? true : undefined), 60_000);
    const [port] = await json(['port', 'list', '--server', ids.get('web')!]);
    await os(['port', 'set', '--no-security-group', '--security-group', 'closed', port.ID]);
    await waitFor('port 8080 closed', async () => ((await reaches()) ? undefined : true), 60_000);
    const rule = await json(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '8080', '--ingress', 'closed']);
    await waitFor('port 8080 open by the rule', async () => ((await reaches()) ? true : undefined), 60_000);
    await os(['security', 'group', 'rule', 'delete', rule.id]);
    await waitFor('port 8080 closed', async () => ((await reaches()) ? undefined : true), 60_000);
    assert.equal(await reaches(), false);
    await os(['server', 'delete', 'web', 'client']);
    ids.delete('web');
    ids.delete('client');
  });

  it('marks the host of a stopped agent down, boots on the other, and brings it up when the agent is back', async () => {
    const victim = hostIds.indexOf(await hostOf('s1'));
    const survivor = 1 - victim;
    agents[victim]!.child.kill('SIGTERM');
    assert.equal(await agents[victim]!.exited, 0);
    await waitFor('host down', async () => ((await stateOf(hostIds[victim]!)) === 'down' ? true : undefined), 60_000);
    const services = await json(['compute', 'service', 'list'], 'hafen-admin');
    assert.equal(services.find((s: { Host: string }) => s.Host === hostIds[victim]).State, 'down');
    assert.equal((await adminShow('s1')).host_status, 'DOWN');
    // The server still runs: only its agent went away.
    const s1 = ids.get('s1')!;
    assert.equal((await containersOf(engines[victim]!, s1))[0]?.State, 'running');
    for (const name of ['s3', 's4']) {
      await boot(name);
      assert.equal(await hostOf(name), hostIds[survivor]);
    }
    // Without its agent the host takes no calls.
    await assert.rejects(os(['console', 'log', 'show', 's1']), /agent of host .* is not connected/);

    agents[victim] = startAgent(hosts.hosts[victim]!.endpoint);
    await registered(agents[victim]!);
    assert.equal(await stateOf(hostIds[victim]!), 'up');
    assert.equal((await adminShow('s1')).host_status, 'UP');
  });

  it('has the agents register again by themselves when the controller restarts', async () => {
    const logged = agents.map((a) => a!.log().match(/registered host-/g)!.length);
    await t.close();
    t = await startTestCloud('compute-agent', t.env);
    await waitFor('both agents back', async () => (agents.every((a, i) => a!.log().match(/registered host-/g)!.length > logged[i]!) ? true : undefined), 120_000);
    assert.deepEqual((await hypervisors()).map((h) => [h.hypervisor_hostname, h.state]).sort(), hostIds.map((h) => [h, 'up']).sort());
    assert.equal(await statusBecomes('s2', ['ACTIVE']), 'ACTIVE');
    assert.match(await os(['console', 'log', 'show', 's2']), /booted/);
  });

  it('takes a host down when its engine stops answering, though its agent runs, and up when it answers again', async () => {
    const outer = engineClient(await testEngineSocket());
    const victim = hosts.hosts[0]!;
    await outer.getContainer(victim.containerId).pause();
    try {
      await waitFor('host down', async () => ((await stateOf(hostIds[0]!)) === 'down' ? true : undefined), 60_000);
      assert.equal(agents[0]!.child.exitCode, null);
      assert.match(agents[0]!.log(), /does not answer; no heartbeat/);
    } finally {
      await outer.getContainer(victim.containerId).unpause();
    }
    await waitFor('host up', async () => ((await stateOf(hostIds[0]!)) === 'up' ? true : undefined), 60_000);
  });

  it('deletes the servers from both hosts', async () => {
    // Whatever is left (s1-s4; more if a test before failed half-way).
    const left = (await json(['server', 'list'])).map((x: { ID: string }) => x.ID) as string[];
    assert.ok(left.length >= 4);
    for (const id of left) if (![...ids.values()].includes(id)) ids.set(id, id);
    await os(['server', 'delete', ...left]);
    await waitFor('servers gone', async () => ((await json(['server', 'list'])).length === 0 ? true : undefined), 30_000);
    for (const engine of engines) {
      for (const id of ids.values()) assert.equal((await containersOf(engine, id)).length, 0);
    }
  });
});
