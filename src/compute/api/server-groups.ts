// Server groups of the caller's project (every project's for admins who ask).
import { contextOf } from '../../platform/auth/context.ts';
import { IdParams, ServerGroupCreateBody, ServerGroupListQuery } from '../schemas.ts';
import { BadRequestError } from '../../platform/errors.ts';
import { serverGroupView } from '../views.ts';
import { atOf, type ComputeRoutes } from './index.ts';
import { newerThan, removedAt } from './versions.ts';

export function serverGroupRoutes({ app, compute }: ComputeRoutes): void {
  app.get('/v2.1/os-server-groups', { schema: { querystring: ServerGroupListQuery } }, async (request) => {
    const groups = await compute.serverGroups.list(contextOf(request), request.query.all_projects !== undefined);
    const out = [];
    for (const g of groups) out.push(serverGroupView(g, await compute.serverGroups.members(g.id), atOf(request)));
    return { server_groups: out };
  });
  app.post('/v2.1/os-server-groups', { schema: { body: ServerGroupCreateBody } }, async (request) => {
    const at = atOf(request);
    const g = request.body.server_group;
    // Until 2.64 a list of one policy; from 2.64 one policy (and rules). Soft policies from 2.15.
    newerThan(request, g, { policy: '2.64', rules: '2.64' });
    removedAt(request, g, { policies: '2.64' });
    if (at('2.64') ? g.policy === undefined : g.policies === undefined) throw new BadRequestError(`Invalid input for field/attribute server_group. '${at('2.64') ? 'policy' : 'policies'}' is a required property`);
    const policy = g.policy ?? g.policies?.[0];
    if (!at('2.15') && (policy === 'soft-affinity' || policy === 'soft-anti-affinity')) throw new BadRequestError(`Invalid input for field/attribute policies. '${policy}' is not one of ['anti-affinity', 'affinity'] before microversion 2.15`);
    const row = await compute.serverGroups.create(contextOf(request), request.body);
    return { server_group: serverGroupView(row, [], at) };
  });
  app.get('/v2.1/os-server-groups/:id', { schema: { params: IdParams } }, async (request) => {
    const g = await compute.serverGroups.get(contextOf(request), request.params.id);
    return { server_group: serverGroupView(g, await compute.serverGroups.members(g.id), atOf(request)) };
  });
  app.delete('/v2.1/os-server-groups/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await compute.serverGroups.delete(contextOf(request), request.params.id);
    reply.code(204).send();
  });
}
