// The container verbs' contract (exec, sessions, attach, logs, archives, stats, top, commit) as
// one suite every ComputeDriver runs against itself: the Docker, fake and remote drivers' tests
// call describeVerbsContract with a way to make servers on their host.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, type Duplex } from 'node:stream';
import { ConflictError, NotFoundError } from '../platform/errors.ts';
import { writeTar } from '../host/tar-writer.ts';
import { readTar } from './fake/tar-reader.ts';
import type { ComputeDriver, ContainerOptions, ServerSpec } from './driver.ts';

export interface VerbsHarness {
  driver: ComputeDriver;
  /** The image id every spec uses (already made available with ensureImage). */
  imageId: string;
  /** Removes what the suite made (the suite destroys its servers itself). */
  close(): Promise<void>;
}

/** A busybox-like server spec: no network, 64 MiB, the given container options. */
export function verbsSpec(serverId: string, imageId: string, container: ContainerOptions): ServerSpec {
  return {
    serverId, imageId, command: null, memoryMiB: 64, vcpus: 1, pidsLimit: 256, cpuset: null, readOnlyRoot: false,
    hostname: 'verbs', env: [], network: null, configDrive: {}, authorizedKeys: null, container,
  };
}

async function readAll(stream: Readable, timeoutMs = 20_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const timer = setTimeout(() => stream.destroy(new Error(`no end of stream within ${timeoutMs} ms`)), timeoutMs);
  try {
    for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks);
}

