// Nova's admin APIs that are not hosts themselves: host aggregates (os-aggregates, availability zones
// through them) and os-migrations (hafen moves no server between hosts: always an empty list).
import { contextOf } from '../../platform/auth/context.ts';
import { BadRequestError } from '../../platform/errors.ts';
import type { Aggregate } from '../aggregates.ts';
import { AggregateActionBody, AggregateCreateBody, AggregateUpdateBody, AnyQuery, IdParams } from '../schemas.ts';
import type { At } from '../views.ts';
import { atOf, type ComputeRoutes } from './index.ts';

const novaTime = (iso: string) => iso.replace(/Z$/, '').replace(/\.(\d{3})$/, '.$1000');

export function aggregateView(a: Aggregate, at: At) {
  return {
    id: a.id,
    name: a.name,
    availability_zone: a.availability_zone,
    hosts: a.hosts,
    metadata: JSON.parse(a.metadata) as Record<string, string>,
    created_at: novaTime(a.created_at),
    updated_at: a.updated_at === a.created_at ? null : novaTime(a.updated_at),
    deleted_at: null,
    deleted: false,
    ...(at('2.41') ? { uuid: a.uuid } : {}),
  };
}

export function adminRoutes({ app, compute }: ComputeRoutes): void {
  const aggregates = compute.aggregates;
  app.get('/v2.1/os-aggregates', { schema: { querystring: AnyQuery } }, async (request) => ({
    aggregates: (await aggregates.list(contextOf(request))).map((a) => aggregateView(a, atOf(request))),
  }));
  app.post('/v2.1/os-aggregates', { schema: { body: AggregateCreateBody } }, async (request) => {
    const { name, availability_zone } = request.body.aggregate;
    const a = await aggregates.create(contextOf(request), name, availability_zone ?? null);
    // Nova's create answer has neither hosts nor metadata.
    const { hosts: _h, metadata: _m, ...created } = aggregateView(a, atOf(request));
    return { aggregate: created };
  });
  app.get('/v2.1/os-aggregates/:id', { schema: { params: IdParams } }, async (request) => ({
    aggregate: aggregateView(await aggregates.get(contextOf(request), request.params.id), atOf(request)),
  }));
  app.put('/v2.1/os-aggregates/:id', { schema: { params: IdParams, body: AggregateUpdateBody } }, async (request) => {
    const changes = request.body.aggregate;
    return {
      aggregate: aggregateView(
        await aggregates.update(contextOf(request), request.params.id, {
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.availability_zone !== undefined ? { availability_zone: changes.availability_zone } : {}),
        }),
        atOf(request),
      ),
    };
  });
  app.delete('/v2.1/os-aggregates/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await aggregates.delete(contextOf(request), request.params.id);
    reply.code(200).send();
  });
  app.post('/v2.1/os-aggregates/:id/action', { schema: { params: IdParams, body: AggregateActionBody } }, async (request) => {
    const ctx = contextOf(request);
    const { id } = request.params;
    const body = request.body;
    let a: Aggregate;
    if (body.add_host) a = await aggregates.addHost(ctx, id, body.add_host.host);
    else if (body.remove_host) a = await aggregates.removeHost(ctx, id, body.remove_host.host);
    else if (body.set_metadata) a = await aggregates.setMetadata(ctx, id, body.set_metadata.metadata);
    else throw new BadRequestError('There is either no action or more than one action in the request body.');
    return { aggregate: aggregateView(a, atOf(request)) };
  });

  // No server ever moves between hosts here: nothing to list, as Nova lists nothing without moves.
  app.get('/v2.1/os-migrations', { schema: { querystring: AnyQuery } }, async (request) => {
    compute.enforce(contextOf(request), 'migrations');
    return { migrations: [] };
  });
  app.get('/v2.1/servers/:id/migrations', { schema: { params: IdParams } }, async (request) => {
    const ctx = contextOf(request);
    compute.enforce(ctx, 'migrations');
    await compute.server(ctx, request.params.id);
    return { migrations: [] };
  });
}
