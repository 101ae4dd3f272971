// The cloud's hosts: registering one with its driver (in-process or a remote agent's), whether it
// is up, what the scheduler sees of each (capacity and the ledger's allocations), enabling and
// disabling them (os-services), and how many engine calls each takes at once.
import type { ComputeDriver, HostCapacity } from '../agent/driver.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import { ConflictError, NotFoundError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import type { HostAllocation } from './ledger.ts';
import type { HostState } from './scheduler/types.ts';
import type { HostRow } from './tables.ts';

/** Container creates+starts (and removals) in flight per host: the engine's best concurrency, measured in bench/compute. */
const SPAWNS_PER_HOST = 8;

const NONE: ReadonlySet<string> = new Set();

/** A counting semaphore: at most `size` tasks run at once, the rest wait in order. */
export class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    // A freed slot passes straight to the next waiter, so no newcomer can slip in between.
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export class Hosts {
  /** The drivers of the hosts with an agent here (in-process or remote), by host id. */
  private readonly drivers = new Map<string, ComputeDriver>();
  private readonly slots = new Map<string, Slots>();

  constructor(private readonly core: ComputeCore) {}

  /** This cloud's id, the mark on its containers. */
  get cloudId(): string {
    return this.core.store.cloudId;
  }

  /** `capacity`: as the host's agent reported it (remote agents register with it); else asked of the driver. */
  async register(hostId: string, driver: ComputeDriver, endpoint: string, availabilityZone = 'nova', capacity?: HostCapacity): Promise<HostRow> {
    const cap = capacity ?? (await driver.capacity());
    const now = new Date().toISOString();
    await this.core.store.upsertHost({
      id: hostId,
      hostname: hostId,
      endpoint,
      vcpus: cap.vcpus,
      memory_mib: cap.memoryMiB,
      disk_gib: cap.diskGiB,
      architecture: cap.architecture,
      availability_zone: availabilityZone,
      enabled: 1,
      disabled_reason: null,
      heartbeat_at: now,
      created_at: now,
      confinement: cap.confinement ? JSON.stringify(cap.confinement) : null,
    });
    this.drivers.set(hostId, driver);
    return (await this.core.store.host(hostId))!;
  }

  /** The driver of a host with an agent here (tests look at fake hosts through it). */
  driver(hostId: string): ComputeDriver | undefined {
    return this.drivers.get(hostId);
  }

  /** Every host with an agent here and its driver. */
  connected(): [string, ComputeDriver][] {
    return [...this.drivers];
  }

  /** The driver of a server's host; 409 when no agent drives it. */
  driverOf(hostId: string | null): ComputeDriver {
    const d = hostId ? this.drivers.get(hostId) : undefined;
    if (!d) throw new ConflictError(`The host of this server (${hostId ?? 'none'}) has no agent connected.`);
    return d;
  }

  /** Each host row's heartbeat as a time: parsed once per row read, not once per host per decision. */
  private readonly heartbeats = new WeakMap<HostRow, number>();

  isUp(h: HostRow, now = Date.now()): boolean {
    if (h.forced_down) return false;
    let beat = this.heartbeats.get(h);
    if (beat === undefined) this.heartbeats.set(h, (beat = Date.parse(h.heartbeat_at)));
    return now - beat < this.core.config.hostDownAfterMs;
  }

  async heartbeat(hostId: string): Promise<void> {
    await this.core.store.heartbeats([hostId]);
  }

  /** Host rows as of at most a second ago (views, the scheduler). */
  async recent(): Promise<HostRow[]> {
    return this.core.store.hostsRecent();
  }

  /** Which host each placed server is on (agents' views of their own servers), from the ledger in memory. */
  async placements(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [hostId, a] of this.allocations()) for (const id of a.serverIds) out.set(id, hostId);
    return out;
  }

  /** The servers placed on hosts other than these (remote agents' hosts), from the ledger in memory. */
  serversOutside(hostIds: ReadonlySet<string>): Set<string> {
    const out = new Set<string>();
    for (const [hostId, a] of this.allocations()) if (!hostIds.has(hostId)) for (const id of a.serverIds) out.add(id);
    return out;
  }

  /** What each host has allocated, from the ledger. */
  allocations(): ReadonlyMap<string, HostAllocation> {
    return this.core.store.ledger.hosts();
  }

  /**
   * The scheduler's host states, one object per host kept while the host rows and agents stay the
   * same (each decision refreshes their figures in place instead of making a thousand new ones).
   */
  private kept: { rows: HostRow[]; agents: number; states: HostState[]; beats: Float64Array } | undefined;

  /**
   * Every schedulable host (one with an agent here) with its allocations, from the ledger: the
   * figures as of this call (the next call refreshes the same objects).
   */
  async states(): Promise<HostState[]> {
    const rows = await this.core.store.hostsRecent();
    let kept = this.kept;
    if (!kept || kept.rows !== rows || kept.agents !== this.drivers.size) {
      const schedulable = rows.filter((h) => this.drivers.has(h.id));
      const states = schedulable.map((h): HostState => ({ host: h, up: false, usedVcpus: 0, usedRamMiB: 0, usedDiskGiB: 0, serverIds: NONE, groupIds: NONE }));
      this.kept = kept = { rows, agents: this.drivers.size, states, beats: Float64Array.from(schedulable, (h) => Date.parse(h.heartbeat_at)) };
    }
    const allocations = this.allocations();
    const { states, beats } = kept;
    const upSince = Date.now() - this.core.config.hostDownAfterMs;
    for (let i = 0; i < states.length; i++) {
      const s = states[i]!;
      const a = allocations.get(s.host.id);
      s.up = !s.host.forced_down && beats[i]! > upSince;
      s.usedVcpus = a?.vcpus ?? 0;
      s.usedRamMiB = a?.ramMiB ?? 0;
      s.usedDiskGiB = a?.diskGiB ?? 0;
      s.serverIds = a?.serverIds ?? NONE;
      s.groupIds = a?.groupIds ?? NONE;
    }
    return states;
  }

  /** Engine calls that create or remove containers on a host go through its slots. */
  spawnSlots(hostId: string): Slots {
    let slots = this.slots.get(hostId);
    if (!slots) this.slots.set(hostId, (slots = new Slots(SPAWNS_PER_HOST)));
    return slots;
  }

  /** The availability zones of the hosts. */
  async zones(): Promise<string[]> {
    return [...new Set((await this.core.store.hosts()).map((h) => h.availability_zone))];
  }

  // ---- os-hypervisors, os-services (admins)

  async list(ctx: RequestContext, rule: 'hypervisors' | 'services'): Promise<HostRow[]> {
    this.core.enforce(ctx, rule);
    return this.core.store.hosts();
  }

  /** A compute service by the id a microversion shows (a uuid from 2.53, an integer before); 404 otherwise. */
  async service(ctx: RequestContext, id: string): Promise<HostRow> {
    this.core.enforce(ctx, 'services');
    const host = (await this.core.store.hosts()).find((h) => h.uuid === id || String(h.number) === id);
    if (!host) throw new NotFoundError(`Service ${id} could not be found.`);
    return host;
  }

  /** A host by its name (os-services of 2.1-2.52, os-aggregates); 404 otherwise. */
  async byName(hostname: string): Promise<HostRow> {
    const host = (await this.core.store.hosts()).find((h) => h.hostname === hostname);
    if (!host) throw new NotFoundError(`Compute host ${hostname} could not be found.`);
    return host;
  }

  /** Marks a host down whatever its heartbeat (os-services forced_down, 2.11): no new servers go there. */
  async setForcedDown(ctx: RequestContext, host: HostRow, down: boolean): Promise<HostRow> {
    this.core.enforce(ctx, 'services');
    await this.core.store.setHostForcedDown(host.id, down);
    return { ...host, forced_down: down ? 1 : 0 };
  }

  /**
   * Deletes a compute service (2.53: DELETE /os-services/{id}): 409 while servers are placed on it. The
   * host is gone from the scheduler and the admin views until its agent registers again (an agent's
   * restart, a controller's), as a restarted nova-compute comes back.
   */
  async deleteService(ctx: RequestContext, host: HostRow): Promise<void> {
    this.core.enforce(ctx, 'services');
    if ((this.allocations().get(host.id)?.servers ?? 0) > 0) throw new ConflictError(`Unable to delete compute service that is hosting instances. Migrate or delete the instances first.`);
    await this.core.store.deleteHost(host.id);
  }

  /** Enables or disables a host for new servers (os-services); 404 for an unknown host. */
  async setEnabled(ctx: RequestContext, hostname: unknown, enabled: boolean, reason: string | null): Promise<HostRow> {
    this.core.enforce(ctx, 'services');
    const host = (await this.core.store.hosts()).find((h) => h.hostname === hostname);
    if (!host) throw new NotFoundError(`Host ${String(hostname)} could not be found.`);
    await this.core.store.setHostEnabled(host.id, enabled, reason);
    return { ...host, enabled: enabled ? 1 : 0, disabled_reason: reason };
  }
}
