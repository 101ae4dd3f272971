// Quota sets and absolute limits.
import { contextOf } from '../../platform/auth/context.ts';
import { BadRequestError } from '../../platform/errors.ts';
import { AnyQuery, LimitsQuery, ProjectParams, QuotaSetBody, QuotaSetClassBody } from '../schemas.ts';
import type { At } from '../views.ts';
import { atOf, type ComputeRoutes } from './index.ts';

/** Until 2.36 a quota set also names the network quotas (nova-network's, unlimited here: Neutron has its own). */
const NETWORK_QUOTAS: Record<string, number> = { floating_ips: -1, fixed_ips: -1, security_groups: -1, security_group_rules: -1 };
/** Gone from 2.57 with personality files. */
const FILE_QUOTAS = ['injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes'];

/** A quota set's fields as the version asked for has them. */
function shaped<T>(values: Record<string, T>, at: At, network: T | ((v: number) => T)): Record<string, T> {
  const out: Record<string, T> = { ...values };
  if (at('2.57')) for (const k of FILE_QUOTAS) delete out[k];
  if (!at('2.36')) for (const [k, v] of Object.entries(NETWORK_QUOTAS)) out[k] = typeof network === 'function' ? (network as (v: number) => T)(v) : network;
  return out;
}

export function quotaRoutes({ app, compute }: ComputeRoutes): void {
  app.get('/v2.1/os-quota-sets/:project', { schema: { params: ProjectParams, querystring: AnyQuery } }, async (request) => {
    const projectId = compute.quotas.readable(contextOf(request), request.params.project);
    return { quota_set: { id: projectId, ...shaped(await compute.quotas.of(projectId), atOf(request), (v) => v) } };
  });
  app.get('/v2.1/os-quota-sets/:project/detail', { schema: { params: ProjectParams, querystring: AnyQuery } }, async (request) => {
    const projectId = compute.quotas.readable(contextOf(request), request.params.project);
    const limits = await compute.quotas.of(projectId);
    const used = await compute.quotas.usage(projectId);
    return {
      quota_set: {
        id: projectId,
        ...shaped(
          Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, { limit: v, in_use: used[k] ?? 0, reserved: 0 }])),
          atOf(request),
          (v) => ({ limit: v, in_use: 0, reserved: 0 }),
        ),
      },
    };
  });
  app.get('/v2.1/os-quota-sets/:project/defaults', { schema: { params: ProjectParams } }, async (request) => ({ quota_set: { id: 'defaults', ...shaped(await compute.quotas.defaults(), atOf(request), (v) => v) } }));
  app.put('/v2.1/os-quota-sets/:project', { schema: { params: ProjectParams, querystring: AnyQuery, body: QuotaSetBody } }, async (request) => {
    const at = atOf(request);
    const body = request.body as QuotaSetBody;
    // Fields a version no longer has are unknown there, as in Nova's schema of that version.
    const gone = [...(at('2.36') ? [...Object.keys(NETWORK_QUOTAS), 'networks'] : []), ...(at('2.57') ? FILE_QUOTAS : [])].filter((k) => Object.hasOwn(body.quota_set, k));
    if (gone.length) throw new BadRequestError(`Invalid input for field/attribute quota_set. Additional properties are not allowed ('${gone[0]}' was unexpected)`);
    return { quota_set: shaped(await compute.quotas.set(contextOf(request), request.params.project, body), at, (v) => v) };
  });
  // ---- quota classes: `default` holds the limits of every project without its own.
  /** Until 2.50 a class names the network quotas; from 2.50 it has the server group quotas instead. */
  const classShaped = (values: Record<string, number>, at: At) => {
    const out = shaped(values, at, (v) => v);
    if (!at('2.50')) {
      delete out.server_groups;
      delete out.server_group_members;
      // Nova's class answer below 2.50 still has them, whatever 2.36 did to quota sets.
      Object.assign(out, NETWORK_QUOTAS);
    }
    return out;
  };
  app.get('/v2.1/os-quota-class-sets/:project', { schema: { params: ProjectParams } }, async (request) => ({
    quota_class_set: { id: request.params.project, ...classShaped(await compute.quotas.ofClass(request.params.project), atOf(request)) },
  }));
  app.put('/v2.1/os-quota-class-sets/:project', { schema: { params: ProjectParams, body: QuotaSetClassBody } }, async (request) => {
    const at = atOf(request);
    const body = request.body as { quota_class_set: QuotaSetBody['quota_set'] };
    const gone = [...(at('2.50') ? Object.keys(NETWORK_QUOTAS) : ['server_groups', 'server_group_members']), ...(at('2.57') ? FILE_QUOTAS : [])].filter((k) => Object.hasOwn(body.quota_class_set, k));
    if (gone.length) throw new BadRequestError(`Invalid input for field/attribute quota_class_set. Additional properties are not allowed ('${gone[0]}' was unexpected)`);
    const values = await compute.quotas.setClass(contextOf(request), request.params.project, { quota_set: body.quota_class_set });
    return { quota_class_set: classShaped(values, at) };
  });

  app.get('/v2.1/limits', { schema: { querystring: LimitsQuery } }, async (request) => {
    const ctx = contextOf(request);
    const projectId = compute.isAdmin(ctx) && request.query.tenant_id ? request.query.tenant_id : ctx.scope.kind === 'project' ? ctx.scope.projectId : '';
    const q = await compute.quotas.of(projectId);
    const u = await compute.quotas.usage(projectId);
    const at = atOf(request);
    // Nova's limits view: the network limits go at 2.36, maxImageMeta at 2.39, the personality ones at 2.57.
    const absolute: Record<string, number> = {
      maxTotalInstances: q.instances!,
      maxTotalCores: q.cores!,
      maxTotalRAMSize: q.ram!,
      maxTotalKeypairs: q.key_pairs!,
      maxServerGroups: q.server_groups!,
      maxServerGroupMembers: q.server_group_members!,
      maxServerMeta: q.metadata_items!,
      ...(at('2.39') ? {} : { maxImageMeta: q.metadata_items! }),
      ...(at('2.57') ? {} : { maxPersonality: q.injected_files!, maxPersonalitySize: q.injected_file_content_bytes! }),
      ...(at('2.36') ? {} : { maxTotalFloatingIps: NETWORK_QUOTAS.floating_ips!, maxSecurityGroups: NETWORK_QUOTAS.security_groups!, maxSecurityGroupRules: NETWORK_QUOTAS.security_group_rules! }),
      totalInstancesUsed: u.instances!,
      totalCoresUsed: u.cores!,
      totalRAMUsed: u.ram!,
      totalServerGroupsUsed: u.server_groups!,
      ...(at('2.36') ? {} : { totalFloatingIpsUsed: 0, totalSecurityGroupsUsed: 0 }),
    };
    return { limits: { rate: [], absolute } };
  });
}
