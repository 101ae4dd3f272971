// Data-plane sync: applies the compiled firewalls of a server's ports (its bindings, as compute made them)
// inside the namespace of the container that holds it, and floating-IP NAT (whole addresses or port
// forwardings) on the host, for what each event says changed and on a slow level-triggered resync.
// A floating IP of a server on a remote engine is routed to that host and NATed there through its engine;
// a remote agent's dataplane installs only that host side (the controller routes to the agent's host).
import fs from 'node:fs';
import type Docker from 'dockerode';
import type { DataplaneSource, PortFirewall, ServerPortForwarding } from './contract.ts';
import { applyFirewall, applyFirewallViaEngine, onlyWidens, serverRuleset } from './firewall.ts';
import { addFloatingIp, addFloatingIpRoute, addPortForwardings, applyLocalHostFloatingIps, applyRemoteFloatingIps, floatingIpChains, removeFloatingIp, removeFloatingIpChains, removeFloatingIpRoute, type FloatingIpChains, type Forward, type RemoteFloatingIp } from './floating-ip.ts';

import { CLOUD_LABEL, SERVER_LABEL } from '../labels.ts';

/** Set on infrastructure workloads (cluster nodes; see InfrastructureSpec). */
export const INFRASTRUCTURE_LABEL = 'hafen.infrastructure';

export type { DataplaneSource };

/** An engine the dataplane guards; `address`: its host's address, where floating IPs of its servers are routed. */
export interface DataplaneEngine {
  docker: Docker;
  local: boolean;
  address?: string;
  /**
   * 'host': this dataplane is the agent of the engine's host. It installs only the host's side of its
   * servers' floating IPs (NAT to the server, as on a remote host: through a helper, or directly when
   * local) and no route, which the controller adds towards the host. Default: the controller's own
   * dataplane (NAT here for local engines, a route here and NAT there for remote ones).
   */
  floatingIps?: 'controller' | 'host';
}

interface Running {
  docker: Docker;
  local: boolean;
  address?: string;
  id: string;
}

interface Located extends Running {
  pid: number;
  /** The container's IPv4 addresses on its engine networks (an overlay's docker_gwbridge leg included). */
  addresses: string[];
  /** The engine network of each of its addresses on one (the docker_gwbridge leg has none). */
  networkOf: Map<string, string>;
}

/**
 * Where a floating IP is answered: here (local NAT to the fixed IP, or its port forwardings) or by a
 * remote host (NAT to `target` there, or its forwardings to it).
 */
type FloatingPlacement = { local: true; fixed: string; device?: string; forwards?: Forward[] } | { local: false; engine: DataplaneEngine; via: string; target: string; forwards?: Forward[] };

const forwardsKey = (f?: Forward[]) => (f ? ` ${f.map((x) => `${x.protocol}:${x.externalPort}>${x.internalPort}`).join(',')}` : '');
const placementKey = (p: FloatingPlacement) => (p.local ? `local ${p.fixed} ${p.device ?? ''}` : `${p.via} ${p.target}`) + forwardsKey(p.forwards);
/** Whether this dataplane installs the host side of the engine's floating IPs (remote, or its agent's own host). */
const natsOnHost = (e: DataplaneEngine) => !e.local || e.floatingIps === 'host';

export class Dataplane {
  /** Per server: the ruleset last installed (with the container it went into). */
  private readonly applied = new Map<string, string>();
  /** The server each port was bound to at the last sync: an unbound port's server is re-synced too. */
  private readonly serverOfPort = new Map<string, string>();
  private readonly floating = new Map<string, FloatingPlacement>();
  /** Per remote engine: the floating IPs last installed there (none yet: its chains are made exact once, clearing an earlier run's). */
  private readonly remoteApplied = new Map<Docker, string>();
  private readonly located = new Map<string, Located>();
  /** Per engine network id: the Linux bridge it is (null: not a bridge network). Fixed for a network's life. */
  private readonly bridges = new Map<string, string | null>();
  private timer: NodeJS.Timeout | undefined;
  /** Servers whose floating IPs another party answers (servers on remote agents' hosts). */
  private ignoredServers: () => Promise<Set<string>> = async () => new Set();
  private queue: Promise<void> = Promise.resolve();
  /** Ports and kinds of change waiting for the next sync: events coalesce while one runs. */
  private readonly pendingPorts = new Set<string>();
  private pendingGroups = false;
  private pendingFloating = false;

