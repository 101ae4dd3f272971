// Keystone v3 OS-TRUST routes: /v3/OS-TRUST/trusts and a trust's roles. Schemas first; the rules
// live in trusts.ts.
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import { NotFoundError } from '../platform/errors.ts';
import type { RouteKit } from './route-kit.ts';
import type { Trusts } from './trusts.ts';
import { roleView, trustView } from './views.ts';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const TrustCreateBody = Type.Object({
  trust: Type.Object({
    trustor_user_id: Id,
    trustee_user_id: Id,
    impersonation: Type.Boolean(),
    project_id: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    roles: Type.Optional(
      Type.Array(Type.Object({ id: Type.Optional(Id), name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }, { minProperties: 1 }), { maxItems: 100 }),
    ),
    expires_at: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    remaining_uses: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }))),
    allow_redelegation: Type.Optional(Nullable(Type.Boolean())),
    redelegation_count: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }))),
  }),
});
const TrustParams = Type.Object({ trust_id: Id });
const TrustRoleParams = Type.Object({ trust_id: Id, role_id: Id });
const TrustListQuery = Type.Object({ trustor_user_id: Type.Optional(Id), trustee_user_id: Type.Optional(Id) });

export function trustRoutes(server: HttpServer, { base, links, listLinks }: RouteKit, trusts: Trusts): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const collection = '/v3/OS-TRUST/trusts';

  app.post(collection, { schema: { body: TrustCreateBody } }, async (request, reply) => {
    const row = await trusts.create(contextOf(request), request.body.trust);
    reply.code(201);
    return { trust: trustView(row, base, await trusts.rolesOf(row)) };
  });
  app.get(collection, { schema: { querystring: TrustListQuery } }, async (request) => {
    const q = request.query;
    const rows = await trusts.list(contextOf(request), {
      ...(q.trustor_user_id ? { trustor_user_id: q.trustor_user_id } : {}),
      ...(q.trustee_user_id ? { trustee_user_id: q.trustee_user_id } : {}),
    });
    return { trusts: rows.map((r) => trustView(r, base)), links: listLinks(request) };
  });
  app.get(`${collection}/:trust_id`, { schema: { params: TrustParams } }, async (request) => {
    const row = await trusts.get(contextOf(request), request.params.trust_id);
    return { trust: trustView(row, base, await trusts.rolesOf(row)) };
  });
  app.head(`${collection}/:trust_id`, { schema: { params: TrustParams } }, async (request, reply) => {
    await trusts.get(contextOf(request), request.params.trust_id);
    reply.code(200).send();
  });
  app.delete(`${collection}/:trust_id`, { schema: { params: TrustParams } }, async (request, reply) => {
    await trusts.delete(contextOf(request), request.params.trust_id);
    reply.code(204).send();
  });

  const rolesOf = async (request: { params: { trust_id: string } } & Parameters<typeof contextOf>[0]) =>
    trusts.rolesOf(await trusts.get(contextOf(request), request.params.trust_id, 'list_roles_for_trust'));
  app.get(`${collection}/:trust_id/roles`, { schema: { params: TrustParams } }, async (request) => ({
    roles: (await rolesOf(request)).map((r) => roleView(r, links)),
    links: listLinks(request),
  }));
  app.head(`${collection}/:trust_id/roles`, { schema: { params: TrustParams } }, async (request, reply) => {
    await rolesOf(request);
    reply.code(200).send();
  });
  const roleOf = async (request: { params: { trust_id: string; role_id: string } } & Parameters<typeof contextOf>[0]) => {
    const row = await trusts.get(contextOf(request), request.params.trust_id, 'get_role_for_trust');
    const role = (await trusts.rolesOf(row)).find((r) => r.id === request.params.role_id);
    if (!role) throw new NotFoundError(`Could not find role: ${request.params.role_id}.`);
    return role;
  };
  app.get(`${collection}/:trust_id/roles/:role_id`, { schema: { params: TrustRoleParams } }, async (request) => ({
    role: roleView(await roleOf(request), links),
  }));
  app.head(`${collection}/:trust_id/roles/:role_id`, { schema: { params: TrustRoleParams } }, async (request, reply) => {
    await roleOf(request);
    reply.code(200).send();
  });
}
