// Routes of cluster templates (/v1/clustertemplates) and of their 2015 name (/v1/baymodels, served
// below 1.11 as Magnum kept them until it dropped them).
import type { FastifyRequest } from 'fastify';
import type { HttpServer } from '../platform/http/server.ts';
import { NotFoundError } from '../platform/errors.ts';
import { AnyBody, IdentParams, ListQuery, ctxOf, minorOf, nextLink, pageOf, type ListQueryT, type Route } from './api.ts';
import type { TemplateService } from './templates.ts';
import { templateView } from './views.ts';

const SORT_KEYS: Record<string, string> = { id: 'created_at', uuid: 'uuid', name: 'name', coe: 'coe', created_at: 'created_at', updated_at: 'updated_at', image_id: 'image_id' };

type Ident = { Params: { ident: string } };

/** Baymodels answer below 1.11 only: from 1.11 on they are gone, as in Magnum. */
export function legacyOnly(request: FastifyRequest): void {
  if (minorOf(request) >= 11) throw new NotFoundError('The resource could not be found.');
}

export function templateRoutes(templates: TemplateService, collection: 'clustertemplates' | 'baymodels'): Route {
  const legacy = collection === 'baymodels';
  const view = (base: string, row: Parameters<typeof templateView>[1]) => {
    const v = templateView(base, row, collection) as Record<string, unknown>;
    if (legacy) for (const k of ['hidden', 'tags', 'driver']) delete v[k];
    return v;
  };
  return (app: HttpServer, base: string) => {
    const guard = legacy ? { onRequest: async (request: FastifyRequest) => legacyOnly(request) } : {};
    const list = async (request: FastifyRequest<{ Querystring: ListQueryT }>) => {
      const page = pageOf(request.query, SORT_KEYS);
      const rows = await templates.list(ctxOf(request), page);
      const next = nextLink(base, collection, rows, page, request.query);
      return { [collection]: rows.map((r) => view(base, r)), ...(next ? { next } : {}) };
    };
    app.get<{ Querystring: ListQueryT }>(`/v1/${collection}`, { ...guard, schema: { querystring: ListQuery } }, list);
    app.get<{ Querystring: ListQueryT }>(`/v1/${collection}/detail`, { ...guard, schema: { querystring: ListQuery } }, list);
    app.get<Ident>(`/v1/${collection}/:ident`, { ...guard, schema: { params: IdentParams } }, async (request) => view(base, await templates.show(ctxOf(request), request.params.ident)));
    app.post(`/v1/${collection}`, { ...guard, schema: { body: AnyBody } }, async (request, reply) => {
      const row = await templates.create(ctxOf(request), request.body);
      reply.code(201).header('location', `${base}/${collection}/${row.uuid}`);
      return view(base, row);
    });
    app.patch<Ident>(`/v1/${collection}/:ident`, { ...guard, schema: { params: IdentParams, body: AnyBody } }, async (request) => view(base, await templates.update(ctxOf(request), request.params.ident, request.body)));
    app.delete<Ident>(`/v1/${collection}/:ident`, { ...guard, schema: { params: IdentParams } }, async (request, reply) => {
      await templates.delete(ctxOf(request), request.params.ident);
      reply.code(204).send();
    });
  };
}
