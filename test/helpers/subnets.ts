// Address ranges for tests whose servers join engine networks on the shared test engine: a range that no
// other test file of this checkout holds, now or earlier in the run. Engine bridge networks on one
// engine may not overlap ("Pool overlaps"), and the engine keeps every network a test cloud made until
// the run ends, so a range drawn at random can meet another file's, running beside it or finished.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { checkoutDir } from '../../src/config.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { machineBlocksInUse } from '../../src/host/machine-blocks.ts';
import { contains, ipToInt, overlaps, parseCidr, type Cidr } from '../../src/network/ipam.ts';
import { testEngineSocket } from './engine.ts';

/**
 * Tenant subnets: 10.150.0.0 to 10.223.255.0, clear of the product's own ranges on the engine (default
 * networks in 10.96.0.0/12, cluster node networks in 10.250.0.0/16) and of the fixed ranges tests name.
 */
const TENANT_OCTETS = [150, 223] as const;
/** Default-network ranges, one per test cloud: /21s (eight default networks) of 10.96.0.0/12. */
const DEFAULT_OCTETS = [96, 111] as const;
/** One file per claimed range, holding the claiming process's pid: claims live as long as their process. */
const claimsDir = path.join(checkoutDir, '.hafen-test', 'subnet-claims');
/** A dead process's claim is cleared once this old (its networks, if any, are on the engine anyway). */
const STALE_CLAIM_MS = 3600_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What a candidate range must not overlap: `engine`, the shared engine's networks and this machine's
 * blocks (other engines' bridges, down ones and the NAT rules of killed engines included:
 * src/host/machine-blocks.ts); `machine`, this machine's blocks alone (no engine started for it);
 * `addresses`, this machine's interface addresses alone (loopback ranges, which no route names).
 */
type CheckedAgainst = 'engine' | 'machine' | 'addresses';

async function rangesInUse(against: CheckedAgainst): Promise<{ subnets: Cidr[]; addresses: number[] }> {
  if (against === 'addresses') return { subnets: [], addresses: machineAddresses() };
  const machine = (await machineBlocksInUse()).map((b) => ({ network: b.first, prefix: 0, first: b.first, last: b.last, text: '' }));
  if (against === 'machine') return { subnets: machine, addresses: [] };
  const docker = engineClient(`unix://${await testEngineSocket()}`);
  const networks = (await docker.listNetworks()) as { IPAM?: { Config?: { Subnet?: string }[] | null } }[];
  const subnets = networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => parseCidr(c.Subnet ?? ''))).filter((c): c is Cidr => c !== undefined);
  return { subnets: [...subnets, ...machine], addresses: machineAddresses() };
}

function machineAddresses(): number[] {
  return Object.values(os.networkInterfaces()).flat().map((a) => ipToInt(a?.address ?? '')).filter((a): a is number => a !== undefined);
}

function claim(cidr: string, staleMs = STALE_CLAIM_MS): boolean {
  const file = path.join(claimsDir, cidr.replace('/', '-'));
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // Held: by a live process, or by one that died (then cleared once old, never taken over here).
  try {
    const stat = fs.statSync(file);
    const holder = Number(fs.readFileSync(file, 'utf8'));
    if (!alive(holder) && Date.now() - stat.mtimeMs > staleMs) fs.rmSync(file, { force: true });
  } catch {
    // cleared by another process meanwhile
  }
  return false;
}

/**
 * Claims a free block of `<first>.<octets>.x.0/<prefix>` (prefix 16 to 24) for this process, checked
 * against what `against` names. A dead process's claim is taken over once `staleMs` old.
 */
async function claimRange(
  octets: readonly [number, number],
  prefix: number,
  { first = 10, against = 'engine', staleMs = STALE_CLAIM_MS }: { first?: number; against?: CheckedAgainst; staleMs?: number } = {},
): Promise<Cidr> {
  fs.mkdirSync(claimsDir, { recursive: true });
  const { subnets, addresses } = await rangesInUse(against);
  const step = 2 ** (24 - prefix);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const candidate = parseCidr(`${first}.${randomInt(octets[0], octets[1] + 1)}.${randomInt(0, 256 / step) * step}.0/${prefix}`)!;
    if (subnets.some((s) => overlaps(s, candidate))) continue;
    if (addresses.some((a) => contains(candidate, a))) continue;
    if (claim(candidate.text, staleMs)) return candidate;
  }
  throw new Error(`no free /${prefix} in ${first}.${octets[0]}.0.0-${first}.${octets[1]}.255.255 for a test`);
}

/**
 * Claims a /24 for this test process: `cidr` is `10.x.y.0/24`, `prefix` its first three octets (for
 * addresses such as `${prefix}.50`). It overlaps no network on the shared engine, no address on this
 * machine, and no range another live test process claimed.
 */
export async function claimTestSubnet(): Promise<{ cidr: string; prefix: string }> {
  const c = await claimRange(TENANT_OCTETS, 24);
  return { cidr: c.text, prefix: c.text.replace(/\.0\/24$/, '') };
}

/**
 * Claims a /21 of 10.96.0.0/12 for one test cloud's default networks (HAFEN_DEFAULT_NETWORK_RANGE):
 * clouds on the shared engine drawing from all of 10.96.0.0/12 could pick the same /24.
 */
export async function claimDefaultNetworkRange(): Promise<string> {
  return (await claimRange(DEFAULT_OCTETS, 21)).text;
}

/**
 * Claims a /24 of 127.128.0.0/10 for one test cloud's floating IPs (HAFEN_FLOATING_IP_RANGE): the
 * default, a /20 chosen by a hash of the data directory, is another cloud's 1 time in 1,024, and two
 * clouds then put the same address on the host's loopback, each NATing it to its own server.
 */
export async function claimFloatingIpRange(): Promise<string> {
  return (await claimRange([128, 191], 24, { first: 127, against: 'addresses' })).text;
}

/**
 * Claims the cluster ranges of one test cloud: its node network `bridge:10.250.x.0/24` and its front
 * addresses `127.77.x.0/24` (HAFEN_CLUSTER_NODE_NETWORK, HAFEN_CLUSTER_FRONT_ADDRESSES). The default,
 * one byte of a hash of the data directory, is another cloud's 1 time in 250: two test files making
 * clusters at the same time then both listen on 127.77.x.2:2376 (EADDRINUSE) and bridge one /24.
 */
async function claimClusterRanges(): Promise<{ nodeNetwork: string; frontAddresses: string }> {
  // Against this machine's blocks only: the node network, if a cloud made it, is a routed bridge. A dead
  // holder's claim goes at once: its node network, if still there, is routed (so taken), and its fronts
  // listened only while it lived.
  const nodes = await claimRange([250, 250], 24, { against: 'machine', staleMs: 0 });
  return { nodeNetwork: `bridge:${nodes.text}`, frontAddresses: nodes.text.replace(/^10\.250\.(\d+)\.0\/24$/, '127.77.$1.0/24') };
}

/**
 * A test cloud's cluster ranges: claimed at the first start on `dataDir` and kept there, so that the
 * cloud started again on it (a restart, a child process serving it) keeps its clusters' networks.
 */
export async function testClusterRanges(dataDir: string): Promise<{ nodeNetwork: string; frontAddresses: string }> {
  const file = path.join(dataDir, 'test-cluster-ranges.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as { nodeNetwork: string; frontAddresses: string };
  } catch {
    // first start on this data directory
  }
  const ranges = await claimClusterRanges();
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(ranges));
  return ranges;
}
