// Zun v1 HTTP routes under /container: the version document, containers with their actions and
// verbs, container actions, hosts, services, availability zones, quotas, quota classes, registries,
// images and networks. Microversions `container 1.1` to 1.40; every route declares its schemas,
// validated without coercion or silent stripping (Zun refuses unknown fields), errors in Zun's body.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { AjvCompiler } from '@fastify/ajv-compiler';
import { acceptBodylessOctetStream, type HttpServer } from '../platform/http/server.ts';
import { authenticate, contextOf, type TokenValidator } from '../platform/auth/context.ts';
import { NotFoundError } from '../platform/errors.ts';
import { registerMicroversions } from '../platform/http/microversion.ts';
import { handleUpgrades } from '../platform/http/upgrade.ts';
import type { ZunCore } from './core.ts';
import type { ContainerService } from './containers.ts';
import { isTrue } from './containers.ts';
import type { Consoles } from './consoles.ts';
import { ResourceNotFound, ValidationError } from './errors.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { Networking } from './networking.ts';
import type { Verbs } from './verbs.ts';
import type { Quotas } from './quotas.ts';
import type { Registries } from './registries.ts';
import type { Infrastructure } from './infrastructure.ts';
import type { Capsules } from './capsules.ts';
import * as S from './schemas.ts';
import { actionView, eventsView } from './views.ts';

export const MIN_VERSION = '1.1';
export const MAX_VERSION = '1.40';
/** The most a put_archive body may be (a base64 archive of MAX_ARCHIVE_BYTES and some). */
const ARCHIVE_BODY_LIMIT = 24 << 20;
/** The most a create body may be: bind mounts carry up to 4 MiB of file content, base64 in JSON. */
const CREATE_BODY_LIMIT = 8 << 20;

export interface ZunParts {
  core: ZunCore;
  containers: ContainerService;
  lifecycle: Lifecycle;
  verbs: Verbs;
  networking: Networking;
  consoles: Consoles;
  quotas: Quotas;
  registries: Registries;
  infrastructure: Infrastructure;
  capsules: Capsules;
}

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: any }>;

const minor = (request: FastifyRequest) => request.microversion?.minor ?? 1;
const ctx = (request: FastifyRequest) => contextOf(request);

/** Routes a version does not have answer as unknown ones (404), as Zun's version routing does. */
function since(request: FastifyRequest, min: number, max = Infinity): void {
  const m = minor(request);
  if (m < min || m > max) throw new NotFoundError('The resource could not be found.');
}

/** Zun's jsonschema wording for the first thing wrong with a request part. */
function zunValidationMessage(errors: { instancePath?: string; keyword: string; params: Record<string, unknown>; message?: string }[], part: string): string {
  const e = errors[0];
  if (!e) return `Invalid input for ${part}.`;
  if (e.keyword === 'additionalProperties') return `Additional properties are not allowed ('${String(e.params.additionalProperty)}' was unexpected)`;
  const field = (e.instancePath ?? '').split('/').filter(Boolean).join('.') || part;
  if (e.keyword === 'required') return `'${String(e.params.missingProperty)}' is a required property`;
  return `Invalid input for field/attribute ${field}. ${e.message ?? ''}`.trim();
}