  private readonly onFirewall = (ids: string[]) => {
    const idle = this.pendingPorts.size === 0;
    for (const id of ids) this.pendingPorts.add(id);
    if (idle) this.enqueue(() => this.syncPending());
  };
  /** A group's rules or members changed: the servers this dataplane guards are compiled again. */
  private readonly onGroups = () => {
    if (this.pendingGroups) return;
    this.pendingGroups = true;
    this.enqueue(() => {
      this.pendingGroups = false;
      return this.syncServers([...this.applied.keys()]);
    });
  };
  private readonly onFloating = () => {
    if (this.pendingFloating) return;
    this.pendingFloating = true;
    this.enqueue(() => {
      this.pendingFloating = false;
      return this.syncFloatingIps();
    });
  };
  private readonly onResync = () => this.enqueue(() => this.resync());

  /**
   * `engines`: the engines whose containers it guards. Local ones (on this host) get rules through
   * nsenter; others through a helper container run by that engine (`helperImage`, on every host).
   */
  constructor(
    private readonly source: DataplaneSource,
    private readonly engines: (Docker | DataplaneEngine)[],
    private readonly log: (msg: string) => void = () => {},
    private readonly helperImage = 'hafen/busybox:latest',
    /** The container label that names the server (compute's driver sets hafen.server_id). */
    private readonly serverLabel = SERVER_LABEL,
  ) {}

  /**
   * The floating-IP chains of this cloud, named with its tag (`setCloudTag`); the untagged names of
   * old unless told to wait for the tag (`awaitCloudTag`: floating IPs wait, security groups do not).
   */
  private chains: FloatingIpChains | undefined = floatingIpChains();

  /** Floating IPs wait until the cloud's tag is known (its id is read after the network service starts). */
  awaitCloudTag(): this {
    this.chains = undefined;
    return this;
  }

  /** The cloud's id: containers labelled by another cloud (clouds sharing an engine) are not this dataplane's. */
  private cloudId: string | undefined;

  /** Whether a container (by its labels) is another cloud's: left alone, never given this cloud's firewall. */
  private othersContainer(labels: Record<string, string> | undefined): boolean {
    const owner = labels?.[CLOUD_LABEL];
    return this.cloudId !== undefined && owner !== undefined && owner !== this.cloudId;
  }

  /**
   * This cloud's tag (see agent/docker/host-guard.ts cloudTag): its floating IPs go in chains of its
   * own; with its id, containers another cloud made on a shared engine are left to that cloud.
   */
  setCloudTag(tag: string, cloudId?: string): void {
    const waiting = !this.chains;
    this.chains = floatingIpChains(tag);
    if (cloudId) this.cloudId = cloudId;
    if (waiting && this.timer) this.onResync();
  }

  private get engineList(): DataplaneEngine[] {
    return this.engines.map((e) => ('docker' in e && 'local' in e ? e : { docker: e as Docker, local: true }));
  }

  start(resyncMs = 5000): void {
    this.source.events.on('firewall', this.onFirewall);
    this.source.events.on('groups', this.onGroups);
    this.source.events.on('floatingip', this.onFloating);
    this.source.events.on('port-deleted', this.onFloating);
    this.timer = setInterval(this.onResync, resyncMs);
    this.timer.unref();
    this.onResync();
  }

