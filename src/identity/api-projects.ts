// Keystone v3 projects: CRUD, projects acting as domains (is_domain), and project tags with the
// tags / tags-any / not-tags / not-tags-any list filters. Rules live in service.ts.
import { Type, type Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import { paginate, type RouteKit } from './route-kit.ts';
import { Id, IdParams, ProjectCreate, ProjectUpdate, Tag, Tags, queryTrue } from './schemas.ts';
import type { DomainRow, ProjectRow } from './store.ts';
import { domainAsProjectView, projectView } from './views.ts';

const ProjectQuery = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 255 })),
  domain_id: Type.Optional(Id),
  parent_id: Type.Optional(Id),
  enabled: Type.Optional(Type.String({ maxLength: 8 })),
  is_domain: Type.Optional(Type.String({ maxLength: 8 })),
  tags: Type.Optional(Type.String({ maxLength: 4096 })),
  'tags-any': Type.Optional(Type.String({ maxLength: 4096 })),
  'not-tags': Type.Optional(Type.String({ maxLength: 4096 })),
  'not-tags-any': Type.Optional(Type.String({ maxLength: 4096 })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  marker: Type.Optional(Id),
});
const TagParams = Type.Object({ id: Id, tag: Tag });

/** Keystone's tag filters: all of / any of the comma-separated tags, or their negations. */
export function tagFilter(q: Pick<Static<typeof ProjectQuery>, 'tags' | 'tags-any' | 'not-tags' | 'not-tags-any'>): (tags: string[]) => boolean {
  const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').filter(Boolean));
  const all = list(q.tags);
  const any = list(q['tags-any']);
  const notAll = list(q['not-tags']);
  const notAny = list(q['not-tags-any']);
  return (tags) => {
    const has = (t: string) => tags.includes(t);
    if (all && !all.every(has)) return false;
    if (any && !any.some(has)) return false;
    if (notAll && notAll.length > 0 && notAll.every(has)) return false;
    if (notAny && notAny.some(has)) return false;
    return true;
  };
}

export function projectRoutes(server: HttpServer, { identity, links, listLinks, base }: RouteKit): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/v3/projects', { schema: { querystring: ProjectQuery } }, async (request) => {
    const q = request.query;
    identity.enforce(contextOf(request), 'list_projects');
    const enabled = q.enabled === undefined ? undefined : queryTrue(q.enabled) ? 1 : 0;
    const keep = tagFilter(q);
    if (q.is_domain !== undefined && queryTrue(q.is_domain)) {
      // Projects acting as domains are the domains.
      const domains = (await identity.store.list<DomainRow>('identity_domains', { name: q.name, enabled }, 'name')).filter((d) => keep(JSON.parse(d.tags)));
      return { projects: domains.map((d) => domainAsProjectView(d, links)), links: listLinks(request) };
    }
    const rows = await identity.store.list<ProjectRow>('identity_projects', { name: q.name, enabled, domain_id: q.domain_id, parent_id: q.parent_id }, 'name');
    const kept = rows.filter((r) => keep(JSON.parse(r.tags) as string[]));
    return { projects: paginate(kept, q).map((r) => projectView(r, links)), links: listLinks(request) };
  });
  app.post('/v3/projects', { schema: { body: Type.Object({ project: ProjectCreate }) } }, async (request, reply) => {
    const ctx = contextOf(request);
    reply.code(201);
    if (request.body.project.is_domain) {
      return { project: domainAsProjectView(await identity.createDomain(ctx, request.body.project), links) };
    }
    return { project: projectView(await identity.createProject(ctx, request.body.project), links) };
  });
  app.get('/v3/projects/:id', { schema: { params: IdParams } }, async (request) => {
    const found = await identity.getProjectOrDomain(contextOf(request), request.params.id);
    return { project: found.kind === 'domain' ? domainAsProjectView(found.row, links) : projectView(found.row, links) };
  });
  app.patch('/v3/projects/:id', { schema: { params: IdParams, body: Type.Object({ project: ProjectUpdate }) } }, async (request) => {
    const ctx = contextOf(request);
    if (await identity.isDomain(request.params.id)) {
      return { project: domainAsProjectView(await identity.updateDomain(ctx, request.params.id, request.body.project), links) };
    }
    return { project: projectView(await identity.updateProject(ctx, request.params.id, request.body.project), links) };
  });
  app.delete('/v3/projects/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const ctx = contextOf(request);
    if (await identity.isDomain(request.params.id)) await identity.deleteDomain(ctx, request.params.id);
    else await identity.deleteProject(ctx, request.params.id);
    reply.code(204).send();
  });

  // ---- tags
  const tagsUrl = (id: string) => `${base}/projects/${id}/tags`;
  app.get('/v3/projects/:id/tags', { schema: { params: IdParams } }, async (request) => ({
    tags: await identity.projectTags(contextOf(request), request.params.id, 'list_project_tags'),
    links: { self: tagsUrl(request.params.id) },
  }));
  app.put('/v3/projects/:id/tags', { schema: { params: IdParams, body: Type.Object({ tags: Tags }) } }, async (request) => ({
    tags: await identity.setProjectTags(contextOf(request), request.params.id, request.body.tags),
    links: { self: tagsUrl(request.params.id) },
  }));
  app.delete('/v3/projects/:id/tags', { schema: { params: IdParams } }, async (request, reply) => {
    await identity.setProjectTags(contextOf(request), request.params.id, [], 'delete_project_tags');
    reply.code(204).send();
  });
  app.get('/v3/projects/:id/tags/:tag', { schema: { params: TagParams } }, async (request, reply) => {
    await identity.projectTag(contextOf(request), request.params.id, request.params.tag);
    reply.code(204).send();
  });
  app.put('/v3/projects/:id/tags/:tag', { schema: { params: TagParams } }, async (request, reply) => {
    await identity.addProjectTag(contextOf(request), request.params.id, request.params.tag);
    reply.code(201).header('location', `${tagsUrl(request.params.id)}/${encodeURIComponent(request.params.tag)}`).send();
  });
  app.delete('/v3/projects/:id/tags/:tag', { schema: { params: TagParams } }, async (request, reply) => {
    await identity.removeProjectTag(contextOf(request), request.params.id, request.params.tag);
    reply.code(204).send();
  });
}
