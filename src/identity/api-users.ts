// Keystone v3 users: CRUD with their options and extra attributes, the user's own password change,
// and the projects a user has roles on. Rules live in service.ts and password-policy.ts.
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import { paginate, type RouteKit } from './route-kit.ts';
import { Id, IdParams, PasswordChange, UserCreate, UserUpdate, queryTrue } from './schemas.ts';
import type { UserRow } from './store.ts';
import { projectView, userView } from './views.ts';

const UserQuery = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 255 })),
  domain_id: Type.Optional(Id),
  enabled: Type.Optional(Type.String({ maxLength: 8 })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  marker: Type.Optional(Id),
});

export function userRoutes(server: HttpServer, { identity, links, listLinks }: RouteKit): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const view = (r: UserRow) => userView(r, links, identity.passwordExpiresAt(r));

  app.get('/v3/users', { schema: { querystring: UserQuery } }, async (request) => {
    identity.enforce(contextOf(request), 'list_users');
    const q = request.query;
    const enabled = q.enabled === undefined ? undefined : queryTrue(q.enabled) ? 1 : 0;
    const rows = await identity.store.list<UserRow>('identity_users', { name: q.name, domain_id: q.domain_id, enabled }, 'name');
    return { users: paginate(rows, q).map(view), links: listLinks(request) };
  });
  app.post('/v3/users', { schema: { body: Type.Object({ user: UserCreate }) } }, async (request, reply) => {
    const row = await identity.createUser(contextOf(request), request.body.user);
    reply.code(201);
    return { user: view(row) };
  });
  app.get('/v3/users/:id', { schema: { params: IdParams } }, async (request) => ({
    user: view(await identity.getUser(contextOf(request), request.params.id)),
  }));
  app.patch('/v3/users/:id', { schema: { params: IdParams, body: Type.Object({ user: UserUpdate }) } }, async (request) => ({
    user: view(await identity.updateUser(contextOf(request), request.params.id, request.body.user)),
  }));
  app.delete('/v3/users/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await identity.deleteUser(contextOf(request), request.params.id);
    reply.code(204).send();
  });
  // No token needed: the original password authenticates (an expired password can be changed).
  app.post('/v3/users/:id/password', { schema: { params: IdParams, body: PasswordChange }, config: { public: true } }, async (request, reply) => {
    await identity.changePassword(request.params.id, request.body.user);
    reply.code(204).send();
  });
  app.get('/v3/users/:id/projects', { schema: { params: IdParams } }, async (request) => {
    const ctx = contextOf(request);
    identity.enforce(ctx, 'list_user_projects', { user_id: request.params.id });
    await identity.user(request.params.id);
    const rows = await identity.projectsOfUser(request.params.id);
    return { projects: rows.map((r) => projectView(r, links)), links: listLinks(request) };
  });
}
