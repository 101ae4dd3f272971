// Glance v2 HTTP routes under /image: version discovery, images, data, tags, actions, members, schemas.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { HttpServer } from '../platform/http/server.ts';
import { authenticate, contextOf, type TokenValidator } from '../platform/auth/context.ts';
import { BadRequestError, NotFoundError, UnsupportedMediaTypeError } from '../platform/errors.ts';
import type { ImageService } from './service.ts';
import { IMPORT_METHODS, type ImageImporter, type ImportTask } from './import.ts';
import type { ImageRow, MemberRow } from './store.ts';
import {
  DataBody,
  ImageCreateBody,
  ImageListQuery,
  ImageParams,
  ImportBody,
  MemberCreateBody,
  MemberParams,
  MemberUpdateBody,
  PatchBody,
  TagParams,
  TaskParams,
  imageSchema,
  imagesSchema,
  memberSchema,
  membersSchema,
  type ImageCreateBodyT,
  type ImageListQueryT,
  type ImportBodyT,
} from './schemas.ts';
import type { Static } from '@sinclair/typebox';
import { metadefApi } from './metadefs/api.ts';
import type { MetadefService } from './metadefs/service.ts';

/** The length a client announced for a data upload, if any. */
function lengthOf(request: FastifyRequest): number | undefined {
  const raw = request.headers['content-length'];
  return raw && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

const PUBLIC = { config: { public: true } };
export const JSON_PATCH = 'application/openstack-images-v2.1-json-patch';
/** The older patch type: operations written `{"replace": "/name", "value": …}` (JSON-patch draft 4). */
export const JSON_PATCH_20 = 'application/openstack-images-v2.0-json-patch';

/** A 2.0 (draft 4) patch in the 2.1 shape: the operation's name is the key that holds its path. */
export function patchFromDraft4(ops: unknown[]): unknown[] {
  return ops.map((op) => {
    if (!op || typeof op !== 'object') return op;
    const found = ['add', 'replace', 'remove'].filter((k) => k in op);
    if (found.length !== 1) throw new BadRequestError('Operation objects must contain exactly one of "add", "remove", "replace".');
    const name = found[0]!;
    const { [name]: path, ...rest } = op as Record<string, unknown>;
    return { ...rest, op: name, path };
  });
}

export function imageView(r: ImageRow) {
  return {
    ...(JSON.parse(r.properties) as Record<string, string>),
    id: r.id,
    name: r.name,
    status: r.status,
    visibility: r.visibility,
    protected: Boolean(r.protected),
    os_hidden: Boolean(r.os_hidden),
    checksum: r.checksum,
    os_hash_algo: r.os_hash_algo,
    os_hash_value: r.os_hash_value,
    owner: r.owner,
    size: r.size,
    virtual_size: null,
    min_ram: r.min_ram,
    min_disk: r.min_disk,
    container_format: r.container_format,
    disk_format: r.disk_format,
    tags: JSON.parse(r.tags) as string[],
    // Read-only, and absent until the data is uploaded (JSON drops undefined).
    docker_image_id: r.docker_image_id ?? undefined,
    created_at: r.created_at.replace(/\.\d{3}Z$/, 'Z'),
    updated_at: r.updated_at.replace(/\.\d{3}Z$/, 'Z'),
    self: `/v2/images/${r.id}`,
    file: `/v2/images/${r.id}/file`,
    schema: '/v2/schemas/image',
  };
}

const memberView = (m: MemberRow) => ({
  image_id: m.image_id,
  member_id: m.member_id,
  status: m.status,
  created_at: m.created_at.replace(/\.\d{3}Z$/, 'Z'),
  updated_at: m.updated_at.replace(/\.\d{3}Z$/, 'Z'),
  schema: '/v2/schemas/member',
});

const SORT_KEYS = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at', 'owner', 'visibility', 'min_ram', 'min_disk'];

function sortImages(rows: ImageRow[], q: ImageListQueryT): ImageRow[] {
  const keys: [string, 'asc' | 'desc'][] = [];
  if (q.sort) {
    for (const part of q.sort.split(',')) {
      const [k, d = 'desc'] = part.split(':');
      keys.push([k!.trim(), d.trim() as 'asc' | 'desc']);
    }
  } else {
    const ks = (q.sort_key ?? 'created_at').split(',');
    const ds = (q.sort_dir ?? 'desc').split(',');
    ks.forEach((k, i) => keys.push([k, (ds[i] ?? ds[0] ?? 'desc') as 'asc' | 'desc']));
  }
  for (const [k, d] of keys) {
    if (!SORT_KEYS.includes(k)) throw new BadRequestError(`Invalid sort key: ${k}. It should be one of the following: ${SORT_KEYS.join(', ')}.`);
    if (d !== 'asc' && d !== 'desc') throw new BadRequestError(`Invalid sort direction: ${d}`);
  }
  if (!keys.some(([k]) => k === 'id')) keys.push(['id', 'desc']);
  return [...rows].sort((a, b) => {
    for (const [k, d] of keys) {
      const av = (a as unknown as Record<string, unknown>)[k] ?? '';
      const bv = (b as unknown as Record<string, unknown>)[k] ?? '';
      const c = typeof av === 'number' && typeof bv === 'number' ? av - bv : String(av).localeCompare(String(bv));
      if (c !== 0) return d === 'asc' ? c : -c;
    }
    return 0;
  });
}

function parseRange(header: string | undefined): { start: number; end?: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) throw new BadRequestError(`Invalid Range header: ${header}`);
  return { start: Number(m[1]), ...(m[2] ? { end: Number(m[2]) } : {}) };
}

