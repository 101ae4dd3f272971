// What every part of the container service shares: its rows, its clients, its policy, finding a
// container by uuid or name within the caller's project (404 otherwise), its state as Zun shows it,
// and its container actions with their events.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import { ConflictError, ForbiddenError } from '../platform/errors.ts';
import type { ZunClients, WorkloadState } from './clients.ts';
import { ContainerNotFound, PolicyNotAuthorized } from './errors.ts';
import { zunState, type ZunState } from './states.ts';
import type { ActionRow, ContainerRow, ZunStore } from './store.ts';
import { containerView } from './views.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);

export interface Located {
  row: ContainerRow;
  workload: WorkloadState | undefined;
  state: ZunState;
}

export class ZunCore {
  /** Work started by requests and still running (builds' follow-ups, commits), for settle(). */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    readonly store: ZunStore,
    readonly clients: ZunClients,
    private readonly policy: PolicyEngine,
    /** The API's /v1 base URL (links). */
    readonly base: string,
  ) {}

  enforce(ctx: RequestContext, action: string, target: Record<string, unknown> = {}): void {
    if (!this.policy.authorize(action, ctx, target)) throw new PolicyNotAuthorized(action);
  }

  allowed(ctx: RequestContext, action: string): boolean {
    return this.policy.authorize(action, ctx, {});
  }

  isAdmin(ctx: RequestContext): boolean {
    return this.policy.authorize('container:admin', ctx, {});
  }

  project(ctx: RequestContext): string {
    if (ctx.scope.kind !== 'project') throw new ForbiddenError('Zun requires a project-scoped token.');
    return ctx.scope.projectId;
  }

  /**
   * The container named by uuid or name among the caller's project's (every project's for an admin
   * asking with all_projects). Another project's container is as unknown as a missing one.
   */
  async find(ctx: RequestContext, ident: string, allProjects = false): Promise<ContainerRow> {
    const project = allProjects && this.isAdmin(ctx) ? undefined : this.project(ctx);
    if (isUuid(ident)) {
      const row = await this.store.container(ident.toLowerCase());
      if (row && !row.capsule_id && (project === undefined || row.project_id === project)) return row;
    }
    const named = (await this.store.containersNamed(ident, project)).filter((r) => !r.capsule_id);
    if (named.length > 1) throw new ConflictError(`Multiple containers exist with same name. Please use the container uuid instead.`);
    if (named.length === 0) throw new ContainerNotFound(ident);
    return named[0]!;
  }

  /** The container with its workload and Zun state. */
  async locate(ctx: RequestContext, ident: string, allProjects = false): Promise<Located> {
    const row = await this.find(ctx, ident, allProjects);
    return this.located(ctx, row);
  }

  async located(ctx: RequestContext, row: ContainerRow): Promise<Located> {
    const workload = await this.workloadOf(ctx, row);
    return { row, workload, state: zunState(row, workload) };
  }

  async workloadOf(ctx: RequestContext, row: ContainerRow): Promise<WorkloadState | undefined> {
    return (await this.clients.compute.states(ctx, [row.uuid])).get(row.uuid);
  }

  async view(ctx: RequestContext, l: Located): Promise<Record<string, unknown>> {
    const admin = this.isAdmin(ctx);
    const hostName = admin && l.workload?.hostId ? ((await this.clients.compute.hosts(ctx)).find((h) => h.id === l.workload!.hostId)?.hostname ?? l.workload.hostId) : null;
    return containerView(l.row, l.workload, l.state, { base: this.base, admin, hostName });
  }

  // ---- container actions

  /** Records an action and its first event (started now); answers the action's id. */
  async startAction(ctx: RequestContext, row: ContainerRow, action: string, requestId: string, event: string): Promise<string> {
    const now = new Date().toISOString();
    const id = randomUUID();
    const a: ActionRow = {
      id,
      container_uuid: row.uuid,
      project_id: row.project_id,
      user_id: ctx.userId,
      action,
      request_id: requestId,
      start_time: now,
      finish_time: null,
      message: null,
      events: JSON.stringify([{ event, start_time: now, finish_time: null, result: null, traceback: null }]),
    };
    await this.store.addAction(a);
    return id;
  }

  /**
   * Ends the action's open event with its result; an action Zun finishes (stop, pause, ...) gets its
   * finish_time, and 'Error' as its message when it failed (create and start are never finished, as in Zun).
   */
  async finishAction(containerUuid: string, actionId: string, error: Error | undefined, finishes: boolean): Promise<void> {
    const a = (await this.store.actions(containerUuid)).find((x) => x.id === actionId);
    if (!a) return;
    const now = new Date().toISOString();
    const events = (JSON.parse(a.events) as { finish_time: string | null; result: string | null; traceback: string | null }[]).map((e) =>
      e.finish_time ? e : { ...e, finish_time: now, result: error ? 'Error' : 'Success', traceback: error ? (error.stack ?? error.message) : null },
    );
    await this.store.updateAction(actionId, { events: JSON.stringify(events), ...(finishes ? { finish_time: now } : {}), ...(error ? { message: 'Error' } : {}) });
  }

  /** Follows work that outlives its request; failures are the work's own to record. */
  track(p: Promise<unknown>): void {
    const settled = p.catch(() => undefined);
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
  }

  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
