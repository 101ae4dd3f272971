// Keystone v3 domains. Rules live in service.ts.
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import type { RouteKit } from './route-kit.ts';
import { DomainCreate, DomainUpdate, IdParams, queryTrue } from './schemas.ts';
import type { DomainRow } from './store.ts';
import { domainView } from './views.ts';

const DomainQuery = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 255 })),
  enabled: Type.Optional(Type.String({ maxLength: 8 })),
});

export function domainRoutes(server: HttpServer, { identity, links, listLinks }: RouteKit): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/v3/domains', { schema: { querystring: DomainQuery } }, async (request) => {
    identity.enforce(contextOf(request), 'list_domains');
    const q = request.query;
    const rows = await identity.store.list<DomainRow>('identity_domains', { name: q.name, enabled: q.enabled === undefined ? undefined : queryTrue(q.enabled) ? 1 : 0 }, 'name');
    return { domains: rows.map((r) => domainView(r, links)), links: listLinks(request) };
  });
  app.post('/v3/domains', { schema: { body: Type.Object({ domain: DomainCreate }) } }, async (request, reply) => {
    const row = await identity.createDomain(contextOf(request), request.body.domain);
    reply.code(201);
    return { domain: domainView(row, links) };
  });
  app.get('/v3/domains/:id', { schema: { params: IdParams } }, async (request) => {
    identity.enforce(contextOf(request), 'get_domain', { target: { domain: { id: request.params.id } } });
    return { domain: domainView(await identity.domain(request.params.id), links) };
  });
  app.patch('/v3/domains/:id', { schema: { params: IdParams, body: Type.Object({ domain: DomainUpdate }) } }, async (request) => ({
    domain: domainView(await identity.updateDomain(contextOf(request), request.params.id, request.body.domain), links),
  }));
  app.delete('/v3/domains/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await identity.deleteDomain(contextOf(request), request.params.id);
    reply.code(204).send();
  });
}
