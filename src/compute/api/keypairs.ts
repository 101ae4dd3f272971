// Key pairs of the caller.
import { contextOf } from '../../platform/auth/context.ts';
import { AnyQuery, KeypairCreateBody, NameParams } from '../schemas.ts';
import { keypairView } from '../views.ts';
import type { ComputeRoutes } from './index.ts';

export function keypairRoutes({ app, compute }: ComputeRoutes): void {
  app.get('/v2.1/os-keypairs', { schema: { querystring: AnyQuery } }, async (request) => ({
    keypairs: (await compute.keypairs.list(contextOf(request))).map((k) => ({ keypair: keypairView(k, false) })),
  }));
  app.post('/v2.1/os-keypairs', { schema: { body: KeypairCreateBody } }, async (request) => {
    const { row, privateKey } = await compute.keypairs.create(contextOf(request), request.body);
    return { keypair: { ...keypairView(row, false), user_id: row.user_id, ...(privateKey ? { private_key: privateKey } : {}) } };
  });
  app.get('/v2.1/os-keypairs/:name', { schema: { params: NameParams, querystring: AnyQuery } }, async (request) => ({
    keypair: keypairView(await compute.keypairs.get(contextOf(request), request.params.name)),
  }));
  app.delete('/v2.1/os-keypairs/:name', { schema: { params: NameParams, querystring: AnyQuery } }, async (request, reply) => {
    await compute.keypairs.delete(contextOf(request), request.params.name);
    reply.code(202).send();
  });
}
