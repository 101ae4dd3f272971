// Nova's admin APIs that are not hosts themselves: host aggregates (os-aggregates, availability zones
// through them), os-migrations (hafen moves no server between hosts: always an empty list), server
// diagnostics, external events, and the usage audit log (no audit task runs: an honest empty log).
import { contextOf } from '../../platform/auth/context.ts';
import { BadRequestError } from '../../platform/errors.ts';
import type { Aggregate } from '../aggregates.ts';
import { AggregateActionBody, AggregateCreateBody, AggregateUpdateBody, AnyQuery, AuditLogParams, ExternalEventsBody, IdParams } from '../schemas.ts';
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
  app.get('/v2.1/servers/:id/diagnostics', { schema: { params: IdParams } }, async (request) =>
    compute.diagnostics.of(contextOf(request), request.params.id, atOf(request)('2.48')),
  );
  app.post('/v2.1/os-server-external-events', { schema: { body: ExternalEventsBody } }, async (request, reply) => {
    const r = await compute.externalEvents.deliver(contextOf(request), request.body.events);
    return reply.code(r.status).send({ events: r.events });
  });
  // Nova's periodic audit of instance usage (monthly) never runs here: every host is one that has
  // not run it for the last full period.
  const auditLog = async (request: Parameters<typeof contextOf>[0], before?: Date) => {
    compute.enforce(contextOf(request), 'usage:list');
    const at = before ?? new Date();
    const ending = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
    const beginning = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, 1));
    const hosts = (await compute.hosts.list(contextOf(request), 'hypervisors')).map((h) => h.hostname);
    return {
      instance_usage_audit_logs: {
        hosts_not_run: hosts,
        log: {},
        num_hosts: hosts.length,
        num_hosts_done: 0,
        num_hosts_not_run: hosts.length,
        num_hosts_running: 0,
        overall_status: `0 of ${hosts.length} hosts done. 0 errors.`,
        period_beginning: novaTime(beginning.toISOString()).replace('T', ' '),
        period_ending: novaTime(ending.toISOString()).replace('T', ' '),
        total_errors: 0,
        total_instances: 0,
      },
    };
  };
  app.get('/v2.1/os-instance_usage_audit_log', async (request) => auditLog(request));
  app.get('/v2.1/os-instance_usage_audit_log/:before', { schema: { params: AuditLogParams } }, async (request) => {
    const before = new Date(request.params.before.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(request.params.before) ? '' : 'Z'));
    if (Number.isNaN(before.getTime())) throw new BadRequestError(`Invalid timestamp for date ${request.params.before}`);
    return auditLog(request, before);
  });

  app.get('/v2.1/servers/:id/migrations', { schema: { params: IdParams } }, async (request) => {
    const ctx = contextOf(request);
    compute.enforce(ctx, 'migrations');
    await compute.server(ctx, request.params.id);
    return { migrations: [] };
  });
}