  async stop(): Promise<void> {
    this.source.events.off('firewall', this.onFirewall);
    this.source.events.off('groups', this.onGroups);
    this.source.events.off('floatingip', this.onFloating);
    this.source.events.off('port-deleted', this.onFloating);
    clearInterval(this.timer);
    await this.queue;
  }

  /** Resolves once every change queued so far is in force. */
  async settled(): Promise<void> {
    // A sync may queue another (events during it): wait until the queue stands still.
    for (let q = this.queue; ; q = this.queue) {
      await q;
      if (q === this.queue) return;
    }
  }

  /**
   * The floating IPs of these servers are left alone (not NATed here even when no engine of this
   * dataplane runs them): the controller's dataplane skips servers on remote agents' hosts.
   */
  ignoreFloatingIpsOf(servers: () => Promise<Set<string>>): void {
    this.ignoredServers = servers;
  }

  /** Removes every floating IP this dataplane installed, here and on remote hosts (shutdown). */
  async removeAllFloatingIps(): Promise<void> {
    for (const [fip, p] of this.floating) await this.uninstall(fip, p);
    this.floating.clear();
    for (const e of this.engineList.filter((e) => (this.remoteApplied.get(e.docker) ?? '[]') !== '[]')) {
      await this.applyHostNat(e, []).catch((err: Error) => this.log(`dataplane: floating IPs on ${e.address ?? 'a remote host'}: ${err.message}`));
    }
    this.remoteApplied.clear();
    // Its chains, steering rule and table go too once empty (the jumps of every cloud that ever ran would pile up).
    if (this.chains) await removeFloatingIpChains(this.chains).catch((err: Error) => this.log(`dataplane: removing the floating-IP chains: ${err.message}`));
  }

  /** Takes a floating IP off this machine: its local NAT, or its route to another host (none for a host's agent). */
  private async uninstall(fip: string, p: FloatingPlacement): Promise<void> {
    if (p.local) await removeFloatingIp(fip, this.chains);
    else if (p.engine.floatingIps !== 'host') await removeFloatingIpRoute(fip);
  }

  private async applyHostNat(engine: DataplaneEngine, fips: RemoteFloatingIp[]): Promise<void> {
    if (engine.local) await applyLocalHostFloatingIps(fips, this.chains);
    else await applyRemoteFloatingIps(engine.docker, fips, this.helperImage, this.chains);
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((err: Error) => this.log(`dataplane: ${err.message}`));
  }

  /** Level-triggered: every server with a container on these engines gets its firewall compared and fixed. */
  private async resync(): Promise<void> {
    const present = await this.runningServers();
    await this.syncServers([...present.keys()], present);
    await this.syncFloatingIps();
  }

  /** Servers with a running container on the engines: one listing per engine. */
  private async runningServers(): Promise<Map<string, Running>> {
    const out = new Map<string, Running>();
    for (const { docker, local, address } of this.engineList) {
      const list = await docker.listContainers({ filters: { label: [this.serverLabel], status: ['running'] } }).catch((err: Error) => {
        this.log(`dataplane: ${address ?? 'engine'}: ${err.message}`);
        return [];
      });
      for (const c of list) {
        const serverId = c.Labels?.[this.serverLabel];
        if (serverId && !out.has(serverId) && !this.othersContainer(c.Labels)) out.set(serverId, { docker, local, ...(address ? { address } : {}), id: c.Id });
      }
    }
    return out;
  }

