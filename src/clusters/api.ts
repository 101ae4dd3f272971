// Magnum v1 HTTP routes under /container-infra: version documents, cluster templates, clusters and
// their actions and node groups, certificates, the 2015 names (baymodels, bays), mservices, stats and
// quotas. Microversions as Magnum serves them (`container-infra 1.1` to 1.11).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { acceptBodylessOctetStream, type HttpServer } from '../platform/http/server.ts';
import { authenticate, contextOf, type TokenValidator } from '../platform/auth/context.ts';
import { BadRequestError } from '../platform/errors.ts';
import { registerMicroversions } from '../platform/http/microversion.ts';
import type { Page } from './store.ts';

export const MIN_VERSION = '1.1';
export const MAX_VERSION = '1.11';
/** The service names Magnum accepts in OpenStack-API-Version (all mean container-infra). */
const SERVICE_ALIASES = /\b(container-infrastructure-management|container-infrastructure)\b/gi;

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.String({ maxLength: 20 })),
  marker: Type.Optional(Type.String({ maxLength: 255 })),
  sort_key: Type.Optional(Type.String({ maxLength: 64 })),
  sort_dir: Type.Optional(Type.String({ maxLength: 8 })),
});
export type ListQueryT = Static<typeof ListQuery>;
export const IdentParams = Type.Object({ ident: Type.String({ minLength: 1, maxLength: 255 }) });
/** Bodies are checked attribute by attribute by the services (Magnum's WSME messages), not here. */
export const AnyBody = Type.Unknown();

const MAX_LIMIT = 1000;

/** Magnum's paging parameters: limit > 0 (capped), marker, sort_key among `keys`, sort_dir asc|desc. */
export function pageOf(q: ListQueryT, keys: Record<string, string>): Page {
  let limit: number | undefined;
  if (q.limit !== undefined) {
    if (!/^-?\d+$/.test(q.limit)) throw new BadRequestError(`Invalid input for field/attribute limit. Value: '${q.limit}'. unable to convert to int`);
    limit = Number(q.limit);
    if (limit <= 0) throw new BadRequestError('Limit must be positive');
  }
  const dir = q.sort_dir ?? 'asc';
  if (dir !== 'asc' && dir !== 'desc') throw new BadRequestError(`Invalid sort direction: ${dir}. Acceptable values are 'asc' or 'desc'`);
  const key = q.sort_key ?? 'id';
  const column = keys[key];
  if (!column) throw new BadRequestError(`The sort_key value "${key}" is an invalid field for sorting`);
  return { limit: Math.min(limit ?? MAX_LIMIT, MAX_LIMIT), ...(q.marker ? { marker: q.marker } : {}), sortKey: column, sortDir: dir };
}

/** The `next` link of a page that came back full. */
export function nextLink(base: string, collection: string, rows: { uuid: string }[], page: Page, q: ListQueryT): string | undefined {
  if (page.limit === undefined || rows.length < page.limit || rows.length === 0) return undefined;
  const args = [q.sort_key ? `sort_key=${encodeURIComponent(q.sort_key)}&` : '', q.sort_dir ? `sort_dir=${q.sort_dir}&` : ''].join('');
  return `${base}/${collection}?${args}limit=${page.limit}&marker=${rows[rows.length - 1]!.uuid}`;
}

/** The minor version a request is served at (1.x). */
export function minorOf(request: FastifyRequest): number {
  return request.microversion?.minor ?? 1;
}

export type Route = (app: HttpServer, base: string) => void;

/** The scope's common parts: authentication, microversions, the version documents; then each group of routes. */
export function clustersApi(validator: TokenValidator, publicUrl: string, routes: Route[]) {
  const root = `${publicUrl}/container-infra`;
  const base = `${root}/v1`;
  return async (app: HttpServer) => {
    app.addHook('onRequest', async (request: FastifyRequest) => {
      const h = request.headers['openstack-api-version'];
      if (typeof h === 'string') request.headers['openstack-api-version'] = h.replace(SERVICE_ALIASES, 'container-infra');
    });
    registerMicroversions(app, { service: 'container-infra', min: MIN_VERSION, max: MAX_VERSION, announceRange: true, refuseOtherServices: true, unversionedPaths: ['/'] });
    // python-magnumclient sends DELETE and the CA rotation's PATCH without a body as octet-stream.
    acceptBodylessOctetStream(app);
    app.addHook('preHandler', authenticate(validator));

    const versions = {
      versions: [{ id: 'v1', status: 'CURRENT', min_version: MIN_VERSION, max_version: MAX_VERSION, links: [{ href: `${base}/`, rel: 'self' }] }],
      name: 'OpenStack Magnum API',
      description: 'Magnum is an OpenStack project which aims to provide container cluster management.',
    };
    app.get('/', { config: { public: true } }, async () => versions);
    app.get('/v1', { config: { public: true } }, async () => {
      const col = (name: string) => [
        { href: `${base}/${name}/`, rel: 'self' },
        { href: `${root}/${name}/`, rel: 'bookmark' },
      ];
      return {
        id: 'v1',
        media_types: [{ base: 'application/json', type: 'application/vnd.openstack.magnum.v1+json' }],
        links: [
          { href: `${base}/`, rel: 'self' },
          { href: 'https://docs.openstack.org/magnum/latest/user/', type: 'text/html', rel: 'describedby' },
        ],
        clustertemplates: col('clustertemplates'),
        clusters: col('clusters'),
        quotas: col('quotas'),
        certificates: col('certificates'),
        mservices: col('mservices'),
        stats: col('stats'),
        federations: col('federations'),
        nodegroups: col('nodegroups'),
      };
    });
    for (const r of routes) r(app, base);
  };
}

export function ctxOf(request: FastifyRequest) {
  return contextOf(request);
}

export function accepted(reply: FastifyReply, body: unknown): unknown {
  reply.code(202);
  return body;
}
