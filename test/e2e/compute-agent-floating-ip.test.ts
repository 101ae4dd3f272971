// test: exclusive (floating IPs put addresses, NAT chains and routing rules into the host's own namespace, which every file sees)
// Floating IPs of servers on a host driven by a remote agent: the cloud has no engine of its own
// (HAFEN_DOCKER_HOSTS=none), one nested host runs a `hafen agent` child process. The agent NATs the
// floating IPs of its host's servers there, the controller routes them to the host's address (the
// host of the agent's tcp:// engine URL): a busybox httpd server answers the test process's fetch
// after `openstack server add floating ip`, not when its agent has left or was lost, and not after removal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type Docker from 'dockerode';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { startTestHosts, type NestedHostSet } from '../helpers/hosts.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { makeAgentCredentials } from '../helpers/agents.ts';
import { waitFor } from '../helpers/compute.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { BUSYBOX_IMAGE } from '../../src/host/test-images.ts';
import { checkoutDir } from '../../src/config.ts';
import { runTool } from '../../src/agent/net/run.ts';
import { runEngineHelper } from '../../src/agent/net/engine-helper.ts';

interface AgentProcess {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

/** The page at the address, or undefined when nothing answers within 2 s. */
async function page(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return (await res.text()).trim();
  } catch {
    return undefined;
  }
}

const routeOf = async (address: string) => (await runTool('ip', ['-4', 'route', 'show', 'table', 'local', `${address}/32`])).trim();
const escaped = (s: string) => s.replace(/\./g, '\\.');

