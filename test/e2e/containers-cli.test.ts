// Zun through Debian's python3-zunclient (`openstack appcontainer ...`) against a cloud on the shared
// test engine: run with --wait, exec both ways (the interactive one through a pseudo-terminal),
// attach, logs, cp both ways, commit and run the committed image, quotas exact under racing creates,
// another project's containers answering 404 on every verb, and Zun's error body and states.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';

const run = promisify(execFile);

/** Drives the openstack CLI in a pseudo-terminal (Python's pty): steps send keys and wait for output. */
const PTY_DRIVER = `
import json, os, pty, select, sys, time
args, steps = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp('openstack', ['openstack'] + args)
buf = b''
def read_until(pattern, timeout):
    global buf
    end = time.time() + timeout
    while pattern.encode() not in buf:
        left = end - time.time()
        r = select.select([fd], [], [], max(0, left))[0] if left > 0 else []
        if not r:
            sys.stdout.write(buf.decode('utf8', 'replace')); sys.exit('timed out waiting for %r' % pattern)
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b''
        if not chunk:
            sys.stdout.write(buf.decode('utf8', 'replace')); sys.exit('the terminal closed before %r' % pattern)
        buf += chunk
for step in steps:
    if 'expect' in step:
        read_until(step['expect'], step.get('timeout', 90))
    if 'send' in step:
        for ch in step['send']:
            os.write(fd, ch.encode())
            time.sleep(0.02)
        time.sleep(step.get('pause', 0.3))
try:
    os.kill(pid, 9)
except ProcessLookupError:
    pass
sys.stdout.write(buf.decode('utf8', 'replace'))
`;

