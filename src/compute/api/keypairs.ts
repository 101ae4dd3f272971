// Key pairs of the caller (of any user, for admins from 2.10).
import { contextOf } from '../../platform/auth/context.ts';
import { BadRequestError } from '../../platform/errors.ts';
import { KeypairCreateBody, KeypairQuery, NameParams } from '../schemas.ts';
import { keypairView } from '../views.ts';
import { atOf, type ComputeRoutes } from './index.ts';
import { newerThan } from './versions.ts';

export function keypairRoutes({ app, compute, base }: ComputeRoutes): void {
  const owner = (request: Parameters<typeof atOf>[0], userId: string | undefined) => (atOf(request)('2.10') ? userId : undefined);
  app.get('/v2.1/os-keypairs', { schema: { querystring: KeypairQuery } }, async (request) => {
    const at = atOf(request);
    let rows = await compute.keypairs.list(contextOf(request), owner(request, request.query.user_id));
    // 2.35: paged by name.
    let links = {};
    if (at('2.35')) {
      const { marker, limit } = request.query;
      if (marker !== undefined) {
        const i = rows.findIndex((k) => k.name === marker);
        if (i < 0) throw new BadRequestError(`marker [${marker}] not found`);
        rows = rows.slice(i + 1);
      }
      const max = Math.min(limit ?? 1000, 1000);
      const full = rows.length > max;
      rows = rows.slice(0, max);
      if (full || (limit !== undefined && rows.length === max)) links = { keypairs_links: [{ rel: 'next', href: `${base}/os-keypairs?limit=${max}&marker=${encodeURIComponent(rows[rows.length - 1]!.name)}` }] };
    }
    return { keypairs: rows.map((k) => ({ keypair: keypairView(k, { withKey: false, at }) })), ...links };
  });
  app.post('/v2.1/os-keypairs', { schema: { body: KeypairCreateBody } }, async (request, reply) => {
    const at = atOf(request);
    newerThan(request, request.body.keypair, { type: '2.2', user_id: '2.10' });
    const { row, privateKey } = await compute.keypairs.create(contextOf(request), request.body);
    // 2.2: created is 201.
    reply.code(at('2.2') ? 201 : 200);
    return { keypair: { ...keypairView(row, { withKey: false, at }), user_id: row.user_id, ...(privateKey ? { private_key: privateKey } : {}) } };
  });
  app.get('/v2.1/os-keypairs/:name', { schema: { params: NameParams, querystring: KeypairQuery } }, async (request) => ({
    keypair: keypairView(await compute.keypairs.get(contextOf(request), request.params.name, owner(request, request.query.user_id)), { at: atOf(request) }),
  }));
  app.delete('/v2.1/os-keypairs/:name', { schema: { params: NameParams, querystring: KeypairQuery } }, async (request, reply) => {
    await compute.keypairs.delete(contextOf(request), request.params.name, owner(request, request.query.user_id));
    // 2.2: deleted is 204.
    reply.code(atOf(request)('2.2') ? 204 : 202).send();
  });
}
