// Keystone v3 application credential routes under /users/{user_id}/application_credentials, and the
// user's access rules under /users/{user_id}/access_rules.
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import { appCredentialView, type AppCredentials } from './app-credentials.ts';
import type { RouteKit } from './route-kit.ts';
import { AccessRuleQuery, AppCredentialCreate, Id } from './schemas.ts';
import type { AccessRuleRow } from './store.ts';

const UserParams = Type.Object({ user: Id });
const ItemParams = Type.Object({ user: Id, id: Id });
const NameQuery = Type.Object({ name: Type.Optional(Type.String({ maxLength: 255 })) });

export function appCredentialRoutes(server: HttpServer, { base, listLinks }: RouteKit, appCredentials: AppCredentials): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const collection = '/v3/users/:user/application_credentials';
  app.post(collection, { schema: { params: UserParams, body: AppCredentialCreate } }, async (request, reply) => {
    const { row, secret } = await appCredentials.create(contextOf(request), request.params.user, request.body.application_credential);
    reply.code(201);
    return { application_credential: appCredentialView(row, base, secret) };
  });
  app.get(collection, { schema: { params: UserParams, querystring: NameQuery } }, async (request) => {
    const rows = await appCredentials.list(contextOf(request), request.params.user, request.query.name);
    return { application_credentials: rows.map((r) => appCredentialView(r, base)), links: listLinks(request) };
  });
  app.get(`${collection}/:id`, { schema: { params: ItemParams } }, async (request) => ({
    application_credential: appCredentialView(await appCredentials.get(contextOf(request), request.params.user, request.params.id), base),
  }));
  app.delete(`${collection}/:id`, { schema: { params: ItemParams } }, async (request, reply) => {
    await appCredentials.delete(contextOf(request), request.params.user, request.params.id);
    reply.code(204).send();
  });

  const rules = '/v3/users/:user/access_rules';
  const ruleView = (r: AccessRuleRow) => ({
    id: r.id,
    service: r.service,
    method: r.method,
    path: r.path,
    links: { self: `${base}/users/${r.user_id}/access_rules/${r.id}` },
  });
  app.get(rules, { schema: { params: UserParams, querystring: AccessRuleQuery } }, async (request) => ({
    access_rules: (await appCredentials.listAccessRules(contextOf(request), request.params.user, request.query)).map(ruleView),
    links: listLinks(request),
  }));
  app.get(`${rules}/:id`, { schema: { params: ItemParams } }, async (request) => ({
    access_rule: ruleView(await appCredentials.getAccessRule(contextOf(request), request.params.user, request.params.id)),
  }));
  app.delete(`${rules}/:id`, { schema: { params: ItemParams } }, async (request, reply) => {
    await appCredentials.deleteAccessRule(contextOf(request), request.params.user, request.params.id);
    reply.code(204).send();
  });
}
