// Zun through Debian's python3-zunclient (`openstack appcontainer ...`) against a cloud on the shared
// test engine: run with --wait, exec both ways (the interactive one through a pseudo-terminal),
// attach, logs, cp both ways, commit and run the committed image, quotas exact under racing creates,
// another project's ports, groups, networks and exec sessions refused, privileged refused to all,
// another project's containers answering 404 on every verb, and Zun's error body and states.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import { claimTestSubnet } from '../helpers/subnets.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

const run = promisify(execFile);

/** Drives the openstack CLI in a pseudo-terminal (Python's pty): each step sends its keys, then waits for its output. */
const PTY_DRIVER = `
import fcntl, json, os, pty, select, struct, sys, termios, time
args, steps = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp('openstack', ['openstack'] + args)
# A terminal of 30 rows and 100 columns, which the client passes on to the session (resize).
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))
buf = b''
def read_until(pattern, timeout, resend=None):
    global buf
    end = time.time() + timeout
    while pattern.encode() not in buf:
        left = end - time.time()
        wait = min(left, resend[1]) if resend else left
        r = select.select([fd], [], [], max(0, wait))[0] if wait > 0 else []
        if not r and resend and left > 0:
            # Keys typed before the client's terminal went raw are flushed: type them again.
            os.write(fd, resend[0].encode())
            continue
        if not r:
            sys.stdout.write(buf.decode('utf8', 'replace')); sys.exit('timed out waiting for %r' % pattern)
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b''
        if not chunk:
            sys.stdout.write(buf.decode('utf8', 'replace')); sys.exit('the terminal closed before %r' % pattern)
        # Answer a cursor position query as a terminal does (busybox's shell asks for it).
        if b'\x1b[6n' in chunk:
            os.write(fd, b'\x1b[1;1R')
        buf += chunk
for step in steps:
    if 'send' in step:
        os.write(fd, step['send'].encode())
        time.sleep(step.get('pause', 0.3))
    if 'expect' in step:
        read_until(step['expect'], step.get('timeout', 90), (step['send'], step['resend']) if 'resend' in step else None)
try:
    os.kill(pid, 9)
except ProcessLookupError:
    pass
sys.stdout.write(buf.decode('utf8', 'replace'))
`;

