// The project-owned Docker engine for all-in-one mode: a dockerd with its own socket, data root,
// exec root and pid file under the data directory. We only ever stop the pid we started.
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';

export interface LocalEngine {
  socket: string;
  pidFile: string;
  /** True when this call started dockerd (false when one of ours was already running). */
  started: boolean;
}

export function engineDir(dataDir: string): string {
  return path.join(dataDir, 'engine');
}

export function enginePaths(dataDir: string) {
  const dir = engineDir(dataDir);
  return {
    dir,
    socket: path.join(dir, 'docker.sock'),
    dataRoot: path.join(dir, 'data'),
    // exec-root is kept short: the engine builds unix socket paths under it (108-byte limit).
    execRoot: path.join('/run', `hafen-${shortHash(dir)}`),
    pidFile: path.join(dir, 'docker.pid'),
    logFile: path.join(dir, 'dockerd.log'),
  };
}

function shortHash(s: string): string {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(36);
}

export function pingSocket(socket: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: socket, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * The live pid recorded in a pid file, or undefined. With `command`, a pid now used by a process whose
 * command line does not contain it (the number was reused after a crash) does not count.
 */
export function readPid(pidFile: string, command?: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    if (command !== undefined) {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!cmdline.includes(command)) return undefined;
    }
    return pid;
  } catch {
    return undefined;
  }
}

/** Starts our dockerd unless it already answers; waits until it does. */
export async function ensureLocalEngine(dataDir: string, timeoutMs = 60_000): Promise<LocalEngine> {
  const p = enginePaths(dataDir);
  if (await pingSocket(p.socket)) return { socket: p.socket, pidFile: p.pidFile, started: false };
  fs.mkdirSync(p.dataRoot, { recursive: true });
  fs.mkdirSync(p.execRoot, { recursive: true });
  const stale = readPid(p.pidFile, 'dockerd');
  if (stale) {
    // Our dockerd is alive but not answering yet (still starting): wait for it below.
  } else {
    fs.rmSync(p.pidFile, { force: true });
    fs.rmSync(p.socket, { force: true });
    const log = fs.openSync(p.logFile, 'a');
    const child = spawn(
      'dockerd',
      [
        '--host', `unix://${p.socket}`,
        '--data-root', p.dataRoot,
        '--exec-root', p.execRoot,
        '--pidfile', p.pidFile,
        '--tls=false',
        '--storage-driver', 'overlay2',
        '--bridge', 'none',
        '--iptables=true',
      ],
      { detached: true, stdio: ['ignore', log, log], env: { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}` } },
    );
    child.unref();
    fs.closeSync(log);
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pingSocket(p.socket)) return { socket: p.socket, pidFile: p.pidFile, started: !stale };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dockerd did not answer on ${p.socket} within ${timeoutMs / 1000}s; see ${p.logFile}`);
}

/** Stops the dockerd recorded in our pid file, if it is still running; waits for it to exit. */
export async function stopLocalEngine(dataDir: string, timeoutMs = 20_000): Promise<boolean> {
  const p = enginePaths(dataDir);
  const pid = readPid(p.pidFile, 'dockerd');
  if (!pid) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  while (!exited && Date.now() < deadline) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 100));
    } catch {
      exited = true;
    }
  }
  if (!exited) process.kill(pid, 'SIGKILL');
  // The exec root lives under /run, outside the data dir: remove it with the engine that used it.
  try {
    fs.rmSync(p.execRoot, { recursive: true, force: true });
  } catch {
    // still mounted (engine killed hard): harmless, it is reused on the next start
  }
  return true;
}
