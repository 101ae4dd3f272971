// Floating IPs on the host: the address goes on loopback and the nat table's HAFEN-<cloud>-FIP chain
// DNATs it to the server's fixed IP (or, for port forwardings, single ports to the server's address and
// port); HAFEN-<cloud>-FIP-SNAT masquerades host-originated (127/8) traffic so replies return. The
// DNATed packets are steered to the server's own bridge (a mark, a rule and a routing table of the
// cloud's): every engine on the machine shares one main routing table, where another engine's bridge
// with the same subnet would otherwise win. A server on another host: a route here sends the address to
// that host, whose own NAT (below) answers. Chains, marks, tables and rule comments carry the cloud's
// tag: clouds sharing a machine or a host never flush or delete each other's rules (no tag: the names
// of the days before tags).
import type Docker from 'dockerode';
import { runTool } from './run.ts';
import { runEngineHelper } from './engine-helper.ts';

/** The chains, comment mark, packet mark and routing table of one cloud's floating IPs. */
export interface FloatingIpChains {
  dnat: string;
  snat: string;
  forward: string;
  /** Mangle chain that marks the packets to a floating IP whose server's bridge is known. */
  steer: string;
  /** Comment prefix of each rule, followed by the address. */
  mark: string;
  /** The packet mark (whole 32 bits) and the routing table that send marked packets to their server's bridge. */
  fwmark: number;
  table: number;
}

/** Priority of the rules that send marked packets to a cloud's table: after `local` (0), before `main`. */
export const STEER_RULE_PRIORITY = 1000;

export function floatingIpChains(tag?: string): FloatingIpChains {
  const base = tag ? `HAFEN-${tag}-FIP` : 'HAFEN-FIP';
  // 'H' in the top byte, the tag's 24 bits below: one mark and one table per cloud, never 253-255 (the kernel's).
  const id = 0x48000000 + (tag ? parseInt(tag, 16) : 0);
  return { dnat: base, snat: `${base}-SNAT`, forward: `${base}-FWD`, steer: `${base}-MARK`, mark: tag ? `hafen-fip ${tag}` : 'hafen-fip', fwmark: id, table: id };
}

const hex = (n: number) => `0x${n.toString(16)}`;

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
export async function ensureFloatingIpChains(c = floatingIpChains()): Promise<void> {
  for (const chain of [c.dnat, c.snat]) await iptables(['-t', 'nat', '-N', chain]).catch(() => {});
  await ensureRule('nat', 'PREROUTING', ['-j', c.dnat]);
  await ensureRule('nat', 'OUTPUT', ['-j', c.dnat]);
  await ensureRule('nat', 'POSTROUTING', ['-j', c.snat]);
  // Loopback-sourced packets may leave through a bridge only with route_localnet.
  await runTool('sysctl', ['-qw', 'net.ipv4.conf.all.route_localnet=1']);
}

/** The mangle chain (PREROUTING and OUTPUT) and the rule and table that steer marked packets; idempotent. */
async function ensureSteering(c: FloatingIpChains): Promise<void> {
  await iptables(['-t', 'mangle', '-N', c.steer]).catch(() => {});
  await ensureRule('mangle', 'PREROUTING', ['-j', c.steer]);
  await ensureRule('mangle', 'OUTPUT', ['-j', c.steer]);
  if (!(await steerRuleExists(c))) await runTool('ip', ['rule', 'add', 'fwmark', hex(c.fwmark), 'lookup', String(c.table), 'priority', String(STEER_RULE_PRIORITY)]);
}

async function steerRuleExists(c: FloatingIpChains): Promise<boolean> {
  const rules = JSON.parse((await runTool('ip', ['-j', 'rule', 'show'])) || '[]') as { fwmark?: string; table?: string }[];
  return rules.some((r) => r.fwmark !== undefined && Number(r.fwmark) === c.fwmark && r.table === String(c.table));
}