describe('Zun API through the openstack appcontainer CLI', () => {
  let t: TestCloud;
  let imageTar: string;
  let socket: string;
  let demo: string;
  const zun = (method: string, url: string, opts: { token?: string; body?: unknown; version?: string } = {}) =>
    t.request(method, `/container/v1${url}`, { token: opts.token ?? demo, ...(opts.body !== undefined ? { body: opts.body } : {}), headers: { 'openstack-api-version': `container ${opts.version ?? '1.40'}` } });
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  const statusOf = async (id: string) => (await zun('GET', `/containers/${id}`)).body?.status as string | undefined;
  const becomes = (id: string, want: string, ms = 90_000) => waitFor(`${id} ${want}`, async () => ((await statusOf(id)) === want ? true : undefined), ms);
  const cliEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', OS_CLIENT_CONFIG_FILE: t.cloud.cloudsYaml, OS_CLOUD: 'hafen-demo', TERM: 'xterm' });
  const inPty = async (args: string[], steps: { send?: string; expect?: string; timeout?: number; pause?: number; resend?: number }[]) => {
    try {
      const { stdout } = await run('/usr/bin/python3', ['-c', PTY_DRIVER, JSON.stringify(args), JSON.stringify(steps)], { env: cliEnv(), timeout: 180_000, maxBuffer: 8 << 20 });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`openstack ${args.join(' ')} in a terminal: ${e.stderr ?? ''}\n--- the terminal showed:\n${e.stdout ?? ''}`);
    }
  };
  /** Runs a container through the API and waits for it to run; answers its uuid. */
  const runContainer = async (name: string, body: Record<string, unknown> = {}) => {
    const r = await zun('POST', '/containers?run=true', { body: { name, image: 'busybox', command: ['sh', '-c', 'echo started; exec sleep 3600'], ...body } });
    assert.equal(r.status, 202, r.text);
    await becomes(r.body.uuid, 'Running');
    return r.body.uuid as string;
  };

  before(async () => {
    ({ t, imageTar, socket } = await startComputeCloud('containers-cli'));
    demo = await t.token('demo');
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--public', '--file', imageTar, 'busybox'], 'hafen-admin');
    // Zun joins a container to the project's oldest network: the demo project gets one.
    const net = await t.request('POST', '/network/v2.0/networks', { token: demo, body: { network: { name: 'zun-net' } } });
    const sub = await t.request('POST', '/network/v2.0/subnets', { token: demo, body: { subnet: { network_id: net.body.network.id, cidr: (await claimTestSubnet()).cidr, ip_version: 4, name: 'zun-sub' } } });
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
    // The engine counts the tail over both streams, then keeps the stream asked for (as Zun passes it on).
    const tail = await zun('GET', `/containers/${id}/logs?tail=2&stdout=True&stderr=False&timestamps=True`);
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

  it('runs an interactive exec through a pseudo-terminal, with resize, and attaches to an interactive container', async () => {
    const id = await runContainer('shell1');
    // What comes back is computed in the container (the terminal's echo of the input would not say 42).
    // Keys are typed once the shell's prompt shows: the client puts the terminal in raw mode (flushing
    // what was typed before) only once the session is up.
    const out = await inPty(['appcontainer', 'exec', '--interactive', 'shell1', 'sh'], [
      { expect: '/ # ' },
      { send: 'echo zun-$((6*7))-$(hostname | wc -c)\r', expect: 'zun-42-' },
      { send: 'stty size\r', expect: '30 100' },
      { send: 'exit\r', pause: 1 },
    ]);
    assert.match(out, /zun-42-\d+/);
    // The client sized the terminal of the exec (execute_resize) to its own.
    assert.match(out, /30 100/);
    // An exec token is good once.
    const prepared = await zun('POST', `/containers/${id}/execute?command=sh&run=false&interactive=true`);
    assert.equal(prepared.status, 200, prepared.text);
    assert.match(prepared.body.exec_id, /^[0-9a-f]{64}$/);
    assert.match(prepared.body.proxy_url, /^ws:\/\/.*\/container\/websocket\/\?token=[0-9a-f]{64}&uuid=/);
    const forged = prepared.body.proxy_url.replace(/token=[0-9a-f]{8}/, 'token=00000000');
    const refused = await run('/usr/bin/python3', ['-c', `import websocket\ntry:\n  websocket.create_connection(${JSON.stringify(forged)})\n  print('opened')\nexcept Exception as e:\n  print('refused', e)`]);
    assert.match(refused.stdout, /^refused .*403/);

    // attach: an interactive container (stdin and tty) running a shell.
    const a = await zun('POST', '/containers?run=true', { body: { name: 'att1', image: 'busybox', command: ['sh'], interactive: true, tty: true } });
    assert.equal(a.status, 202, a.text);
    await becomes(a.body.uuid, 'Running');
    assert.equal(a.body.tty, true);
    const attached = await inPty(['appcontainer', 'attach', 'att1'], [
      { expect: 'press Enter to continue', timeout: 60 },
      // An attached shell prints nothing until it is spoken to: Enter (again every 2 s, as keys typed
      // before the client's terminal goes raw are flushed).
      { send: '\r', expect: '/ # ', resend: 2 },
      { send: 'echo attached-$((2+3))\r', expect: 'attached-5' },
      // (zunclient's `~.` never matches under Python 3, bytes against str: the client is ended instead)
      { send: '\r', pause: 1 },
    ]);
    assert.match(attached, /attached-5/);
    // Detaching leaves the container running; a container that is not interactive cannot be attached to.
    assert.equal(await statusOf(a.body.uuid), 'Running');
    const notInteractive = await zun('GET', `/containers/${id}/attach`);
    assert.equal(notInteractive.status, 400);
    assert.equal(notInteractive.body.errors[0].code, 'container.no-interactive-flag');
  });

  it('copies files in and out with cp, commits, and runs the committed image by name', async () => {
    const id = await runContainer('files1');
    const dir = fs.mkdtempSync(path.join(t.dataDir, 'cp-'));
    fs.writeFileSync(path.join(dir, 'note.txt'), 'written on the host\n');
    await os(['appcontainer', 'cp', path.join(dir, 'note.txt'), 'files1:/tmp']);
    const exec = await zun('POST', `/containers/${id}/execute?command=${encodeURIComponent('cat /tmp/note.txt')}&run=true`);
    assert.equal(exec.body.output, 'written on the host\n');
    await zun('POST', `/containers/${id}/execute?command=${encodeURIComponent("sh -c 'mkdir -p /data && echo made-inside > /data/out.txt'")}&run=true`);
    const back = path.join(dir, 'back');
    fs.mkdirSync(back);
    await os(['appcontainer', 'cp', 'files1:/data/out.txt', back]);
    assert.equal(fs.readFileSync(path.join(back, 'out.txt'), 'utf8'), 'made-inside\n');
    const archive = await zun('GET', `/containers/${id}/get_archive?path=/data/out.txt`);
    assert.deepEqual(Object.keys(archive.body.stat).sort(), ['linkTarget', 'mode', 'mtime', 'name', 'size']);
    assert.equal(archive.body.stat.name, 'out.txt');
    assert.equal((await zun('GET', `/containers/${id}/get_archive?path=/no/such/file`)).status, 400);

    // commit: a new docker image of the project, active within a minute, runnable by name.
    const commit = await zun('POST', `/containers/${id}/commit?repository=snap-files&tag=v1`);
    assert.equal(commit.status, 202, commit.text);
    const imageId = commit.body.uuid as string;
    await waitFor('the committed image active', async () => ((await t.request('GET', `/image/v2/images/${imageId}`, { token: demo })).body?.status === 'active' ? true : undefined), 60_000);
    const image = (await t.request('GET', `/image/v2/images/${imageId}`, { token: demo })).body;
    assert.equal(image.container_format, 'docker');
    assert.equal(image.visibility, 'private');
    assert.deepEqual(image.tags, ['v1']);
    const fromSnap = await zun('POST', '/containers?run=true', { body: { name: 'from-snap', image: 'snap-files:v1', command: ['sh', '-c', 'cat /data/out.txt /tmp/note.txt; exec sleep 3600'] } });
    assert.equal(fromSnap.status, 202, fromSnap.text);
    await becomes(fromSnap.body.uuid, 'Running');
    await waitFor('the committed files in the logs', async () => (/made-inside[\s\S]*written on the host/.test(String((await zun('GET', `/containers/${fromSnap.body.uuid}/logs`)).body)) ? true : undefined), 30_000);
  });

  it('writes --mount type=bind file content into the container (no host mount), bounded, and refuses volume mounts', async () => {
    const conf = path.join(t.dataDir, 'app.conf');
    const content = 'line one\nkey = "value with spaces"\n\ttabbed \u00e9\n';
    fs.writeFileSync(conf, content);
    const created = JSON.parse(await os(['appcontainer', 'run', '-f', 'json', '--name', 'mounted', '--wait', '--mount', `type=bind,source=${conf},destination=/etc/app/app.conf`, 'busybox', 'sleep', '3600']));
    assert.equal(created.status, 'Running');
    const read = await zun('POST', `/containers/${created.uuid}/execute?command=${encodeURIComponent('cat /etc/app/app.conf')}&run=true`);
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.output, content);
    // The content was written into the container's own file system: the engine shows no bind mount.
    const inspect = await engineClient(`unix://${socket}`).getContainer(`hafen-${created.uuid}`).inspect();
    assert.deepEqual(inspect.Mounts.filter((m) => m.Type === 'bind'), []);
    assert.deepEqual((inspect.HostConfig.Binds ?? []).filter((b) => b.includes('/etc/app')), []);
    // No volume service: a volume mount is refused with a clear answer, and nothing is made.
    const failure = (p: Promise<string>) => p.then(() => '', (e: Error) => e.message);
    assert.match(await failure(os(['appcontainer', 'run', '--name', 'with-volume', '--mount', 'source=vol1,destination=/data', 'busybox', 'sleep', '1'])), /block storage/);
    // One file's content is at most 1 MiB of base64, all of them 4 MiB decoded (400 beyond), the body 8 MiB (413).
    const big = path.join(t.dataDir, 'big.bin');
    fs.writeFileSync(big, Buffer.alloc(900_000, 7));
    assert.match(await failure(os(['appcontainer', 'run', '--name', 'too-big', '--mount', `type=bind,source=${big},destination=/big`, 'busybox', 'sleep', '1'])), /400/);
    const chunk = Buffer.alloc(750_000, 1).toString('base64');
    const many = await zun('POST', '/containers', { body: { name: 'too-many', image: 'busybox', mounts: Array.from({ length: 6 }, (_, i) => ({ type: 'bind', source: chunk, destination: `/f${i}` })) } });
    assert.equal(many.status, 400, many.text);
    assert.match(many.body.errors[0].detail, /limited to 4194304 bytes/);
    const huge = await zun('POST', '/containers', { body: { name: 'too-much', image: 'busybox', mounts: Array.from({ length: 9 }, (_, i) => ({ type: 'bind', source: chunk, destination: `/f${i}` })) } });
    assert.equal(huge.status, 413);
    for (const name of ['with-volume', 'too-big', 'too-many', 'too-much']) assert.equal((await zun('GET', `/containers/${name}`)).status, 404, name);
    await os(['appcontainer', 'delete', '--stop', 'mounted']);
    await waitFor('mounted gone', async () => ((await zun('GET', `/containers/${created.uuid}`)).status === 404 ? true : undefined), 90_000);
  });

  it('loads an image-service image onto a host for admins with appcontainer image pull', async () => {
    const word = `pulled-${Date.now()}`;
    const tar = path.join(t.dataDir, 'pulled.tar');
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh', '-c', `echo ${word}; exec sleep 3600`] }));
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--public', '--file', tar, 'pulled'], 'hafen-admin');
    const engine = engineClient(`unix://${socket}`);
    // Images of this test's archive only (its word is in their command): other files load images into the shared engine meanwhile.
    const ours = async () => {
      const found: string[] = [];
      for (const image of await engine.listImages()) {
        const cmd = ((await engine.getImage(image.Id).inspect().catch(() => undefined))?.Config?.Cmd ?? []).join(' ');
        if (cmd.includes(word)) found.push(image.Id);
      }
      return found;
    };
    assert.deepEqual(await ours(), [], 'not on the host before the pull');
    const hostname = (await json(['appcontainer', 'host', 'list'], 'hafen-admin'))[0].hostname as string;
    const failure = (p: Promise<string>) => p.then(() => '', (e: Error) => e.message);
    assert.match(await failure(os(['appcontainer', 'image', 'pull', 'pulled', hostname])), /403|Policy doesn't allow image:pull/);
    const pulled = await json(['appcontainer', 'image', 'pull', 'pulled', hostname], 'hafen-admin');
    assert.equal(pulled.repo, 'pulled');
    assert.equal(pulled.host, hostname);
    const loaded = await ours();
    assert.equal(loaded.length, 1, 'the image is on the host now');
    // Loading it again loads nothing more; an unknown image or host is refused.
    await json(['appcontainer', 'image', 'pull', 'pulled', hostname], 'hafen-admin');
    assert.deepEqual(await ours(), loaded);
    assert.match(await failure(os(['appcontainer', 'image', 'pull', 'no-such-image', hostname], 'hafen-admin')), /could not be found/);
    assert.match(await failure(os(['appcontainer', 'image', 'pull', 'pulled', 'no-such-host'], 'hafen-admin')), /could not be found/);
  });

  it('keeps Zun\'s quotas exact under racing creates', async () => {
    const admin = await t.token('admin');
    const other = await memberOfNewProject(t, 'zun-quota');
    const net = await t.request('POST', '/network/v2.0/networks', { token: other.token, body: { network: { name: 'q-net' } } });
    await t.request('POST', '/network/v2.0/subnets', { token: other.token, body: { subnet: { network_id: net.body.network.id, cidr: (await claimTestSubnet()).cidr, ip_version: 4 } } });
    const set = await zun('PUT', `/quotas/${other.projectId}`, { token: admin, body: { containers: 3 } });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.body.containers, 3);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => zun('POST', '/containers', { token: other.token, body: { name: `race-${i}`, image: 'busybox', memory: 64, command: ['sleep', '3600'] } })));
    const codes = answers.map((a) => a.status).sort();
    assert.deepEqual(codes, [202, 202, 202, 403, 403, 403, 403, 403], answers.map((a) => a.text).join('\n'));
    assert.match(answers.find((a) => a.status === 403)!.body.errors[0].detail, /Quota exceeded for resources: \['containers'\]/);
    const usage = await zun('GET', `/quotas/${other.projectId}?usages=True`, { token: other.token });
    assert.deepEqual(usage.body.containers, { limit: 3, in_use: 3 });
    assert.equal((await zun('GET', '/containers', { token: other.token })).body.containers.length, 3);
    // Members read their own project's quotas, not others'; only admins change them.
    assert.equal((await zun('PUT', `/quotas/${other.projectId}`, { token: other.token, body: { containers: 100 } })).status, 403);
  });

  it('refuses another project\'s ports, groups, networks and exec sessions, and privileged containers to everybody', async () => {
    const victim = await runContainer('victim2', { tty: true, interactive: true });
    const netId = Object.keys((await zun('GET', `/containers/${victim}`)).body.addresses)[0]!;
    const port = await t.request('POST', '/network/v2.0/ports', { token: demo, body: { port: { network_id: netId, name: 'victim-port' } } });
    assert.equal(port.status, 201, port.text);
    const group = await t.request('POST', '/network/v2.0/security-groups', { token: demo, body: { security_group: { name: 'victim-sg' } } });
    assert.equal(group.status, 201, group.text);
    const prepared = await zun('POST', `/containers/${victim}/execute?command=sh&run=false&interactive=true`);
    assert.equal(prepared.status, 200, prepared.text);

    const thief = await memberOfNewProject(t, 'zun-thief');
    const as = (method: string, url: string, body?: unknown) => zun(method, url, { token: thief.token, ...(body !== undefined ? { body } : {}) });
    const net = await t.request('POST', '/network/v2.0/networks', { token: thief.token, body: { network: { name: 'thief-net' } } });
    await t.request('POST', '/network/v2.0/subnets', { token: thief.token, body: { subnet: { network_id: net.body.network.id, cidr: (await claimTestSubnet()).cidr, ip_version: 4 } } });
    const own = await as('POST', '/containers?run=true', { name: 'thief1', image: 'busybox', command: ['sleep', '3600'], interactive: true, tty: true });
    assert.equal(own.status, 202, own.text);
    await waitFor('thief1 Running', async () => ((await as('GET', `/containers/${own.body.uuid}`)).body?.status === 'Running' ? true : undefined), 90_000);

    // Another project's port, group or network is unknown to the thief, at create and afterwards.
    const withPort = await as('POST', '/containers', { image: 'busybox', nets: [{ port: port.body.port.id }] });
    assert.equal(withPort.status, 400, withPort.text);
    assert.equal((await t.request('GET', `/network/v2.0/ports/${port.body.port.id}`, { token: demo })).body.port.device_id, '');
    assert.equal((await as('POST', '/containers', { image: 'busybox', nets: [{ network: netId }] })).status, 400);
    assert.equal((await as('POST', '/containers', { image: 'busybox', security_groups: [group.body.security_group.id] })).status, 400);
    assert.equal((await as('POST', `/containers/${own.body.uuid}/network_attach?network=${netId}`)).status, 400);
    assert.equal((await as('POST', `/containers/${own.body.uuid}/add_security_group?name=${group.body.security_group.id}`)).status, 400);
    // The victim's exec session cannot be resized through the thief's container, nor opened for it.
    const resize = await as('POST', `/containers/${own.body.uuid}/execute_resize?exec_id=${prepared.body.exec_id}&h=10&w=10`);
    assert.equal(resize.status, 404, resize.text);
    const moved = prepared.body.proxy_url.replace(/uuid=[0-9a-f-]+/, `uuid=${own.body.uuid}`);
    const refused = await run('/usr/bin/python3', ['-c', `import websocket\ntry:\n  websocket.create_connection(${JSON.stringify(moved)})\n  print('opened')\nexcept Exception as e:\n  print('refused', e)`]);
    assert.match(refused.stdout, /^refused .*403/);
    // Nothing the thief made counts against the victim's quota or shows in its lists.
    assert.deepEqual((await zun('GET', '/containers')).body.containers.map((c: { name: string }) => c.name).filter((n: string) => n.startsWith('thief')), []);

    // privileged: refused to members and admins alike, in every spelling, and nothing is made.
    const admin = await t.token('admin');
    for (const [token, value] of [[thief.token, true], [thief.token, 'True'], [admin, true], [admin, 'true']] as const) {
      const r = await zun('POST', '/containers?run=true', { token, body: { name: 'priv1', image: 'busybox', privileged: value } });
      assert.equal(r.status, 403, r.text);
    }
    assert.equal((await zun('GET', '/containers?all_projects=True', { token: admin })).body.containers.filter((c: { name: string }) => c.name === 'priv1').length, 0);
  });

  it('answers 404 for another project\'s container on every verb, and leaves it as it was', async () => {
    const victim = await runContainer('victim1', { interactive: true });
    const other = await memberOfNewProject(t, 'zun-attacker');
    const as = (method: string, url: string, body?: unknown) => zun(method, url, { token: other.token, ...(body !== undefined ? { body } : {}) });
    const c = `/containers/${victim}`;
    const attempts: [string, string, unknown?][] = [
      ['GET', c], ['PATCH', c, { memory: 128 }], ['DELETE', `${c}?force=True`], ['DELETE', `${c}?stop=True`],
      ['POST', `${c}/start`], ['POST', `${c}/stop`], ['POST', `${c}/reboot`], ['POST', `${c}/pause`], ['POST', `${c}/unpause`],
      ['POST', `${c}/kill?signal=SIGKILL`], ['POST', `${c}/rebuild`], ['GET', `${c}/logs`], ['POST', `${c}/execute?command=true&run=true`],
      ['POST', `${c}/execute?command=sh&run=false&interactive=true`], ['GET', `${c}/attach`], ['POST', `${c}/resize?h=10&w=10`],
      ['GET', `${c}/top`], ['GET', `${c}/stats`], ['GET', `${c}/get_archive?path=/etc/hostname`], ['POST', `${c}/put_archive?path=/tmp`, { data: '' }],
      ['POST', `${c}/commit?repository=stolen`], ['POST', `${c}/add_security_group?name=default`], ['POST', `${c}/remove_security_group?name=default`],
      ['POST', `${c}/network_detach?network=zun-net`], ['POST', `${c}/network_attach?network=zun-net`], ['GET', `${c}/network_list`],
      ['GET', `${c}/container_actions`], ['POST', `${c}/resize_container`, { cpu: 2 }], ['POST', `${c}/rename?name=mine`],
      ['GET', `${c}?all_projects=True`],
    ];
    for (const [method, url, body] of attempts) {
      const r = await as(method, url, body);
      // rename is gone at 1.40 and all_projects is an admin's: those are 404 and 403 whatever the container.
      const want = url.includes('all_projects') ? 403 : 404;
      assert.equal(r.status, want, `${method} ${url}: ${r.status} ${r.text}`);
      assert.doesNotMatch(r.text, /victim1/);
    }
    // By name, too.
    assert.equal((await as('GET', '/containers/victim1')).status, 404);
    assert.equal(await statusOf(victim), 'Running');
    assert.deepEqual((await as('GET', '/containers')).body.containers, []);
    assert.equal((await zun('GET', `/containers/${victim}/container_actions`)).body.containerActions.length, 1);
  });
});
