// Routes of clusters (/v1/clusters, their actions and node groups) and of their 2015 name (/v1/bays,
// below 1.11: `baymodel_id` and `bay_create_timeout`, 201 with the bay at 1.1, 202 {uuid} from 1.2).
import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { BadRequestError, NotFoundError } from '../platform/errors.ts';
import { AnyBody, IdentParams, ListQuery, ctxOf, minorOf, nextLink, pageOf, type ListQueryT, type Route } from './api.ts';
import type { ClusterService } from './clusters.ts';
import type { ClusterRow } from './store.ts';
import { legacyOnly } from './templates-api.ts';
import { clusterSummary, clusterView } from './views.ts';

const SORT_KEYS: Record<string, string> = { id: 'created_at', uuid: 'uuid', name: 'name', status: 'status', created_at: 'created_at', updated_at: 'updated_at', cluster_template_id: 'cluster_template_id' };

type Ident = { Params: { ident: string } };

export function clusterRoutes(clusters: ClusterService): Route {
  return (app: HttpServer, base: string) => {
    const full = async (row: ClusterRow) => clusterView(base, row, await clusters.detailOf(row));
    app.get<{ Querystring: ListQueryT }>('/v1/clusters', { schema: { querystring: ListQuery } }, async (request: FastifyRequest<{ Querystring: ListQueryT }>) => {
      const page = pageOf(request.query, SORT_KEYS);
      const rows = await clusters.list(ctxOf(request), page);
      const out = [];
      for (const r of rows) out.push(clusterSummary(base, r, await clusters.nodegroups(r.uuid)));
      const next = nextLink(base, 'clusters', rows, page, request.query);
      return { clusters: out, ...(next ? { next } : {}) };
    });
    app.get<{ Querystring: ListQueryT }>('/v1/clusters/detail', { schema: { querystring: ListQuery } }, async (request: FastifyRequest<{ Querystring: ListQueryT }>) => {
      const page = pageOf(request.query, SORT_KEYS);
      const rows = await clusters.list(ctxOf(request), page);
      const out = [];
      for (const r of rows) out.push(await full(r));
      const next = nextLink(base, 'clusters/detail', rows, page, request.query);
      return { clusters: out, ...(next ? { next } : {}) };
    });
    app.get<Ident>('/v1/clusters/:ident', { schema: { params: IdentParams } }, async (request) => full(await clusters.show(ctxOf(request), request.params.ident)));
    app.post('/v1/clusters', { schema: { body: AnyBody } }, async (request, reply) => {
      const row = await clusters.create(ctxOf(request), { body: request.body, minor: minorOf(request) });
      reply.code(202);
      return { uuid: row.uuid };
    });
    app.patch<Ident & { Querystring: { rollback?: string } }>('/v1/clusters/:ident', { schema: { params: IdentParams, body: AnyBody, querystring: Type.Object({ rollback: Type.Optional(Type.String({ maxLength: 8 })) }) } }, async (request, reply) => {
      const row = await clusters.update(ctxOf(request), request.params.ident, request.body, minorOf(request));
      reply.code(202);
      return { uuid: row.uuid };
    });
    app.delete<Ident>('/v1/clusters/:ident', { schema: { params: IdentParams } }, async (request, reply) => {
      await clusters.delete(ctxOf(request), request.params.ident);
      reply.code(204).send();
    });
    app.post<Ident>('/v1/clusters/:ident/actions/resize', { schema: { params: IdentParams, body: AnyBody } }, async (request, reply) => {
      if (minorOf(request) < 7) throw new NotFoundError('The resource could not be found.');
      const row = await clusters.resize(ctxOf(request), request.params.ident, request.body, minorOf(request));
      reply.code(202);
      return { uuid: row.uuid };
    });
    app.post<Ident>('/v1/clusters/:ident/actions/upgrade', { schema: { params: IdentParams, body: AnyBody } }, async (request, reply) => {
      const minor = minorOf(request);
      if (minor < 7) throw new NotFoundError('The resource could not be found.');
      if (minor === 7) throw new BadRequestError('Cluster upgrade is not supported in the provided microversion.');
      const row = await clusters.upgrade(ctxOf(request), request.params.ident, request.body);
      reply.code(202);
      return { uuid: row.uuid };
    });
  };
}

