// The project-owned Docker engine for all-in-one mode: a dockerd with its own socket, data root,
// exec root and pid file under the data directory, tenant containers user-namespace remapped where the
// kernel allows. We only ever stop the pid we started; one that no longer answers is replaced.
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { ensureRemapUser, reachableByRemappedRoot, REMAP_USER, userNamespacesAvailable } from './userns.ts';

export interface LocalEngine {
  socket: string;
  pidFile: string;
  /** True when this call started dockerd (false when one of ours was already running). */
  started: boolean;
  /** Whether tenant containers of this engine run with their ids remapped (dockerd --userns-remap). */
  userns: boolean;
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
    /** Where the data root goes when the data directory is closed to the remapped root (a clone in /root). */
    remappedDataRoot: path.join('/var/lib/hafen/engines', shortHash(dir)),
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

/** The start time of a process (clock ticks since boot, field 22 of /proc/<pid>/stat), or undefined. */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Writes a pid file that names this very process (pid and start time), so a reused pid is never taken for it. */
export function writePidFile(file: string, pid = process.pid): void {
  fs.writeFileSync(file, `${pid} ${startTime(pid) ?? ''}`.trim());
}

/**
 * The live pid recorded in a pid file, or undefined. With `command`, a pid now used by a process whose
 * command line does not contain it (the number was reused after a crash) does not count; a pid file
 * written by writePidFile counts only for the process that started at the recorded time.
 */
export function readPid(pidFile: string, command?: string): number | undefined {
  try {
    const [rawPid, started] = fs.readFileSync(pidFile, 'utf8').trim().split(/\s+/);
    const pid = Number(rawPid);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    if (started !== undefined && startTime(pid) !== started) return undefined;
    if (command !== undefined) {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!cmdline.includes(command)) return undefined;
    }
    return pid;
  } catch {
    return undefined;
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
async function terminate(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

export interface LocalEngineOptions {
  /** How long to wait for the new engine to answer. */
  timeoutMs?: number;
  /**
   * How long an engine of ours that runs but does not answer (still starting, or dying, or hung) is
   * given before it is replaced.
   */
  graceMs?: number;
  /** Remap tenant containers' ids (default: wherever the kernel allows; HAFEN_USERNS_REMAP=0 turns it off). */
  userns?: boolean;
}

/** Whether a running engine remaps ids (`docker info` lists name=userns among its security options). */
async function engineRemaps(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: socket, path: '/v1.41/info', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        try {
          resolve(((JSON.parse(body) as { SecurityOptions?: string[] }).SecurityOptions ?? []).some((o) => o === 'name=userns'));
        } catch {
          resolve(false);
        }
      });
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/**
 * Starts our dockerd unless it already answers (then it is reused as it is); waits until it does. An
 * engine of ours that is alive but silent past `graceMs` (dying after a stop, or hung) is stopped and
 * replaced, and a pid file naming a dead or foreign process is ignored: a start right after a stop or
 * a crash never waits on the old engine.
 */
export async function ensureLocalEngine(dataDir: string, options: LocalEngineOptions | number = {}): Promise<LocalEngine> {
  const o = typeof options === 'number' ? { timeoutMs: options } : options;
  const timeoutMs = o.timeoutMs ?? 60_000;
  const p = enginePaths(dataDir);
  if (await pingSocket(p.socket)) return { socket: p.socket, pidFile: p.pidFile, started: false, userns: await engineRemaps(p.socket) };
  fs.mkdirSync(p.dir, { recursive: true });
  fs.mkdirSync(p.execRoot, { recursive: true });
  // Ours only: its command line names our pid file (a dockerd of another data directory is not).
  const previous = readPid(p.pidFile, p.pidFile);
  if (previous) {
    const deadline = Date.now() + (o.graceMs ?? 20_000);
    while (Date.now() < deadline && alive(previous)) {
      if (await pingSocket(p.socket)) return { socket: p.socket, pidFile: p.pidFile, started: false, userns: await engineRemaps(p.socket) };
      await new Promise((r) => setTimeout(r, 200));
    }
    await terminate(previous, 15_000);
    await stopContainerdOf(p.execRoot);
  }
  fs.rmSync(p.pidFile, { force: true });
  fs.rmSync(p.socket, { force: true });

  const userns = o.userns ?? userNamespacesAvailable();
  let dataRoot = p.dataRoot;
  const args = [
    '--host', `unix://${p.socket}`,
    '--exec-root', p.execRoot,
    '--pidfile', p.pidFile,
    '--tls=false',
    '--storage-driver', 'overlay2',
    '--bridge', 'none',
    '--iptables=true',
  ];
  if (userns) {
    ensureRemapUser();
    // dockerd refuses a data root the remapped root cannot reach: one outside the closed directory then.
    if (!reachableByRemappedRoot(p.dir)) dataRoot = p.remappedDataRoot;
    args.push('--userns-remap', REMAP_USER);
  }
  fs.mkdirSync(dataRoot, { recursive: true });
  args.push('--data-root', dataRoot);
  const log = fs.openSync(p.logFile, 'a');
  const child = spawn('dockerd', args, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}` } });
  child.unref();
  fs.closeSync(log);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.on('error', () => (exited = -1));

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pingSocket(p.socket)) return { socket: p.socket, pidFile: p.pidFile, started: true, userns };
    if (exited !== undefined) throw new Error(`dockerd exited (${exited}) before it answered on ${p.socket}:\n${logTail(p.logFile)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dockerd did not answer on ${p.socket} within ${timeoutMs / 1000}s; see ${p.logFile}`);
}

function logTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-8).join('\n');
  } catch {
    return '';
  }
}

/**
 * The containerd an engine started under its exec root: gone with a killed engine only after a while
 * (or never, when the engine was killed hard), and a new engine that finds its pid file waits for it
 * and gives up. Stopped, and its pid file and sockets removed (nothing else: running containers' state is there too).
 */
async function stopContainerdOf(execRoot: string): Promise<void> {
  const dir = path.join(execRoot, 'containerd');
  const pid = readPid(path.join(dir, 'containerd.pid'), 'containerd');
  if (pid) await terminate(pid, 10_000);
  for (const f of ['containerd.pid', 'containerd.sock', 'containerd.sock.ttrpc', 'containerd-debug.sock']) fs.rmSync(path.join(dir, f), { force: true });
}

/** Stops the dockerd recorded in our pid file, if it is still running; waits for it to exit. */
export async function stopLocalEngine(dataDir: string, timeoutMs = 20_000): Promise<boolean> {
  const p = enginePaths(dataDir);
  const pid = readPid(p.pidFile, p.pidFile);
  if (!pid) return false;
  await terminate(pid, timeoutMs);
  await stopContainerdOf(p.execRoot);
  // The exec root lives under /run, outside the data dir: remove it with the engine that used it.
  try {
    fs.rmSync(p.execRoot, { recursive: true, force: true });
  } catch {
    // still mounted (engine killed hard): harmless, it is reused on the next start
  }
  return true;
}
