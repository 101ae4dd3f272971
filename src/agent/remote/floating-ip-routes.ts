// The controller's side of the floating IPs of servers on remote agents' hosts: a route on this
// machine sends each address to the host its server runs on, whose agent NATs it to the server there.
import type { NetworkView } from '../net/contract.ts';
import { addFloatingIpRoute, removeFloatingIpRoute, type FloatingIpChains } from '../net/floating-ip.ts';

/**
 * Whether an agent's reported address may carry floating IPs: a unicast IPv4 address of another
 * machine (not unspecified, loopback, link-local, multicast or reserved). The kernel refuses a
 * gateway that is not on a network of this machine, so a route goes only to a neighbour host.
 */
export function routableHostAddress(address: string): boolean {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return false;
  const [a, b] = parts as [number, number, number, number];
  return a !== 0 && a !== 127 && !(a === 169 && b === 254) && a < 224;
}

export interface FloatingIpRouteSource {
  network: Pick<NetworkView, 'boundPorts' | 'floatingIpMappings'>;
  /** Server id -> the host it is placed on. */
  serverHosts(): Promise<Map<string, string>>;
  /** This cloud's floating-IP chains: a local NAT of its own of a routed address is removed. */
  chains?: FloatingIpChains;
}

/** Keeps one `<fip>/32 via <host address> table local` route per floating IP of a server on a connected agent's host. */
export class AgentFloatingIpRoutes {
  /** Floating IP -> the address it is routed via. */
  private readonly installed = new Map<string, string>();
  /** Host -> the address of its connected agent's host. */
  private readonly hosts = new Map<string, string>();
  /** Routes that failed (logged once per floating IP and address). */
  private readonly failed = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly source: FloatingIpRouteSource, private readonly log: (msg: string) => void = (m) => process.stderr.write(`hafen: ${m}\n`)) {}

  /** Re-checks every `resyncMs` (servers deleted or moved between events). */
  start(resyncMs = 5000): void {
    this.timer = setInterval(() => this.sync(), resyncMs);
    this.timer.unref();
  }

  /** The host's agent is connected and its host answers floating IPs at `address` (undefined: none). */
  hostConnected(hostId: string, address: string | undefined): void {
    if (address) this.hosts.set(hostId, address);
    else this.hosts.delete(hostId);
    this.sync();
  }

  /** The host's agent left or was lost: its floating IPs are no longer routed. */
  hostGone(hostId: string): void {
    if (!this.hosts.delete(hostId)) return;
    this.sync();
  }

  sync(): void {
    if (this.stopped) return;
    this.queue = this.queue.then(() => this.converge()).catch((err: Error) => this.log(`floating IP routes: ${err.message}`));
  }

  /** Resolves once every change queued so far is in force. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Removes every route (the controller stops). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.hosts.clear();
    this.queue = this.queue.then(() => this.converge()).catch((err: Error) => this.log(`floating IP routes: ${err.message}`));
    await this.queue;
  }

  private async wanted(): Promise<Map<string, string>> {
    const wanted = new Map<string, string>();
    if (this.hosts.size === 0) return wanted;
    const serverOf = new Map((await this.source.network.boundPorts()).map((p) => [p.portId, p.serverId]));
    const hostOf = await this.source.serverHosts();
    for (const m of await this.source.network.floatingIpMappings()) {
      const serverId = serverOf.get(m.portId);
      const via = serverId ? this.hosts.get(hostOf.get(serverId) ?? '') : undefined;
      if (via) wanted.set(m.floatingIpAddress, via);
    }
    return wanted;
  }

  private async converge(): Promise<void> {
    const wanted = await this.wanted();
    for (const [fip, via] of this.installed) {
      if (wanted.get(fip) === via) continue;
      await removeFloatingIpRoute(fip);
      this.installed.delete(fip);
    }
    for (const [fip, via] of wanted) {
      if (this.installed.get(fip) === via) continue;
      try {
        await addFloatingIpRoute(fip, via, this.source.chains);
        this.installed.set(fip, via);
        this.failed.delete(fip);
      } catch (err) {
        if (this.failed.get(fip) !== via) this.log(`floating IP ${fip} not routed via ${via}: ${(err as Error).message}`);
        this.failed.set(fip, via);
      }
    }
  }
}