export function imageApi(images: ImageService, importer: ImageImporter, validator: TokenValidator, publicUrl: string, metadefs: MetadefService) {
  return async (app: HttpServer) => {
    app.addHook('preHandler', authenticate(validator));
    // A PATCH refused for its media type (by the body parsers, before any handler) says which it takes.
    app.addHook('onSend', async (request, reply) => {
      if (request.method === 'PATCH' && reply.statusCode === 415) reply.header('accept-patch', `${JSON_PATCH}, ${JSON_PATCH_20}`);
    });
    // The server ignores trailing slashes, but `/v2/images/` names an image with an empty id: 404, as in Glance.
    app.addHook('onRequest', async (request) => {
      if ((request.method === 'GET' || request.method === 'DELETE') && /\/v2\/images\/(\?|$)/.test(request.url)) {
        throw new NotFoundError('No image found with ID ');
      }
    });
    // Image data is streamed straight through: never parsed, never held in memory.
    app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    app.addContentTypeParser([JSON_PATCH, JSON_PATCH_20], { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (err) {
        done(new BadRequestError(`Malformed JSON in request body: ${(err as Error).message}`), undefined);
      }
    });

    const versions = [
      { id: 'v2.9', status: 'CURRENT' },
      ...['2.8', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'].map((v) => ({ id: `v${v}`, status: 'SUPPORTED' })),
    ].map((v) => ({ ...v, links: [{ rel: 'self', href: `${publicUrl}/image/v2/` }] }));
    app.get('/', PUBLIC, async (_req, reply) => reply.code(300).send({ versions }));
    app.get('/versions', PUBLIC, async () => ({ versions }));

    app.get('/v2/schemas/image', async () => imageSchema);
    app.get('/v2/schemas/images', async () => imagesSchema);
    app.get('/v2/schemas/member', async () => memberSchema);
    metadefApi(metadefs)(app);
    app.get('/v2/schemas/members', async () => membersSchema);

    type Id = { Params: Static<typeof ImageParams> };
    const byId = { schema: { params: ImageParams } };

    app.post<{ Body: ImageCreateBodyT }>('/v2/images', { schema: { body: ImageCreateBody } }, async (request, reply) => {
      const row = await images.create(contextOf(request), request.body);
      reply.code(201).header('location', `${publicUrl}/image/v2/images/${row.id}`);
      return imageView(row);
    });

    app.get<{ Querystring: ImageListQueryT }>('/v2/images', { schema: { querystring: ImageListQuery } }, async (request) => {
      const q = request.query;
      let rows = sortImages(await images.list(contextOf(request), q), q);
      if (q.marker) {
        const i = rows.findIndex((r) => r.id === q.marker);
        if (i < 0) throw new BadRequestError(`marker ${q.marker} could not be found.`);
        rows = rows.slice(i + 1);
      }
      const page = rows.slice(0, Math.min(q.limit ?? 25, 1000));
      const query = Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)]));
      const next = rows.length > page.length && page.length > 0
        ? `/v2/images?${new URLSearchParams({ ...query, marker: page[page.length - 1]!.id }).toString()}`
        : undefined;
      return { images: page.map(imageView), first: '/v2/images', schema: '/v2/schemas/images', ...(next ? { next } : {}) };
    });

    app.get<Id>('/v2/images/:id', byId, async (request) => imageView(await images.find(contextOf(request), request.params.id)));

    app.patch<Id & { Body: Static<typeof PatchBody> }>('/v2/images/:id', { schema: { params: ImageParams, body: PatchBody } }, async (request, reply) => {
      const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== JSON_PATCH && type !== JSON_PATCH_20) {
        reply.header('accept-patch', `${JSON_PATCH}, ${JSON_PATCH_20}`);
        throw new UnsupportedPatch(type);
      }
      const ops = type === JSON_PATCH_20 ? patchFromDraft4(request.body) : request.body;
      return imageView(await images.patch(contextOf(request), request.params.id, ops));
    });

    app.delete<Id>('/v2/images/:id', byId, async (request, reply) => {
      await images.delete(contextOf(request), request.params.id);
      reply.code(204).send();
    });

    app.put<Id>('/v2/images/:id/file', { schema: { params: ImageParams, body: DataBody } }, async (request, reply) => {
      const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== 'application/octet-stream') throw new UnsupportedUpload(type);
      await closeOnRefusal(request, reply, images.upload(contextOf(request), request.params.id, request.body as Readable, lengthOf(request)));
      reply.code(204).send();
    });

    app.get<Id>('/v2/images/:id/file', byId, async (request, reply) => {
      const result = await images.download(contextOf(request), request.params.id, parseRange(request.headers.range));
      if (!result.stream) return reply.code(204).send();
      const partial = request.headers.range !== undefined;
      reply
        .code(partial ? 206 : 200)
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(result.end - result.start + 1));
      if (result.row.checksum && !partial) reply.header('content-md5', result.row.checksum);
      if (partial) reply.header('content-range', `bytes ${result.start}-${result.end}/${result.total}`);
      return reply.send(result.stream);
    });

    type Tag = { Params: Static<typeof TagParams> };
    app.put<Tag>('/v2/images/:id/tags/:tag', { schema: { params: TagParams } }, async (request, reply) => {
      await images.setTag(contextOf(request), request.params.id, request.params.tag, true);
      reply.code(204).send();
    });
    app.delete<Tag>('/v2/images/:id/tags/:tag', { schema: { params: TagParams } }, async (request, reply) => {
      await images.setTag(contextOf(request), request.params.id, request.params.tag, false);
      reply.code(204).send();
    });
    app.post<Id>('/v2/images/:id/actions/deactivate', byId, async (request, reply) => {
      await images.setActive(contextOf(request), request.params.id, false);
      reply.code(204).send();
    });
    app.post<Id>('/v2/images/:id/actions/reactivate', byId, async (request, reply) => {
      await images.setActive(contextOf(request), request.params.id, true);
      reply.code(204).send();
    });

    const taskView = (t: ImportTask) => ({
      id: t.id,
      type: t.type,
      status: t.status,
      owner: t.owner,
      image_id: t.image_id,
      message: t.message,
      input: { image_id: t.image_id, import_req: { method: { name: t.method } } },
      result: { image_id: t.image_id, bytes_done: t.bytes_done, bytes_total: t.bytes_total },
      created_at: t.created_at,
      updated_at: t.updated_at,
      self: `/v2/tasks/${t.id}`,
      schema: '/v2/schemas/task',
    });
    app.get('/v2/info/import', async () => ({
      'import-methods': { description: 'Import methods available.', type: 'array', value: [...IMPORT_METHODS] },
    }));
    app.put<Id>('/v2/images/:id/stage', { schema: { params: ImageParams, body: DataBody } }, async (request, reply) => {
      const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== 'application/octet-stream') throw new UnsupportedUpload(type);
      await closeOnRefusal(request, reply, importer.stage(contextOf(request), request.params.id, request.body as Readable, lengthOf(request)));
      reply.code(204).send();
    });
    app.post<Id & { Body: ImportBodyT }>('/v2/images/:id/import', { schema: { params: ImageParams, body: ImportBody } }, async (request, reply) => {
      const task = await importer.start(contextOf(request), request.params.id, request.body);
      reply.code(202).header('openstack-image-import-task-id', task.id);
      return {};
    });
    app.get<{ Params: Static<typeof TaskParams> }>('/v2/tasks/:id', { schema: { params: TaskParams } }, async (request) => taskView(importer.task(contextOf(request), request.params.id)));
    app.get<Id>('/v2/images/:id/tasks', byId, async (request) => {
      await images.find(contextOf(request), request.params.id);
      return { tasks: importer.tasksOf(contextOf(request), request.params.id).map(taskView) };
    });

    type Member = { Params: Static<typeof MemberParams> };
    app.post<Id & { Body: Static<typeof MemberCreateBody> }>('/v2/images/:id/members', { schema: { params: ImageParams, body: MemberCreateBody } }, async (request) =>
      memberView(await images.addMember(contextOf(request), request.params.id, request.body.member)),
    );
    app.get<Id>('/v2/images/:id/members', byId, async (request) => ({
      members: (await images.members(contextOf(request), request.params.id)).map(memberView),
      schema: '/v2/schemas/members',
    }));
    app.get<Member>('/v2/images/:id/members/:member', { schema: { params: MemberParams } }, async (request) =>
      memberView(await images.member(contextOf(request), request.params.id, request.params.member)),
    );
    app.put<Member & { Body: Static<typeof MemberUpdateBody> }>('/v2/images/:id/members/:member', { schema: { params: MemberParams, body: MemberUpdateBody } }, async (request) =>
      memberView(await images.updateMember(contextOf(request), request.params.id, request.params.member, request.body.status as MemberRow['status'])),
    );
    app.delete<Member>('/v2/images/:id/members/:member', { schema: { params: MemberParams } }, async (request, reply) => {
      await images.removeMember(contextOf(request), request.params.id, request.params.member);
      reply.code(204).send();
    });
  };
}


/**
 * Data refused before the client finished sending it (over quota, not an archive): the answer closes
 * the connection, so a client streaming on is cut off instead of being read to the end.
 */
async function closeOnRefusal<T>(request: FastifyRequest, reply: FastifyReply, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (!request.raw.complete) reply.header('connection', 'close');
    throw err;
  }
}

class UnsupportedPatch extends UnsupportedMediaTypeError {
  constructor(type: string) {
    super(`Unsupported Content-Type ${type || '(none)'} for PATCH: use ${JSON_PATCH} or ${JSON_PATCH_20}.`);
  }
}

class UnsupportedUpload extends UnsupportedMediaTypeError {
  constructor(type: string) {
    super(`Unsupported Content-Type ${type || '(none)'} for image data: use application/octet-stream.`);
  }
}
