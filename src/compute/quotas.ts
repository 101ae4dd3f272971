// Quotas: each project's limits (defaults overridden per project by admins) and what it uses.
// Instances, cores and RAM are checked where servers are inserted, in the same transaction.
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, NotFoundError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import { toInt, type QuotaSetBody } from './schemas.ts';


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

  async set(ctx: RequestContext, projectId: string, body: QuotaSetBody): Promise<Record<string, number>> {
    this.core.enforce(ctx, 'quotas:update');
    const changes: [string, number][] = [];
    for (const [k, v] of Object.entries(body.quota_set)) {
      if (k === 'force' || k === 'id' || v === undefined) continue;
      // Kept for the 2.1 body; a container cloud has none of these to limit.
      if (!(k in DEFAULT_QUOTAS)) continue;
      const n = toInt(v as number | string);
      if (!Number.isInteger(n) || n < -1) throw new BadRequestError(`Invalid input for field/attribute ${k}. Value: ${String(v)}. must be an integer >= -1`);
      changes.push([k, n]);
    }
    for (const [k, n] of changes) await this.core.store.setQuota(projectId, k, n);
    return this.of(projectId);
  }

  async usage(projectId: string): Promise<Record<string, number>> {
    const used = await this.core.store.projectUsage(projectId);
    return { ...used, server_groups: await this.core.store.serverGroupCount(projectId) };
  }
}
