// User-namespace remapping for the engines hafen starts: root in a tenant container is a subordinate
// uid of the dedicated user `hafen-remap` on the host (dockerd --userns-remap), wherever the kernel allows.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

/** The dedicated user whose subordinate ids tenant containers run as. */
export const REMAP_USER = 'hafen-remap';
/** How many ids a remapped container gets (uid 0-65535 inside). */
export const REMAP_RANGE = 65536;
const FIRST_RANGE_START = 100000;

export interface SubordinateRange {
  start: number;
  count: number;
}

/** Whether this kernel lets dockerd make user namespaces (and HAFEN_USERNS_REMAP does not say no). */
export function userNamespacesAvailable(env: Record<string, string | undefined> = process.env): boolean {
  if (env.HAFEN_USERNS_REMAP === '0' || env.HAFEN_USERNS_REMAP === 'off') return false;
  try {
    if (!fs.existsSync('/proc/self/ns/user')) return false;
    return Number(fs.readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim()) > 0;
  } catch {
    return false;
  }
}

/** The ranges of a subordinate id file (/etc/subuid, /etc/subgid) by owner. */
export function parseSubordinateIds(text: string): { owner: string; start: number; count: number }[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length === 3 && /^\d+$/.test(f[1]!) && /^\d+$/.test(f[2]!))
    .map(([owner, start, count]) => ({ owner: owner!, start: Number(start), count: Number(count) }));
}

/** The first range of REMAP_RANGE ids from 100000 up that no entry of the file overlaps. */
export function freeSubordinateRange(entries: { start: number; count: number }[]): SubordinateRange {
  let start = FIRST_RANGE_START;
  for (const e of [...entries].sort((a, b) => a.start - b.start)) {
    if (e.start + e.count <= start) continue;
    if (e.start >= start + REMAP_RANGE) break;
    start = e.start + e.count;
  }
  return { start, count: REMAP_RANGE };
}

function userExists(name: string, passwd = '/etc/passwd'): boolean {
  try {
    return fs.readFileSync(passwd, 'utf8').split('\n').some((l) => l.startsWith(`${name}:`));
  } catch {
    return false;
  }
}

/** Adds `REMAP_USER:start:count` to a subordinate id file unless the user has a range there; returns it. */
function ensureRange(file: string): SubordinateRange {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const entries = parseSubordinateIds(text);
  const mine = entries.find((e) => e.owner === REMAP_USER);
  if (mine) return { start: mine.start, count: mine.count };
  const range = freeSubordinateRange(entries);
  fs.appendFileSync(file, `${text && !text.endsWith('\n') ? '\n' : ''}${REMAP_USER}:${range.start}:${range.count}\n`);
  return range;
}

/**
 * Makes the dedicated user and its subordinate uid and gid ranges on this machine (what
 * scripts/setup.sh does; idempotent). Needs root. Returns the uid range containers' ids map into.
 */
export function ensureRemapUser(): SubordinateRange {
  if (!userExists(REMAP_USER)) {
    try {
      execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', REMAP_USER], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      // Made by someone else at the same moment.
      if (!userExists(REMAP_USER)) throw new Error(`useradd ${REMAP_USER}: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? (err as Error).message}`);
    }
  }
  const uids = ensureRange('/etc/subuid');
  ensureRange('/etc/subgid');
  return uids;
}

/** The /etc files a nested host's engine needs to remap with the same user and range (for its image). */
export function remapIdentityFiles(range: SubordinateRange): { path: string; content: string }[] {
  return [
    { path: 'etc/passwd', content: `root:x:0:0:root:/root:/bin/sh\n${REMAP_USER}:x:999:999::/nonexistent:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n` },
    { path: 'etc/group', content: `root:x:0:\n${REMAP_USER}:x:999:\nnogroup:x:65534:\n` },
    { path: 'etc/subuid', content: `${REMAP_USER}:${range.start}:${range.count}\n` },
    { path: 'etc/subgid', content: `${REMAP_USER}:${range.start}:${range.count}\n` },
  ];
}

/**
 * Whether the remapped root can reach `dir` (every parent searchable by others): dockerd refuses a
 * data root below a directory closed to it, such as a clone in /root (mode 0700).
 */
export function reachableByRemappedRoot(dir: string): boolean {
  for (let d = path.resolve(dir); d !== path.dirname(d); d = path.dirname(d)) {
    if (!fs.existsSync(d)) continue;
    if ((fs.statSync(d).mode & 0o001) === 0) return false;
  }
  return true;
}
