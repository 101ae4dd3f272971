// Drives each cluster's stack and follows it: a create makes the cluster's certificates and its stack,
// an update replaces the stack's template, a delete deletes the stack and then the cluster. A
// level-triggered loop re-reads the rows and the stack, so a restart at any point resumes (a stack
// operation the restart cut short runs again) or fails cleanly: nothing stays *_IN_PROGRESS once its
// stack has settled.
import type { RequestContext } from '../platform/auth/context.ts';
import type { ClusterClients, StackSummary } from './clients.ts';
import type { ClusterService } from './clusters.ts';
import type { ClusterRow, ClusterStatus, ClusterStore } from './store.ts';

export interface ClusterRuntime {
  /** What a cluster needs before its stack: its certificate authorities and the address of its front. */
  prepare(row: ClusterRow): Promise<void>;
  /** Takes the nodes of a cluster whose create failed out (no node stays after a failed create). */
  removeNodes(row: ClusterRow): Promise<void>;
  /** What remains of a deleted cluster outside its stack: nodes left by a crash, its front. */
  cleanup(row: ClusterRow): Promise<void>;
  /** The cluster's status changed (fronts start or stop listening). */
  changed(row: ClusterRow): void;
}

type Pending = { kind: 'create' | 'update' | 'delete'; ctx: RequestContext };

