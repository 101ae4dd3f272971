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

  /** A project's limits: its own where an admin set them, else the `default` class's, else hafen's. */
  async of(projectId: string): Promise<Record<string, number>> {
    const [defaults, own] = await Promise.all([this.defaults(), this.core.store.quotaOverrides(projectId)]);
    return { ...defaults, ...own };
  }

  /** The limits of every project that has none of its own: the quota class `default`. */
  defaults(): Promise<Record<string, number>> {
    return this.ofClass('default');
  }

  /** A quota class's limits (Nova reads only `default`; other classes are kept and shown). */
  async ofClass(name: string): Promise<Record<string, number>> {
    return { ...DEFAULT_QUOTAS, ...(await this.core.store.quotaClass(name)) };
  }

  async setClass(ctx: RequestContext, name: string, body: QuotaSetBody): Promise<Record<string, number>> {
    this.core.enforce(ctx, 'quota_classes:update');
    for (const [k, n] of this.changes(body)) await this.core.store.setQuotaClass(name, k, n);
    return this.ofClass(name);
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
    for (const [k, n] of this.changes(body)) await this.core.store.setQuota(projectId, k, n);
    return this.of(projectId);
  }

  /** The limits a quota body sets, each checked before any is written. */
  private changes(body: QuotaSetBody): [string, number][] {
    const changes: [string, number][] = [];
    for (const [k, v] of Object.entries(body.quota_set)) {
      if (k === 'force' || k === 'id' || v === undefined) continue;
      // Kept for the 2.1 body; a container cloud has none of these to limit.
      if (!(k in DEFAULT_QUOTAS)) continue;
      const n = toInt(v as number | string);
      if (!Number.isInteger(n) || n < -1) throw new BadRequestError(`Invalid input for field/attribute ${k}. Value: ${String(v)}. must be an integer >= -1`);
      changes.push([k, n]);
    }
    return changes;
  }

  async usage(projectId: string): Promise<Record<string, number>> {
    const used = await this.core.store.projectUsage(projectId);
    return { ...used, server_groups: await this.core.store.serverGroupCount(projectId) };
  }
}