export function zunApi(validator: TokenValidator, publicUrl: string, parts: ZunParts) {
  const root = `${publicUrl}/container`;
  const base = `${root}/v1`;
  return async (app: HttpServer) => {
    // Zun validates strictly: no coercion, no silent removal of unknown fields.
    const compile = AjvCompiler()({}, { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } } as never);
    app.setValidatorCompiler((def) => compile(def as never));
    app.setSchemaErrorFormatter((errors, part) => new ValidationError(zunValidationMessage(errors as never, part)));
    registerMicroversions(app, { service: 'container', min: MIN_VERSION, max: MAX_VERSION, announceRange: true, unversionedPaths: ['/'] });
    // python-zunclient sends DELETE without a body as octet-stream.
    acceptBodylessOctetStream(app);
    app.addHook('preHandler', authenticate(validator));
    // The websocket proxy: attach and interactive exec sessions (tokens, not X-Auth-Token).
    handleUpgrades(app, '/container/websocket', (request, socket, head) => parts.consoles.open(request, socket, head));

    const versions = { versions: [{ id: 'v1', links: [{ href: `${base}/`, rel: 'self' }], status: 'CURRENT', min_version: MIN_VERSION, max_version: MAX_VERSION }] };
    app.get('/', { config: { public: true } }, async () => versions);
    app.get('/v1', { config: { public: true } }, async () => {
      const col = (name: string) => [
        { href: `${base}/${name}/`, rel: 'self' },
        { href: `${root}/${name}/`, rel: 'bookmark' },
      ];
      return {
        id: 'v1',
        media_types: [{ base: 'application/json', type: 'application/vnd.openstack.zun.v1+json' }],
        links: [{ href: `${base}/`, rel: 'self' }, { href: 'https://docs.openstack.org/zun/latest/', type: 'text/html', rel: 'describedby' }],
        containers: col('containers'),
        hosts: col('hosts'),
        capsules: col('capsules'),
        images: col('images'),
        services: col('services'),
        availability_zones: col('availability_zones'),
        quotas: col('quotas'),
        quota_classes: col('quota_classes'),
        registries: col('registries'),
        networks: col('networks'),
      };
    });

    const route = <Q extends TSchema, B extends TSchema>(
      method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
      url: string,
      schema: { params?: TSchema; querystring?: Q; body?: B },
      handler: (request: Req, reply: FastifyReply) => Promise<unknown>,
      extra: { bodyLimit?: number } = {},
    ) => app.route({ method, url, schema, handler: handler as never, ...extra });
    const accepted = (reply: FastifyReply, body: unknown = null) => {
      reply.code(202);
      return body === null ? reply.send() : body;
    };
    const noContent = (reply: FastifyReply) => reply.code(204).send();

    // ---- containers
    const C = '/v1/containers';
    const I = `${C}/:ident`;
    const P = { params: S.IdentParams };
    route('GET', C, { querystring: S.ListQuery }, async (r) => {
      const { items, next } = await parts.containers.list(ctx(r), r.query as S.ListQueryT);
      const containers = await Promise.all(items.map((l) => parts.core.view(ctx(r), l)));
      return { containers, ...(next ? { next } : {}) };
    });
    route('POST', C, { querystring: S.CreateQuery, body: S.ContainerCreate }, async (r, reply) => {
      const l = await parts.containers.create(ctx(r), r.body as S.ContainerCreateT, isTrue(r.query.run), minor(r), String(r.id));
      reply.header('location', `${base}/containers/${l.row.uuid}`);
      reply.code(202);
      return parts.core.view(ctx(r), l);
    }, { bodyLimit: CREATE_BODY_LIMIT });
    route('GET', I, { ...P, querystring: S.ShowQuery }, async (r) => parts.core.view(ctx(r), await parts.containers.show(ctx(r), r.params.ident!, isTrue(r.query.all_projects))));
    route('PATCH', I, { ...P, body: S.ContainerUpdate }, async (r) => parts.core.view(ctx(r), await parts.containers.update(ctx(r), r.params.ident!, r.body as S.ContainerUpdateT, String(r.id))));
    route('DELETE', I, { ...P, querystring: S.DeleteQuery }, async (r, reply) => {
      await parts.containers.delete(ctx(r), r.params.ident!, { force: isTrue(r.query.force), stop: isTrue(r.query.stop), allProjects: isTrue(r.query.all_projects) }, minor(r), String(r.id));
      return noContent(reply);
    });
    route('POST', `${I}/rename`, { ...P, querystring: S.RenameQuery }, async (r) => {
      since(r, 1, 13);
      return parts.core.view(ctx(r), await parts.containers.rename(ctx(r), r.params.ident!, r.query.name!));
    });
    route('POST', `${I}/resize_container`, { ...P, body: S.ContainerUpdate }, async (r, reply) => {
      since(r, 19);
      const l = await parts.containers.update(ctx(r), r.params.ident!, r.body as S.ContainerUpdateT, String(r.id));
      return accepted(reply, await parts.core.view(ctx(r), l));
    });

    // ---- lifecycle actions
    for (const verb of ['start', 'pause', 'unpause'] as const) {
      route('POST', `${I}/${verb}`, { ...P, querystring: S.AnyActionQuery }, async (r, reply) => {
        await parts.lifecycle.power(ctx(r), r.params.ident!, verb, String(r.id));
        return accepted(reply);
      });
    }
    for (const verb of ['stop', 'reboot'] as const) {
      route('POST', `${I}/${verb}`, { ...P, querystring: S.TimeoutQuery }, async (r, reply) => {
        await parts.lifecycle.power(ctx(r), r.params.ident!, verb, String(r.id));
        return accepted(reply);
      });
    }
    route('POST', `${I}/kill`, { ...P, querystring: S.KillQuery }, async (r, reply) => {
      await parts.lifecycle.kill(ctx(r), r.params.ident!, r.query.signal, String(r.id));
      return accepted(reply);
    });
    route('POST', `${I}/rebuild`, { ...P, querystring: S.RebuildQuery }, async (r, reply) => {
      await parts.lifecycle.rebuild(ctx(r), r.params.ident!, r.query.image, r.query.image_driver as 'glance' | 'docker' | undefined, String(r.id));
      return accepted(reply);
    });

    // ---- verbs
    route('GET', `${I}/logs`, { ...P, querystring: S.LogsQuery }, async (r, reply) => {
      const stream = await parts.verbs.logs(ctx(r), r.params.ident!, r.query as S.LogsQueryT);
      reply.header('content-type', 'application/json; charset=utf-8');
      return reply.send(stream);
    });
    route('POST', `${I}/execute`, { ...P, querystring: S.ExecuteQuery }, async (r) => {
      const run = r.query.run === undefined ? true : isTrue(r.query.run);
      return parts.verbs.execute(ctx(r), r.params.ident!, r.query.command!, run, isTrue(r.query.interactive));
    });
    route('POST', `${I}/execute_resize`, { ...P, querystring: S.ExecResizeQuery }, async (r) => {
      await parts.verbs.execResize(ctx(r), r.params.ident!, r.query.exec_id!, r.query.h, r.query.w);
      return null;
    });
    // Zun answers the URL as a JSON string (the client reads the body as JSON).
    route('GET', `${I}/attach`, P, async (r, reply) => {
      const url = await parts.verbs.attach(ctx(r), r.params.ident!);
      reply.header('content-type', 'application/json; charset=utf-8');
      return JSON.stringify(url);
    });
    route('POST', `${I}/resize`, { ...P, querystring: S.ResizeQuery }, async (r) => {
      await parts.verbs.resizeTty(ctx(r), r.params.ident!, r.query.h, r.query.w);
      return null;
    });
    route('GET', `${I}/top`, { ...P, querystring: S.TopQuery }, async (r) => parts.verbs.top(ctx(r), r.params.ident!, r.query.ps_args));
    route('GET', `${I}/stats`, P, async (r) => parts.verbs.stats(ctx(r), r.params.ident!));
    route('GET', `${I}/get_archive`, { ...P, querystring: S.ArchivePath }, async (r) => parts.verbs.getArchive(ctx(r), r.params.ident!, r.query.path!, minor(r)));
    route('POST', `${I}/put_archive`, { ...P, querystring: S.ArchivePath, body: S.ArchiveBody }, async (r) => {
      await parts.verbs.putArchive(ctx(r), r.params.ident!, r.query.path!, (r.body as { data: string }).data, minor(r));
      return null;
    }, { bodyLimit: ARCHIVE_BODY_LIMIT });
    route('POST', `${I}/commit`, { ...P, querystring: S.CommitQuery }, async (r, reply) => accepted(reply, await parts.verbs.commit(ctx(r), r.params.ident!, r.query.repository!, r.query.tag, String(r.id))));

    // ---- networks and security groups
    route('POST', `${I}/add_security_group`, { ...P, querystring: S.SecurityGroupQuery }, async (r, reply) => {
      await parts.networking.securityGroup(ctx(r), r.params.ident!, r.query.name!, true, String(r.id));
      return accepted(reply);
    });
    route('POST', `${I}/remove_security_group`, { ...P, querystring: S.SecurityGroupQuery }, async (r, reply) => {
      await parts.networking.securityGroup(ctx(r), r.params.ident!, r.query.name!, false, String(r.id));
      return accepted(reply);
    });
    route('POST', `${I}/network_detach`, { ...P, querystring: S.NetworkDetachQuery }, async (r, reply) => {
      since(r, 6);
      await parts.networking.detach(ctx(r), r.params.ident!, r.query, String(r.id));
      return accepted(reply);
    });
    route('POST', `${I}/network_attach`, { ...P, querystring: S.NetworkAttachQuery }, async (r) => {
      since(r, 8);
      await parts.networking.attach(ctx(r), r.params.ident!, r.query, String(r.id));
      return null;
    });
    route('GET', `${I}/network_list`, P, async (r) => {
      since(r, 13);
      return { networks: await parts.networking.list(ctx(r), r.params.ident!, minor(r)) };
    });

    // ---- capsules
    const K = '/v1/capsules';
    route('GET', K, { querystring: S.CapsuleListQuery }, async (r) => {
      const { items, next } = await parts.capsules.list(ctx(r), r.query as S.CapsuleListQueryT);
      const capsules = await Promise.all(items.map((c) => parts.capsules.view(ctx(r), c, minor(r))));
      return { capsules, ...(next ? { next } : {}) };
    });
    route('POST', K, { body: S.CapsuleCreate }, async (r, reply) => {
      const c = await parts.capsules.create(ctx(r), r.body as S.CapsuleCreateT, String(r.id));
      reply.header('location', `${base}/capsules/${c.uuid}`);
      reply.code(202);
      return parts.capsules.view(ctx(r), c, minor(r));
    });
    route('GET', `${K}/:ident`, { params: S.IdentParams }, async (r) => parts.capsules.view(ctx(r), await parts.capsules.show(ctx(r), r.params.ident!), minor(r)));
    route('DELETE', `${K}/:ident`, { params: S.IdentParams, querystring: S.CapsuleDeleteQuery }, async (r, reply) => {
      await parts.capsules.delete(ctx(r), r.params.ident!, isTrue(r.query.all_projects), String(r.id));
      return noContent(reply);
    });

    // ---- container actions
    route('GET', `${I}/container_actions`, P, async (r) => {
      const row = await parts.core.find(ctx(r), r.params.ident!);
      parts.core.enforce(ctx(r), 'container:actions', { project_id: row.project_id });
      return { containerActions: (await parts.core.store.actions(row.uuid)).map((a) => actionView(a, minor(r) >= 33)) };
    });
    route('GET', `${I}/container_actions/:request_id`, { params: S.ActionParams }, async (r) => {
      const row = await parts.core.find(ctx(r), r.params.ident!);
      parts.core.enforce(ctx(r), 'container:actions', { project_id: row.project_id });
      const a = await parts.core.store.action(row.uuid, r.params.request_id!);
      if (!a) throw new ResourceNotFound('Action', r.params.request_id!);
      return { ...actionView(a, minor(r) >= 33), events: eventsView(a, parts.core.allowed(ctx(r), 'container:action:events')) };
    });

    parts.infrastructure.routes(route, { since, minor, ctx, accepted, noContent });
    registryRoutes(parts, route, { since, ctx, noContent });
    quotaRoutes(parts, route, { since, ctx, noContent });
  };
}

