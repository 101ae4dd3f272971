// Nova v2.1 HTTP routes under /compute: version discovery and microversion negotiation here; the
// routes of each resource in a file of their own, each declaring its params, query and body schema.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpServer } from '../../platform/http/server.ts';
import { atLeast, registerMicroversions } from '../../platform/http/microversion.ts';
import type { At } from '../views.ts';
import { adminRoutes } from './admin.ts';
import { authenticate, type TokenValidator } from '../../platform/auth/context.ts';
import type { ComputeService } from '../service.ts';
import { flavorRoutes } from './flavors.ts';
import { hostRoutes } from './hosts.ts';
import { keypairRoutes } from './keypairs.ts';
import { quotaRoutes } from './quotas.ts';
import { serverGroupRoutes } from './server-groups.ts';
import { serverRoutes } from './servers.ts';
import { tagRoutes } from './tags.ts';
import { usageRoutes } from './usage.ts';
import { osHostRoutes } from './os-hosts.ts';
import { proxyRoutes } from './proxies/index.ts';
import { novaValidatorCompiler } from '../validation.ts';
import { volumesBootAlias } from './volumes-boot.ts';

export const MIN_VERSION = '2.1';
export const MAX_VERSION = '2.79';

/** The microversion a request is served at, as the views ask for it. */
export const atOf =
  (request: FastifyRequest): At =>
  (version: string) =>
    atLeast(request, version);

const PUBLIC = { config: { public: true } };

/** What each route file gets: the scope (typed by its schemas), the service and where links point. */
export interface ComputeRoutes {
  app: ComputeScope;
  compute: ComputeService;
  /** `<public URL>/compute/v2.1` */
  base: string;
  publicUrl: string;
}

const typed = (app: HttpServer) => app.withTypeProvider<TypeBoxTypeProvider>();
export type ComputeScope = ReturnType<typeof typed>;

export function computeApi(compute: ComputeService, validator: TokenValidator, publicUrl: string) {
  const base = `${publicUrl}/compute/v2.1`;
  const version = {
    id: 'v2.1',
    status: 'CURRENT',
    version: MAX_VERSION,
    min_version: MIN_VERSION,
    updated: '2013-07-23T11:33:21Z',
    links: [{ rel: 'self', href: `${base}/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  };


  return async (scope: HttpServer) => {
    scope.setValidatorCompiler(novaValidatorCompiler);
    scope.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      reply.header('x-compute-request-id', request.id);
      done();
    });
    registerMicroversions(scope, { service: 'compute', min: MIN_VERSION, max: MAX_VERSION, legacyHeader: 'X-OpenStack-Nova-API-Version', unversionedPaths: ['/'] });
    scope.addHook('preHandler', authenticate(validator));
    const app = typed(scope);

    // Nova answers its version list with 200.
    app.get('/', PUBLIC, async () => ({ versions: [version] }));
    app.get('/v2.1', PUBLIC, async () => ({ version }));
    app.get('/v2.1/extensions', async () => ({ extensions: [] }));

    const routes: ComputeRoutes = { app, compute, base, publicUrl };
    flavorRoutes(routes);
    volumesBootAlias(app);
    serverRoutes(routes);
    tagRoutes(routes);
    keypairRoutes(routes);
    serverGroupRoutes(routes);
    quotaRoutes(routes);
    hostRoutes(routes);
    adminRoutes(routes);
    usageRoutes(routes);
    osHostRoutes(routes);
    proxyRoutes(routes);
  };
}
