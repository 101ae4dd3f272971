// Floating IPs on the host: the address goes on loopback and the nat table's HAFEN-<cloud>-FIP chain
// DNATs it to the server's fixed IP (or, for port forwardings, single ports to the server's address and
// port); HAFEN-<cloud>-FIP-SNAT masquerades host-originated (127/8) traffic so replies return. A server on
// another host: a route here sends the address to that host, whose own NAT (below) answers. Chains and
// rule comments carry the cloud's tag: clouds sharing a machine or a host never flush or delete each
// other's rules (no tag: the names of the days before tags).
import type Docker from 'dockerode';
import { runTool } from './run.ts';
import { runEngineHelper } from './engine-helper.ts';

/** The chains and comment mark of one cloud's floating IPs. */
export interface FloatingIpChains {
  dnat: string;
  snat: string;
  forward: string;
  /** Comment prefix of each rule, followed by the address. */
  mark: string;
}

export function floatingIpChains(tag?: string): FloatingIpChains {
  const base = tag ? `HAFEN-${tag}-FIP` : 'HAFEN-FIP';
  return { dnat: base, snat: `${base}-SNAT`, forward: `${base}-FWD`, mark: tag ? `hafen-fip ${tag}` : 'hafen-fip' };
}

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

/** A floating IP that forwards only these ports (Neutron's port forwardings) to `internalIp`. */
export async function addPortForwardings(floatingIp: string, internalIp: string, forwards: Forward[], c = floatingIpChains()): Promise<void> {
  await ensureFloatingIpChains(c);
  await removeFloatingIpRoute(floatingIp);
  await runTool('ip', ['addr', 'replace', `${floatingIp}/32`, 'dev', 'lo']);
  for (const f of forwards) {
    const { dnat, snat } = forwardRules(floatingIp, internalIp, f, c);
    await ensureRule('nat', c.dnat, dnat);
    await ensureRule('nat', c.snat, snat);
  }
}

export async function addFloatingIp(floatingIp: string, fixedIp: string, c = floatingIpChains()): Promise<void> {
  await ensureFloatingIpChains(c);
  await removeFloatingIpRoute(floatingIp); // left by a run that routed it to another host
  await runTool('ip', ['addr', 'replace', `${floatingIp}/32`, 'dev', 'lo']);
  await ensureRule('nat', c.dnat, dnatRule(floatingIp, fixedIp, c));
  await ensureRule('nat', c.snat, snatRule(floatingIp, fixedIp, c));
}

/** Removes the address and its rules (this cloud's); succeeds when they are already gone. */
export async function removeFloatingIp(floatingIp: string, c = floatingIpChains()): Promise<void> {
  for (const chain of [c.dnat, c.snat]) {
    const listing = await iptables(['-t', 'nat', '-S', chain]).catch(() => '');
    for (const line of listing.split('\n')) {
      if (!line.startsWith(`-A ${chain} `) || !line.includes(`${c.mark} ${floatingIp}"`)) continue;
      const args = line.slice(3).match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ''));
      await iptables(['-t', 'nat', '-D', ...args]).catch(() => {});
    }
  }
  await runTool('ip', ['addr', 'del', `${floatingIp}/32`, 'dev', 'lo']).catch(() => {});
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
