// Server groups: (anti-)affinity policies servers join at boot (scheduler hint `group`), per
// project, counted against the server_groups quota.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, NotFoundError, OverQuotaError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import type { Quotas } from './quotas.ts';
import type { ServerGroupCreateBody } from './schemas.ts';
import type { ServerGroupRow } from './tables.ts';


export class ServerGroups {
  constructor(
    private readonly core: ComputeCore,
    private readonly quotas: Quotas,
  ) {}

  async create(ctx: RequestContext, body: ServerGroupCreateBody): Promise<ServerGroupRow> {
    this.core.enforce(ctx, 'server_groups:create');
    const g = body.server_group;
    const policies = g.policies ?? (g.policy !== undefined ? [g.policy] : []);
    const policy = policies[0];
    if (policies.length !== 1 || policy === undefined) {
      throw new BadRequestError('Invalid input for field/attribute policies: one of affinity, anti-affinity, soft-affinity, soft-anti-affinity.');
    }
    const projectId = this.core.projectOf(ctx);
    const quota = (await this.quotas.of(projectId)).server_groups!;
    if (quota >= 0 && (await this.core.store.serverGroupCount(projectId)) >= quota) throw new OverQuotaError('Quota exceeded, too many server groups.', 'server_groups');
    const row: ServerGroupRow = { id: randomUUID(), name: g.name, project_id: projectId, user_id: ctx.userId, policy, created_at: new Date().toISOString() };
    await this.core.store.insertServerGroup(row);
    return row;
  }

  /** A group of the caller's project (any, for an admin); 404 otherwise. */
  async get(ctx: RequestContext, id: string): Promise<ServerGroupRow> {
    const g = await this.core.store.serverGroup(id);
    if (!g || (g.project_id !== (ctx.scope.kind === 'project' ? ctx.scope.projectId : '') && !this.core.isAdmin(ctx))) {
      throw new NotFoundError(`Server group ${id} could not be found.`);
    }
    return g;
  }

  /** The caller's project's groups; every project's for an admin who asks for all. */
  async list(ctx: RequestContext, allProjects: boolean): Promise<ServerGroupRow[]> {
    this.core.enforce(ctx, 'server_groups:index');
    const all = this.core.isAdmin(ctx) && allProjects;
    return this.core.store.serverGroups(all ? undefined : ctx.scope.kind === 'project' ? ctx.scope.projectId : '');
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const g = await this.get(ctx, id);
    this.core.enforce(ctx, 'server_groups:delete');
    await this.core.store.deleteServerGroup(g.id);
  }

  async members(groupId: string): Promise<string[]> {
    return this.core.store.groupMemberIds(groupId);
  }
}
