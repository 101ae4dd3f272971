// os-security-groups and os-security-group-rules (until 2.36) and a server's groups
// (`/servers/{id}/os-security-groups`, every version): Neutron's groups in Nova's shape, ingress rules only.
import { contextOf, type RequestContext } from '../../../platform/auth/context.ts';
import type { FastifyRequest } from 'fastify';
import type { NeutronDoc } from '../../../network/client.ts';
import type { ComputeService } from '../../service.ts';
import type { ComputeRoutes } from '../index.ts';
import { servedUntil } from './gates.ts';
import { ProxyIdParams, ProxyQuery, SecurityGroupBody, SecurityGroupListQuery, SecurityGroupRuleBody, ServerIdParams } from './schemas.ts';
import { groupRef, ruleView, securityGroupView, sortedGroups, sourceIds, type GroupRef } from './views.ts';

const MAX_LIMIT = 1000;

export function securityGroupRoutes({ app, compute }: ComputeRoutes): void {
  const proxies = compute.networkProxies;
  /** Groups in Nova's shape, each rule's source group named (when the caller may see it). */
  const render = async (ctx: RequestContext, groups: NeutronDoc[]) => {
    const sources = new Map<string, GroupRef>(groups.map((g) => [g.id, groupRef(g)]));
    const missing = sourceIds(groups).filter((id) => !sources.has(id));
    for (const [id, g] of await proxies.groupsById(ctx, missing)) sources.set(id, groupRef(g));
    return groups.map((g) => securityGroupView(g, sources));
  };

  app.get('/v2.1/os-security-groups', { schema: { querystring: SecurityGroupListQuery } }, async (request) => {
    servedUntil(request);
    const ctx = contextOf(request);
    const q = request.query;
    const all = await proxies.securityGroups(ctx, q.all_tenants !== undefined);
    // Nova's common.limited: offset, then at most limit (and never more than max_limit).
    const offset = q.offset ?? 0;
    const page = all.slice(offset, offset + Math.min(q.limit || MAX_LIMIT, MAX_LIMIT));
    return { security_groups: sortedGroups(await render(ctx, page)) };
  });
  app.get('/v2.1/os-security-groups/:id', { schema: { params: ProxyIdParams, querystring: ProxyQuery } }, async (request) => {
    servedUntil(request);
    const ctx = contextOf(request);
    return { security_group: (await render(ctx, [await proxies.securityGroup(ctx, request.params.id)]))[0] };
  });
  app.post('/v2.1/os-security-groups', { schema: { body: SecurityGroupBody } }, async (request) => {
    servedUntil(request);
    const ctx = contextOf(request);
    const { name, description } = request.body.security_group;
    return { security_group: (await render(ctx, [await proxies.createSecurityGroup(ctx, name, description)]))[0] };
  });
  app.put('/v2.1/os-security-groups/:id', { schema: { params: ProxyIdParams, body: SecurityGroupBody } }, async (request) => {
    servedUntil(request);
    const ctx = contextOf(request);
    const { name, description } = request.body.security_group;
    return { security_group: (await render(ctx, [await proxies.updateSecurityGroup(ctx, request.params.id, name, description)]))[0] };
  });
  app.delete('/v2.1/os-security-groups/:id', { schema: { params: ProxyIdParams } }, async (request, reply) => {
    servedUntil(request);
    await proxies.deleteSecurityGroup(contextOf(request), request.params.id);
    reply.code(202).send();
  });

  app.post('/v2.1/os-security-group-rules', { schema: { body: SecurityGroupRuleBody } }, async (request) => {
    servedUntil(request);
    const { rule, source } = await proxies.createRule(contextOf(request), request.body.security_group_rule);
    return { security_group_rule: ruleView(rule, source ? groupRef(source) : undefined) };
  });
  app.delete('/v2.1/os-security-group-rules/:id', { schema: { params: ProxyIdParams } }, async (request, reply) => {
    servedUntil(request);
    await proxies.deleteRule(contextOf(request), request.params.id);
    reply.code(202).send();
  });

  // Not a proxy of the removed kind: Nova serves a server's groups at every version.
  app.get('/v2.1/servers/:server_id/os-security-groups', { schema: { params: ServerIdParams, querystring: ProxyQuery } }, async (request) => {
    const ctx = contextOf(request);
    return { security_groups: sortedGroups(await render(ctx, await proxies.serverSecurityGroups(ctx, request.params.server_id))) };
  });
}

/** addSecurityGroup/removeSecurityGroup, served at every version: true when the body was one of them. */
export async function securityGroupAction(compute: ComputeService, request: FastifyRequest, id: string, body: Record<string, unknown>): Promise<boolean> {
  const add = body.addSecurityGroup as { name: string } | undefined;
  const remove = body.removeSecurityGroup as { name: string } | undefined;
  if (!add && !remove) return false;
  const ctx = contextOf(request);
  if (add) await compute.networkProxies.addSecurityGroup(ctx, id, add.name);
  else await compute.networkProxies.removeSecurityGroup(ctx, id, remove!.name);
  return true;
}
