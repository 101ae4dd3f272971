// Zun's quotas (containers, cpu, memory, disk) and quota classes: a project's limit is its own, else
// the `default` class's, else Zun's default. Usage is counted from the container rows, and a check
// and the insert it allows run as one step per project (every controller), so racing creates never
// go past a limit. Compute's quotas and ledger apply to the same containers as well.
import type { RequestContext } from '../platform/auth/context.ts';
import type { Database } from '../platform/db/database.ts';
import { exclusively } from '../platform/db/locks.ts';
import { OverQuotaError } from '../platform/errors.ts';
import type { ZunCore } from './core.ts';
import { InvalidValue } from './errors.ts';
import type { ZunUsage } from './store.ts';

export const QUOTA_RESOURCES = ['containers', 'cpu', 'memory', 'disk'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];
export const ZUN_DEFAULT_QUOTAS: Record<QuotaResource, number> = { containers: 40, cpu: 20, memory: 50 * 1024, disk: 100 };
const classScope = (name: string) => `class:${name}`;

export class Quotas {
  constructor(private readonly core: ZunCore, private readonly database: Database) {}

  async defaults(): Promise<Record<QuotaResource, number>> {
    return { ...ZUN_DEFAULT_QUOTAS, ...(await this.core.store.limits(classScope('default'))) };
  }

  async limits(projectId: string): Promise<Record<QuotaResource, number>> {
    return { ...(await this.defaults()), ...(await this.core.store.limits(projectId)) };
  }

  /**
   * Runs `commit` (the insert or change that uses the deltas) if the project's usage plus the deltas
   * stays within its limits; one at a time per project. OverQuota (403) names what would go over.
   */
  async reserve(ctx: RequestContext, projectId: string, deltas: ZunUsage, commit: () => Promise<void>): Promise<void> {
    await exclusively(this.database, `zun-quota:${projectId}`, async () => {
      const limits = await this.limits(projectId);
      const used = await this.core.store.usage(projectId);
      const over = QUOTA_RESOURCES.filter((r) => deltas[r] > 0 && limits[r] >= 0 && used[r] + deltas[r] > limits[r] + 1e-9);
      if (over.length) throw new OverQuotaError(`Quota exceeded for resources: ['${over.join("', '")}']`, over[0]!);
      await commit();
    });
  }

  // ---- the API (/v1/quotas/{project_id}, /v1/quota_classes/{name})

  private assertReadable(ctx: RequestContext, projectId: string): void {
    this.core.enforce(ctx, 'quota:get');
    if (!this.core.isAdmin(ctx) && (ctx.scope.kind !== 'project' || ctx.scope.projectId !== projectId)) {
      this.core.enforce(ctx, 'quota:update');
    }
  }

  async show(ctx: RequestContext, projectId: string, usages: boolean): Promise<Record<string, unknown>> {
    this.assertReadable(ctx, projectId);
    const limits = await this.limits(projectId);
    if (!usages) return limits;
    const used = await this.core.store.usage(projectId);
    return Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, { limit: limits[r], in_use: used[r] }]));
  }

  async showDefaults(ctx: RequestContext): Promise<Record<string, number>> {
    this.core.enforce(ctx, 'quota:get_default');
    return this.defaults();
  }

  async update(ctx: RequestContext, projectId: string, body: Record<string, unknown>): Promise<Record<string, number>> {
    this.core.enforce(ctx, 'quota:update', { project_id: projectId });
    for (const [k, v] of Object.entries(parseLimits(body))) await this.core.store.setLimit(projectId, k, v);
    return this.limits(projectId);
  }

  async reset(ctx: RequestContext, projectId: string): Promise<void> {
    this.core.enforce(ctx, 'quota:delete', { project_id: projectId });
    await this.core.store.clearLimits(projectId);
  }

  async showClass(ctx: RequestContext, name: string): Promise<Record<string, number>> {
    this.core.enforce(ctx, 'quota_class:get');
    return { ...ZUN_DEFAULT_QUOTAS, ...(await this.core.store.limits(classScope(name))) };
  }

  async updateClass(ctx: RequestContext, name: string, body: Record<string, unknown>): Promise<Record<string, number>> {
    this.core.enforce(ctx, 'quota_class:update');
    for (const [k, v] of Object.entries(parseLimits(body))) await this.core.store.setLimit(classScope(name), k, v);
    return this.showClass(ctx, name);
  }
}

/** Zun's quota update body: containers, cpu, memory, disk as integers >= -1 (strings of digits too). */
function parseLimits(body: Record<string, unknown>): Partial<Record<QuotaResource, number>> {
  const out: Partial<Record<QuotaResource, number>> = {};
  for (const [k, v] of Object.entries(body)) {
    if (!(QUOTA_RESOURCES as readonly string[]).includes(k)) throw new InvalidValue(`Additional properties are not allowed ('${k}' was unexpected)`);
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (!Number.isInteger(n) || (n as number) < -1 || (n as number) > 2 ** 31 - 1) throw new InvalidValue(`Invalid input for field/attribute ${k}. Value: ${String(v)}. must be an integer >= -1`);
    out[k as QuotaResource] = n as number;
  }
  return out;
}
