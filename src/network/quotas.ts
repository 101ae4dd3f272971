// Network quotas: the defaults, a project's overrides (admins set and reset them), usage counted from
// the tables, and the list of projects with overrides (GET /v2.0/quotas, admins).
import type { RequestContext } from '../platform/auth/context.ts';
import { ForbiddenError } from '../platform/errors.ts';
import { DEFAULT_QUOTAS, NetworkCore, toInt } from './core.ts';
import { InvalidInput, NeutronBadRequest } from './errors.ts';
import type { ResourceKind } from './store/index.ts';

export function checkQuotaAccess(core: NetworkCore, ctx: RequestContext, projectId: string): void {
  if (core.may(ctx, 'get_quota:any_project')) return;
  if (ctx.scope.kind !== 'project' || ctx.scope.projectId !== projectId) throw new ForbiddenError('Only admins may see or change the quotas of another project.');
}

export async function quotaUsage(core: NetworkCore, projectId: string): Promise<Record<string, { limit: number; used: number; reserved: number }>> {
  const limits = await core.quotaOf(projectId);
  const out: Record<string, { limit: number; used: number; reserved: number }> = {};
  for (const [k, limit] of Object.entries(limits)) out[k] = { limit, used: await core.store.count(k as ResourceKind, projectId), reserved: 0 };
  return out;
}

export async function setQuota(core: NetworkCore, ctx: RequestContext, projectId: string, body: Record<string, unknown>): Promise<Record<string, number>> {
  core.enforce(ctx, 'update_quota', 'rule:update_quota');
  const limits: [string, number][] = [];
  for (const [k, v] of Object.entries(body)) {
    if (!(k in DEFAULT_QUOTAS)) throw new NeutronBadRequest('HTTPBadRequest', `Unrecognized attribute(s) '${k}'`);
    const n = toInt(v, k);
    if (n < -1) throw new InvalidInput(`'${String(v)}' is not a valid quota for ${k}.`);
    limits.push([k, n]);
  }
  await core.store.transaction(async (tx) => {
    for (const [k, n] of limits) await tx.setQuota(projectId, k, n);
  });
  return core.quotaOf(projectId);
}

export async function resetQuota(core: NetworkCore, ctx: RequestContext, projectId: string): Promise<void> {
  core.enforce(ctx, 'update_quota', 'rule:update_quota');
  await core.store.resetQuota(projectId);
}

/** Every project with a quota other than the defaults, with its whole quota (admins). */
export async function listQuotas(core: NetworkCore, ctx: RequestContext): Promise<Record<string, unknown>[]> {
  core.enforce(ctx, 'get_quotas', 'rule:get_quota');
  const byProject = new Map<string, Record<string, number>>();
  for (const r of await core.store.allQuotaOverrides()) {
    if (DEFAULT_QUOTAS[r.resource] === r.hard_limit) continue;
    (byProject.get(r.project_id) ?? byProject.set(r.project_id, {}).get(r.project_id)!)[r.resource] = r.hard_limit;
  }
  return [...byProject.keys()].map((project) => ({ ...DEFAULT_QUOTAS, ...byProject.get(project), project_id: project, tenant_id: project }));
}
