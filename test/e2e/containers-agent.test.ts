// Zun on a host driven by a remote agent: the cloud has no engine of its own (HAFEN_DOCKER_HOSTS=none),
// one nested Docker host runs a `hafen agent` child process. Through Debian's python3-zunclient
// (`openstack appcontainer ...`): run --wait lands the container on the agent's host, then a
// non-interactive exec (output and exit code), logs, cp both ways, commit,
// stats (and top through the API) all go through the agent, and delete leaves nothing of the container on the nested engine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { startTestHosts, type NestedHostSet } from '../helpers/hosts.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { makeAgentCredentials } from '../helpers/agents.ts';
import { waitFor } from '../helpers/compute.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { checkoutDir } from '../../src/config.ts';
import { defaultHostId } from '../../src/agent/remote/agent.ts';

const run = promisify(execFile);

describe('Zun containers on a remote agent\'s host through the openstack appcontainer CLI', () => {
  let hosts: NestedHostSet;
  let engine: Docker;
  let hostId: string;
  let t: TestCloud;
  let agent: { child: ChildProcess; log: () => string; exited: Promise<number | null> } | undefined;
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const cliEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', OS_CLIENT_CONFIG_FILE: t.cloud.cloudsYaml, OS_CLOUD: 'hafen-demo' });
  /** The nested engine's containers of this cloud's workloads (running or not). */
  const workloads = async () => engine.listContainers({ all: true, filters: { label: ['hafen.server_id'] } });

  before(async () => {
    await testEngineSocket();
    hosts = await startTestHosts(1);
    engine = engineClient(hosts.hosts[0]!.endpoint);
    hostId = await defaultHostId(hosts.hosts[0]!.endpoint);
    t = await startTestCloud('containers-agent', { HAFEN_DOCKER_HOSTS: 'none', HAFEN_RECONCILE_INTERVAL: '1', HAFEN_HOST_DOWN_AFTER: '30' });
    const tar = path.join(t.dataDir, 'bb.tar');
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh', '-c', 'exec sleep 3600'] }));
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--public', '--file', tar, 'busybox'], 'hafen-admin');
    // Zun joins a container to the project's oldest network: the demo project gets one.
    const demo = await t.token('demo');
    const net = await t.request('POST', '/network/v2.0/networks', { token: demo, body: { network: { name: 'zun-net' } } });
    const sub = await t.request('POST', '/network/v2.0/subnets', { token: demo, body: { subnet: { network_id: net.body.network.id, cidr: '10.88.0.0/24', ip_version: 4, name: 'zun-sub' } } });
    assert.equal(sub.status, 201, sub.text);
    const credential = (await makeAgentCredentials(t)).applicationCredential;
    const child = spawn(process.execPath, [path.join(checkoutDir, 'bin/hafen.mjs'), 'agent', '--controller', t.url, '--docker', hosts.hosts[0]!.endpoint], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', HAFEN_DATA_DIR: t.dataDir, HAFEN_AGENT_CREDENTIAL: credential },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    agent = { child, log: () => log, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
    await waitFor('agent registered', async () => (/registered host-/.test(log) ? true : child.exitCode !== null ? Promise.reject(new Error(`agent exited: ${log}`)) : undefined), 120_000);
  });
  after(async () => {
    // The agent's own words, for a failed run: .hafen-test/containers-agent-*/agent.log.
    if (agent) fs.writeFileSync(path.join(t.dataDir, 'agent.log'), agent.log());
    if (agent && agent.child.exitCode === null) {
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
    await t?.close();
    await hosts?.teardown();
  });

  it('runs, execs, logs, copies, commits, tops, stats and deletes a container on the agent\'s host', async () => {
    const hv = (await t.request('GET', '/compute/v2.1/os-hypervisors/detail', { token: await t.token('admin') })).body.hypervisors as { hypervisor_hostname: string; state: string }[];
    assert.deepEqual(hv.map((h) => [h.hypervisor_hostname, h.state]), [[hostId, 'up']], 'the agent\'s host is the cloud\'s only host');
    assert.deepEqual(await workloads(), []);

    // (-f json before the image: what follows the image is the command)
    const created = JSON.parse(await os(['appcontainer', 'run', '-f', 'json', '--name', 'remote1', '--wait', 'busybox', 'sh', '-c', 'echo started on the agent; echo to-stderr >&2; exec sleep 3600']));
    assert.equal(created.status, 'Running', JSON.stringify(created.status_reason));
    const id = created.uuid as string;
    const placed = await workloads();
    assert.equal(placed.length, 1, 'the container runs on the nested engine');
    assert.equal(placed[0]!.State, 'running');

    // exec: the CLI prints the output and exits with the command's exit code.
    const exec = await run('openstack', ['appcontainer', 'exec', 'remote1', 'sh', '-c', 'echo $((6*7)); exit 3'], { env: cliEnv(), timeout: 180_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (err: { code: number; stdout: string }) => err,
    );
    assert.equal(exec.code, 3);
    assert.equal(exec.stdout.trim(), '42');

    // logs, both streams and stdout alone.
    const logs = await waitFor('logs', async () => { const l = await os(['appcontainer', 'logs', 'remote1']); return /started on the agent/.test(l) && /to-stderr/.test(l) ? l : undefined; }, 60_000);
    assert.match(logs, /started on the agent/);
    assert.doesNotMatch(await os(['appcontainer', 'logs', '--stdout', 'remote1']), /to-stderr/);

    // cp into the container (put_archive through the agent), read back by exec.
    const dir = fs.mkdtempSync(path.join(t.dataDir, 'cp-'));
    fs.writeFileSync(path.join(dir, 'note.txt'), 'copied through the agent\n');
    await os(['appcontainer', 'cp', path.join(dir, 'note.txt'), 'remote1:/tmp']);
    const { stdout: note } = await run('openstack', ['appcontainer', 'exec', 'remote1', 'cat', '/tmp/note.txt'], { env: cliEnv(), timeout: 180_000 });
    assert.equal(note.trim(), 'copied through the agent');
    // The file is in the nested engine's container itself.
    const [inside] = await workloads();
    const archive = await engine.getContainer(inside!.Id).infoArchive({ path: '/tmp/note.txt' }).catch((e: Error) => e);
    assert.ok(!(archive instanceof Error), String(archive));
    // and cp back out of it (get_archive, streamed back by the agent).
    const back = path.join(dir, 'back');
    fs.mkdirSync(back);
    await os(['appcontainer', 'cp', 'remote1:/tmp/note.txt', back]);
    assert.equal(fs.readFileSync(path.join(back, 'note.txt'), 'utf8'), 'copied through the agent\n');

    // commit: the engine's snapshot streamed back by the agent into a new image of the project.
    const committed = await os(['appcontainer', 'commit', 'remote1', 'remote-snap:v1']);
    assert.match(committed, /accepted/, committed);
    const snap = await waitFor('the committed image active', async () => {
      const list = (await t.request('GET', '/image/v2/images?name=remote-snap', { token: await t.token('demo') })).body?.images as { status: string; size: number; tags: string[] }[] | undefined;
      return list?.[0]?.status === 'active' ? list[0] : undefined;
    }, 120_000);
    assert.deepEqual(snap.tags, ['v1']);
    assert.ok(snap.size > 100_000, `the snapshot archive streamed back (${snap.size} bytes)`);

    // stats through the CLI; top through the API (the client's `appcontainer top` is Python 2 code,
    // `print("%-20s") % titles`, and fails on any answer).
    const top = await t.request('GET', `/container/v1/containers/${id}/top?ps_args=None`, { token: await t.token('demo') });
    assert.equal(top.status, 200, top.text);
    assert.ok(top.body.Titles.includes('PID'));
    assert.ok(top.body.Processes.some((p: string[]) => p.join(' ').includes('sleep 3600')));
    const stats = await os(['appcontainer', 'stats', 'remote1']);
    assert.match(stats, /MEM LIMIT\(MiB\)/);
    assert.match(stats, /CPU %/);

    // delete --stop (the client prints a refusal and exits 0, so the look-up below is what tells).
    const deleted = await os(['appcontainer', 'delete', '--stop', 'remote1']);
    assert.match(deleted, /accepted/, deleted);
    await waitFor('container gone', async () => {
      const r = await t.request('GET', `/container/v1/containers/${id}`, { token: await t.token('demo') });
      return r.status === 404 ? true : undefined;
    }, 120_000);
    await waitFor('nothing left on the nested engine', async () => ((await workloads()).length === 0 ? true : undefined), 60_000);
    assert.equal(agent!.child.exitCode, null, 'the agent still runs');
  });
});