/** Reads from a session until `want` has come (or fails after the timeout). */
function readUntil(stream: Duplex, want: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`waited for ${JSON.stringify(want)}, got ${JSON.stringify(seen)}`));
    }, timeoutMs);
    const onData = (c: Buffer) => {
      seen += c.toString('utf8');
      if (seen.includes(want)) {
        cleanup();
        resolve(seen);
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new Error(`the session ended before ${JSON.stringify(want)} came (got ${JSON.stringify(seen)})`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}

export function describeVerbsContract(name: string, setup: () => Promise<VerbsHarness>): void {
  describe(`${name}: the container verbs contract`, () => {
    let h: VerbsHarness;
    let d: ComputeDriver;
    const made: string[] = [];
    const id = (tag: string) => `verbs-${tag}-${process.pid}-${Date.now().toString(36)}`;
    const spawn = async (tag: string, container: ContainerOptions) => {
      const serverId = id(tag);
      made.push(serverId);
      await d.spawn(verbsSpec(serverId, h.imageId, container));
      return serverId;
    };
    let sleeper: string;

    before(async () => {
      h = await setup();
      d = h.driver;
      sleeper = await spawn('sleeper', { command: ['sh', '-c', 'echo out-line; echo err-line >&2; exec sleep 3600'] });
    });
    after(async () => {
      for (const s of made) await d.destroy(s).catch(() => undefined);
      await h?.close();
    });

    it('declares the verbs it offers', () => {
      for (const c of ['exec', 'attach', 'archive', 'stats', 'logs'] as const) assert.equal(d.capabilities[c], true, c);
    });

    it('runs a command to its end with its output and exit code, cut at the limit', async () => {
      const r = await d.exec(sleeper, ['echo', 'hello verbs'], { maxOutputBytes: 1 << 20 });
      assert.equal(r.output.toString(), 'hello verbs\n');
      assert.equal(r.exitCode, 0);
      assert.equal(r.truncated, false);
      assert.equal((await d.exec(sleeper, ['sh', '-c', 'exit 3'], { maxOutputBytes: 1024 })).exitCode, 3);
      const cut = await d.exec(sleeper, ['echo', 'abcdefgh'], { maxOutputBytes: 3 });
      assert.equal(cut.output.toString(), 'abc');
      assert.equal(cut.truncated, true);
      assert.equal(cut.exitCode, 0);
    });

    it('refuses verbs on a missing server (NotFound) and on a stopped one (Conflict)', async () => {
      await assert.rejects(d.exec(id('missing'), ['true'], { maxOutputBytes: 10 }), NotFoundError);
      await assert.rejects(d.stats(id('missing')), NotFoundError);
      const stopped = await spawn('created', { command: ['sh', '-c', 'exec sleep 3600'], start: false });
      assert.equal((await d.state(stopped)).power, 'shutdown');
      await assert.rejects(d.exec(stopped, ['true'], { maxOutputBytes: 10 }), ConflictError);
      await assert.rejects(d.createExec(stopped, ['sh'], { tty: true }), ConflictError);
      await assert.rejects(d.attach(stopped), ConflictError);
      await assert.rejects(d.stats(stopped), ConflictError);
      await assert.rejects(d.top(stopped, null), ConflictError);
    });

    it('starts a prepared process once and carries its session both ways', async () => {
      const execId = await d.createExec(sleeper, ['cat'], { tty: false });
      assert.match(execId, /^[0-9a-f]{64}$/);
      await d.resizeExec(sleeper, execId, { height: 30, width: 100 });
      const session = await d.startExec(sleeper, execId);
      session.write('ping-through-session\n');
      await readUntil(session, 'ping-through-session\n');
      session.end();
      await readAll(session);
      await assert.rejects(d.startExec(sleeper, execId), NotFoundError);
      await assert.rejects(d.startExec(sleeper, 'f'.repeat(64)), NotFoundError);
    });

    it('attaches to the main process and detaches leaving it running', async () => {
      const catter = await spawn('attach', { command: ['cat'], openStdin: true });
      const session = await d.attach(catter);
      session.write('through-attach\n');
      await readUntil(session, 'through-attach\n');
      session.destroy();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await d.state(catter)).power, 'running');
      await d.resizeTty(catter, { height: 24, width: 80 });
    });

    it('streams logs with their filters and ends the stream', async () => {
      const all = (await readAll(await d.logs(sleeper, { stdout: true, stderr: true, tail: null, timestamps: false, since: null }))).toString();
      assert.ok(all.length > 0);
      assert.equal((await readAll(await d.logs(sleeper, { stdout: true, stderr: true, tail: 0, timestamps: false, since: null }))).length, 0);
      assert.equal((await readAll(await d.logs(sleeper, { stdout: false, stderr: false, tail: null, timestamps: false, since: null }))).length, 0);
      const stamped = (await readAll(await d.logs(sleeper, { stdout: true, stderr: false, tail: 2, timestamps: true, since: null }))).toString();
      assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
      assert.equal((await readAll(await d.logs(sleeper, { stdout: true, stderr: true, tail: null, timestamps: false, since: Math.floor(Date.now() / 1000) + 3600 }))).length, 0);
    });

    it('puts an archive into a directory and gets a path back as an archive with its stat', async () => {
      await d.archivePut(sleeper, '/tmp', Readable.from([writeTar([{ type: 'file', path: 'copied/hello.txt', content: Buffer.from('hi from tar') }])]));
      assert.equal((await d.exec(sleeper, ['cat', '/tmp/copied/hello.txt'], { maxOutputBytes: 1024 })).output.toString(), 'hi from tar');
      const got = await d.archiveGet(sleeper, '/tmp/copied/hello.txt');
      assert.equal(got.stat.name, 'hello.txt');
      assert.equal(got.stat.size, 11);
      const files = readTar(await readAll(got.data));
      assert.deepEqual(files.filter((f) => f.type === 'file').map((f) => [f.path, f.content.toString()]), [['hello.txt', 'hi from tar']]);
      const dir = await d.archiveGet(sleeper, '/tmp/copied');
      assert.equal(dir.stat.name, 'copied');
      assert.ok(readTar(await readAll(dir.data)).some((f) => f.path === 'copied/hello.txt'));
      await assert.rejects(d.archiveGet(sleeper, '/no/such/path'), NotFoundError);
      await assert.rejects(d.archivePut(sleeper, '/no/such/dir', Readable.from([writeTar([{ type: 'file', path: 'x', content: Buffer.from('x') }])])), NotFoundError);
      // Works on a server that is not running.
      const created = await spawn('archive-created', { command: ['sh', '-c', 'exec sleep 3600'], start: false });
      await d.archivePut(created, '/tmp', Readable.from([writeTar([{ type: 'file', path: 'early.txt', content: Buffer.from('early') }])]));
      assert.equal(readTar(await readAll((await d.archiveGet(created, '/tmp/early.txt')).data))[0]!.content.toString(), 'early');
    });

    it('samples stats and lists processes', async () => {
      const s = await d.stats(sleeper);
      assert.equal(s.memoryLimitBytes, 64 * 2 ** 20);
      for (const v of Object.values(s)) assert.ok(typeof v === 'number' && v >= 0);
      const t = await d.top(sleeper, null);
      assert.ok(t.titles.includes('PID'), t.titles.join(' '));
      assert.ok(t.processes.length >= 1);
      assert.ok(t.processes.every((p) => p.length === t.titles.length));
    });

    it('signals the main process, and refuses a server that is not running', async () => {
      const victim = await spawn('signal', { command: ['sh', '-c', 'exec sleep 3600'] });
      await d.signal(victim, 'SIGKILL');
      for (let i = 0; i < 100 && (await d.state(victim)).power === 'running'; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await d.state(victim)).power, 'shutdown');
      await assert.rejects(d.signal(victim, 'SIGTERM'), ConflictError);
      await assert.rejects(d.signal(id('missing'), 'SIGTERM'), NotFoundError);
    });

    it('describes a server as the engine does, with nothing of the host in it', async () => {
      assert.equal(d.capabilities.inspect, true);
      const doc = (await d.inspect(sleeper)) as any;
      assert.equal(doc.Id, sleeper);
      assert.equal(doc.Name, `/${sleeper}`);
      assert.equal(doc.State.Running, true);
      assert.deepEqual(doc.Config.Cmd, ['sh', '-c', 'echo out-line; echo err-line >&2; exec sleep 3600']);
      assert.equal(doc.HostConfig.Memory, 64 * 2 ** 20);
      assert.equal(doc.HostConfig.Privileged, false);
      assert.equal(doc.Image, '');
      assert.equal(doc.State.Pid, undefined);
      const text = JSON.stringify(doc);
      assert.doesNotMatch(text, /\b[0-9a-f]{64}\b/, 'no engine id');
      assert.doesNotMatch(text, /"\/(var\/lib|run|var\/run)\/(docker|containerd)|\.hafen-test|hafen\.(server_id|cloud|managed)|hafen-cfg-/, 'no host path or hafen mark');
      const stopped = await spawn('inspect-created', { command: ['sh', '-c', 'exec sleep 3600'], start: false });
      assert.equal(((await d.inspect(stopped)) as any).State.Running, false);
      await assert.rejects(d.inspect(id('missing')), NotFoundError);
    });

    it('commits into a docker save archive, when it commits', async (t) => {
      if (!d.capabilities.commit) {
        await assert.rejects(d.commit(sleeper), ConflictError);
        return t.skip('this driver does not commit');
      }
      await d.exec(sleeper, ['sh', '-c', 'echo committed > /committed.txt'], { maxOutputBytes: 1024 });
      const archive = await readAll(await d.commit(sleeper), 60_000);
      const entries = readTar(archive);
      assert.ok(entries.some((e) => e.path === 'manifest.json'), entries.map((e) => e.path).join(' '));
      assert.equal((await d.state(sleeper)).power, 'running');
    });
  });
}
