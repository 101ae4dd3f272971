// Keystone v3 OS-EP-FILTER routes: endpoints associated with projects, endpoint groups and their
// projects, under /v3/OS-EP-FILTER.
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import type { RouteKit } from './route-kit.ts';
import type { EndpointFilter } from './endpoint-filter.ts';
import { Description, Id, IdParams, Name, Nullable } from './schemas.ts';
import type { EndpointGroupRow } from './store.ts';
import { endpointView, projectView } from './views.ts';

/** Keystone accepts these three keys and no other. */
const Filters = Type.Object(
  {
    interface: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('internal'), Type.Literal('admin')])),
    service_id: Type.Optional(Id),
    region_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);
const GroupCreate = Type.Object({
  endpoint_group: Type.Object({ name: Name(255), description: Type.Optional(Nullable(Description)), filters: Filters }, { additionalProperties: false }),
});
const GroupUpdate = Type.Object({
  endpoint_group: Type.Object(
    { name: Type.Optional(Name(255)), description: Type.Optional(Nullable(Description)), filters: Type.Optional(Filters) },
    { additionalProperties: false },
  ),
});
const NameQuery = Type.Object({ name: Type.Optional(Type.String({ maxLength: 255 })) });
const ProjectEndpoint = Type.Object({ project: Id, endpoint: Id });
const GroupProject = Type.Object({ group: Id, project: Id });
const ProjectParams = Type.Object({ project: Id });

export function endpointFilterRoutes(server: HttpServer, { base, links, listLinks }: RouteKit, filter: EndpointFilter): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const root = '/v3/OS-EP-FILTER';
  const groupView = (g: EndpointGroupRow) => ({
    id: g.id,
    name: g.name,
    description: g.description,
    filters: JSON.parse(g.filters) as Record<string, string>,
    links: { self: `${base}/OS-EP-FILTER/endpoint_groups/${g.id}` },
  });

  // ---- endpoints of projects
  const association = `${root}/projects/:project/endpoints/:endpoint`;
  app.put(association, { schema: { params: ProjectEndpoint } }, async (request, reply) => {
    await filter.associate(contextOf(request), request.params.project, request.params.endpoint);
    reply.code(204).send();
  });
  for (const method of ['GET', 'HEAD'] as const) {
    app.route({
      method,
      url: association,
      schema: { params: ProjectEndpoint },
      handler: async (request, reply) => {
        await filter.checkAssociation(contextOf(request), request.params.project, request.params.endpoint);
        reply.code(204).send();
      },
    });
  }
  app.delete(association, { schema: { params: ProjectEndpoint } }, async (request, reply) => {
    await filter.dissociate(contextOf(request), request.params.project, request.params.endpoint);
    reply.code(204).send();
  });
  app.get(`${root}/projects/:project/endpoints`, { schema: { params: ProjectParams } }, async (request) => ({
    endpoints: (await filter.endpointsOfProject(contextOf(request), request.params.project)).map((e) => endpointView(e, links)),
    links: listLinks(request),
  }));
  app.get(`${root}/endpoints/:id/projects`, { schema: { params: IdParams } }, async (request) => ({
    projects: (await filter.projectsOfEndpoint(contextOf(request), request.params.id)).map((p) => projectView(p, links)),
    links: listLinks(request),
  }));

  // ---- endpoint groups
  const groups = `${root}/endpoint_groups`;
  app.post(groups, { schema: { body: GroupCreate } }, async (request, reply) => {
    const g = await filter.createGroup(contextOf(request), request.body.endpoint_group);
    reply.code(201);
    return { endpoint_group: groupView(g) };
  });
  app.get(groups, { schema: { querystring: NameQuery } }, async (request) => ({
    endpoint_groups: (await filter.listGroups(contextOf(request), request.query.name)).map(groupView),
    links: listLinks(request),
  }));
  app.get(`${groups}/:id`, { schema: { params: IdParams } }, async (request) => ({
    endpoint_group: groupView(await filter.getGroup(contextOf(request), request.params.id)),
  }));
  app.head(`${groups}/:id`, { schema: { params: IdParams } }, async (request, reply) => {
    await filter.getGroup(contextOf(request), request.params.id);
    reply.code(200).send();
  });
  app.patch(`${groups}/:id`, { schema: { params: IdParams, body: GroupUpdate } }, async (request) => ({
    endpoint_group: groupView(await filter.updateGroup(contextOf(request), request.params.id, request.body.endpoint_group)),
  }));
  app.delete(`${groups}/:id`, { schema: { params: IdParams } }, async (request, reply) => {
    await filter.deleteGroup(contextOf(request), request.params.id);
    reply.code(204).send();
  });
  app.get(`${groups}/:id/endpoints`, { schema: { params: IdParams } }, async (request) => ({
    endpoints: (await filter.endpointsOfGroup(contextOf(request), request.params.id)).map((e) => endpointView(e, links)),
    links: listLinks(request),
  }));
  app.get(`${groups}/:id/projects`, { schema: { params: IdParams } }, async (request) => ({
    projects: (await filter.projectsOfGroup(contextOf(request), request.params.id)).map((p) => projectView(p, links)),
    links: listLinks(request),
  }));
  const groupProject = `${groups}/:group/projects/:project`;
  app.put(groupProject, { schema: { params: GroupProject } }, async (request, reply) => {
    await filter.associateGroup(contextOf(request), request.params.group, request.params.project);
    reply.code(204).send();
  });
  for (const method of ['GET', 'HEAD'] as const) {
    app.route({
      method,
      url: groupProject,
      schema: { params: GroupProject },
      handler: async (request, reply) => {
        await filter.checkGroupAssociation(contextOf(request), request.params.group, request.params.project);
        reply.code(204).send();
      },
    });
  }
  app.delete(groupProject, { schema: { params: GroupProject } }, async (request, reply) => {
    await filter.dissociateGroup(contextOf(request), request.params.group, request.params.project);
    reply.code(204).send();
  });
  app.get(`${root}/projects/:project/endpoint_groups`, { schema: { params: ProjectParams } }, async (request) => ({
    endpoint_groups: (await filter.groupsOfProject(contextOf(request), request.params.project)).map(groupView),
    links: listLinks(request),
  }));
}