  /** Where the server's container runs: its engine, id, addresses and (local engines) its init pid. */
  private async locate(serverId: string, known?: Running): Promise<Located | undefined> {
    const cached = this.located.get(serverId);
    if (cached && (!known || known.id === cached.id) && (!cached.local || fs.existsSync(`/proc/${cached.pid}/ns/net`))) return cached;
    this.located.delete(serverId);
    let where = known;
    for (const { docker, local, address } of where ? [] : this.engineList) {
      const list = (await docker.listContainers({ filters: { label: [`${this.serverLabel}=${serverId}`], status: ['running'] } })).filter((c) => !this.othersContainer(c.Labels));
      if (!list[0]) continue;
      where = { docker, local, ...(address ? { address } : {}), id: list[0].Id };
      break;
    }
    if (!where) return undefined;
    const info = await where.docker.getContainer(where.id).inspect();
    if (!info.State.Pid) return undefined;
    // A cluster node runs an engine that owns its namespace's netfilter tables: no firewall replaces them.
    if (info.Config.Labels?.[INFRASTRUCTURE_LABEL]) return undefined;
    const endpoints = Object.values(info.NetworkSettings?.Networks ?? {}).filter((n) => Boolean(n.IPAddress));
    const addresses = endpoints.map((n) => n.IPAddress);
    const networkOf = new Map(endpoints.map((n) => [n.IPAddress, n.NetworkID] as [string, string]));
    // A container on a swarm overlay network also has a docker_gwbridge leg, which inspect does not list.
    const gw = (await where.docker.getNetwork('docker_gwbridge').inspect().catch(() => undefined)) as { Containers?: Record<string, { IPv4Address?: string }> } | undefined;
    const leg = gw?.Containers?.[info.Id]?.IPv4Address?.split('/')[0];
    if (leg && !addresses.includes(leg)) addresses.push(leg);
    const found: Located = { ...where, pid: info.State.Pid, addresses, networkOf };
    this.located.set(serverId, found);
    return found;
  }

  /** The ports whose firewalls changed: their servers (and the servers that held them until now). */
  private async syncPending(): Promise<void> {
    const portIds = [...this.pendingPorts];
    this.pendingPorts.clear();
    const servers = new Set(await this.source.serversOfPorts(portIds));
    for (const id of portIds) {
      const before = this.serverOfPort.get(id);
      if (before) servers.add(before);
    }
    await this.syncServers([...servers]);
  }

