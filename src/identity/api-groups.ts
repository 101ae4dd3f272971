// Keystone v3 groups and group membership routes.
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import { objectBody } from './service.ts';
import type { GroupRow } from './store.ts';
import type { Req, RouteKit } from './route-kit.ts';
import { groupView, userView } from './views.ts';

export function groupRoutes(app: HttpServer, { identity, links, listLinks }: RouteKit): void {
  app.get('/v3/groups', async (request: Req) => {
    identity.enforce(contextOf(request), 'list_groups');
    const q = request.query;
    const rows = await identity.store.list<GroupRow>('identity_groups', { name: q.name, domain_id: q.domain_id }, 'name');
    return { groups: rows.map((r) => groupView(r, links)), links: listLinks(request) };
  });
  app.post('/v3/groups', async (request: Req, reply) => {
    const row = await identity.createGroup(contextOf(request), objectBody(request.body, 'group'));
    reply.code(201);
    return { group: groupView(row, links) };
  });
  app.get('/v3/groups/:id', async (request: Req) => {
    identity.enforce(contextOf(request), 'get_group');
    return { group: groupView(await identity.group(request.params.id), links) };
  });
  app.patch('/v3/groups/:id', async (request: Req) => {
    const row = await identity.updateGroup(contextOf(request), request.params.id, objectBody(request.body, 'group'));
    return { group: groupView(row, links) };
  });
  app.delete('/v3/groups/:id', async (request: Req, reply) => {
    await identity.deleteGroup(contextOf(request), request.params.id);
    reply.code(204).send();
  });
  app.get('/v3/groups/:id/users', async (request: Req) => {
    identity.enforce(contextOf(request), 'list_users_in_group');
    await identity.group(request.params.id);
    const users = await identity.store.membersOfGroup(request.params.id);
    return { users: users.map((u) => userView(u, links)), links: listLinks(request) };
  });
  const member = '/v3/groups/:id/users/:user';
  app.put(member, async (request: Req, reply) => {
    await identity.groupMembership(contextOf(request), request.params.id, request.params.user, 'add_user_to_group');
    reply.code(204).send();
  });
  app.head(member, async (request: Req, reply) => {
    await identity.groupMembership(contextOf(request), request.params.id, request.params.user, 'check_user_in_group');
    reply.code(204).send();
  });
  app.get(member, async (request: Req, reply) => {
    await identity.groupMembership(contextOf(request), request.params.id, request.params.user, 'check_user_in_group');
    reply.code(204).send();
  });
  app.delete(member, async (request: Req, reply) => {
    await identity.groupMembership(contextOf(request), request.params.id, request.params.user, 'remove_user_from_group');
    reply.code(204).send();
  });
  app.get('/v3/users/:id/groups', async (request: Req) => {
    identity.enforce(contextOf(request), 'list_groups_for_user', { user_id: request.params.id });
    await identity.user(request.params.id);
    const groups = await identity.store.groupsOfUser(request.params.id);
    return { groups: groups.map((g) => groupView(g, links)), links: listLinks(request) };
  });
}
