// Pid files are only trusted for the processes hafen started: a pid reused by another program after a
// crash is neither reported as running nor signalled by `hafen down`; a start after a crash or a stop
// never waits on a dead or dying engine (issue 13: restart is quick and sure).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { checkoutDir } from '../../src/config.ts';
import { enginePaths, ensureLocalEngine, pingSocket, readPid, stopLocalEngine } from '../../src/host/local-engine.ts';
import { testDataDir } from '../helpers/cloud.ts';

it('ignores pid files whose pid now belongs to another program', async () => {
  const dataDir = testDataDir('stale-pids');
  const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const engine = enginePaths(dataDir);
    fs.mkdirSync(engine.dir, { recursive: true });
    fs.writeFileSync(engine.pidFile, String(stranger.pid));
    fs.writeFileSync(path.join(dataDir, 'hafen.pid'), String(stranger.pid));
    assert.equal(readPid(engine.pidFile), stranger.pid, 'alive');
    assert.equal(readPid(engine.pidFile, 'dockerd'), undefined, 'but not a dockerd');
    assert.equal(readPid(engine.pidFile, 'sleep'), stranger.pid);

    const down = spawnSync(process.execPath, [path.join(checkoutDir, 'bin', 'hafen.mjs'), 'down'], {
      env: { ...process.env, HAFEN_DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, /not running/);
    // Let the exit of a wrongly signalled child be noticed before looking.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stranger.exitCode, null);
    assert.equal(stranger.signalCode, null, 'the stranger was not signalled');
  } finally {
    stranger.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

it('starts at once over a stale pid file, reuses a healthy engine, and replaces a silent one', async () => {
  const dataDir = testDataDir('engine-restart');
  const engine = enginePaths(dataDir);
  const stranger = spawn('sleep', ['600'], { stdio: 'ignore' });
  try {
    // A crash left a pid file whose number now belongs to another program: not waited on.
    fs.mkdirSync(engine.dir, { recursive: true });
    fs.writeFileSync(engine.pidFile, String(stranger.pid));
    const first = await ensureLocalEngine(dataDir, { timeoutMs: 120_000 });
    assert.equal(first.started, true);
    const pid = readPid(engine.pidFile, engine.pidFile)!;
    assert.ok(pid && pid !== stranger.pid);
    assert.equal(stranger.signalCode, null, 'the stranger was not signalled');

    // Healthy: reused as it is.
    const again = await ensureLocalEngine(dataDir);
    assert.equal(again.started, false);
    assert.equal(readPid(engine.pidFile, engine.pidFile), pid);

    // Alive but silent (hung, or dying after a stop): replaced after the grace, not waited on for a minute.
    process.kill(pid, 'SIGSTOP');
    const replaced = await ensureLocalEngine(dataDir, { graceMs: 2000, timeoutMs: 120_000 });
    assert.equal(replaced.started, true);
    const newPid = readPid(engine.pidFile, engine.pidFile);
    assert.ok(newPid && newPid !== pid, 'a new engine');
    assert.throws(() => process.kill(pid, 0), 'the silent one is gone');
    assert.equal(await pingSocket(replaced.socket), true);
  } finally {
    stranger.kill('SIGKILL');
    await stopLocalEngine(dataDir);
    // The engine killed while stopped leaves its mounts of the data root behind.
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dataDir));
    for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
