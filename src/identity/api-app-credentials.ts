// Keystone v3 application credential routes under /users/{user_id}/application_credentials.
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import { objectBody } from './service.ts';
import { appCredentialView, type AppCredentials } from './app-credentials.ts';
import type { Req, RouteKit } from './route-kit.ts';

export function appCredentialRoutes(app: HttpServer, { base, listLinks }: RouteKit, appCredentials: AppCredentials): void {
  const collection = '/v3/users/:user/application_credentials';
  app.post(collection, async (request: Req, reply) => {
    const { row, secret } = await appCredentials.create(contextOf(request), request.params.user, objectBody(request.body, 'application_credential'));
    reply.code(201);
    return { application_credential: appCredentialView(row, base, secret) };
  });
  app.get(collection, async (request: Req) => {
    const rows = await appCredentials.list(contextOf(request), request.params.user, request.query.name);
    return { application_credentials: rows.map((r) => appCredentialView(r, base)), links: listLinks(request) };
  });
  app.get(`${collection}/:id`, async (request: Req) => ({
    application_credential: appCredentialView(await appCredentials.get(contextOf(request), request.params.user, request.params.id), base),
  }));
  app.delete(`${collection}/:id`, async (request: Req, reply) => {
    await appCredentials.delete(contextOf(request), request.params.user, request.params.id);
    reply.code(204).send();
  });
}