describe('floating IPs of servers on a remote agent\'s host', () => {
  let hosts: NestedHostSet;
  let engine: Docker;
  let t: TestCloud;
  let credential: string;
  let agentToken: string;
  let agent: AgentProcess | undefined;
  const logs: string[] = [];
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  /** The nested host's nat table (the floating-IP chains carry the cloud's tag), read with a helper in its namespace. */
  const natOfHost = () => runEngineHelper(engine, BUSYBOX_IMAGE, { networkMode: 'host', script: '/usr/sbin/iptables -w 5 -t nat -S 2>/dev/null || true' });

  const startAgent = (): AgentProcess => {
    const child = spawn(process.execPath, [path.join(checkoutDir, 'bin/hafen.mjs'), 'agent', '--controller', t.url, '--docker', hosts.hosts[0]!.endpoint], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', HAFEN_DATA_DIR: t.dataDir, HAFEN_AGENT_CREDENTIAL: credential },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, log: () => log, exited };
  };
  const registered = (a: AgentProcess) => waitFor('agent registered', async () => (/registered host-/.test(a.log()) ? true : a.child.exitCode !== null ? Promise.reject(new Error(`agent exited: ${a.log()}`)) : undefined), 120_000);

  before(async () => {
    await testEngineSocket();
    hosts = await startTestHosts(1);
    engine = engineClient(hosts.hosts[0]!.endpoint);
    t = await startTestCloud('compute-agent-fip', { HAFEN_DOCKER_HOSTS: 'none', HAFEN_RECONCILE_INTERVAL: '1', HAFEN_HOST_DOWN_AFTER: '10' });
    const web = path.join(t.dataDir, 'web.tar');
    fs.writeFileSync(web, busyboxDockerArchive({ cmd: ['sh', '-c', 'mkdir -p /tmp/www && echo hello-fip > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'] }));
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', web, 'web']);
    const agentUser = await makeAgentCredentials(t);
    credential = agentUser.applicationCredential;
    agentToken = agentUser.token;
  });
  after(async () => {
    if (agent) logs.push(agent.log());
    // The agent's own words, for a failed run: .hafen-test/compute-agent-fip-*/agent.log.
    if (t) fs.writeFileSync(path.join(t.dataDir, 'agent.log'), logs.join('\n----\n'));
    if (agent && agent.child.exitCode === null) {
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
    await t?.close();
    await hosts?.teardown();
  });

  it('refuses an agent address that cannot carry floating IPs', async () => {
    const body = {
      hostId: 'host-badaddress',
      endpoint: 'tcp://127.0.0.1:2375',
      capacity: { vcpus: 1, memoryMiB: 512, diskGiB: 1, architecture: 'x86_64', hostname: 'x' },
      capabilities: { pause: true, snapshot: true, liveResize: true, consoleLog: true, interfaceHotplug: true },
      address: '127.0.0.1',
    };
    const r = await t.request('POST', '/agent/v1/sessions', { token: agentToken, body });
    assert.equal(r.status, 400, r.text);
    assert.match(r.body.error.message, /address 127\.0\.0\.1 cannot carry floating IPs/);
  });

  it('answers a floating IP of a server on the agent\'s host from here, until it is removed', async () => {
    agent = startAgent();
    await registered(agent);
    await os(['network', 'create', 'fipnet']);
    await os(['subnet', 'create', '--network', 'fipnet', '--subnet-range', '10.79.0.0/24', 'fipsub']);
    await os(['router', 'create', 'fiprouter']);
    await os(['router', 'set', '--external-gateway', 'public', 'fiprouter']);
    await os(['router', 'add', 'subnet', 'fiprouter', 'fipsub']);
    // The default group admits only its members: open the web port to everyone.
    await os(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '8080', '--remote-ip', '0.0.0.0/0', '--ingress', 'default']);
    const id = (await json(['server', 'create', '--image', 'web', '--flavor', 'm1.tiny', '--network', 'fipnet', 'web'])).id as string;
    await waitFor('web ACTIVE', async () => {
      const s = (await t.request('GET', `/compute/v2.1/servers/${id}`, { token: await t.token('demo') })).body?.server;
      if (s?.status === 'ERROR') throw new Error(JSON.stringify(s.fault));
      return s?.status === 'ACTIVE' ? true : undefined;
    }, 60_000);
    assert.equal((await engine.listContainers({ filters: { label: [`hafen.server_id=${id}`] } })).length, 1, 'the server runs on the nested host');
    const fixed = ((await json(['server', 'show', 'web'])).addresses.fipnet as string[])[0]!;

    const address = (await json(['floating', 'ip', 'create', 'public'])).floating_ip_address as string;
    const url = `http://${address}:8080/`;
    assert.equal(await page(url), undefined, 'nothing answers before association');
    await os(['server', 'add', 'floating', 'ip', 'web', address]);
    assert.equal(await waitFor('floating IP answers', () => page(url), 60_000), 'hello-fip');
    const via = new RegExp(`via ${escaped(hosts.hosts[0]!.address)} `);
    assert.match(await routeOf(address), via, "routed to the agent's host");
    assert.match(await natOfHost(), new RegExp(`-d ${escaped(address)}/32 .*-j DNAT --to-destination ${escaped(fixed)}`), "NATed on the agent's host");

    // The agent leaves: its NAT and the controller's route go; back again, so are they.
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0);
    logs.push(agent.log());
    await waitFor('route removed', async () => ((await routeOf(address)) === '' ? true : undefined), 60_000);
    assert.equal(await page(url), undefined, 'silent without its agent');
    assert.doesNotMatch(await natOfHost(), new RegExp(escaped(address)), 'the host forgot it');
    agent = startAgent();
    await registered(agent);
    assert.equal(await waitFor('floating IP answers again', () => page(url), 60_000), 'hello-fip');
    // An agent killed outright is lost after HAFEN_HOST_DOWN_AFTER: the controller drops its route (the
    // host keeps its NAT, made exact again by the next agent there).
    agent.child.kill('SIGKILL');
    await agent.exited;
    logs.push(agent.log());
    await waitFor('route of a lost agent removed', async () => ((await routeOf(address)) === '' ? true : undefined), 60_000);
    assert.equal(await page(url), undefined, 'silent without its agent');
    agent = startAgent();
    await registered(agent);
    assert.equal(await waitFor('floating IP answers once more', () => page(url), 60_000), 'hello-fip');

    await os(['server', 'remove', 'floating', 'ip', 'web', address]);
    await waitFor('floating IP silent', async () => ((await page(url)) === undefined ? true : undefined), 60_000);
    assert.equal(await routeOf(address), '', 'route removed');
    await waitFor('NAT removed', async () => (new RegExp(escaped(address)).test(await natOfHost()) ? undefined : true), 60_000);

    await os(['server', 'delete', '--wait', 'web']);
    await os(['floating', 'ip', 'delete', address]);
  });
});
