// Keystone v3 implied roles: /roles/{prior}/implies/{implied} and /role_inferences.
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import type { RoleRow } from './store.ts';
import type { Req, RouteKit } from './route-kit.ts';

export function roleInferenceRoutes(app: HttpServer, { identity, links, listLinks }: RouteKit): void {
  const brief = (r: RoleRow) => ({ id: r.id, name: r.name, links: links(`/roles/${r.id}`) });
  const one = '/v3/roles/:prior/implies/:implied';
  app.put(one, async (request: Req, reply) => {
    const { prior, implied } = await identity.implyRole(contextOf(request), request.params.prior, request.params.implied, 'create_implied_role');
    reply.code(201);
    return { role_inference: { prior_role: brief(prior), implies: brief(implied) }, links: links(`/roles/${prior.id}/implies/${implied.id}`) };
  });
  app.get(one, async (request: Req) => {
    const { prior, implied } = await identity.implyRole(contextOf(request), request.params.prior, request.params.implied, 'get_implied_role');
    return { role_inference: { prior_role: brief(prior), implies: brief(implied) }, links: links(`/roles/${prior.id}/implies/${implied.id}`) };
  });
  app.head(one, async (request: Req, reply) => {
    await identity.implyRole(contextOf(request), request.params.prior, request.params.implied, 'get_implied_role');
    reply.code(204).send();
  });
  app.delete(one, async (request: Req, reply) => {
    await identity.implyRole(contextOf(request), request.params.prior, request.params.implied, 'delete_implied_role');
    reply.code(204).send();
  });

  const inferencesOf = async (prior: RoleRow, edges: { prior_role_id: string; implied_role_id: string }[]) => {
    const implies: ReturnType<typeof brief>[] = [];
    for (const e of edges) if (e.prior_role_id === prior.id) implies.push(brief(await identity.role(e.implied_role_id)));
    return { prior_role: brief(prior), implies };
  };
  app.get('/v3/roles/:prior/implies', async (request: Req) => {
    identity.enforce(contextOf(request), 'list_implied_roles');
    const prior = await identity.role(request.params.prior);
    return { role_inference: await inferencesOf(prior, await identity.store.impliedRoleEdges()), links: links(`/roles/${prior.id}/implies`) };
  });
  app.get('/v3/role_inferences', async (request: Req) => {
    identity.enforce(contextOf(request), 'list_role_inference_rules');
    const edges = await identity.store.impliedRoleEdges();
    const out = [];
    for (const priorId of [...new Set(edges.map((e) => e.prior_role_id))]) out.push(await inferencesOf(await identity.role(priorId), edges));
    return { role_inferences: out, links: listLinks(request) };
  });
}
