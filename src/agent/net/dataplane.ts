// All-in-one data-plane sync: applies each port's compiled firewall inside the namespace of the
// container that holds it, and floating-IP NAT on the host, on every network event and on a slow resync.
import fs from 'node:fs';
import type Docker from 'dockerode';
import type { FloatingIpMapping, NetworkService, PortFirewall } from '../../network/service.ts';
import { applyFirewall, applyFirewallViaEngine, firewallRuleset } from './firewall.ts';
import { addFloatingIp, removeFloatingIp } from './floating-ip.ts';

const LABEL_SERVER = 'hafen.server_id';

export interface DataplaneSource {
  events: NetworkService['events'];
  portFirewall(portId: string): Promise<PortFirewall | undefined>;
  floatingIpMappings(): Promise<FloatingIpMapping[]>;
  /** Port ids bound to servers, with the server each belongs to. */
  boundPorts(): Promise<{ portId: string; serverId: string }[]>;
}

export class Dataplane {
  private readonly applied = new Map<string, string>();
  private readonly floating = new Map<string, string>();
  private readonly located = new Map<string, { docker: Docker; local: boolean; id: string; pid: number }>();
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly onFirewall = (ids: string[]) => this.enqueue(() => this.syncPorts(ids));
  private readonly onFloating = () => this.enqueue(() => this.syncFloatingIps());
  private readonly onResync = () => this.enqueue(() => this.resync());

  /**
   * `engines`: the engines whose containers it guards. Local ones (on this host) get rules through
   * nsenter; others through a helper container run by that engine (`helperImage`, on every host).
   */
  constructor(
    private readonly source: DataplaneSource,
    private readonly engines: (Docker | { docker: Docker; local: boolean })[],
    private readonly log: (msg: string) => void = () => {},
    private readonly helperImage = 'hafen/busybox:latest',
    /** The container label that names the server (compute's driver sets hafen.server_id). */
    private readonly serverLabel = LABEL_SERVER,
  ) {}

  private get engineList(): { docker: Docker; local: boolean }[] {
    return this.engines.map((e) => ('docker' in e && 'local' in e ? e : { docker: e as Docker, local: true }));
  }

  start(resyncMs = 5000): void {
    this.source.events.on('firewall', this.onFirewall);
    this.source.events.on('floatingip', this.onFloating);
    this.source.events.on('port-deleted', this.onFloating);
    this.timer = setInterval(this.onResync, resyncMs);
    this.timer.unref();
    this.onResync();
  }

  async stop(): Promise<void> {
    this.source.events.off('firewall', this.onFirewall);
    this.source.events.off('floatingip', this.onFloating);
    this.source.events.off('port-deleted', this.onFloating);
    clearInterval(this.timer);
    await this.queue;
  }

  /** Resolves once every change queued so far is in force. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Removes every floating IP this dataplane installed (shutdown of a test cloud). */
  async removeAllFloatingIps(): Promise<void> {
    for (const fip of this.floating.keys()) await removeFloatingIp(fip);
    this.floating.clear();
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((err: Error) => this.log(`dataplane: ${err.message}`));
  }

  private async resync(): Promise<void> {
    await this.syncPorts((await this.source.boundPorts()).map((p) => p.portId));
    await this.syncFloatingIps();
  }

  /** Where the server's container runs: its engine, id, and (local engines) its init pid. */
  private async locate(serverId: string): Promise<{ docker: Docker; local: boolean; id: string; pid: number } | undefined> {
    const cached = this.located.get(serverId);
    if (cached && (!cached.local || fs.existsSync(`/proc/${cached.pid}/ns/net`))) return cached;
    this.located.delete(serverId);
    for (const { docker, local } of this.engineList) {
      const list = await docker.listContainers({ filters: { label: [`${this.serverLabel}=${serverId}`], status: ['running'] } });
      if (!list[0]) continue;
      const info = await docker.getContainer(list[0].Id).inspect();
      if (!info.State.Pid) return undefined;
      const found = { docker, local, id: list[0].Id, pid: info.State.Pid };
      this.located.set(serverId, found);
      return found;
    }
    return undefined;
  }

  private async syncPorts(portIds: string[]): Promise<void> {
    const bound = new Map((await this.source.boundPorts()).map((p) => [p.portId, p.serverId]));
    const work = [...new Set(portIds)];
    // A few namespaces at a time: each apply is a process spawn, bounded by the host's cores.
    const worker = async () => {
      for (let portId = work.shift(); portId !== undefined; portId = work.shift()) await this.syncPort(portId, bound.get(portId));
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  private async syncPort(portId: string, serverId: string | undefined): Promise<void> {
    const fw = serverId ? await this.source.portFirewall(portId) : undefined;
    if (!serverId || !fw) {
      this.applied.delete(portId);
      return;
    }
    const where = await this.locate(serverId);
    if (!where) return;
    const rules = firewallRuleset(fw);
    const key = `${where.id}:${where.pid}\n${rules}`;
    if (this.applied.get(portId) === key) return;
    try {
      if (where.local) await applyFirewall(where.pid, fw);
      else await applyFirewallViaEngine(where.docker, where.id, fw, this.helperImage);
    } catch (err) {
      // The container may have stopped or moved: look it up afresh next time.
      this.located.delete(serverId);
      throw err;
    }
    this.applied.set(portId, key);
  }

  private async syncFloatingIps(): Promise<void> {
    // Only ports bound to servers get NAT: a floating IP on an unbound port has nowhere to go.
    const bound = new Set((await this.source.boundPorts()).map((p) => p.portId));
    const wanted = new Map((await this.source.floatingIpMappings()).filter((m) => bound.has(m.portId)).map((m) => [m.floatingIpAddress, m.fixedIpAddress]));
    for (const [fip, fixed] of this.floating) {
      if (wanted.get(fip) !== fixed) {
        await removeFloatingIp(fip);
        this.floating.delete(fip);
      }
    }
    for (const [fip, fixed] of wanted) {
      if (this.floating.get(fip) === fixed) continue;
      await addFloatingIp(fip, fixed);
      this.floating.set(fip, fixed);
    }
  }
}