describe('Zun API through the openstack appcontainer CLI', () => {
  let t: TestCloud;
  let imageTar: string;
  let demo: string;
  const zun = (method: string, url: string, opts: { token?: string; body?: unknown; version?: string } = {}) =>
    t.request(method, `/container/v1${url}`, { token: opts.token ?? demo, ...(opts.body !== undefined ? { body: opts.body } : {}), headers: { 'openstack-api-version': `container ${opts.version ?? '1.40'}` } });
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  const statusOf = async (id: string) => (await zun('GET', `/containers/${id}`)).body?.status as string | undefined;
  const becomes = (id: string, want: string, ms = 90_000) => waitFor(`${id} ${want}`, async () => ((await statusOf(id)) === want ? true : undefined), ms);
  const cliEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', OS_CLIENT_CONFIG_FILE: t.cloud.cloudsYaml, OS_CLOUD: 'hafen-demo', TERM: 'xterm' });
  const inPty = async (args: string[], steps: { send?: string; expect?: string; timeout?: number; pause?: number }[]) => {
    const { stdout } = await run('/usr/bin/python3', ['-c', PTY_DRIVER, JSON.stringify(args), JSON.stringify(steps)], {
      env: cliEnv(),
      timeout: 180_000,
      maxBuffer: 8 << 20,
    });
    return stdout;
  };
  /** Runs a container through the API and waits for it to run; answers its uuid. */
  const runContainer = async (name: string, body: Record<string, unknown> = {}) => {
    const r = await zun('POST', '/containers?run=true', { body: { name, image: 'busybox', command: ['sh', '-c', 'echo started; exec sleep 3600'], ...body } });
    assert.equal(r.status, 202, r.text);
    await becomes(r.body.uuid, 'Running');
    return r.body.uuid as string;
  };

  before(async () => {
    ({ t, imageTar } = await startComputeCloud('containers-cli'));
    demo = await t.token('demo');
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--public', '--file', imageTar, 'busybox'], 'hafen-admin');
    // Zun joins a container to the project's oldest network: the demo project gets one.
    const net = await t.request('POST', '/network/v2.0/networks', { token: demo, body: { network: { name: 'zun-net' } } });
    const range = `10.${150 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}`;
    const sub = await t.request('POST', '/network/v2.0/subnets', { token: demo, body: { subnet: { network_id: net.body.network.id, cidr: `${range}.0/24`, ip_version: 4, name: 'zun-sub' } } });
    assert.equal(sub.status, 201, sub.text);
  });
  after(async () => {
    await t?.close();
  });

  it('answers the version document, the catalog entry and Zun\'s headers', async () => {
    const root = await t.request('GET', '/container/');
    assert.equal(root.status, 200);
    assert.deepEqual(root.body.versions.map((v: { id: string; status: string; min_version: string; max_version: string }) => [v.id, v.status, v.min_version, v.max_version]), [['v1', 'CURRENT', '1.1', '1.40']]);
    const catalog = await t.request('GET', '/identity/v3/auth/catalog', { token: demo });
    const entry = catalog.body.catalog.find((s: { type: string }) => s.type === 'container');
    assert.equal(entry.name, 'zun');
    assert.match(entry.endpoints[0].url, /\/container\/v1$/);
    const list = await t.request('GET', '/container/v1/containers/', { token: demo });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('openstack-api-version'), 'container 1.1');
    assert.equal(list.headers.get('openstack-api-minimum-version'), 'container 1.1');
    assert.equal(list.headers.get('openstack-api-maximum-version'), 'container 1.40');
    assert.match(list.headers.get('vary') ?? '', /OpenStack-API-Version/i);
    assert.match(list.headers.get('x-openstack-request-id') ?? '', /^req-/);
    assert.equal((await zun('GET', '/containers', { version: 'latest' })).headers.get('openstack-api-version'), 'container 1.40');
    const tooNew = await zun('GET', '/containers', { version: '1.41' });
    assert.equal(tooNew.status, 406);
    assert.equal(tooNew.body.errors[0].status, 406);
  });

  it('refuses bad input in Zun\'s error body with its status codes', async () => {
    const unknown = await zun('POST', '/containers', { body: { image: 'busybox', colour: 'blue' } });
    assert.equal(unknown.status, 400, unknown.text);
    const e = unknown.body.errors[0];
    assert.deepEqual(Object.keys(e).sort(), ['code', 'detail', 'links', 'request_id', 'status', 'title']);
    assert.equal(e.status, 400);
    assert.match(e.code, /^container\./);
    assert.match(e.detail, /'colour' was unexpected/);
    assert.equal(e.request_id, unknown.headers.get('x-openstack-request-id'));
    assert.equal((await zun('POST', '/containers', { body: { image: 'busybox', cpu: 'lots' } })).status, 400);
    // command is a list from 1.20, a string before it
    assert.equal((await zun('POST', '/containers', { body: { image: 'busybox', command: 'sleep 1' } })).status, 400);
    assert.equal((await zun('POST', '/containers', { body: { image: 'busybox', host: 'x' }, version: '1.38' })).status, 400);
    assert.equal((await zun('POST', '/containers', { body: { image: 'busybox', security_groups: ['default'], exposed_ports: { '80/tcp': {} } } })).status, 400);
    const privileged = await zun('POST', '/containers', { body: { image: 'busybox', privileged: true } });
    assert.equal(privileged.status, 403);
    const noImage = await zun('POST', '/containers', { body: { image: 'no-such-image' } });
    assert.equal(noImage.status, 400);
    assert.equal(noImage.body.errors[0].code, 'container.image-not-found');
    const missing = await zun('GET', '/containers/00000000-0000-4000-8000-000000000000');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errors[0].code, 'container.container-not-found');
    assert.equal((await zun('GET', '/services')).status, 403);
    assert.deepEqual((await zun('GET', '/containers')).body.containers, []);
  });

  it('runs a container with --wait, shows it, and answers exec, logs, top and stats as Zun does', async () => {
    // (-f json before the image: what follows the image is the command)
    const created = JSON.parse(await os(['appcontainer', 'run', '-f', 'json', '--name', 'web1', '--wait', '--environment', 'GREETING=hello', '--label', 'tier=front', 'busybox', 'sh', '-c', 'echo "$GREETING from web1"; echo to-stderr >&2; exec sleep 3600']));
    assert.equal(created.status, 'Running');
    const id = created.uuid as string;
    const shown = (await zun('GET', `/containers/${id}`)).body;
    assert.equal(shown.memory, '512');
    assert.equal(shown.cpu, 1);
    assert.deepEqual(shown.command, ['sh', '-c', 'echo "$GREETING from web1"; echo to-stderr >&2; exec sleep 3600']);
    assert.deepEqual(shown.environment, { GREETING: 'hello' });
    assert.deepEqual(shown.labels, { tier: 'front' });
    const [netId, addrs] = Object.entries(shown.addresses)[0] as [string, { addr: string; version: number; port: string; subnet_id: string; preserve_on_delete: boolean }[]];
    assert.match(netId, /^[0-9a-f-]{36}$/);
    assert.equal(addrs[0]!.version, 4);
    assert.equal(addrs[0]!.preserve_on_delete, false);
    // The container is no Nova server.
    const servers = await t.request('GET', '/compute/v2.1/servers', { token: demo });
    assert.deepEqual(servers.body.servers, []);
    // The port is the container's, owned as Zun owns it.
    const port = await t.request('GET', `/network/v2.0/ports/${addrs[0]!.port}`, { token: demo });
    assert.equal(port.body.port.device_owner, 'compute:zun');
    assert.equal(port.body.port.device_id, id);

    // The CLI prints the output and exits with the command's exit code.
    const cli = await run('openstack', ['appcontainer', 'exec', 'web1', 'sh', '-c', 'echo $((6*7)); exit 3'], { env: cliEnv() }).then(() => ({ code: 0, stdout: '' }), (err: { code: number; stdout: string }) => err);
    assert.equal(cli.code, 3);
    assert.equal(cli.stdout.trim(), '42');
    const exec = await zun('POST', `/containers/${id}/execute?command=${encodeURIComponent("sh -c 'echo $((6*7)); exit 3'")}&run=true`);
    assert.equal(exec.status, 200);
    assert.deepEqual(exec.body, { output: '42\n', exit_code: 3, exec_id: null, proxy_url: null });
    const logs = await os(['appcontainer', 'logs', 'web1']);
    assert.match(logs, /hello from web1/);
    assert.match(logs, /to-stderr/);
    assert.doesNotMatch(await os(['appcontainer', 'logs', '--stdout', 'web1']), /to-stderr/);
    const tail = await zun('GET', `/containers/${id}/logs?tail=1&stdout=True&stderr=False&timestamps=True`);
    assert.match(tail.body, /^\d{4}-\d\d-\d\dT[\d:.]+Z hello from web1\n$/);
    const top = await zun('GET', `/containers/${id}/top?ps_args=None`);
    assert.ok(top.body.Titles.includes('PID'));
    assert.ok(top.body.Processes.some((p: string[]) => p.join(' ').includes('sleep 3600')));
    const stats = (await zun('GET', `/containers/${id}/stats`)).body;
    assert.deepEqual(Object.keys(stats).sort(), ['BLOCK I/O(B)', 'CONTAINER', 'CPU %', 'MEM %', 'MEM LIMIT(MiB)', 'MEM USAGE(MiB)', 'NET I/O(B)'].sort());
    assert.equal(stats['MEM LIMIT(MiB)'], 512);
    assert.match(stats['NET I/O(B)'], /^\d+\/\d+$/);
    // Actions are found by the call's request id.
    const stop = await zun('POST', `/containers/${id}/stop`);
    assert.equal(stop.status, 202);
    await becomes(id, 'Stopped');
    const action = await zun('GET', `/containers/${id}/container_actions/${stop.headers.get('x-openstack-request-id')}`);
    assert.equal(action.status, 200, action.text);
    assert.equal(action.body.action, 'stop');
    assert.equal(action.body.message, null);
    assert.equal(action.body.events[0].event, 'compute__do_container_stop');
    assert.equal((await zun('POST', `/containers/${id}/stop`)).status, 409);
    assert.equal((await zun('POST', `/containers/${id}/execute?command=true`)).status, 409);
    assert.equal((await zun('POST', `/containers/${id}/start`)).status, 202);
    await becomes(id, 'Running');
    // Running: delete needs stop or force.
    assert.equal((await zun('DELETE', `/containers/${id}`)).status, 409);
    assert.equal((await zun('DELETE', `/containers/${id}?stop=True`)).status, 204);
    await waitFor('web1 gone', async () => ((await zun('GET', `/containers/${id}`)).status === 404 ? true : undefined), 60_000);
  });
});