export type RouteFn = <Q extends TSchema, B extends TSchema>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  schema: { params?: TSchema; querystring?: Q; body?: B },
  handler: (request: Req, reply: FastifyReply) => Promise<unknown>,
  extra?: { bodyLimit?: number },
) => unknown;

export interface RouteHelpers {
  since: (request: FastifyRequest, min: number, max?: number) => void;
  minor: (request: FastifyRequest) => number;
  ctx: (request: FastifyRequest) => ReturnType<typeof contextOf>;
  accepted: (reply: FastifyReply, body?: unknown) => unknown;
  noContent: (reply: FastifyReply) => unknown;
}

const RegistryFields = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 2, maxLength: 255, pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$' })),
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  },
  { additionalProperties: false },
);
const RegistryCreate = Type.Object({ registry: Type.Intersect([RegistryFields, Type.Object({ domain: Type.String({ minLength: 1, maxLength: 255 }) })]) }, { additionalProperties: false });
const RegistryUpdate = Type.Object({ registry: RegistryFields }, { additionalProperties: false });
const RegistryList = Type.Object({ all_projects: Type.Optional(S.QueryBoolean), limit: Type.Optional(Type.String({ maxLength: 20 })), marker: Type.Optional(Type.String({ maxLength: 64 })), sort_key: Type.Optional(Type.String({ maxLength: 32 })), sort_dir: Type.Optional(Type.String({ maxLength: 8 })) }, { additionalProperties: false });

