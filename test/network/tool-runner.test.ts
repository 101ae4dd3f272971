// The host tools the data plane runs (src/agent/net/run.ts): through the long-lived helper, in a
// network namespace or the host's, many at once, and without the helper where python3 is missing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTool, runToolIn } from '../../src/agent/net/run.ts';

const links = (text: string) => text.split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!);
const RUN_TS = path.resolve('src/agent/net/run.ts');

/** Runs `code` (which may use runToolIn) in a new Node process with `env`; its stdout and how long it took. */
function inChild(code: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; out: string; err: string; ms: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-tool-runner-'));
  const file = path.join(dir, 'child.mts');
  fs.writeFileSync(file, `import { runTool, runToolIn } from ${JSON.stringify(RUN_TS)};\n${code}\n`);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { env, cwd: process.cwd() });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ status, out, err, ms: performance.now() - started });
    });
  });
}

describe('host tools through the tool runner', () => {
  const netns = `hafen-tr-${crypto.randomBytes(3).toString('hex')}`;
  let holder: ChildProcess;
  let pid: number;

  before(async () => {
    assert.equal(spawnSync('ip', ['netns', 'add', netns]).status, 0);
    holder = spawn('ip', ['netns', 'exec', netns, 'sleep', '600'], { stdio: 'ignore' });
    // ip netns exec execs sleep in place: the pid is the sleeping process, inside the namespace.
    await new Promise((r) => holder.once('spawn', r));
    pid = holder.pid!;
    for (let i = 0; i < 50 && fs.readlinkSync(`/proc/${pid}/ns/net`) === fs.readlinkSync('/proc/self/ns/net'); i++) await new Promise((r) => setTimeout(r, 20));
  });
  after(() => {
    holder?.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', netns]);
  });

  it('runs a tool in a container namespace and others in the host namespace, side by side', async () => {
    const before = links(await runTool('ip', ['-o', 'link', 'show']));
    // Forty at once: every answer in the namespace sees only its loopback, every host answer the host's
    // links (a thread that joined the namespace went back before running a host tool).
    const runs = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? runToolIn(pid, 'ip', ['-o', 'link', 'show']).then((t) => ['ns', t]) : runTool('ip', ['-o', 'link', 'show']).then((t) => ['host', t]))));
    // Other test files add and remove engine bridges and veths on the host meanwhile: the host's own
    // links (neither a bridge nor a veth of a test) are there before, during and after.
    const after = links(await runTool('ip', ['-o', 'link', 'show']));
    const steady = before.filter((l) => l !== 'lo' && after.includes(l) && !/^(veth|hf|br-|hv)/.test(l));
    assert.ok(steady.length > 0, `the host has links of its own beside loopback (${before.join(', ')})`);
    for (const [where, text] of runs) {
      if (where === 'ns') assert.deepEqual(links(text!), ['lo']);
      else for (const l of steady) assert.ok(links(text!).includes(l), `a host answer lists ${l}`);
    }
  });

  it('gives a tool its input and names a failing command with its output', async () => {
    const table = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', '-A INPUT -p tcp --dport 8443 -j ACCEPT', 'COMMIT', ''].join('\n');
    await runToolIn(pid, 'iptables-restore', [], table);
    assert.match(await runToolIn(pid, 'iptables-save', ['-t', 'filter']), /-A INPUT -p tcp -m tcp --dport 8443 -j ACCEPT/);
    assert.doesNotMatch(await runTool('iptables-save', ['-t', 'filter']), /--dport 8443 -j ACCEPT/, 'the host table is untouched');
    await assert.rejects(runToolIn(pid, 'ip', ['link', 'show', 'dev', 'no-such-link']), (err: Error) => err.message.includes(`in ${pid}: ip link show dev no-such-link: exit 1`) && /does not exist/.test(err.message));
    await assert.rejects(runTool('no-such-tool-here', []), /no-such-tool-here: exit -1/);
  });

  it('fails the tools of a runner that dies, and starts another for the next', async () => {
    const long = runTool('sh', ['-c', 'sleep 30']);
    const [runnerPid] = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'tool-runner.py']).stdout.toString().trim().split('\n').map(Number);
    assert.ok(runnerPid, 'a runner is this process\'s child');
    process.kill(runnerPid!, 'SIGKILL');
    await assert.rejects(long, /tool runner exited \(SIGKILL\)/);
    assert.deepEqual(links(await runToolIn(pid, 'ip', ['-o', 'link', 'show'])), ['lo']);
    const [next] = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'tool-runner.py']).stdout.toString().trim().split('\n').map(Number);
    assert.ok(next && next !== runnerPid, 'a new runner');
  });

  it('lets the process end when no tool runs', async () => {
    const r = await inChild(`console.log((await runToolIn(${pid}, 'ip', ['-o', 'link', 'show'])).trim().split('\\n').length);`, process.env);
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out.trim(), '1');
    assert.ok(r.ms < 20_000, `the child ended (${r.ms.toFixed(0)} ms)`);
  });

  it('spawns the tools itself where python3 is missing', async () => {
    // A PATH with the tools but no python3.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-no-python-'));
    try {
      for (const tool of ['ip', 'nsenter']) {
        const found = spawnSync('sh', ['-c', `command -v ${tool}`]).stdout.toString().trim();
        fs.symlinkSync(found, path.join(bin, tool));
      }
      const r = await inChild(`console.log((await runToolIn(${pid}, 'ip', ['-o', 'link', 'show'])).trim().split('\\n').length, (await runTool('ip', ['-o', 'link', 'show'])).trim().split('\\n').length > 1);`, { ...process.env, PATH: bin });
      assert.equal(r.status, 0, r.err);
      assert.equal(r.out.trim(), '1 true');
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});
