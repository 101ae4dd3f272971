// Pid files are only trusted for the processes hafen started: a pid reused by another program after a
// crash is neither reported as running nor signalled by `hafen down`.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { checkoutDir } from '../../src/config.ts';
import { enginePaths, readPid } from '../../src/host/local-engine.ts';
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