function registryRoutes(parts: ZunParts, route: RouteFn, h: Pick<RouteHelpers, 'since' | 'ctx' | 'noContent'>): void {
  const R = '/v1/registries';
  route('GET', R, { querystring: RegistryList }, async (r) => {
    h.since(r, 30);
    const limit = r.query.limit && /^\d+$/.test(r.query.limit) ? Math.min(Number(r.query.limit), 1000) : 1000;
    return { registries: (await parts.registries.list(h.ctx(r), isTrue(r.query.all_projects), limit)).map((x) => parts.registries.view(x)) };
  });
  route('POST', R, { body: RegistryCreate }, async (r, reply) => {
    h.since(r, 30);
    reply.code(201);
    return { registry: parts.registries.view(await parts.registries.create(h.ctx(r), (r.body as { registry: Record<string, string> }).registry)) };
  });
  route('GET', `${R}/:ident`, { params: S.IdentParams, querystring: S.ShowQuery }, async (r) => {
    h.since(r, 30);
    return { registry: parts.registries.view(await parts.registries.show(h.ctx(r), r.params.ident!, isTrue(r.query.all_projects))) };
  });
  route('PATCH', `${R}/:ident`, { params: S.IdentParams, body: RegistryUpdate }, async (r) => {
    h.since(r, 30);
    return { registry: parts.registries.view(await parts.registries.update(h.ctx(r), r.params.ident!, (r.body as { registry: Record<string, string> }).registry)) };
  });
  route('DELETE', `${R}/:ident`, { params: S.IdentParams, querystring: S.ShowQuery }, async (r, reply) => {
    h.since(r, 30);
    await parts.registries.delete(h.ctx(r), r.params.ident!, isTrue(r.query.all_projects));
    return h.noContent(reply);
  });
}

