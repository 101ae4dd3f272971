// Keystone v3 policies (/v3/policies): policy blobs stored for other services to fetch, and OAuth1
// consumers (/v3/OS-OAUTH1/consumers). Both are stored and served as Keystone does; hafen's own
// policy comes from policy.yaml and it serves no OAuth1 token flow (docs/identity.md says why).
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { randomBytes, createHash } from 'node:crypto';
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import { NotFoundError } from '../platform/errors.ts';
import type { RouteKit } from './route-kit.ts';
import { Description, IdParams, Nullable } from './schemas.ts';
import { newId, type ConsumerRow, type PolicyRow } from './store.ts';

const PolicyFields = { blob: Type.String({ maxLength: 1 << 20 }), type: Type.String({ minLength: 1, maxLength: 255 }) };
const PolicyCreate = Type.Object({ policy: Type.Object(PolicyFields, { additionalProperties: true, maxProperties: 32 }) });
const PolicyUpdate = Type.Object({ policy: Type.Object({ blob: Type.Optional(PolicyFields.blob), type: Type.Optional(PolicyFields.type) }, { additionalProperties: true, maxProperties: 32 }) });
const PolicyQuery = Type.Object({ type: Type.Optional(PolicyFields.type) });
const ConsumerBody = Type.Object({ consumer: Type.Object({ description: Type.Optional(Nullable(Description)) }, { additionalProperties: false }) });

export function policyRoutes(server: HttpServer, { identity, base, listLinks }: RouteKit): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const policyView = (r: PolicyRow) => ({ ...JSON.parse(r.extra), id: r.id, type: r.type, blob: r.blob, links: { self: `${base}/policies/${r.id}` } });
  const extraOf = (p: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(p).filter(([k]) => !['id', 'type', 'blob', 'links'].includes(k))));
  const policy = async (id: string) => {
    const row = await identity.store.get<PolicyRow>('identity_policies', id);
    if (!row) throw new NotFoundError(`Could not find policy: ${id}.`);
    return row;
  };

  app.post('/v3/policies', { schema: { body: PolicyCreate } }, async (request, reply) => {
    identity.enforce(contextOf(request), 'create_policy');
    const p = request.body.policy;
    const row: PolicyRow = { id: newId(), type: p.type, blob: p.blob, extra: extraOf(p) };
    await identity.store.insert('identity_policies', row, 'policy');
    reply.code(201);
    return { policy: policyView(row) };
  });
  app.get('/v3/policies', { schema: { querystring: PolicyQuery } }, async (request) => {
    identity.enforce(contextOf(request), 'list_policies');
    return { policies: (await identity.store.list<PolicyRow>('identity_policies', { type: request.query.type })).map(policyView), links: listLinks(request) };
  });
  app.get('/v3/policies/:id', { schema: { params: IdParams } }, async (request) => {
    identity.enforce(contextOf(request), 'get_policy');
    return { policy: policyView(await policy(request.params.id)) };
  });
  app.patch('/v3/policies/:id', { schema: { params: IdParams, body: PolicyUpdate } }, async (request) => {
    identity.enforce(contextOf(request), 'update_policy');
    const before = await policy(request.params.id);
    const p = request.body.policy;
    await identity.store.update(
      'identity_policies',
      before.id,
      { type: p.type ?? before.type, blob: p.blob ?? before.blob, extra: JSON.stringify({ ...JSON.parse(before.extra), ...JSON.parse(extraOf(p)) }) },
      'policy',
    );
    return { policy: policyView(await policy(before.id)) };
  });
  app.delete('/v3/policies/:id', { schema: { params: IdParams } }, async (request, reply) => {
    identity.enforce(contextOf(request), 'delete_policy');
    await policy(request.params.id);
    await identity.store.remove('identity_policies', request.params.id);
    reply.code(204).send();
  });

  // ---- OAuth1 consumers: the secret is shown once, on create, and kept only as a hash.
  const consumers = '/v3/OS-OAUTH1/consumers';
  const consumerView = (r: ConsumerRow, secret?: string) => ({
    id: r.id,
    description: r.description,
    ...(secret ? { secret } : {}),
    links: { self: `${base}/OS-OAUTH1/consumers/${r.id}` },
  });
  const consumer = async (id: string) => {
    const row = await identity.store.get<ConsumerRow>('identity_consumers', id);
    if (!row) throw new NotFoundError(`Could not find consumer: ${id}.`);
    return row;
  };
  app.post(consumers, { schema: { body: ConsumerBody } }, async (request, reply) => {
    identity.enforce(contextOf(request), 'create_consumer');
    const secret = randomBytes(24).toString('base64url');
    const row: ConsumerRow = {
      id: newId(),
      description: request.body.consumer.description ?? '',
      secret_hash: `sha256$${createHash('sha256').update(secret).digest('base64')}`,
      created_at: identity.store.timestamp(),
    };
    await identity.store.insert('identity_consumers', row, 'consumer');
    reply.code(201);
    return { consumer: consumerView(row, secret) };
  });
  app.get(consumers, async (request) => {
    identity.enforce(contextOf(request), 'list_consumers');
    return { consumers: (await identity.store.list<ConsumerRow>('identity_consumers')).map((r) => consumerView(r)), links: listLinks(request) };
  });
  app.get(`${consumers}/:id`, { schema: { params: IdParams } }, async (request) => {
    identity.enforce(contextOf(request), 'get_consumer');
    return { consumer: consumerView(await consumer(request.params.id)) };
  });
  app.patch(`${consumers}/:id`, { schema: { params: IdParams, body: ConsumerBody } }, async (request) => {
    identity.enforce(contextOf(request), 'update_consumer');
    await consumer(request.params.id);
    await identity.store.update('identity_consumers', request.params.id, { description: request.body.consumer.description ?? '' }, 'consumer');
    return { consumer: consumerView(await consumer(request.params.id)) };
  });
  app.delete(`${consumers}/:id`, { schema: { params: IdParams } }, async (request, reply) => {
    identity.enforce(contextOf(request), 'delete_consumer');
    await consumer(request.params.id);
    await identity.store.remove('identity_consumers', request.params.id);
    reply.code(204).send();
  });
}
