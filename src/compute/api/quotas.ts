// Quota sets and absolute limits.
import { contextOf } from '../../platform/auth/context.ts';
import { DEFAULT_QUOTAS } from '../quotas.ts';
import { AnyQuery, LimitsQuery, ProjectParams, QuotaSetBody } from '../schemas.ts';
import type { ComputeRoutes } from './index.ts';

export function quotaRoutes({ app, compute }: ComputeRoutes): void {
  app.get('/v2.1/os-quota-sets/:project', { schema: { params: ProjectParams, querystring: AnyQuery } }, async (request) => {
    const projectId = compute.quotas.readable(contextOf(request), request.params.project);
    return { quota_set: { id: projectId, ...(await compute.quotas.of(projectId)) } };
  });
  app.get('/v2.1/os-quota-sets/:project/detail', { schema: { params: ProjectParams, querystring: AnyQuery } }, async (request) => {
    const projectId = compute.quotas.readable(contextOf(request), request.params.project);
    const limits = await compute.quotas.of(projectId);
    const used = await compute.quotas.usage(projectId);
    return {
      quota_set: {
        id: projectId,
        ...Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, { limit: v, in_use: used[k] ?? 0, reserved: 0 }])),
      },
    };
  });
  app.get('/v2.1/os-quota-sets/:project/defaults', { schema: { params: ProjectParams } }, async () => ({ quota_set: { id: 'defaults', ...DEFAULT_QUOTAS } }));
  app.put('/v2.1/os-quota-sets/:project', { schema: { params: ProjectParams, querystring: AnyQuery, body: QuotaSetBody } }, async (request) => ({
    quota_set: await compute.quotas.set(contextOf(request), request.params.project, request.body as QuotaSetBody),
  }));
  app.get('/v2.1/limits', { schema: { querystring: LimitsQuery } }, async (request) => {
    const ctx = contextOf(request);
    const projectId = compute.isAdmin(ctx) && request.query.tenant_id ? request.query.tenant_id : ctx.scope.kind === 'project' ? ctx.scope.projectId : '';
    const q = await compute.quotas.of(projectId);
    const u = await compute.quotas.usage(projectId);
    return {
      limits: {
        rate: [],
        absolute: {
          maxTotalInstances: q.instances,
          maxTotalCores: q.cores,
          maxTotalRAMSize: q.ram,
          maxTotalKeypairs: q.key_pairs,
          maxServerGroups: q.server_groups,
          maxServerGroupMembers: q.server_group_members,
          maxServerMeta: q.metadata_items,
          maxImageMeta: 128,
          maxPersonality: q.injected_files,
          maxPersonalitySize: q.injected_file_content_bytes,
          totalInstancesUsed: u.instances,
          totalCoresUsed: u.cores,
          totalRAMUsed: u.ram,
          totalServerGroupsUsed: u.server_groups,
          totalFloatingIpsUsed: 0,
          totalSecurityGroupsUsed: 0,
          maxTotalFloatingIps: -1,
          maxSecurityGroups: -1,
          maxSecurityGroupRules: -1,
        },
      },
    };
  });
}
