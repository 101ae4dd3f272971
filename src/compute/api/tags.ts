// Server tags (2.26): the whole set (list, replace, clear) and one tag at a time (check, add, remove).
import { contextOf } from '../../platform/auth/context.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { IdParams, ServerTagParams, ServerTagsBody } from '../schemas.ts';
import type { ComputeRoutes } from './index.ts';
import { servedBetween } from './versions.ts';

type Req = Parameters<typeof servedBetween>[0];

/** Below 2.26 Nova has no such resource. */
function since226(request: Req): void {
  if (!servedBetween(request, '2.26', null)) throw new NotFoundError('The resource could not be found.');
}

export function tagRoutes({ app, compute, base }: ComputeRoutes): void {
  const tags = compute.tags;
  app.get('/v2.1/servers/:id/tags', { schema: { params: IdParams } }, async (request) => {
    since226(request);
    return { tags: await tags.list(contextOf(request), request.params.id) };
  });
  app.put('/v2.1/servers/:id/tags', { schema: { params: IdParams, body: ServerTagsBody } }, async (request) => {
    since226(request);
    return { tags: await tags.replace(contextOf(request), request.params.id, request.body.tags) };
  });
  app.delete('/v2.1/servers/:id/tags', { schema: { params: IdParams } }, async (request, reply) => {
    since226(request);
    await tags.clear(contextOf(request), request.params.id);
    reply.code(204).send();
  });
  app.get('/v2.1/servers/:id/tags/:tag', { schema: { params: ServerTagParams } }, async (request, reply) => {
    since226(request);
    const { id, tag } = request.params;
    if (!(await tags.has(contextOf(request), id, tag))) throw new NotFoundError(`Tag ${tag} could not be found.`);
    reply.code(204).send();
  });
  app.put('/v2.1/servers/:id/tags/:tag', { schema: { params: ServerTagParams } }, async (request, reply) => {
    since226(request);
    const { id, tag } = request.params;
    const added = await tags.add(contextOf(request), id, tag);
    if (added) reply.header('location', `${base}/servers/${id}/tags/${encodeURIComponent(tag)}`);
    reply.code(added ? 201 : 204).send();
  });
  app.delete('/v2.1/servers/:id/tags/:tag', { schema: { params: ServerTagParams } }, async (request, reply) => {
    since226(request);
    await tags.remove(contextOf(request), request.params.id, request.params.tag);
    reply.code(204).send();
  });
}
