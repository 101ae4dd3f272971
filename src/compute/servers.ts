// A server's own record: renaming it, its metadata, the lock that keeps members' hands off it, and
// deleting it (the intent recorded, the container removed and the ports released in the background).
import type { RequestContext } from '../platform/auth/context.ts';
import { ConflictError, NotFoundError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import type { Hosts } from './hosts.ts';
import type { InstanceActions } from './instance-actions.ts';
import type { ServerUpdateBody } from './schemas.ts';
import { faultJson } from './states.ts';
import type { ServerRow, WorkloadKind } from './tables.ts';


/** A locked server takes no changes from non-admins. */
export function assertUnlocked(core: ComputeCore, ctx: RequestContext, row: ServerRow): void {
  if (row.locked && !core.isAdmin(ctx)) throw new ConflictError(`Instance ${row.id} is locked`);
}

export class Servers {
  constructor(
    private readonly core: ComputeCore,
    private readonly hosts: Hosts,
    private readonly actions: InstanceActions,
  ) {}

  async update(ctx: RequestContext, id: string, body: ServerUpdateBody, kind: WorkloadKind = 'server'): Promise<ServerRow> {
    this.core.enforce(ctx, 'servers:update');
    const row = await this.core.server(ctx, id, kind);
    assertUnlocked(this.core, ctx, row);
    const s = body.server;
    const changes: Partial<ServerRow> = {};
    if (s.name !== undefined) changes.name = s.name;
    if (s.description !== undefined) changes.description = s.description;
    await this.core.store.updateServer(id, changes);
    return (await this.core.store.server(id))!;
  }

  async metadata(ctx: RequestContext, id: string): Promise<Record<string, string>> {
    return JSON.parse((await this.core.server(ctx, id)).metadata) as Record<string, string>;
  }

  async setMetadata(ctx: RequestContext, id: string, metadata: Record<string, string>, replace: boolean, kind: WorkloadKind = 'server'): Promise<Record<string, string>> {
    this.core.enforce(ctx, 'servers:update');
    const row = await this.core.server(ctx, id, kind);
    assertUnlocked(this.core, ctx, row);
    const merged = { ...(replace ? {} : (JSON.parse(row.metadata) as Record<string, string>)), ...metadata };
    await this.core.store.updateServer(id, { metadata: JSON.stringify(merged) });
    return merged;
  }

  async deleteMetadata(ctx: RequestContext, id: string, key: string): Promise<void> {
    const row = await this.core.server(ctx, id);
    assertUnlocked(this.core, ctx, row);
    const md = JSON.parse(row.metadata) as Record<string, string>;
    if (!(key in md)) throw new NotFoundError(`Metadata item was not found`);
    delete md[key];
    await this.core.store.updateServer(id, { metadata: JSON.stringify(md) });
  }

  async delete(ctx: RequestContext, id: string, requestId: string, force = false, kind: WorkloadKind = 'server'): Promise<void> {
    this.core.enforce(ctx, force ? 'servers:force_delete' : 'servers:delete');
    const row = await this.core.server(ctx, id, kind);
    assertUnlocked(this.core, ctx, row);
    await this.core.store.updateServer(id, { task_state: 'deleting' });
    await this.actions.record(row, 'delete', requestId, ctx);
    this.core.track(this.finishDelete(row, ctx));
  }

  /**
   * Removes an infrastructure workload (never a server) for the cloud itself, without a caller: a
   * service's clean-up after a restart. Its ports are left to that service's own delete.
   */
  async release(id: string): Promise<void> {
    const row = await this.core.store.server(id);
    if (!row || row.kind === 'server' || row.kind === 'container') return;
    await this.core.store.updateServer(id, { task_state: 'deleting' });
    const done = this.finishDelete(row, undefined);
    this.core.track(done);
    await done;
  }

  /** Removes the container, releases the ports, marks the row deleted; a failure leaves the server in ERROR. */
  async finishDelete(row: Pick<ServerRow, 'id' | 'host_id'>, ctx: RequestContext | undefined): Promise<void> {
    try {
      const driver = row.host_id ? this.hosts.driver(row.host_id) : undefined;
      if (driver) await this.hosts.spawnSlots(row.host_id!).run(() => driver.destroy(row.id));
      if (ctx) await this.core.network.unbindPorts(ctx, row.id);
      await this.core.store.markDeleted(row.id);
      await this.core.store.deleteContainerOptions(row.id);
    } catch (err) {
      await this.core.store.updateServer(row.id, { vm_state: 'error', task_state: null, fault: faultJson(`Delete failed: ${(err as Error).message}`) });
    }
  }
}
