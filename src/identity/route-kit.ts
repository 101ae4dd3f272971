// What every identity route module needs: the service, link builders and the request type.
import type { FastifyRequest } from 'fastify';
import type { IdentityService } from './service.ts';
import type { Links } from './views.ts';

export type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: Record<string, unknown> }>;

export interface RouteKit {
  identity: IdentityService;
  /** The /identity/v3 base URL. */
  base: string;
  links: Links;
  listLinks(request: FastifyRequest): { self: string; previous: null; next: null };
}