function steerRule(floatingIp: string, c: FloatingIpChains): string[] {
  return ['-d', `${floatingIp}/32`, '-j', 'MARK', '--set-xmark', `${hex(c.fwmark)}/0xffffffff`, '-m', 'comment', '--comment', `${c.mark} ${floatingIp}`];
}

/**
 * Packets to the floating IP leave through `device` (the server's bridge) whatever the main table says:
 * marked before NAT, rerouted after DNAT by the cloud's table, where the fixed IP is routed to the bridge
 * (the kernel drops that route with the bridge).
 */
async function steer(floatingIp: string, fixedIp: string, device: string, c: FloatingIpChains): Promise<void> {
  await ensureSteering(c);
  await runTool('ip', ['route', 'replace', `${fixedIp}/32`, 'dev', device, 'table', String(c.table)]);
  await ensureRule('mangle', c.steer, steerRule(floatingIp, c));
}

function dnatRule(floatingIp: string, fixedIp: string, c: FloatingIpChains): string[] {
  return ['-d', `${floatingIp}/32`, '-j', 'DNAT', '--to-destination', fixedIp, '-m', 'comment', '--comment', `${c.mark} ${floatingIp}`];
}

function snatRule(floatingIp: string, fixedIp: string, c: FloatingIpChains): string[] {
  return ['-s', '127.0.0.0/8', '-d', `${fixedIp}/32`, '-j', 'MASQUERADE', '-m', 'comment', '--comment', `${c.mark} ${floatingIp}`];
}

/** One port forwarding of a floating IP: its external port to the server's internal port. */
export interface Forward {
  protocol: 'tcp' | 'udp';
  externalPort: number;
  internalPort: number;
}

function forwardRules(floatingIp: string, internalIp: string, f: Forward, c: FloatingIpChains): { dnat: string[]; snat: string[] } {
  const comment = ['-m', 'comment', '--comment', `${c.mark} ${floatingIp}`];
  return {
    dnat: ['-d', `${floatingIp}/32`, '-p', f.protocol, '--dport', String(f.externalPort), '-j', 'DNAT', '--to-destination', `${internalIp}:${f.internalPort}`, ...comment],
    snat: ['-s', '127.0.0.0/8', '-d', `${internalIp}/32`, '-p', f.protocol, '--dport', String(f.internalPort), '-j', 'MASQUERADE', ...comment],
  };
}

/**
 * A floating IP that forwards only these ports (Neutron's port forwardings) to `internalIp`, reached
 * through `device` (the server's bridge) when it is known.
 */
export async function addPortForwardings(floatingIp: string, internalIp: string, forwards: Forward[], c = floatingIpChains(), device?: string): Promise<void> {
  await ensureFloatingIpChains(c);
  await removeFloatingIpRoute(floatingIp);
  if (device) await steer(floatingIp, internalIp, device, c);
  await runTool('ip', ['addr', 'replace', `${floatingIp}/32`, 'dev', 'lo']);
  for (const f of forwards) {
    const { dnat, snat } = forwardRules(floatingIp, internalIp, f, c);
    await ensureRule('nat', c.dnat, dnat);
    await ensureRule('nat', c.snat, snat);
  }
}

/** The floating IP NATed to `fixedIp`, reached through `device` (the server's bridge) when it is known. */
export async function addFloatingIp(floatingIp: string, fixedIp: string, c = floatingIpChains(), device?: string): Promise<void> {
  await ensureFloatingIpChains(c);
  await removeFloatingIpRoute(floatingIp); // left by a run that routed it to another host
  if (device) await steer(floatingIp, fixedIp, device, c);
  await runTool('ip', ['addr', 'replace', `${floatingIp}/32`, 'dev', 'lo']);
  await ensureRule('nat', c.dnat, dnatRule(floatingIp, fixedIp, c));
  await ensureRule('nat', c.snat, snatRule(floatingIp, fixedIp, c));
}

