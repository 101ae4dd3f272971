// Security groups enforced inside a container's network namespace: one table from all the server's
// ports, replaced atomically with iptables-restore run in that namespace (run.ts); the tenant lacks
// CAP_NET_ADMIN to undo it.
import type { FirewallRule, PortFirewall } from './contract.ts';
import fs from 'node:fs';
import { runToolIn } from './run.ts';
import { runEngineHelper } from './engine-helper.ts';

const CONNTRACK = ['/usr/sbin/conntrack', '/sbin/conntrack'].find((p) => fs.existsSync(p));

const PROTO_NUMBERS: Record<string, string> = { tcp: 'tcp', udp: 'udp', icmp: 'icmp', sctp: 'sctp', '6': 'tcp', '17': 'udp', '1': 'icmp', '132': 'sctp' };

function ruleLines(chain: 'INPUT' | 'OUTPUT', r: FirewallRule, own: string | null): string[] {
  const peer = chain === 'INPUT' ? '-s' : '-d';
  const self = chain === 'INPUT' ? '-d' : '-s';
  const proto = r.protocol === null ? null : (PROTO_NUMBERS[r.protocol] ?? r.protocol);
  const match: string[] = [];
  if (proto !== null) match.push('-p', proto);
  if ((proto === 'tcp' || proto === 'udp' || proto === 'sctp') && r.portMin !== null) {
    match.push('--dport', r.portMin === r.portMax || r.portMax === null ? String(r.portMin) : `${r.portMin}:${r.portMax}`);
  }
  if (proto === 'icmp' && r.portMin !== null) match.push('--icmp-type', r.portMax === null ? String(r.portMin) : `${r.portMin}/${r.portMax}`);
  return r.remoteCidrs.map((cidr) => ['-A', chain, ...(own ? [self, own] : []), ...(cidr === '0.0.0.0/0' ? [] : [peer, cidr]), ...match, '-j', 'ACCEPT'].join(' '));
}

const ACCEPT_ALL = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT', ''].join('\n');

/**
 * The iptables-restore text for a server's namespace from the firewalls of all its ports: default drop
 * both ways, stateful, loopback allowed; each port's rules match traffic to and from that port's
 * addresses (so two ports with different groups stay apart), and nothing leaves from an address no
 * port holds (anti-spoofing). `extra`: addresses of the container no port names (an overlay network's
 * docker_gwbridge leg), counted as the first port's. A port without addresses (an older controller)
 * matches any address; port security off accepts its addresses' traffic (all of it without addresses).
 */
export function serverRuleset(ports: PortFirewall[], extra: string[] = []): string {
  if (ports.length === 0 || ports.every((p) => !p.portSecurityEnabled && !p.addresses)) return ACCEPT_ALL;
  const lines = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT DROP [0:0]'];
  for (const chain of ['INPUT', 'OUTPUT'] as const) {
    lines.push(`-A ${chain} -${chain === 'INPUT' ? 'i' : 'o'} lo -j ACCEPT`);
    lines.push(`-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    lines.push(`-A ${chain} -m conntrack --ctstate INVALID -j DROP`);
  }
  // ARP is not IP and passes; DHCP is not used (addresses are static).
  ports.forEach((fw, i) => {
    const owns: (string | null)[] = fw.addresses ? [...fw.addresses, ...(i === 0 ? extra : [])] : [null];
    for (const own of owns) {
      if (!fw.portSecurityEnabled) {
        lines.push(own ? `-A INPUT -d ${own} -j ACCEPT` : '-A INPUT -j ACCEPT', own ? `-A OUTPUT -s ${own} -j ACCEPT` : '-A OUTPUT -j ACCEPT');
        continue;
      }
      for (const r of fw.rules) lines.push(...ruleLines(r.direction === 'ingress' ? 'INPUT' : 'OUTPUT', r, own));
    }
  });
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** The ruleset of a server with this one port. */
export function firewallRuleset(fw: PortFirewall): string {
  return serverRuleset([fw]);
}

/**
 * Whether the ruleset `after` only allows more than `before` (both from serverRuleset): every line of
 * `before` is in `after` in the same order, and each line added accepts. Then no flow `before` allowed
 * is refused now, and the flows tracked so far may stay.
 */
export function onlyWidens(before: string, after: string): boolean {
  const old = before.split('\n');
  let i = 0;
  for (const line of after.split('\n')) {
    if (i < old.length && line === old[i]) i++;
    else if (!/^-A (INPUT|OUTPUT) .*-j ACCEPT$/.test(line)) return false;
  }
  return i === old.length;
}

/**
 * Installs a ruleset (serverRuleset) in the namespace of process `pid` (the container's init). With
 * `keepFlows` (the rules only widened: onlyWidens) the flows tracked so far stay; otherwise they go, so
 * that the new rules also cut what was allowed before.
 */
export async function applyFirewall(pid: number, rules: string, keepFlows = false): Promise<void> {
  await runToolIn(pid, 'iptables-restore', [], rules);
  if (CONNTRACK && !keepFlows) await runToolIn(pid, CONNTRACK, ['-F']).catch(() => {});
}

/**
 * The same firewall installed through an engine's API (for engines on other hosts, where nsenter
 * cannot reach): a short-lived helper joins the container's network namespace with CAP_NET_ADMIN
 * and runs the host's own iptables-restore (the host's /usr and /lib mounted read-only).
 */
export async function applyFirewallViaEngine(docker: import('dockerode'), containerId: string, rules: string, image: string): Promise<void> {
  await runEngineHelper(docker, image, {
    networkMode: `container:${containerId}`,
    script: 'printf "%s" "$RULES" | /usr/sbin/iptables-restore',
    env: { RULES: rules },
    labels: { 'hafen.firewall_for': containerId },
  }).catch((err: Error) => {
    throw new Error(`iptables-restore in ${containerId.slice(0, 12)}: ${err.message}`);
  });
}
