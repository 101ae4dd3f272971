// Floating IPs on the host: the address goes on loopback and the nat table's HAFEN-FIP chain DNATs it
// to the server's fixed IP; HAFEN-FIP-SNAT masquerades host-originated (127/8) traffic so replies return.
import { runTool } from './run.ts';

const DNAT_CHAIN = 'HAFEN-FIP';
const SNAT_CHAIN = 'HAFEN-FIP-SNAT';

async function iptables(args: string[]): Promise<string> {
  return runTool('iptables', ['-w', '5', ...args]);
}

async function exists(table: string, chain: string, rule: string[]): Promise<boolean> {
  return iptables(['-t', table, '-C', chain, ...rule]).then(() => true, () => false);
}

async function ensureRule(table: string, chain: string, rule: string[]): Promise<void> {
  if (!(await exists(table, chain, rule))) await iptables(['-t', table, '-A', chain, ...rule]);
}

/** Creates the chains and jumps once; idempotent. */
export async function ensureFloatingIpChains(): Promise<void> {
  for (const chain of [DNAT_CHAIN, SNAT_CHAIN]) await iptables(['-t', 'nat', '-N', chain]).catch(() => {});
  await ensureRule('nat', 'PREROUTING', ['-j', DNAT_CHAIN]);
  await ensureRule('nat', 'OUTPUT', ['-j', DNAT_CHAIN]);
  await ensureRule('nat', 'POSTROUTING', ['-j', SNAT_CHAIN]);
  // Loopback-sourced packets may leave through a bridge only with route_localnet.
  await runTool('sysctl', ['-qw', 'net.ipv4.conf.all.route_localnet=1']);
}

function dnatRule(floatingIp: string, fixedIp: string): string[] {
  return ['-d', `${floatingIp}/32`, '-j', 'DNAT', '--to-destination', fixedIp, '-m', 'comment', '--comment', `hafen-fip ${floatingIp}`];
}

function snatRule(floatingIp: string, fixedIp: string): string[] {
  return ['-s', '127.0.0.0/8', '-d', `${fixedIp}/32`, '-j', 'MASQUERADE', '-m', 'comment', '--comment', `hafen-fip ${floatingIp}`];
}

export async function addFloatingIp(floatingIp: string, fixedIp: string): Promise<void> {
  await ensureFloatingIpChains();
  await runTool('ip', ['addr', 'replace', `${floatingIp}/32`, 'dev', 'lo']);
  await ensureRule('nat', DNAT_CHAIN, dnatRule(floatingIp, fixedIp));
  await ensureRule('nat', SNAT_CHAIN, snatRule(floatingIp, fixedIp));
}

/** Removes the address and its rules; succeeds when they are already gone. */
export async function removeFloatingIp(floatingIp: string): Promise<void> {
  for (const chain of [DNAT_CHAIN, SNAT_CHAIN]) {
    const listing = await iptables(['-t', 'nat', '-S', chain]).catch(() => '');
    for (const line of listing.split('\n')) {
      if (!line.startsWith(`-A ${chain} `) || !line.includes(`hafen-fip ${floatingIp}"`)) continue;
      const args = line.slice(3).match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ''));
      await iptables(['-t', 'nat', '-D', ...args]).catch(() => {});
    }
  }
  await runTool('ip', ['addr', 'del', `${floatingIp}/32`, 'dev', 'lo']).catch(() => {});
}
