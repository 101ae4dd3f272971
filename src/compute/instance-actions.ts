// Instance actions (os-instance-actions): each request that changes a server leaves a record with
// its events, finished when the work in the background ends.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { NotFoundError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import type { ActionRow, ServerRow } from './tables.ts';

export class InstanceActions {
  constructor(private readonly core: ComputeCore) {}

  /** Records the start of an action (`done`: it finished within the request); answers its row. */
  async record(row: Pick<ServerRow, 'id' | 'project_id'>, action: string, requestId: string, ctx: RequestContext, done = false): Promise<ActionRow> {
    return (await this.recordMany([row], action, requestId, ctx, done))[0]!;
  }

  /** record() for the servers of one request, in a few statements; answers the rows in order. */
  async recordMany(rows: Pick<ServerRow, 'id' | 'project_id'>[], action: string, requestId: string, ctx: RequestContext, done = false): Promise<ActionRow[]> {
    const recorded = this.rowsFor(rows, action, requestId, ctx, done);
    await this.core.store.addActions(recorded);
    return recorded;
  }

  /** The action rows record() would insert (for a caller that inserts them with its own rows). */
  rowsFor(rows: Pick<ServerRow, 'id' | 'project_id'>[], action: string, requestId: string, ctx: RequestContext, done = false): ActionRow[] {
    const now = new Date().toISOString();
    const events = JSON.stringify([{ event: `compute_${action}`, start_time: now, finish_time: done ? now : null, result: done ? 'Success' : null }]);
    return rows.map((row): ActionRow => ({ id: randomUUID(), server_id: row.id, action, request_id: requestId, user_id: ctx.userId, project_id: row.project_id, start_time: now, message: null, events }));
  }

  /** Finishes the latest action of that name on the server. */
  async finish(serverId: string, action: string, result: 'Success' | 'Error'): Promise<void> {
    const a = (await this.core.store.actions(serverId)).find((x) => x.action === action);
    if (!a) return;
    const done = finished(a, result);
    await this.core.store.setActionEvents(a.id, done.events, done.message);
  }

  /** The actions of a server the caller may see, newest first. */
  async list(ctx: RequestContext, serverId: string): Promise<ActionRow[]> {
    const s = await this.core.server(ctx, serverId);
    return this.core.store.actions(s.id);
  }

  async get(ctx: RequestContext, serverId: string, requestId: string): Promise<ActionRow> {
    const s = await this.core.server(ctx, serverId);
    const a = (await this.core.store.actions(s.id)).find((x) => x.request_id === requestId);
    if (!a) throw new NotFoundError(`Action for request_id ${requestId} on instance ${s.id} not found`);
    return a;
  }
}

/** An action's row as finished with `result`: its open events closed now. */
export function finished(a: Pick<ActionRow, 'id' | 'events'>, result: 'Success' | 'Error'): Pick<ActionRow, 'id' | 'events' | 'message'> {
  const now = new Date().toISOString();
  const events = (JSON.parse(a.events) as { finish_time: string | null; result: string | null }[]).map((e) => (e.finish_time ? e : { ...e, finish_time: now, result }));
  return { id: a.id, events: JSON.stringify(events), message: result === 'Error' ? 'Error' : null };
}