const QuotaBody = Type.Object(
  Object.fromEntries(['containers', 'cpu', 'memory', 'disk'].map((k) => [k, Type.Optional(Type.Union([Type.Integer({ minimum: -1 }), Type.String({ maxLength: 12, pattern: '^-?[0-9]+$' })]))])),
  { additionalProperties: false },
);
const ProjectParams = Type.Object({ project_id: Type.String({ minLength: 1, maxLength: 64 }) });
const ClassParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) });

function quotaRoutes(parts: ZunParts, route: RouteFn, h: Pick<RouteHelpers, 'since' | 'ctx' | 'noContent'>): void {
  route('GET', '/v1/quotas/:project_id', { params: ProjectParams, querystring: Type.Object({ usages: Type.Optional(S.QueryBoolean) }, { additionalProperties: false }) }, async (r) => {
    h.since(r, 26);
    return parts.quotas.show(h.ctx(r), r.params.project_id!, isTrue(r.query.usages));
  });
  route('GET', '/v1/quotas/:project_id/defaults', { params: ProjectParams }, async (r) => {
    h.since(r, 26);
    return parts.quotas.showDefaults(h.ctx(r));
  });
  route('PUT', '/v1/quotas/:project_id', { params: ProjectParams, body: QuotaBody }, async (r) => {
    h.since(r, 26);
    return parts.quotas.update(h.ctx(r), r.params.project_id!, r.body as Record<string, unknown>);
  });
  route('DELETE', '/v1/quotas/:project_id', { params: ProjectParams }, async (r, reply) => {
    h.since(r, 26);
    await parts.quotas.reset(h.ctx(r), r.params.project_id!);
    return h.noContent(reply);
  });
  route('GET', '/v1/quota_classes/:name', { params: ClassParams }, async (r) => {
    h.since(r, 26);
    return parts.quotas.showClass(h.ctx(r), r.params.name!);
  });
  route('PUT', '/v1/quota_classes/:name', { params: ClassParams, body: QuotaBody }, async (r) => {
    h.since(r, 26);
    return parts.quotas.updateClass(h.ctx(r), r.params.name!, r.body as Record<string, unknown>);
  });
}
