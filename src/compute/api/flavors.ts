// Flavors and their extra specs.
import { contextOf, type RequestContext } from '../../platform/auth/context.ts';
import { BadRequestError, NotFoundError } from '../../platform/errors.ts';
import { AnyQuery, ExtraSpecItemBody, ExtraSpecsBody, FlavorCreateBody, FlavorListQuery, IdKeyParams, IdParams } from '../schemas.ts';
import { MAX_LIMIT } from '../listing.ts';
import { flavorView } from '../views.ts';
import type { ComputeRoutes } from './index.ts';
import { nextLinks } from './paging.ts';

export function flavorRoutes({ app, compute, base }: ComputeRoutes): void {
  const list = { schema: { querystring: FlavorListQuery } };
  const visible = (ctx: RequestContext, q: FlavorListQuery) =>
    compute.flavors.list(ctx, {
      ...(q.minRam !== undefined ? { minRam: q.minRam } : {}),
      ...(q.minDisk !== undefined ? { minDisk: q.minDisk } : {}),
      ...(q.is_public === 'false' || q.is_public === 'False' ? { privateOnly: true } : {}),
      sortKey: q.sort_key ?? 'flavorid',
      sortDir: q.sort_dir === 'desc' ? 'desc' : 'asc',
      ...(q.marker !== undefined ? { marker: q.marker } : {}),
      limit: Math.min(q.limit ?? MAX_LIMIT, MAX_LIMIT),
    });
  app.get('/v2.1/flavors', list, async (request) => {
    const rows = await visible(contextOf(request), request.query);
    return { flavors: rows.map((f) => flavorView(f, base, false)), ...nextLinks('flavors', `${base}/flavors`, request.query, rows) };
  });
  app.get('/v2.1/flavors/detail', list, async (request) => {
    const rows = await visible(contextOf(request), request.query);
    return { flavors: rows.map((f) => flavorView(f, base)), ...nextLinks('flavors', `${base}/flavors/detail`, request.query, rows) };
  });
  app.get('/v2.1/flavors/:id', { schema: { params: IdParams, querystring: AnyQuery } }, async (request) => ({ flavor: flavorView(await compute.flavors.get(contextOf(request), request.params.id), base) }));
  app.post('/v2.1/flavors', { schema: { body: FlavorCreateBody } }, async (request) => ({ flavor: flavorView(await compute.flavors.create(contextOf(request), request.body), base) }));
  app.delete('/v2.1/flavors/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await compute.flavors.delete(contextOf(request), request.params.id);
    reply.code(202).send();
  });

  app.get('/v2.1/flavors/:id/os-extra_specs', { schema: { params: IdParams } }, async (request) => ({ extra_specs: await compute.flavors.extraSpecs(contextOf(request), request.params.id) }));
  app.post('/v2.1/flavors/:id/os-extra_specs', { schema: { params: IdParams, body: ExtraSpecsBody } }, async (request) => ({
    extra_specs: await compute.flavors.setExtraSpecs(contextOf(request), request.params.id, request.body.extra_specs),
  }));
  app.get('/v2.1/flavors/:id/os-extra_specs/:key', { schema: { params: IdKeyParams } }, async (request) => {
    const { id, key } = request.params;
    const specs = await compute.flavors.extraSpecs(contextOf(request), id);
    if (!Object.hasOwn(specs, key)) throw new NotFoundError(`Flavor ${id} has no extra specs with key ${key}.`);
    return { [key]: specs[key] };
  });
  app.put('/v2.1/flavors/:id/os-extra_specs/:key', { schema: { params: IdKeyParams, body: ExtraSpecItemBody } }, async (request) => {
    const { id, key } = request.params;
    if (!Object.hasOwn(request.body, key)) throw new BadRequestError('Request body and URI mismatch');
    const specs = await compute.flavors.setExtraSpecs(contextOf(request), id, request.body);
    return { [key]: specs[key] };
  });
  app.delete('/v2.1/flavors/:id/os-extra_specs/:key', { schema: { params: IdKeyParams } }, async (request) => {
    await compute.flavors.deleteExtraSpec(contextOf(request), request.params.id, request.params.key);
    return {};
  });
}