/** Removes the address and its rules (this cloud's); succeeds when they are already gone. */
export async function removeFloatingIp(floatingIp: string, c = floatingIpChains()): Promise<void> {
  for (const [table, chain] of [['nat', c.dnat], ['nat', c.snat], ['mangle', c.steer]] as const) {
    const listing = await iptables(['-t', table, '-S', chain]).catch(() => '');
    for (const line of listing.split('\n')) {
      if (!line.startsWith(`-A ${chain} `) || !line.includes(`${c.mark} ${floatingIp}"`)) continue;
      const args = line.slice(3).match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ''));
      await iptables(['-t', table, '-D', ...args]).catch(() => {});
    }
  }
  await runTool('ip', ['addr', 'del', `${floatingIp}/32`, 'dev', 'lo']).catch(() => {});
}

/**
 * Takes this cloud's empty floating-IP chains off the machine (shutdown): their jumps, the chains, and
 * the steering rule and table. A chain that still holds rules (another controller of the same cloud on
 * this machine) stays, with what it needs.
 */
export async function removeFloatingIpChains(c: FloatingIpChains): Promise<void> {
  const rulesIn = async (table: string, chain: string) => (await iptables(['-t', table, '-S', chain]).catch(() => '')).split('\n').filter((l) => l.startsWith('-A ')).length;
  const chains = [
    { table: 'nat', chain: c.dnat, from: ['PREROUTING', 'OUTPUT'] },
    { table: 'nat', chain: c.snat, from: ['POSTROUTING'] },
    { table: 'mangle', chain: c.steer, from: ['PREROUTING', 'OUTPUT'] },
  ];
  for (const { table, chain } of chains) if ((await rulesIn(table, chain)) > 0) return;
  for (const { table, chain, from } of chains) {
    for (const parent of from) while (await exists(table, parent, ['-j', chain])) await iptables(['-t', table, '-D', parent, '-j', chain]);
    await iptables(['-t', table, '-X', chain]).catch(() => {});
  }
  while (await steerRuleExists(c)) await runTool('ip', ['rule', 'del', 'fwmark', hex(c.fwmark), 'lookup', String(c.table), 'priority', String(STEER_RULE_PRIORITY)]);
  await runTool('ip', ['route', 'flush', 'table', String(c.table)]).catch(() => {});
}

// ----- floating IPs answered by another host ---------------------------------------------------

/** A floating IP and the address its host DNATs it to (the server's, reachable from that host). */
export interface RemoteFloatingIp {
  floatingIp: string;
  target: string;
  /** Only these ports are forwarded (port forwardings); absent: the whole address. */
  forwards?: Forward[];
}


/**
 * The iptables-restore --noflush text that makes a host's floating-IP chains exactly `fips`
 * (declaring a chain flushes it): DNAT to the target, masquerade towards it (the target sees its
 * host's bridge address, so internal networks without a default route answer too), and accept the
 * forwarded flow both ways ahead of Docker's own isolation rules (DOCKER-USER comes first).
 */
