// Keystone v3 credentials (/v3/credentials) and EC2 credentials (/v3/users/{u}/credentials/OS-EC2).
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import type { RouteKit } from './route-kit.ts';
import type { Credentials, Ec2Blob } from './credentials.ts';
import { Id, IdParams, Nullable } from './schemas.ts';
import type { CredentialRow } from './store.ts';

const Blob = Type.String({ maxLength: 65535 });
const CredentialType = Type.String({ minLength: 1, maxLength: 255 });
const CredentialCreate = Type.Object({ credential: Type.Object({ blob: Blob, type: CredentialType, user_id: Id, project_id: Type.Optional(Nullable(Id)) }) });
const CredentialUpdate = Type.Object({
  credential: Type.Object({ blob: Type.Optional(Blob), type: Type.Optional(CredentialType), user_id: Type.Optional(Id), project_id: Type.Optional(Nullable(Id)) }, { minProperties: 1 }),
});
const CredentialQuery = Type.Object({ user_id: Type.Optional(Id), type: Type.Optional(CredentialType) });
const Ec2Create = Type.Object({ tenant_id: Id });
const UserParams = Type.Object({ user: Id });
const Ec2Params = Type.Object({ user: Id, access: Type.String({ minLength: 1, maxLength: 255 }) });

export function credentialRoutes(server: HttpServer, { base, listLinks }: RouteKit, credentials: Credentials): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const view = (r: CredentialRow) => ({
    id: r.id,
    blob: credentials.blobOf(r),
    type: r.type,
    user_id: r.user_id,
    project_id: r.project_id,
    links: { self: `${base}/credentials/${r.id}` },
  });

  app.post('/v3/credentials', { schema: { body: CredentialCreate } }, async (request, reply) => {
    const row = await credentials.create(contextOf(request), request.body.credential);
    reply.code(201);
    return { credential: view(row) };
  });
  app.get('/v3/credentials', { schema: { querystring: CredentialQuery } }, async (request) => ({
    credentials: (await credentials.list(contextOf(request), request.query)).map(view),
    links: listLinks(request),
  }));
  app.get('/v3/credentials/:id', { schema: { params: IdParams } }, async (request) => ({
    credential: view(await credentials.get(contextOf(request), request.params.id)),
  }));
  app.patch('/v3/credentials/:id', { schema: { params: IdParams, body: CredentialUpdate } }, async (request) => ({
    credential: view(await credentials.update(contextOf(request), request.params.id, request.body.credential)),
  }));
  app.delete('/v3/credentials/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await credentials.delete(contextOf(request), request.params.id);
    reply.code(204).send();
  });

  // ---- OS-EC2
  const ec2 = '/v3/users/:user/credentials/OS-EC2';
  const ec2View = ({ row, blob }: { row: CredentialRow; blob: Ec2Blob }) => ({
    user_id: row.user_id,
    tenant_id: row.project_id,
    access: blob.access,
    secret: blob.secret,
    trust_id: blob.trust_id ?? null,
    links: { self: `${base}/users/${row.user_id}/credentials/OS-EC2/${blob.access}` },
  });
  app.post(ec2, { schema: { params: UserParams, body: Ec2Create } }, async (request, reply) => {
    const made = await credentials.createEc2(contextOf(request), request.params.user, request.body.tenant_id);
    reply.code(201);
    return { credential: ec2View(made) };
  });
  app.get(ec2, { schema: { params: UserParams } }, async (request) => ({
    credentials: (await credentials.listEc2(contextOf(request), request.params.user)).map(ec2View),
    links: listLinks(request),
  }));
  app.get(`${ec2}/:access`, { schema: { params: Ec2Params } }, async (request) => ({
    credential: ec2View(await credentials.getEc2(contextOf(request), request.params.user, request.params.access)),
  }));
  app.delete(`${ec2}/:access`, { schema: { params: Ec2Params } }, async (request, reply) => {
    await credentials.deleteEc2(contextOf(request), request.params.user, request.params.access);
    reply.code(204).send();
  });
}
