// `hafen up` / `hafen down` as a user runs them: a child process with its own data dir, port and
// project-owned dockerd; SIGKILL loses nothing committed; a bad setting stops start-up in one line.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { checkoutDir } from '../../src/config.ts';
import { enginePaths, pingSocket, readPid } from '../../src/host/local-engine.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { BUSYBOX_IMAGE } from '../../src/host/test-images.ts';
import { freePort, testDataDir } from '../helpers/cloud.ts';

const hafen = path.join(checkoutDir, 'bin', 'hafen.mjs');

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function up(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [hafen, 'up'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 90_000;
  while (!/clouds\.yaml: /.test(out)) {
    if (child.exitCode !== null) throw new Error(`hafen up exited with ${child.exitCode}: ${out}`);
    if (Date.now() > deadline) throw new Error(`hafen up not ready after 90s: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out, exited };
}

function down(env: Record<string, string>): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [hafen, 'down'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stdout: r.stdout + r.stderr };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('hafen up and down', () => {
  const dataDir = testDataDir('lifecycle');
  let env: Record<string, string>;
  let engineDockerdPid: number | undefined;

  after(() => {
    // Whatever happened above, leave no cloud and no dockerd of this data dir behind.
    if (env) down(env);
    if (engineDockerdPid && alive(engineDockerdPid)) process.kill(engineDockerdPid, 'SIGKILL');
    // The engine's data root (image layers) is the bulk of it: keep .hafen-test small.
    if (!engineDockerdPid || !alive(engineDockerdPid)) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts its own engine, survives SIGKILL with data and tokens intact, and stops everything on hafen down', async () => {
    const port = await freePort();
    env = { HAFEN_DATA_DIR: dataDir, HAFEN_PORT: String(port), HAFEN_LOG_LEVEL: 'warn', HAFEN_PASSWORD_HASH_COST: '1024' };
    delete process.env.HAFEN_DOCKER_HOSTS;
    const url = `http://127.0.0.1:${port}`;
    const engine = enginePaths(dataDir);

    const first = await up(env);
    assert.match(first.output(), new RegExp(`clouds\\.yaml: ${dataDir}/clouds\\.yaml`));
    assert.ok(fs.existsSync(path.join(dataDir, 'clouds.yaml')));
    engineDockerdPid = readPid(engine.pidFile);
    assert.ok(engineDockerdPid, 'dockerd pid file written');
    assert.equal(await pingSocket(engine.socket), true);
    const image = await engineClient(engine.socket).getImage(BUSYBOX_IMAGE).inspect();
    assert.deepEqual(image.Config.Cmd, ['/bin/sh'], 'hafen up built the busybox image in its engine');

    const creds = JSON.parse(fs.readFileSync(path.join(dataDir, 'bootstrap-credentials.json'), 'utf8'));
    assert.equal(fs.statSync(path.join(dataDir, 'bootstrap-credentials.json')).mode & 0o777, 0o600);
    const auth = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: creds.admin.password } } },
          scope: { project: { name: 'admin', domain: { id: 'default' } } },
        },
      }),
    });
    assert.equal(auth.status, 201);
    const token = auth.headers.get('x-subject-token')!;
    const created = await fetch(`${url}/identity/v3/projects`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify({ project: { name: 'survives-sigkill' } }),
    });
    assert.equal(created.status, 201);
    const projectId = ((await created.json()) as { project: { id: string } }).project.id;

    // SIGKILL: no shutdown hook runs; the engine it started keeps running.
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal(alive(engineDockerdPid), true);

    const second = await up(env);
    const shown = await fetch(`${url}/identity/v3/projects/${projectId}`, { headers: { 'x-auth-token': token } });
    assert.equal(shown.status, 200, 'the token issued before the crash still validates and the project is there');
    assert.equal(((await shown.json()) as { project: { name: string } }).project.name, 'survives-sigkill');
    assert.equal(readPid(engine.pidFile), engineDockerdPid, 'the running engine was reused, not started twice');

    const stopped = down(env);
    assert.equal(stopped.status, 0, stopped.stdout);
    assert.match(stopped.stdout, /hafen: stopped/);
    assert.equal(await second.exited, 0);
    assert.equal(alive(engineDockerdPid), false, 'dockerd it started is gone');
    assert.equal(fs.existsSync(path.join(dataDir, 'hafen.pid')), false);
    assert.equal(await pingSocket(engine.socket), false);
    assert.match(down(env).stdout, /not running/);
  });

  it('refuses a bad setting with one line naming it', () => {
    const r = spawnSync(process.execPath, [hafen, 'up'], {
      env: { ...process.env, HAFEN_DATA_DIR: testDataDir('lifecycle-bad'), HAFEN_PORT: 'abc' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.notEqual(r.status, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /HAFEN_PORT/);
    assert.equal(r.stdout, '');
  });

  it('stops on an unreachable database with one line, leaving no engine it started', () => {
    const badDir = testDataDir('lifecycle-nodb');
    const r = spawnSync(process.execPath, [hafen, 'up'], {
      env: { ...process.env, HAFEN_DATA_DIR: badDir, HAFEN_PORT: '0', HAFEN_DATABASE_URL: 'postgres://bob:secret@127.0.0.1:1/none' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.equal(r.status, 1);
    assert.deepEqual(r.stderr.trim().split('\n'), ['hafen: start-up failed: cannot connect to the database postgres://bob:***@127.0.0.1:1/none: connect ECONNREFUSED 127.0.0.1:1']);
    assert.equal(readPid(enginePaths(badDir).pidFile), undefined, 'the dockerd it started was stopped');
    fs.rmSync(badDir, { recursive: true, force: true });
  });
});