/** Bay bodies in, cluster bodies out: the 2015 names of two attributes, and what a bay may not have. */
function bayBody(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('Invalid input for field/attribute bay. The body must be a JSON object.');
  const b = { ...(body as Record<string, unknown>) };
  const allowed = ['uuid', 'name', 'baymodel_id', 'node_count', 'master_count', 'bay_create_timeout', 'discovery_url', 'docker_volume_size', 'labels', 'master_flavor_id', 'flavor_id', 'links', 'status', 'status_reason', 'stack_id', 'api_address', 'node_addresses', 'master_addresses', 'coe_version', 'container_version', 'created_at', 'updated_at', 'bay_faults'];
  const unknown = Object.keys(b).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new BadRequestError(`Unknown attribute for argument bay: ${unknown.join(', ')}`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) {
    if (['links', 'status', 'status_reason', 'stack_id', 'api_address', 'node_addresses', 'master_addresses', 'coe_version', 'container_version', 'created_at', 'updated_at', 'bay_faults'].includes(k)) continue;
    if (k === 'baymodel_id') out.cluster_template_id = v;
    else if (k === 'bay_create_timeout') out.create_timeout = v;
    else out[k] = v;
  }
  if (out.cluster_template_id === undefined || out.cluster_template_id === null) throw new BadRequestError('Invalid input for field/attribute baymodel_id. Value: None. Mandatory field missing.');
  const n = out.node_count;
  if (n !== undefined && n !== null && (typeof n === 'number' || typeof n === 'string') && Number(n) < 1) {
    throw new BadRequestError(`Invalid input for field/attribute node_count. Value: '${String(n)}'. Value should be greater or equal to 1`);
  }
  return out;
}

function bayView(view: Record<string, unknown>): Record<string, unknown> {
  const { cluster_template_id, create_timeout, faults, keypair: _k, labels_overridden: _o, labels_added: _a, labels_skipped: _s, fixed_network: _fn, fixed_subnet: _fs, floating_ip_enabled: _f, master_lb_enabled: _m, ...rest } = view;
  return { ...rest, baymodel_id: cluster_template_id, bay_create_timeout: create_timeout, ...(faults !== undefined ? { bay_faults: faults } : {}) };
}

export function bayRoutes(clusters: ClusterService): Route {
  return (app: HttpServer, base: string) => {
    const guard = { onRequest: async (request: FastifyRequest) => legacyOnly(request) };
    const full = async (row: ClusterRow) => bayView(clusterView(base, row, await clusters.detailOf(row), 'bays'));
    const list = (detail: boolean) => async (request: FastifyRequest<{ Querystring: ListQueryT }>) => {
      const page = pageOf(request.query, SORT_KEYS);
      const rows = await clusters.list(ctxOf(request), page);
      const out = [];
      for (const r of rows) out.push(detail ? await full(r) : bayView(clusterSummary(base, r, await clusters.nodegroups(r.uuid), 'bays')));
      const next = nextLink(base, 'bays', rows, page, request.query);
      return { bays: out, ...(next ? { next } : {}) };
    };
    app.get<{ Querystring: ListQueryT }>('/v1/bays', { ...guard, schema: { querystring: ListQuery } }, list(false));
    app.get<{ Querystring: ListQueryT }>('/v1/bays/detail', { ...guard, schema: { querystring: ListQuery } }, list(true));
    app.get<Ident>('/v1/bays/:ident', { ...guard, schema: { params: IdentParams } }, async (request) => full(await clusters.show(ctxOf(request), request.params.ident)));
    app.post('/v1/bays', { ...guard, schema: { body: AnyBody } }, async (request, reply) => {
      const minor = minorOf(request);
      const row = await clusters.create(ctxOf(request), { body: bayBody(request.body), minor });
      if (minor < 2) {
        reply.code(201).header('location', `${base}/bays/${row.uuid}`);
        return full(row);
      }
      reply.code(202);
      return { uuid: row.uuid };
    });
    app.patch<Ident>('/v1/bays/:ident', { ...guard, schema: { params: IdentParams, body: AnyBody } }, async (request, reply) => {
      const minor = minorOf(request);
      const row = await clusters.update(ctxOf(request), request.params.ident, request.body, minor);
      if (minor < 2) return full(row);
      reply.code(202);
      return { uuid: row.uuid };
    });
    app.delete<Ident>('/v1/bays/:ident', { ...guard, schema: { params: IdentParams } }, async (request, reply) => {
      await clusters.delete(ctxOf(request), request.params.ident);
      reply.code(204).send();
    });
  };
}
