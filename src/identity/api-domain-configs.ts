// Keystone v3 domain-specific configuration: /v3/domains/{d}/config[/{group}[/{option}]].
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import type { RouteKit } from './route-kit.ts';
import type { DomainConfig, DomainConfigs } from './domain-configs.ts';
import { Id } from './schemas.ts';

const Value = Type.Union([Type.String({ maxLength: 4096 }), Type.Number(), Type.Boolean(), Type.Null()]);
const Options = Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Value, { maxProperties: 64 });
const WholeConfig = Type.Object({ config: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Options, { maxProperties: 8 }) });
const PartConfig = Type.Object({ config: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.Union([Options, Value]), { maxProperties: 64 }) });
const Name = Type.String({ minLength: 1, maxLength: 64 });
const DomainParams = Type.Object({ id: Id });
const GroupParams = Type.Object({ id: Id, group: Name });
const OptionParams = Type.Object({ id: Id, group: Name, option: Name });

export function domainConfigRoutes(server: HttpServer, _kit: RouteKit, configs: DomainConfigs): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const root = '/v3/domains/:id/config';
  app.put(root, { schema: { params: DomainParams, body: WholeConfig } }, async (request, reply) => {
    const { created, config } = await configs.put(contextOf(request), request.params.id, request.body.config as DomainConfig);
    reply.code(created ? 201 : 200);
    return { config };
  });
  app.get(root, { schema: { params: DomainParams } }, async (request) => ({ config: await configs.get(contextOf(request), request.params.id) }));
  app.patch(root, { schema: { params: DomainParams, body: WholeConfig } }, async (request) => ({
    config: await configs.update(contextOf(request), request.params.id, request.body.config),
  }));
  app.delete(root, { schema: { params: DomainParams } }, async (request, reply) => {
    await configs.delete(contextOf(request), request.params.id);
    reply.code(204).send();
  });
  app.get(`${root}/:group`, { schema: { params: GroupParams } }, async (request) => ({
    config: await configs.get(contextOf(request), request.params.id, request.params.group),
  }));
  app.patch(`${root}/:group`, { schema: { params: GroupParams, body: PartConfig } }, async (request) => ({
    config: await configs.update(contextOf(request), request.params.id, request.body.config, request.params.group),
  }));
  app.delete(`${root}/:group`, { schema: { params: GroupParams } }, async (request, reply) => {
    await configs.delete(contextOf(request), request.params.id, request.params.group);
    reply.code(204).send();
  });
  app.get(`${root}/:group/:option`, { schema: { params: OptionParams } }, async (request) => ({
    config: await configs.get(contextOf(request), request.params.id, request.params.group, request.params.option),
  }));
  app.patch(`${root}/:group/:option`, { schema: { params: OptionParams, body: PartConfig } }, async (request) => ({
    config: await configs.update(contextOf(request), request.params.id, request.body.config, request.params.group, request.params.option),
  }));
  app.delete(`${root}/:group/:option`, { schema: { params: OptionParams } }, async (request, reply) => {
    await configs.delete(contextOf(request), request.params.id, request.params.group, request.params.option);
    reply.code(204).send();
  });
}
