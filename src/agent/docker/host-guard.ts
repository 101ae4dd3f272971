// The host guard: tenant containers may not reach their host's own addresses (each bridge's gateway
// included), except the ports hafen serves there on purpose. One filter chain per cloud on each host,
// jumped to from INPUT for traffic arriving on the cloud's tenant bridges.
import type Docker from 'dockerode';
import { runTool } from '../net/run.ts';
import { runEngineHelper } from '../net/engine-helper.ts';
import { BUSYBOX_IMAGE } from '../../host/test-images.ts';

/** A cloud's short mark on host-wide names (bridges, chains): the first 6 hex digits of its id. */
export function cloudTag(cloudId: string): string {
  const tag = cloudId.replace(/[^0-9a-f]/gi, '').slice(0, 6).toLowerCase();
  if (tag.length !== 6) throw new Error(`cloud id ${cloudId} gives no tag`);
  return tag;
}

/** Linux bridge names of a cloud's tenant networks start with this (15 characters at most in all). */
export const bridgePrefix = (tag: string) => `hf${tag}`;

export const hostGuardChain = (tag: string) => `HAFEN-${tag}-GUARD`;

export interface HostGuard {
  tag: string;
  /** Interface patterns (iptables `-i`) whose traffic is tenant traffic. */
  interfaces: string[];
  /** TCP ports of the host that tenant containers may reach (the controller's signal listener, where it runs). */
  allowTcpPorts: number[];
}

/**
 * The iptables-restore --noflush text for the guard (declaring the chain flushes it): replies to
 * connections the host opened pass, the allowed ports pass, everything else to the host is dropped.
 * RETURN, not ACCEPT: what passes still meets the rest of the host's INPUT rules.
 */
export function hostGuardRuleset(g: HostGuard): string {
  const chain = hostGuardChain(g.tag);
  const lines = ['*filter', `:${chain} - [0:0]`, `-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`];
  for (const port of [...new Set(g.allowTcpPorts)].sort((a, b) => a - b)) lines.push(`-A ${chain} -p tcp -m tcp --dport ${port} -j RETURN`);
  lines.push(`-A ${chain} -m comment --comment "hafen: tenant traffic to the host" -j DROP`, 'COMMIT', '');
  return lines.join('\n');
}

/** The shell script that puts the jumps from INPUT in place, once each (first in INPUT). */
export function hostGuardJumps(g: HostGuard, iptables = 'iptables'): string {
  const chain = hostGuardChain(g.tag);
  const jumps = g.interfaces.map((i) => `$I -C INPUT -i ${i} -j ${chain} 2>/dev/null || $I -I INPUT 1 -i ${i} -j ${chain}`);
  return ['set -e', `I="${iptables} -w 5"`, ...jumps, ''].join('\n');
}

/** Installs the guard in this machine's network namespace (an engine reached through a local socket). */
export async function applyLocalHostGuard(g: HostGuard): Promise<void> {
  await runTool('iptables-restore', ['-w', '5', '--noflush'], hostGuardRuleset(g));
  await runTool('sh', ['-c', hostGuardJumps(g)]);
}

/** Installs the guard on the engine's host, through a helper container in the host's network namespace. */
export async function applyRemoteHostGuard(docker: Docker, g: HostGuard, image = BUSYBOX_IMAGE): Promise<void> {
  await runEngineHelper(docker, image, {
    networkMode: 'host',
    script: `set -e\nprintf "%s" "$RULES" | /usr/sbin/iptables-restore -w 5 --noflush\n${hostGuardJumps(g, '/usr/sbin/iptables')}`,
    env: { RULES: hostGuardRuleset(g) },
    labels: { 'hafen.host_guard': g.tag },
  });
}