  /** Re-applies the firewalls of these servers where their containers run on these engines. */
  private async syncServers(serverIds: string[], present?: Map<string, Running>): Promise<void> {
    // Only the servers this dataplane guards are compiled: the ones it finds running. Several not
    // located yet (a burst of boots): one listing per engine for all of them, not one per server.
    let listed = present;
    if (!listed && serverIds.filter((id) => !this.located.has(id)).length > 1) listed = await this.runningServers();
    const located = new Map<string, Located>();
    for (const id of serverIds) {
      const known = listed?.get(id);
      if (listed && !known) {
        this.applied.delete(id);
        this.located.delete(id);
        continue;
      }
      const where = await this.locate(id, known).catch(() => undefined);
      if (where) located.set(id, where);
      else this.applied.delete(id);
    }
    if (!located.size) return;
    const firewalls = await this.source.serverFirewalls([...located.keys()]);
    const work = [...located.entries()];
    // A few namespaces at a time: each apply is a process spawn, bounded by the host's cores.
    const worker = async () => {
      for (let next = work.shift(); next !== undefined; next = work.shift()) {
        await this.syncServer(next[0], next[1], firewalls.get(next[0]) ?? []).catch((err: Error) => this.log(`dataplane: server ${next![0]}: ${err.message}`));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  private async syncServer(serverId: string, where: Located, firewalls: PortFirewall[]): Promise<void> {
    for (const [port, server] of this.serverOfPort) if (server === serverId) this.serverOfPort.delete(port);
    for (const f of firewalls) this.serverOfPort.set(f.portId, serverId);
    if (firewalls.length === 0) {
      // No port left: the container keeps its last table until it goes; nothing new to install.
      this.applied.delete(serverId);
      return;
    }
    const known = new Set(firewalls.flatMap((f) => f.addresses ?? []));
    const rules = serverRuleset(firewalls, where.addresses.filter((a) => !known.has(a)));
    const place = `${where.id}:${where.pid}\n`;
    const key = `${place}${rules}`;
    const before = this.applied.get(serverId);
    if (before === key) return;
    try {
      // The same container's rules only widened: its tracked flows may stay (no conntrack flush).
      if (where.local) await applyFirewall(where.pid, rules, before !== undefined && before.startsWith(place) && onlyWidens(before.slice(place.length), rules));
      else await applyFirewallViaEngine(where.docker, where.id, rules, this.helperImage);
    } catch (err) {
      // The container may have stopped or moved: look it up afresh next time.
      this.located.delete(serverId);
      throw err;
    }
    this.applied.set(serverId, key);
  }

  private async syncFloatingIps(): Promise<void> {
    if (!this.chains) return;
    const ignored = await this.ignoredServers();
    const wanted = new Map<string, FloatingPlacement>();
    // Only ports bound to servers get NAT: a floating IP on an unbound port has nowhere to go.
    for (const m of await this.source.serverFloatingIps()) {
      if (ignored.has(m.serverId)) continue;
      const placement = await this.placeFloatingIp(m.floatingIpAddress, m.fixedIpAddress, m.serverId);
      if (placement) wanted.set(m.floatingIpAddress, placement);
    }
    // Port forwardings: a floating IP's forwardings go where the (first) server behind them runs.
    const byFip = new Map<string, ServerPortForwarding[]>();
    for (const f of (await this.source.serverPortForwardings?.()) ?? []) {
      if (ignored.has(f.serverId) || wanted.has(f.floatingIpAddress)) continue;
      (byFip.get(f.floatingIpAddress) ?? byFip.set(f.floatingIpAddress, []).get(f.floatingIpAddress)!).push(f);
    }
    for (const [fip, forwards] of byFip) {
      const first = forwards[0]!;
      const placement = await this.placeFloatingIp(fip, first.internalIpAddress, first.serverId);
      if (!placement) continue;
      const same = forwards.filter((f) => f.serverId === first.serverId && f.internalIpAddress === first.internalIpAddress);
      if (same.length < forwards.length) this.log(`dataplane: floating IP ${fip}: forwardings to more than one address; only those to ${first.internalIpAddress} are installed`);
      const list = same.map((f) => ({ protocol: f.protocol, externalPort: f.externalPort, internalPort: f.internalPort })).sort((a, b) => a.externalPort - b.externalPort || a.protocol.localeCompare(b.protocol));
      wanted.set(fip, { ...placement, forwards: list });
    }
    for (const [fip, p] of this.floating) {
      const next = wanted.get(fip);
      if (next && placementKey(next) === placementKey(p)) continue;
      await this.uninstall(fip, p);
      this.floating.delete(fip);
    }
    // Remote hosts first, then the routes that send traffic to them.
    for (const engine of this.engineList.filter(natsOnHost)) {
      const fips: RemoteFloatingIp[] = [];
      for (const [floatingIp, p] of wanted) if (!p.local && p.engine.docker === engine.docker) fips.push({ floatingIp, target: p.target, ...(p.forwards ? { forwards: p.forwards } : {}) });
      const key = JSON.stringify(fips.sort((a, b) => a.floatingIp.localeCompare(b.floatingIp)));
      if (this.remoteApplied.get(engine.docker) === key) continue;
      try {
        await this.applyHostNat(engine, fips);
        this.remoteApplied.set(engine.docker, key);
      } catch (err) {
        this.log(`dataplane: floating IPs on ${engine.address ?? 'a remote host'}: ${(err as Error).message}`);
        for (const f of fips) wanted.delete(f.floatingIp);
        // Nothing to install there: the first clean-up is not retried on every resync.
        if (!fips.length) this.remoteApplied.set(engine.docker, key);
      }
    }
    for (const [fip, p] of wanted) {
      const current = this.floating.get(fip);
      if (current && placementKey(current) === placementKey(p)) continue;
      if (p.local) {
        if (p.forwards) await addPortForwardings(fip, p.fixed, p.forwards, this.chains, p.device);
        else await addFloatingIp(fip, p.fixed, this.chains, p.device);
      } else if (p.engine.floatingIps !== 'host') await addFloatingIpRoute(fip, p.via, this.chains);
      this.floating.set(fip, p);
    }
  }

  /**
   * Where a floating IP is answered. A server on a local engine (or not found, when every engine is
   * local): here. A server on a remote engine: its host, which DNATs to an address of the server's
   * it can reach: the fixed IP on a bridge network of that host, or on an overlay network the
   * server's docker_gwbridge address (an internal overlay has none: not reachable, logged). An agent's
   * own host: NAT there as for a remote one, with no route (the controller routes to the host).
   */
  private async placeFloatingIp(fip: string, fixed: string, serverId: string): Promise<FloatingPlacement | undefined> {
    const where = await this.locate(serverId).catch(() => undefined);
    if (!where) {
      if (this.engineList.every((e) => !natsOnHost(e))) return { local: true, fixed };
      // Stopped or moving: keep what is installed until it is found again.
      return this.floating.get(fip);
    }
    const engine = this.engineList.find((e) => e.docker === where.docker)!;
    if (!natsOnHost(engine)) {
      const device = await this.bridgeOf(where, fixed).catch((err: Error) => {
        this.log(`dataplane: floating IP ${fip}: the bridge of ${fixed}: ${err.message}`);
        return undefined;
      });
      return { local: true, fixed, ...(device ? { device } : {}) };
    }
    if (!where.address && engine.floatingIps !== 'host') {
      this.log(`dataplane: floating IP ${fip}: the server's host has no address to route to`);
      return undefined;
    }
    const target = await this.remoteTarget(where, fixed).catch((err: Error) => {
      this.located.delete(serverId);
      this.log(`dataplane: floating IP ${fip}: ${err.message}`);
      return undefined;
    });
    if (!target) return this.floating.get(fip);
    return { local: false, engine, via: where.address ?? '', target };
  }

  /**
   * The Linux bridge that holds the server's address on a local engine: the engine network's bridge
   * name option, or Docker's `br-<network id>` (undefined: not a bridge network).
   */
  private async bridgeOf(where: Located, address: string): Promise<string | undefined> {
    const networkId = where.networkOf.get(address);
    if (!networkId) return undefined;
    let bridge = this.bridges.get(networkId);
    if (bridge === undefined) {
      const net = (await where.docker.getNetwork(networkId).inspect()) as { Id: string; Driver: string; Options?: Record<string, string> };
      bridge = net.Driver !== 'bridge' ? null : (net.Options?.['com.docker.network.bridge.name'] ?? `br-${net.Id.slice(0, 12)}`);
      this.bridges.set(networkId, bridge);
    }
    return bridge ?? undefined;
  }

  private async remoteTarget(where: Located, fixed: string): Promise<string | undefined> {
    const info = (await where.docker.getContainer(where.id).inspect()) as { NetworkSettings: { Networks: Record<string, { IPAddress: string; NetworkID: string }> } };
    const endpoint = Object.values(info.NetworkSettings.Networks).find((n) => n.IPAddress === fixed);
    if (!endpoint) throw new Error(`no interface with ${fixed} in container ${where.id.slice(0, 12)}`);
    const net = (await where.docker.getNetwork(endpoint.NetworkID).inspect()) as { Driver: string; Name: string };
    if (net.Driver === 'bridge') return fixed;
    const gw = (await where.docker.getNetwork('docker_gwbridge').inspect().catch(() => undefined)) as { Containers?: Record<string, { IPv4Address: string }> } | undefined;
    const gwAddress = gw?.Containers?.[where.id]?.IPv4Address?.split('/')[0];
    if (!gwAddress) throw new Error(`${net.Name} (${net.Driver}) is not reachable from the server's host (an internal overlay network has no docker_gwbridge address)`);
    return gwAddress;
  }
}