export function remoteFloatingIpRuleset(fips: RemoteFloatingIp[], c = floatingIpChains()): string {
  const sorted = [...fips].sort((a, b) => a.floatingIp.localeCompare(b.floatingIp));
  const comment = (f: RemoteFloatingIp) => `-m comment --comment "${c.mark} ${f.floatingIp}"`;
  const lines = ['*nat', `:${c.dnat} - [0:0]`, `:${c.snat} - [0:0]`];
  for (const f of sorted) {
    if (!f.forwards) lines.push(`-A ${c.dnat} -d ${f.floatingIp}/32 ${comment(f)} -j DNAT --to-destination ${f.target}`);
    else for (const p of f.forwards) lines.push(`-A ${c.dnat} -d ${f.floatingIp}/32 -p ${p.protocol} --dport ${p.externalPort} ${comment(f)} -j DNAT --to-destination ${f.target}:${p.internalPort}`);
  }
  for (const f of sorted) lines.push(`-A ${c.snat} -m conntrack --ctstate DNAT --ctorigdst ${f.floatingIp}/32 ${comment(f)} -j MASQUERADE`);
  lines.push('COMMIT', '*filter', `:${c.forward} - [0:0]`);
  for (const f of sorted) lines.push(`-A ${c.forward} -m conntrack --ctstate DNAT --ctorigdst ${f.floatingIp}/32 ${comment(f)} -j ACCEPT`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

// Runs in the remote host's own network namespace. The jumps go in once; DOCKER-USER exists where
// dockerd manages iptables (else FORWARD). 127/8 destinations arrive from outside only with route_localnet.
const jumpsScript = (c: FloatingIpChains) => `set -e
I="/usr/sbin/iptables -w 5"
$I -t nat -C PREROUTING -j ${c.dnat} 2>/dev/null || $I -t nat -I PREROUTING 1 -j ${c.dnat}
$I -t nat -C POSTROUTING -j ${c.snat} 2>/dev/null || $I -t nat -I POSTROUTING 1 -j ${c.snat}
F=DOCKER-USER; $I -n -L DOCKER-USER >/dev/null 2>&1 || F=FORWARD
$I -C $F -j ${c.forward} 2>/dev/null || $I -I $F 1 -j ${c.forward}
for k in route_localnet forwarding; do
  f=/proc/sys/net/ipv4/conf/all/$k
  [ "$(cat $f)" = 1 ] || echo 1 > $f
done
`;
const remoteScript = (c: FloatingIpChains) => `set -e
printf "%s" "$RULES" | /usr/sbin/iptables-restore -w 5 --noflush
${jumpsScript(c)}`;

/**
 * Makes the floating-IP NAT of a host reached through its engine exactly `fips` (empty: none),
 * with a helper container in the host's network namespace.
 */
export async function applyRemoteFloatingIps(docker: Docker, fips: RemoteFloatingIp[], image: string, c = floatingIpChains()): Promise<void> {
  await runEngineHelper(docker, image, { networkMode: 'host', script: remoteScript(c), env: { RULES: remoteFloatingIpRuleset(fips, c) }, labels: { 'hafen.floating_ips': 'true' }, writableProcSys: true });
}

/**
 * The same on this machine, for an agent that runs on its engine's host (unix://): the controller
 * routes the floating IPs here, and this host NATs them to its servers.
 */
export async function applyLocalHostFloatingIps(fips: RemoteFloatingIp[], c = floatingIpChains()): Promise<void> {
  await runTool('iptables-restore', ['-w', '5', '--noflush'], remoteFloatingIpRuleset(fips, c));
  await runTool('sh', ['-c', jumpsScript(c)]);
}

/**
 * Sends the floating IP to the host that answers it: a /32 route via that host's address in the
 * local table (its 127.0.0.0/8 route would otherwise deliver the address to loopback here).
 */
export async function addFloatingIpRoute(floatingIp: string, via: string, c = floatingIpChains()): Promise<void> {
  await runTool('sysctl', ['-qw', 'net.ipv4.conf.all.route_localnet=1']);
  // Local NAT of the same address (from a run that answered it here) would rewrite it before routing.
  await removeFloatingIp(floatingIp, c);
  await runTool('ip', ['route', 'replace', `${floatingIp}/32`, 'via', via, 'table', 'local']);
}

/** Removes the route; succeeds when it is already gone. */
export async function removeFloatingIpRoute(floatingIp: string): Promise<void> {
  const listing = await runTool('ip', ['-4', 'route', 'show', 'table', 'local', `${floatingIp}/32`]).catch(() => '');
  // Only ours (a gateway route): a local address of the same value belongs to removeFloatingIp.
  if (listing.includes(' via ')) await runTool('ip', ['route', 'del', `${floatingIp}/32`, 'table', 'local']).catch(() => {});
}