export class ClusterLifecycle {
  /** Operations asked for by a caller in this process and not yet handed to the stack. */
  private readonly pending = new Map<string, Pending>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  /** When this process asked for a cluster's stack to be deleted. */
  private readonly deleteAsked = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: ClusterStore,
    private readonly service: ClusterService,
    private readonly clients: ClusterClients,
    private readonly runtime: ClusterRuntime,
    private readonly log: (msg: string) => void,
    private readonly pollMs = 250,
  ) {}

  /** An operation asked for by `ctx` on the cluster: acted on now. */
  kick(uuid: string, kind: Pending['kind'], ctx: RequestContext): void {
    this.pending.set(uuid, { kind, ctx });
    this.step(uuid);
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.pollMs);
    this.timer.unref();
    void this.sweep();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.running.values()]);
  }

  /** Waits until every step under way has finished (tests). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      for (const row of await this.store.allClusters()) if (row.status.endsWith('_IN_PROGRESS')) this.step(row.uuid);
    } catch (err) {
      this.log(`clusters: sweep: ${(err as Error).message}`);
    }
  }

  /** One step for one cluster at a time; a step asked for meanwhile runs right after. */
  private step(uuid: string): void {
    if (this.stopped) return;
    if (this.running.has(uuid)) {
      this.again.add(uuid);
      return;
    }
    const p = this.advance(uuid)
      .catch((err: Error) => this.log(`clusters: ${uuid}: ${err.stack ?? err.message}`))
      .finally(() => {
        this.running.delete(uuid);
        if (this.again.delete(uuid)) this.step(uuid);
      });
    this.running.set(uuid, p);
  }

  private async advance(uuid: string): Promise<void> {
    const row = await this.store.cluster(uuid);
    if (!row) return;
    const pending = this.pending.get(uuid);
    switch (row.status) {
      case 'CREATE_IN_PROGRESS':
        return this.creating(row, pending);
      case 'UPDATE_IN_PROGRESS':
        return this.updating(row, pending);
      case 'DELETE_IN_PROGRESS':
        return this.deleting(row, pending);
      default:
        this.pending.delete(uuid);
    }
  }

  private async creating(row: ClusterRow, pending: Pending | undefined): Promise<void> {
    if (!row.stack_id) {
      if (!pending) return this.settleAs(row, 'CREATE_FAILED', 'The controller restarted before the cluster\'s stack was created.');
      this.pending.delete(row.uuid);
      try {
        await this.runtime.prepare(row);
        const stack = await this.clients.stacks.create(pending.ctx, {
          name: `${row.name.slice(0, 200)}-${row.uuid.slice(0, 8)}`,
          template: await this.service.stackTemplate((await this.store.cluster(row.uuid)) ?? row),
          timeoutMins: row.create_timeout > 0 ? row.create_timeout : null,
        });
        await this.store.updateCluster(row.uuid, { stack_id: stack.id });
      } catch (err) {
        return this.settleAs(row, 'CREATE_FAILED', `Failed to create the cluster's stack: ${(err as Error).message}`);
      }
      return;
    }
    const stack = await this.clients.stacks.peek(row.stack_id);
    if (!stack) return this.settleAs(row, 'CREATE_FAILED', 'The cluster\'s stack is gone.');
    if (stack.status === 'IN_PROGRESS') return;
    // A create that a restart resumed finishes as the stack's update.
    if ((stack.action === 'CREATE' || stack.action === 'UPDATE') && stack.status === 'COMPLETE') return this.settleAs(row, 'CREATE_COMPLETE', 'Stack CREATE completed successfully');
    if (stack.interrupted && (await this.resume(row, stack))) return;
    return this.settleAs(row, 'CREATE_FAILED', stack.statusReason, stack);
  }

  /**
   * A create or update that a restart of the controller cut short runs again (its stack updates to
   * the template it holds: what was made stays, what failed is made anew, half-made nodes go first).
   */
  private async resume(row: ClusterRow, stack: StackSummary): Promise<boolean> {
    try {
      if (!(await this.clients.stacks.retry(stack.id))) return false;
    } catch (err) {
      this.log(`clusters: ${row.uuid}: resuming after a restart: ${(err as Error).message}`);
      return false;
    }
    this.log(`clusters: ${row.uuid}: ${row.status} resumed after a restart`);
    return true;
  }

  private async updating(row: ClusterRow, pending: Pending | undefined): Promise<void> {
    if (!row.stack_id) return this.settleAs(row, 'UPDATE_FAILED', 'The cluster has no stack.');
    const stack = await this.clients.stacks.peek(row.stack_id);
    if (!stack) return this.settleAs(row, 'UPDATE_FAILED', 'The cluster\'s stack is gone.');
    if (pending?.kind === 'update') {
      if (stack.status === 'IN_PROGRESS') return; // another stack operation first; this step runs again
      this.pending.delete(row.uuid);
      try {
        await this.clients.stacks.update(pending.ctx, row.stack_id, await this.service.stackTemplate(row));
      } catch (err) {
        return this.settleAs(row, 'UPDATE_FAILED', `Failed to update the cluster's stack: ${(err as Error).message}`);
      }
      return;
    }
    if (stack.status === 'IN_PROGRESS') return;
    if (stack.action === 'UPDATE' && stack.status === 'COMPLETE') return this.settleAs(row, 'UPDATE_COMPLETE', 'Stack UPDATE completed successfully');
    if (stack.interrupted && stack.action === 'UPDATE' && (await this.resume(row, stack))) return;
    if (stack.action === 'UPDATE' || stack.action === 'ROLLBACK') return this.settleAs(row, 'UPDATE_FAILED', stack.statusReason, stack);
    // The stack never took the update (a restart came first).
    return this.settleAs(row, 'UPDATE_FAILED', 'The controller restarted before the cluster\'s stack was updated; resize again.');
  }

  private async deleting(row: ClusterRow, pending: Pending | undefined): Promise<void> {
    this.pending.delete(row.uuid);
    if (row.stack_id) {
      const stack = await this.clients.stacks.peek(row.stack_id);
      if (stack && !(stack.action === 'DELETE' && stack.status === 'COMPLETE')) {
        if (stack.action === 'DELETE' && stack.status === 'IN_PROGRESS') return;
        if (stack.action === 'DELETE' && stack.status === 'FAILED' && !pending) return this.settleAs(row, 'DELETE_FAILED', stack.statusReason);
        // A create cut short by the delete reports its own failure first: the delete asked for is still coming.
        const asked = this.deleteAsked.get(row.uuid);
        if (!pending && asked !== undefined && Date.now() - asked < 60_000) return;
        this.deleteAsked.set(row.uuid, Date.now());
        try {
          await this.clients.stacks.delete(pending?.ctx, row.stack_id);
        } catch (err) {
          return this.settleAs(row, 'DELETE_FAILED', `Failed to delete the cluster's stack: ${(err as Error).message}`);
        }
        return;
      }
    }
    await this.runtime.cleanup(row);
    await this.store.deleteCluster(row.uuid);
    this.deleteAsked.delete(row.uuid);
    this.runtime.changed({ ...row, status: 'DELETE_COMPLETE' });
  }

  private async settleAs(row: ClusterRow, status: ClusterStatus, reason: string, stack?: StackSummary): Promise<void> {
    const faults = status.endsWith('FAILED') ? JSON.stringify(await this.faults(row, reason, stack)) : null;
    const done = await this.store.updateCluster(row.uuid, { status, status_reason: reason, faults }, [row.status]);
    if (!done) return; // the cluster moved on meanwhile (a delete)
    const failed = status.endsWith('FAILED');
    for (const g of await this.store.nodegroups(row.uuid)) {
      if (!g.status.endsWith('_IN_PROGRESS')) continue;
      // A group added or removed by an update settles as its own create or delete did.
      if (g.status === 'DELETE_IN_PROGRESS' && status === 'UPDATE_COMPLETE') await this.store.deleteNodegroup(g.uuid);
      else {
        const own = g.status === 'DELETE_IN_PROGRESS' ? (failed ? 'DELETE_FAILED' : status) : g.status === 'CREATE_IN_PROGRESS' && status.startsWith('UPDATE_') ? (failed ? 'CREATE_FAILED' : 'CREATE_COMPLETE') : status;
        await this.store.updateNodegroup(g.uuid, { status: own, status_reason: failed ? reason : null });
      }
    }
    if (status === 'CREATE_FAILED') await this.runtime.removeNodes(row).catch((err: Error) => this.log(`clusters: ${row.uuid}: removing nodes after a failed create: ${err.message}`));
    this.runtime.changed({ ...row, status, status_reason: reason });
  }

  /** What failed, by node group, as Magnum's `faults` shows it. */
  private async faults(row: ClusterRow, reason: string, stack?: StackSummary): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const g of await this.store.nodegroups(row.uuid)) if (g.status.endsWith('_IN_PROGRESS') || g.status.endsWith('FAILED')) out[g.name] = g.status_reason ?? reason;
    if (Object.keys(out).length === 0) out[stack ? 'stack' : 'cluster'] = reason;
    return out;
  }
}
