// What every compute concern shares: the rows, the policy, the clients of the image and network
// services, the settings, the work in flight, and the one way to find a server a caller may see.
import type { Config } from '../config.ts';
import { internalContext, type RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import { ForbiddenError, NotFoundError } from '../platform/errors.ts';
import type { ImageClient } from '../image/client.ts';
import type { NetworkClient } from '../network/client.ts';
import type { ComputeStore } from './store.ts';
import type { ServerRevision, ServerRow, WorkloadKind } from './tables.ts';

/** Lets the event loop answer other requests before going on (large work is done in turns). */
export const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface ComputeOptions {
  maxAttempts: number;
  ratios: { cpu: number; ram: number; disk: number };
}

export class ComputeCore {
  /** Builds and actions in flight, so that tests and shutdown can wait for them. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    readonly store: ComputeStore,
    readonly images: ImageClient,
    /** Ports, addresses and security groups of servers. */
    readonly network: NetworkClient,
    private readonly policy: PolicyEngine,
    readonly config: Config,
    readonly options: ComputeOptions,
  ) {}

  enforce(ctx: RequestContext, action: string, target: Record<string, unknown> = {}): void {
    this.policy.enforce(`compute:${action}`, ctx, target);
  }

  isAdmin(ctx: RequestContext): boolean {
    return this.policy.authorize('compute:admin', ctx);
  }

  /** The caller's project; compute's resources all live in one. */
  projectOf(ctx: RequestContext): string {
    if (ctx.scope.kind !== 'project') throw new ForbiddenError('Compute requires a project-scoped token.');
    return ctx.scope.projectId;
  }

  /** The server if the caller may see it (and it is of that kind); 404 otherwise, whether it exists or not. */
  async server(ctx: RequestContext, id: string, kind: WorkloadKind = 'server'): Promise<ServerRow> {
    return this.visible(ctx, id, kind, await this.store.server(id));
  }

  /** server()'s check on the row's revision and owner alone (a show whose view is kept). */
  async serverRevision(ctx: RequestContext, id: string, kind: WorkloadKind = 'server'): Promise<ServerRevision> {
    return this.visible(ctx, id, kind, await this.store.serverOwner(id));
  }

  private visible<Row extends Pick<ServerRow, 'project_id' | 'kind'>>(ctx: RequestContext, id: string, kind: WorkloadKind, s: Row | undefined): Row {
    if (!s || s.kind !== kind || (s.project_id !== (ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined) && !this.isAdmin(ctx))) {
      throw new NotFoundError(`Instance ${id} could not be found.`);
    }
    return s;
  }

  /** One default-network look-up per project at a time, so concurrent first boots make one network. */
  private readonly defaultNetworks = new Map<string, Promise<string>>();
  defaultNetwork(ctx: RequestContext, projectId: string): Promise<string> {
    let p = this.defaultNetworks.get(projectId);
    if (!p) {
      p = this.network.defaultNetworkId(ctx).finally(() => this.defaultNetworks.delete(projectId));
      this.defaultNetworks.set(projectId, p);
    }
    return p;
  }

  /** Runs work in the background, kept until it ends so that settle() can wait for it. */
  track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Waits for every build and action under way (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

/** The server's owner as a request context, for clean-up the controller does on its own after a restart. */
export function ownerContext(s: Pick<ServerRow, 'user_id' | 'project_id'>): RequestContext {
  return internalContext({ userId: s.user_id, projectId: s.project_id, roles: ['member', 'reader'], auditId: 'reconcile' });
}
