// Tenant subnets for tests whose servers join engine networks on the shared test engine: a /24 that no
// other test file of this checkout holds, now or earlier in the run. Engine bridge networks on one
// engine may not overlap ("Pool overlaps"), and the engine keeps every network a test cloud made until
// the run ends, so a range drawn at random can meet another file's, running beside it or finished.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { checkoutDir } from '../../src/config.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { overlaps, parseCidr } from '../../src/network/ipam.ts';
import { testEngineSocket } from './engine.ts';

/**
 * 10.150.0.0 to 10.223.255.0: clear of the product's own ranges on the engine (default networks in
 * 10.96.0.0/12, cluster node networks in 10.250.0.0/16) and of the fixed ranges test files name.
 */
const FIRST_OCTET = 150;
const LAST_OCTET = 223;
/** One file per claimed /24, holding the claiming process's pid: claims live as long as their process. */
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

/** Subnets the shared engine's networks hold and addresses of this machine's interfaces (other engines' bridges). */
async function rangesInUse(): Promise<{ subnets: string[]; addresses: string[] }> {
  const docker = engineClient(`unix://${await testEngineSocket()}`);
  const networks = (await docker.listNetworks()) as { IPAM?: { Config?: { Subnet?: string }[] | null } }[];
  const subnets = networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '')).filter((s) => parseCidr(s) !== undefined);
  const addresses = Object.values(os.networkInterfaces()).flat().map((a) => a?.address ?? '');
  return { subnets, addresses };
}

function claim(prefix: string): boolean {
  const file = path.join(claimsDir, prefix);
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
    if (!alive(holder) && Date.now() - stat.mtimeMs > STALE_CLAIM_MS) fs.rmSync(file, { force: true });
  } catch {
    // cleared by another process meanwhile
  }
  return false;
}

/**
 * Claims a /24 for this test process: `cidr` is `10.x.y.0/24`, `prefix` its first three octets (for
 * addresses such as `${prefix}.50`). It overlaps no network on the shared engine, no address on this
 * machine, and no range another live test process claimed.
 */
export async function claimTestSubnet(): Promise<{ cidr: string; prefix: string }> {
  fs.mkdirSync(claimsDir, { recursive: true });
  const { subnets, addresses } = await rangesInUse();
  const held = subnets.map((s) => parseCidr(s)!);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const prefix = `10.${randomInt(FIRST_OCTET, LAST_OCTET + 1)}.${randomInt(0, 256)}`;
    const cidr = `${prefix}.0/24`;
    if (held.some((h) => overlaps(h, parseCidr(cidr)!))) continue;
    if (addresses.some((a) => a.startsWith(`${prefix}.`))) continue;
    if (claim(prefix)) return { cidr, prefix };
  }
  throw new Error(`no free /24 in 10.${FIRST_OCTET}.0.0-10.${LAST_OCTET}.255.0 for a test subnet`);
}
