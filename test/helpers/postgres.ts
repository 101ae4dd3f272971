// A project-owned PostgreSQL cluster for tests under .hafen-test/pg (Debian's postgresql 15 binaries,
// run as the `postgres` user on 127.0.0.1); started once, shared by a run, a fresh database per call.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { checkoutDir } from '../../src/config.ts';
import { freePort } from './cloud.ts';

/** Where the cluster is found: `.hafen-test/pg` of the checkout (a link when the cluster lives elsewhere, below). */
export const testPostgresDir = path.join(checkoutDir, '.hafen-test', 'pg');

/** Whether a user other than root can reach `dir` (every directory above it searchable by others). */
function reachableByOthers(dir: string): boolean {
  for (let d = path.resolve(dir); d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) return false;
  }
  return true;
}

/**
 * The cluster's real directory. The server runs as the postgres user, which cannot reach a checkout
 * below a directory closed to others (a clone in /root or a `mktemp -d`, mode 0700): the cluster
 * then lives in /var/tmp, one per checkout, and `.hafen-test/pg` links to it for root's tools.
 */
function clusterDir(): string {
  fs.mkdirSync(path.dirname(testPostgresDir), { recursive: true });
  if (reachableByOthers(path.dirname(testPostgresDir))) return testPostgresDir;
  const outside = path.join('/var/tmp', `hafen-test-pg-${createHash('sha256').update(checkoutDir).digest('hex').slice(0, 12)}`);
  fs.mkdirSync(outside, { recursive: true, mode: 0o700 });
  const link = fs.lstatSync(testPostgresDir, { throwIfNoEntry: false });
  if (!link?.isSymbolicLink() || fs.readlinkSync(testPostgresDir) !== outside) {
    // A cluster made here before cannot be served from here: it is replaced by the link.
    fs.rmSync(testPostgresDir, { recursive: true, force: true });
    fs.symlinkSync(outside, testPostgresDir);
  }
  return outside;
}

const clusterRoot = clusterDir();
const dataDir = path.join(clusterRoot, 'data');
const socketDir = path.join(clusterRoot, 'run');
const logFile = path.join(clusterRoot, 'postgres.log');
const lockFile = path.join(clusterRoot, 'start.lock');

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (scripts/setup.sh --test installs Debian\'s postgresql)');
  return path.join(root, versions[0]!, 'bin');
}

/** Runs a PostgreSQL tool as the postgres user (the server refuses to run as root). */
function asPostgres(tool: string, args: string[]): string {
  const cmd = path.join(postgresBin(), tool);
  const argv = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const : [cmd, args] as const;
  return execFileSync(argv[0], [...argv[1]], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
}

function chownToPostgres(p: string): void {
  if (process.getuid?.() !== 0) return;
  execFileSync('chown', ['-R', 'postgres:postgres', p]);
}

/** The port of our running postmaster, from its pid file (line 4), if it is alive. */
function runningPort(): number | undefined {
  try {
    const lines = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    process.kill(Number(lines[0]), 0);
    const port = Number(lines[3]);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

async function withStartLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(clusterRoot, { recursive: true });
  for (let i = 0; ; i++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      // A lock left by a dead process is stale.
      const holder = Number(fs.readFileSync(lockFile, 'utf8') || '0');
      let alive = false;
      try {
        if (holder > 0) process.kill(holder, 0), (alive = true);
      } catch {}
      if (!alive || i > 600) fs.rmSync(lockFile, { force: true });
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

let started: Promise<number> | undefined;

/** Starts the test cluster unless it runs already (initialising it on first use); resolves with its port. */
export function ensureTestPostgres(): Promise<number> {
  started ??= withStartLock(async () => {
    const port = runningPort();
    if (port) return port;
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.mkdirSync(dataDir, { recursive: true });
      chownToPostgres(clusterRoot);
      asPostgres('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
      // Test data is disposable: trade durability for speed.
      fs.appendFileSync(
        path.join(dataDir, 'postgresql.conf'),
        `\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${socketDir}'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n`,
      );
    }
    fs.mkdirSync(socketDir, { recursive: true });
    chownToPostgres(clusterRoot);
    const newPort = await freePort();
    asPostgres('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', `-p ${newPort}`, '-w', '-t', '60', 'start']);
    return newPort;
  });
  return started;
}

/** A fresh, empty database in the test cluster, as a postgres:// URL. */
export async function testPostgresUrl(): Promise<string> {
  const port = await ensureTestPostgres();
  const name = `hafen_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `postgres://postgres@127.0.0.1:${port}/${name}`;
}

/** Stops the test cluster if it runs (scripts/run-tests.mjs does this at the end of a run). */
export function stopTestPostgres(): void {
  started = undefined;
  if (!runningPort()) return;
  asPostgres('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
}
