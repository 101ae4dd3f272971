// Server groups of the caller's project (every project's for admins who ask).
import { contextOf } from '../../platform/auth/context.ts';
import { IdParams, ServerGroupCreateBody, ServerGroupListQuery } from '../schemas.ts';
import { serverGroupView } from '../views.ts';
import type { ComputeRoutes } from './index.ts';

export function serverGroupRoutes({ app, compute }: ComputeRoutes): void {
  app.get('/v2.1/os-server-groups', { schema: { querystring: ServerGroupListQuery } }, async (request) => {
    const groups = await compute.serverGroups.list(contextOf(request), request.query.all_projects !== undefined);
    const out = [];
    for (const g of groups) out.push(serverGroupView(g, await compute.serverGroups.members(g.id)));
    return { server_groups: out };
  });
  app.post('/v2.1/os-server-groups', { schema: { body: ServerGroupCreateBody } }, async (request) => {
    const g = await compute.serverGroups.create(contextOf(request), request.body);
    return { server_group: serverGroupView(g, []) };
  });
  app.get('/v2.1/os-server-groups/:id', { schema: { params: IdParams } }, async (request) => {
    const g = await compute.serverGroups.get(contextOf(request), request.params.id);
    return { server_group: serverGroupView(g, await compute.serverGroups.members(g.id)) };
  });
  app.delete('/v2.1/os-server-groups/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await compute.serverGroups.delete(contextOf(request), request.params.id);
    reply.code(204).send();
  });
}
