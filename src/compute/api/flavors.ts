// Flavors, their extra specs and who may use the private ones (os-flavor-access).
import { contextOf, type RequestContext } from '../../platform/auth/context.ts';
import { BadRequestError, NotFoundError } from '../../platform/errors.ts';
import { MAX_LIMIT } from '../listing.ts';
import { AnyQuery, ExtraSpecItemBody, ExtraSpecsBody, FlavorActionBody, FlavorCreateBody, FlavorListQuery, FlavorUpdateBody, IdKeyParams, IdParams } from '../schemas.ts';
import { flavorView } from '../views.ts';
import { atOf, type ComputeRoutes } from './index.ts';
import { nextLinks } from './paging.ts';
import { newerThan } from './versions.ts';

/** Nova's reading of `is_public` on a list: true by default, false, or none/all for both. */
function isPublicFilter(v: string | undefined): boolean | null {
  if (v === undefined) return true;
  const s = v.toLowerCase();
  if (s === 'none' || s === 'all') return null;
  if (['false', '0', 'no', 'off', 'f', 'n'].includes(s)) return false;
  if (['true', '1', 'yes', 'on', 't', 'y'].includes(s)) return true;
  throw new BadRequestError(`Invalid is_public filter [${v}]`);
}

export function flavorRoutes({ app, compute, base }: ComputeRoutes): void {
  const list = { schema: { querystring: FlavorListQuery } };
  const visible = (ctx: RequestContext, q: FlavorListQuery) =>
    compute.flavors.list(ctx, {
      ...(q.minRam !== undefined ? { minRam: q.minRam } : {}),
      ...(q.minDisk !== undefined ? { minDisk: q.minDisk } : {}),
      isPublic: isPublicFilter(q.is_public),
      sortKey: q.sort_key ?? 'flavorid',
      sortDir: q.sort_dir === 'desc' ? 'desc' : 'asc',
      ...(q.marker !== undefined ? { marker: q.marker } : {}),
      limit: Math.min(q.limit ?? MAX_LIMIT, MAX_LIMIT),
    });
  app.get('/v2.1/flavors', list, async (request) => {
    const rows = await visible(contextOf(request), request.query);
    return { flavors: rows.map((f) => flavorView(f, base, { detail: false, at: atOf(request) })), ...nextLinks('flavors', `${base}/flavors`, request.query, rows) };
  });
  app.get('/v2.1/flavors/detail', list, async (request) => {
    const rows = await visible(contextOf(request), request.query);
    return { flavors: rows.map((f) => flavorView(f, base, { at: atOf(request) })), ...nextLinks('flavors', `${base}/flavors/detail`, request.query, rows) };
  });
  app.get('/v2.1/flavors/:id', { schema: { params: IdParams, querystring: AnyQuery } }, async (request) => ({
    flavor: flavorView(await compute.flavors.get(contextOf(request), request.params.id), base, { at: atOf(request) }),
  }));
  app.post('/v2.1/flavors', { schema: { body: FlavorCreateBody } }, async (request) => {
    newerThan(request, request.body.flavor, { description: '2.55' });
    return { flavor: flavorView(await compute.flavors.create(contextOf(request), request.body), base, { at: atOf(request) }) };
  });
  // 2.55: a flavor's description can be changed.
  app.put('/v2.1/flavors/:id', { schema: { params: IdParams, body: FlavorUpdateBody } }, async (request) => {
    if (!atOf(request)('2.55')) throw new NotFoundError('The resource could not be found.');
    return { flavor: flavorView(await compute.flavors.setDescription(contextOf(request), request.params.id, request.body.flavor.description), base, { at: atOf(request) }) };
  });
  app.delete('/v2.1/flavors/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await compute.flavors.delete(contextOf(request), request.params.id);
    reply.code(202).send();
  });

  // ---- os-flavor-access (admins)
  const accessView = (flavorId: string, projects: string[]) => ({ flavor_access: projects.map((p) => ({ flavor_id: flavorId, tenant_id: p })) });
  app.get('/v2.1/flavors/:id/os-flavor-access', { schema: { params: IdParams } }, async (request) => accessView(request.params.id, await compute.flavors.access(contextOf(request), request.params.id)));
  app.post('/v2.1/flavors/:id/action', { schema: { params: IdParams, body: FlavorActionBody } }, async (request) => {
    const ctx = contextOf(request);
    const { id } = request.params;
    const body = request.body;
    if (body.addTenantAccess) return accessView(id, await compute.flavors.addAccess(ctx, id, body.addTenantAccess.tenant, atOf(request)('2.7')));
    if (body.removeTenantAccess) return accessView(id, await compute.flavors.removeAccess(ctx, id, body.removeTenantAccess.tenant));
    throw new BadRequestError('There is either no action or more than one action in the request body.');
  });

  // ---- extra specs
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
