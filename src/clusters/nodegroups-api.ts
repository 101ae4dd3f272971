// Node groups of a cluster (/v1/clusters/{cluster}/nodegroups, from 1.9): the default master and
// worker groups every cluster has and worker groups of one's own, listed, shown, created (202) and
// deleted (204) as Magnum does, their count bounds patched (202). They are resized through the cluster
// (actions/resize with `nodegroup`).
import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { BadRequestError, NotAcceptableError } from '../platform/errors.ts';
import { AnyBody, ListQuery, ctxOf, minorOf, pageOf, type ListQueryT, type Route } from './api.ts';
import type { NodegroupService } from './nodegroups.ts';
import { findGroup, type ClusterService } from './clusters.ts';
import type { TemplateService } from './templates.ts';
import { nodegroupSummary, nodegroupView } from './views.ts';

const SORT_KEYS: Record<string, string> = { id: 'created_at', uuid: 'uuid', name: 'name', role: 'role', node_count: 'node_count', created_at: 'created_at' };
const ClusterParams = Type.Object({ cluster: Type.String({ minLength: 1, maxLength: 255 }) });
const GroupParams = Type.Object({ cluster: Type.String({ minLength: 1, maxLength: 255 }), nodegroup: Type.String({ minLength: 1, maxLength: 255 }) });
const GroupListQuery = Type.Intersect([ListQuery, Type.Object({ role: Type.Optional(Type.String({ maxLength: 64 })) })]);

function from19(request: FastifyRequest): void {
  const minor = minorOf(request);
  if (minor < 9) throw new NotAcceptableError(`Version 1.${minor} was requested but the minor version is not supported by this service. The supported version range is: [1.9, 1.11].`);
}

export function nodegroupRoutes(clusters: ClusterService, templates: TemplateService, nodegroups: NodegroupService): Route {
  return (app: HttpServer, base: string) => {
    app.get<{ Params: { cluster: string }; Querystring: ListQueryT & { role?: string } }>('/v1/clusters/:cluster/nodegroups', { schema: { params: ClusterParams, querystring: GroupListQuery } }, async (request) => {
      from19(request);
      const ctx = ctxOf(request);
      templates.enforce(ctx, 'nodegroup:get');
      const cluster = await clusters.find(ctx, request.params.cluster);
      const page = pageOf(request.query, SORT_KEYS);
      let groups = (await clusters.nodegroups(cluster.uuid)).filter((g) => request.query.role === undefined || g.role === request.query.role);
      const key = page.sortKey as keyof (typeof groups)[number];
      groups = [...groups].sort((a, b) => (a[key]! < b[key]! ? -1 : a[key]! > b[key]! ? 1 : 0) * (page.sortDir === 'asc' ? 1 : -1));
      if (page.marker !== undefined) {
        const at = groups.findIndex((g) => g.uuid === page.marker);
        if (at < 0) throw new BadRequestError(`Nodegroup ${page.marker} could not be found as a marker.`);
        groups = groups.slice(at + 1);
      }
      groups = groups.slice(0, page.limit);
      return { nodegroups: groups.map((g) => nodegroupSummary(g, cluster.stack_id)) };
    });
    app.get<{ Params: { cluster: string; nodegroup: string } }>('/v1/clusters/:cluster/nodegroups/:nodegroup', { schema: { params: GroupParams } }, async (request) => {
      from19(request);
      const ctx = ctxOf(request);
      templates.enforce(ctx, 'nodegroup:get');
      const cluster = await clusters.find(ctx, request.params.cluster);
      const detail = await clusters.detailOf(cluster);
      const group = findGroup(detail.groups, request.params.nodegroup, cluster.uuid);
      return nodegroupView(base, group, cluster.stack_id, detail.nodes);
    });
    app.post<{ Params: { cluster: string } }>('/v1/clusters/:cluster/nodegroups', { schema: { params: ClusterParams, body: AnyBody } }, async (request, reply) => {
      from19(request);
      const ctx = ctxOf(request);
      templates.enforce(ctx, 'nodegroup:create');
      const group = await nodegroups.create(ctx, request.params.cluster, request.body);
      const cluster = await clusters.find(ctx, group.cluster_id);
      reply.code(202);
      return nodegroupView(base, group, cluster.stack_id, []);
    });
    app.patch<{ Params: { cluster: string; nodegroup: string } }>('/v1/clusters/:cluster/nodegroups/:nodegroup', { schema: { params: GroupParams, body: AnyBody } }, async (request, reply) => {
      from19(request);
      const ctx = ctxOf(request);
      templates.enforce(ctx, 'nodegroup:update');
      const group = await nodegroups.update(ctx, request.params.cluster, request.params.nodegroup, request.body);
      const cluster = await clusters.find(ctx, group.cluster_id);
      reply.code(202);
      return nodegroupView(base, group, cluster.stack_id, (await clusters.detailOf(cluster)).nodes);
    });
    app.delete<{ Params: { cluster: string; nodegroup: string } }>('/v1/clusters/:cluster/nodegroups/:nodegroup', { schema: { params: GroupParams } }, async (request, reply) => {
      from19(request);
      const ctx = ctxOf(request);
      templates.enforce(ctx, 'nodegroup:delete');
      await nodegroups.delete(ctx, request.params.cluster, request.params.nodegroup);
      reply.code(204).send();
    });
  };
}
