// Host aggregates (os-aggregates, admins): named sets of hosts with metadata; an aggregate's
// `availability_zone` is the zone of its hosts, which the scheduler's AvailabilityZoneFilter reads.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, NotFoundError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import type { Hosts } from './hosts.ts';
import type { AggregateRow } from './tables.ts';

/** The zone of hosts in no aggregate with one (Nova's default_availability_zone). */
export const DEFAULT_ZONE = 'nova';

export interface Aggregate extends AggregateRow {
  hosts: string[];
}

export class Aggregates {
  constructor(
    private readonly core: ComputeCore,
    private readonly hosts: Hosts,
  ) {}

  private async withHosts(row: AggregateRow): Promise<Aggregate> {
    return { ...row, hosts: await this.core.store.aggregateHosts(row.id) };
  }

  async list(ctx: RequestContext): Promise<Aggregate[]> {
    this.core.enforce(ctx, 'aggregates');
    const rows = await this.core.store.aggregates();
    const members = await this.core.store.allAggregateHosts();
    return rows.map((r) => ({ ...r, hosts: members.filter((m) => m.aggregate_id === r.id).map((m) => m.host_id) }));
  }

  async get(ctx: RequestContext, id: string): Promise<Aggregate> {
    this.core.enforce(ctx, 'aggregates');
    const row = /^\d+$/.test(id) ? await this.core.store.aggregate(Number(id)) : undefined;
    if (!row) throw new NotFoundError(`Aggregate ${id} could not be found.`);
    return this.withHosts(row);
  }

  async create(ctx: RequestContext, name: string, availabilityZone: string | null): Promise<Aggregate> {
    this.core.enforce(ctx, 'aggregates');
    if ((await this.core.store.aggregates()).some((a) => a.name === name)) throw new ConflictError(`Aggregate ${name} already exists.`);
    const now = new Date().toISOString();
    const row = await this.core.store.insertAggregate({ uuid: randomUUID(), name, availability_zone: availabilityZone, metadata: JSON.stringify(availabilityZone ? { availability_zone: availabilityZone } : {}), created_at: now, updated_at: now });
    return { ...row, hosts: [] };
  }

  async update(ctx: RequestContext, id: string, changes: { name?: string; availability_zone?: string | null }): Promise<Aggregate> {
    const a = await this.get(ctx, id);
    if (changes.name !== undefined && changes.name !== a.name && (await this.core.store.aggregates()).some((x) => x.name === changes.name)) {
      throw new ConflictError(`Aggregate ${changes.name} already exists.`);
    }
    const metadata = JSON.parse(a.metadata) as Record<string, string>;
    if (changes.availability_zone !== undefined) {
      if (changes.availability_zone === null) delete metadata.availability_zone;
      else metadata.availability_zone = changes.availability_zone;
    }
    await this.core.store.updateAggregate(a.id, {
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.availability_zone !== undefined ? { availability_zone: changes.availability_zone } : {}),
      metadata: JSON.stringify(metadata),
      updated_at: new Date().toISOString(),
    });
    await this.rezone(a.hosts);
    return this.get(ctx, id);
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const a = await this.get(ctx, id);
    if (a.hosts.length > 0) throw new BadRequestError(`Cannot remove aggregate ${id}: it still has hosts (${a.hosts.join(', ')}).`);
    await this.core.store.deleteAggregate(a.id);
  }

  async addHost(ctx: RequestContext, id: string, hostname: string): Promise<Aggregate> {
    const a = await this.get(ctx, id);
    const host = (await this.core.store.hosts()).find((h) => h.hostname === hostname);
    if (!host) throw new NotFoundError(`Compute host ${hostname} could not be found.`);
    if (a.hosts.includes(host.id)) throw new ConflictError(`Aggregate ${id} already has host ${hostname}.`);
    // A host is in one zone: another aggregate of it naming a different zone is a conflict, as in Nova.
    if (a.availability_zone) {
      const others = (await this.list(ctx)).filter((x) => x.id !== a.id && x.hosts.includes(host.id) && x.availability_zone && x.availability_zone !== a.availability_zone);
      if (others.length) throw new ConflictError(`Cannot add host ${hostname} to aggregate ${id}: it is in availability zone ${others[0]!.availability_zone} already.`);
    }
    await this.core.store.addAggregateHost(a.id, host.id);
    await this.rezone([host.id]);
    return this.get(ctx, id);
  }

  async removeHost(ctx: RequestContext, id: string, hostname: string): Promise<Aggregate> {
    const a = await this.get(ctx, id);
    const host = (await this.core.store.hosts()).find((h) => h.hostname === hostname);
    if (!host || !a.hosts.includes(host.id)) throw new NotFoundError(`Cannot remove host ${hostname} from aggregate ${id}: it is not in it.`);
    await this.core.store.removeAggregateHost(a.id, host.id);
    await this.rezone([host.id]);
    return this.get(ctx, id);
  }

  /** Merges metadata (a null value removes a key); `availability_zone` in it is the aggregate's zone. */
  async setMetadata(ctx: RequestContext, id: string, changes: Record<string, string | null>): Promise<Aggregate> {
    const a = await this.get(ctx, id);
    const metadata = JSON.parse(a.metadata) as Record<string, string>;
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete metadata[k];
      else metadata[k] = v;
    }
    await this.core.store.updateAggregate(a.id, { metadata: JSON.stringify(metadata), availability_zone: metadata.availability_zone ?? null, updated_at: new Date().toISOString() });
    await this.rezone(a.hosts);
    return this.get(ctx, id);
  }

  /** The zone of a host: that of an aggregate it is in, else the default. */
  async zoneOf(hostId: string): Promise<string | undefined> {
    const ids = (await this.core.store.allAggregateHosts()).filter((m) => m.host_id === hostId).map((m) => m.aggregate_id);
    const zones = (await this.core.store.aggregates()).filter((a) => ids.includes(a.id) && a.availability_zone).map((a) => a.availability_zone!);
    return zones[0];
  }

  /** Sets the hosts' zones from their aggregates, so the scheduler and the views read them from the host rows. */
  private async rezone(hostIds: string[]): Promise<void> {
    for (const id of hostIds) await this.core.store.setHostZone(id, (await this.zoneOf(id)) ?? DEFAULT_ZONE);
    void this.hosts;
  }
}
