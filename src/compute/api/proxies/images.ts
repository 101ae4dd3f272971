// Nova's images (until 2.36) and their metadata (until 2.39): Glance's images as the caller sees them,
// in Nova's image shape (minRam, minDisk, status ACTIVE/SAVING/..., progress, metadata).
import { contextOf } from '../../../platform/auth/context.ts';
import type { ComputeRoutes } from '../index.ts';
import { nextLinks } from '../paging.ts';
import { servedUntil } from './gates.ts';
import { ImageIdParams, ImageKeyParams, ImageListQuery, ImageMetaItemBody, ImageMetadataBody, ProxyIdParams, ProxyQuery } from './schemas.ts';
import { imageBasicView, imageView, type ImageLinks } from './views.ts';
import { BadRequestError } from '../../../platform/errors.ts';
import type { ImageFilters } from '../../image-proxies.ts';

/** Image metadata is served one version longer than images (Nova's MAX_IMAGE_META_PROXY_API_VERSION 2.38). */
const WITHOUT_IMAGE_METADATA = '2.39';

function filtersOf(q: ImageListQuery): ImageFilters {
  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) if (k.startsWith('property-') && typeof v === 'string') properties[k.slice('property-'.length)] = v;
  return {
    ...(q.name !== undefined ? { name: q.name } : {}),
    ...(q.status !== undefined ? { status: q.status } : {}),
    ...(q.server !== undefined ? { server: q.server } : {}),
    ...(q.type !== undefined ? { type: q.type } : {}),
    ...(q.minRam !== undefined ? { minRam: q.minRam } : {}),
    ...(q.minDisk !== undefined ? { minDisk: q.minDisk } : {}),
    ...(q.limit !== undefined || q.page_size !== undefined ? { limit: (q.limit ?? q.page_size)! } : {}),
    ...(q.marker !== undefined ? { marker: q.marker } : {}),
    properties,
  };
}

export function imageRoutes({ app, compute, base, publicUrl }: ComputeRoutes): void {
  const proxies = compute.imageProxies;
  const l: ImageLinks = { base, glance: `${publicUrl}/image` };

  for (const [path, view] of [['/v2.1/images', imageBasicView], ['/v2.1/images/detail', imageView]] as const) {
    app.get(path, { schema: { querystring: ImageListQuery } }, async (request) => {
      servedUntil(request);
      const images = await proxies.list(contextOf(request), filtersOf(request.query));
      return { images: images.map((i) => view(i, l)), ...nextLinks('images', `${base}${path.slice('/v2.1'.length)}`, request.query, images) };
    });
  }
  app.get('/v2.1/images/:id', { schema: { params: ProxyIdParams, querystring: ProxyQuery } }, async (request) => {
    servedUntil(request);
    return { image: imageView(await proxies.show(contextOf(request), request.params.id), l) };
  });
  app.delete('/v2.1/images/:id', { schema: { params: ProxyIdParams } }, async (request, reply) => {
    servedUntil(request);
    await proxies.delete(contextOf(request), request.params.id);
    reply.code(204).send();
  });

  const metaServed = (request: Parameters<typeof servedUntil>[0]) => servedUntil(request, WITHOUT_IMAGE_METADATA);
  app.get('/v2.1/images/:image_id/metadata', { schema: { params: ImageIdParams, querystring: ProxyQuery } }, async (request) => {
    metaServed(request);
    return { metadata: await proxies.metadata(contextOf(request), request.params.image_id) };
  });
  app.post('/v2.1/images/:image_id/metadata', { schema: { params: ImageIdParams, body: ImageMetadataBody } }, async (request) => {
    metaServed(request);
    return { metadata: await proxies.setMetadata(contextOf(request), request.params.image_id, request.body.metadata, false) };
  });
  app.put('/v2.1/images/:image_id/metadata', { schema: { params: ImageIdParams, body: ImageMetadataBody } }, async (request) => {
    metaServed(request);
    await proxies.setMetadata(contextOf(request), request.params.image_id, request.body.metadata, true);
    return { metadata: request.body.metadata };
  });
  app.get('/v2.1/images/:image_id/metadata/:key', { schema: { params: ImageKeyParams, querystring: ProxyQuery } }, async (request) => {
    metaServed(request);
    const { image_id, key } = request.params;
    return { meta: { [key]: await proxies.metadataItem(contextOf(request), image_id, key) } };
  });
  app.put('/v2.1/images/:image_id/metadata/:key', { schema: { params: ImageKeyParams, body: ImageMetaItemBody } }, async (request) => {
    metaServed(request);
    const { image_id, key } = request.params;
    const meta = request.body.meta;
    if (!Object.hasOwn(meta, key)) throw new BadRequestError('Request body and URI mismatch');
    await proxies.setMetadataItem(contextOf(request), image_id, key, meta[key]!);
    return { meta };
  });
  app.delete('/v2.1/images/:image_id/metadata/:key', { schema: { params: ImageKeyParams } }, async (request, reply) => {
    metaServed(request);
    await proxies.deleteMetadataItem(contextOf(request), request.params.image_id, request.params.key);
    reply.code(204).send();
  });
}
