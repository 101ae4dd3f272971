// Quotas: each project's limits (defaults overridden per project by admins) and what it uses.
// Instances, cores and RAM are checked where servers are inserted, in the same transaction.
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, NotFoundError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';

type Body = Record<string, unknown>;

export const DEFAULT_QUOTAS: Record<string, number> = {
  instances: 10,
  cores: 20,
  ram: 51200,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
  metadata_items: 128,
  injected_files: 5,
  injected_file_content_bytes: 10240,
  injected_file_path_bytes: 255,
};

export class Quotas {
  constructor(private readonly core: ComputeCore) {}

  async of(projectId: string): Promise<Record<string, number>> {
    return { ...DEFAULT_QUOTAS, ...(await this.core.store.quotaOverrides(projectId)) };
  }

  /** The project whose quotas the caller asks about: its own, or any for an admin; 404 otherwise. */
  readable(ctx: RequestContext, projectId: string): string {
    if (!this.core.isAdmin(ctx) && (ctx.scope.kind !== 'project' || ctx.scope.projectId !== projectId)) {
      throw new NotFoundError(`Quota for project ${projectId} could not be found.`);
    }
    return projectId;
  }

  async set(ctx: RequestContext, projectId: string, body: Body): Promise<Record<string, number>> {
    this.core.enforce(ctx, 'quotas:update');
    const q = (body.quota_set ?? {}) as Body;
    for (const [k, v] of Object.entries(q)) {
      if (k === 'force' || k === 'id') continue;
      if (!(k in DEFAULT_QUOTAS)) throw new BadRequestError(`Bad key(s) ${k} in quota_set`);
      const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
      if (!Number.isInteger(n) || (n as number) < -1) throw new BadRequestError(`Invalid input for field/attribute ${k}. Value: ${String(v)}. must be an integer >= -1`);
      await this.core.store.setQuota(projectId, k, n as number);
    }
    return this.of(projectId);
  }

  async usage(projectId: string): Promise<Record<string, number>> {
    const used = await this.core.store.projectUsage(projectId);
    return { ...used, server_groups: await this.core.store.serverGroupCount(projectId) };
  }
}
