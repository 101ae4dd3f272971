// Keystone v3 unified limits: /v3/registered_limits, /v3/limits and /v3/limits/model (flat).
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import type { RouteKit } from './route-kit.ts';
import type { Limits } from './limits.ts';
import { Description, Id, IdParams, Nullable } from './schemas.ts';
import type { LimitRow, RegisteredLimitRow } from './store.ts';

const ResourceName = Type.String({ minLength: 1, maxLength: 255 });
const Count = Type.Integer({ minimum: -1, maximum: 2 ** 31 - 1 });
const RegionId = Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255 })));
const RegisteredLimitCreate = Type.Object(
  { service_id: Id, region_id: RegionId, resource_name: ResourceName, default_limit: Count, description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false },
);
const RegisteredLimitUpdate = Type.Object(
  { service_id: Type.Optional(Id), region_id: RegionId, resource_name: Type.Optional(ResourceName), default_limit: Type.Optional(Count), description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false, minProperties: 1 },
);
const LimitCreate = Type.Object(
  {
    project_id: Type.Optional(Nullable(Id)),
    domain_id: Type.Optional(Nullable(Id)),
    service_id: Id,
    region_id: RegionId,
    resource_name: ResourceName,
    resource_limit: Count,
    description: Type.Optional(Nullable(Description)),
  },
  { additionalProperties: false },
);
const LimitUpdate = Type.Object({ resource_limit: Type.Optional(Count), description: Type.Optional(Nullable(Description)) }, { additionalProperties: false, minProperties: 1 });
const Filters = {
  service_id: Type.Optional(Id),
  region_id: Type.Optional(Type.String({ maxLength: 255 })),
  resource_name: Type.Optional(ResourceName),
};
const LimitQuery = Type.Object({ ...Filters, project_id: Type.Optional(Id), domain_id: Type.Optional(Id) });

export function limitRoutes(server: HttpServer, { base, listLinks }: RouteKit, limits: Limits): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const registeredView = (r: RegisteredLimitRow) => ({
    id: r.id,
    service_id: r.service_id,
    region_id: r.region_id || null,
    resource_name: r.resource_name,
    default_limit: r.default_limit,
    description: r.description || null,
    links: { self: `${base}/registered_limits/${r.id}` },
  });
  const limitView = (r: LimitRow) => ({
    id: r.id,
    project_id: r.project_id,
    domain_id: r.domain_id,
    service_id: r.service_id,
    region_id: r.region_id || null,
    resource_name: r.resource_name,
    resource_limit: r.resource_limit,
    description: r.description || null,
    links: { self: `${base}/limits/${r.id}` },
  });

  app.get('/v3/limits/model', async () => ({
    model: { name: 'flat', description: 'Limit enforcement and validation does not take project hierarchy into consideration.' },
  }));

  app.post('/v3/registered_limits', { schema: { body: Type.Object({ registered_limits: Type.Array(RegisteredLimitCreate, { minItems: 1, maxItems: 100 }) }) } }, async (request, reply) => {
    const rows = await limits.createRegistered(contextOf(request), request.body.registered_limits);
    reply.code(201);
    return { registered_limits: rows.map(registeredView) };
  });
  app.get('/v3/registered_limits', { schema: { querystring: Type.Object(Filters) } }, async (request) => {
    contextOf(request);
    return { registered_limits: (await limits.listRegistered(request.query)).map(registeredView), links: listLinks(request) };
  });
  app.get('/v3/registered_limits/:id', { schema: { params: IdParams } }, async (request) => {
    contextOf(request);
    return { registered_limit: registeredView(await limits.registered(request.params.id)) };
  });
  app.patch('/v3/registered_limits/:id', { schema: { params: IdParams, body: Type.Object({ registered_limit: RegisteredLimitUpdate }) } }, async (request) => ({
    registered_limit: registeredView(await limits.updateRegistered(contextOf(request), request.params.id, request.body.registered_limit)),
  }));
  app.delete('/v3/registered_limits/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await limits.deleteRegistered(contextOf(request), request.params.id);
    reply.code(204).send();
  });

  app.post('/v3/limits', { schema: { body: Type.Object({ limits: Type.Array(LimitCreate, { minItems: 1, maxItems: 100 }) }) } }, async (request, reply) => {
    const rows = await limits.createLimits(contextOf(request), request.body.limits);
    reply.code(201);
    return { limits: rows.map(limitView) };
  });
  app.get('/v3/limits', { schema: { querystring: LimitQuery } }, async (request) => ({
    limits: (await limits.listLimits(contextOf(request), request.query)).map(limitView),
    links: listLinks(request),
  }));
  app.get('/v3/limits/:id', { schema: { params: IdParams } }, async (request) => ({
    limit: limitView(await limits.limit(contextOf(request), request.params.id)),
  }));
  app.patch('/v3/limits/:id', { schema: { params: IdParams, body: Type.Object({ limit: LimitUpdate }) } }, async (request) => ({
    limit: limitView(await limits.updateLimit(contextOf(request), request.params.id, request.body.limit)),
  }));
  app.delete('/v3/limits/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await limits.deleteLimit(contextOf(request), request.params.id);
    reply.code(204).send();
  });
}
