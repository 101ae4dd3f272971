// The IPv4 blocks this machine already uses, for code that picks a block for a new bridge: every
// route's destination (a bridge an engine killed hard left behind keeps its route while the link is
// down, and the interface list leaves such links out) and every source an engine masquerades (a killed
// engine's NAT rule outlives its bridge, and would rewrite the traffic between the members of a new
// bridge on the same block: the swarm's VXLAN between nested hosts then never arrives).
import fs from 'node:fs';
import os from 'node:os';
import { execFile } from 'node:child_process';
import { ipToInt } from '../platform/ipv4.ts';

/** An IPv4 block as first and last address (32-bit unsigned). */
export interface Block {
  first: number;
  last: number;
}

/** `a.b.c.d/n` as a block; undefined for anything else. */
export function parseBlock(cidr: string): Block | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  const addr = m ? ipToInt(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (addr === undefined || !(prefix >= 0 && prefix <= 32)) return undefined;
  const size = 2 ** (32 - prefix);
  const first = addr - (addr % size);
  return { first, last: first + size - 1 };
}

/** The destinations of the main routing table (/proc/net/route: hex, host byte order), default route left out. */
export function routeBlocks(table: string): Block[] {
  const blocks: Block[] = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = parseInt(f[1]!, 16);
    const mask = parseInt(f[7]!, 16);
    if (!Number.isFinite(dest) || !Number.isFinite(mask) || mask === 0) continue;
    const le = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
    const first = le(dest).reduce((n, p) => n * 256 + p, 0);
    const bits = le(mask).reduce((n, p) => n * 256 + p, 0);
    blocks.push({ first, last: first + (2 ** 32 - 1 - bits) });
  }
  return blocks;
}

/** The sources of the MASQUERADE rules in `iptables -t nat -S POSTROUTING` output. */
export function masqueradeBlocks(rules: string): Block[] {
  const blocks: Block[] = [];
  for (const line of rules.split('\n')) {
    if (!/-j MASQUERADE\b/.test(line)) continue;
    const m = /(?:^|\s)-s (\S+)/.exec(line);
    const block = m ? parseBlock(m[1]!.includes('/') ? m[1]! : `${m[1]}/32`) : undefined;
    if (block) blocks.push(block);
  }
  return blocks;
}

function natRules(): Promise<string> {
  return new Promise((resolve) => {
    execFile('iptables', ['-w', '5', '-t', 'nat', '-S', 'POSTROUTING'], { timeout: 10_000 }, (err, stdout) => resolve(err ? '' : stdout));
  });
}

/** Every block in use on this machine: routes, masqueraded sources, and each interface address. */
export async function machineBlocksInUse(): Promise<Block[]> {
  let table = '';
  try {
    table = fs.readFileSync('/proc/net/route', 'utf8');
  } catch {
    // not Linux: the interface list below is all there is
  }
  const addresses = Object.values(os.networkInterfaces())
    .flat()
    .map((a) => (a?.family === 'IPv4' ? ipToInt(a.address) : undefined))
    .filter((n): n is number => n !== undefined)
    .map((n) => ({ first: n, last: n }));
  return [...routeBlocks(table), ...masqueradeBlocks(await natRules()), ...addresses];
}

/** Whether `cidr` overlaps any of `used`. */
export function blockTaken(cidr: string, used: readonly Block[]): boolean {
  const b = parseBlock(cidr);
  if (!b) return true;
  return used.some((u) => u.first <= b.last && b.first <= u.last);
}
