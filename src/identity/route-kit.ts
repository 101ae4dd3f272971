// What every identity route module needs: the service, link builders and the request type.
import type { FastifyRequest } from 'fastify';
import { NotFoundError } from '../platform/errors.ts';
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

/** `limit` and `marker` over a list already sorted (the schema has checked `limit`). */
export function paginate<T extends { id: string }>(rows: T[], query: { marker?: string; limit?: number | string }): T[] {
  let out = rows;
  if (query.marker) {
    const i = out.findIndex((r) => r.id === query.marker);
    if (i < 0) throw new NotFoundError(`Could not find marker: ${query.marker}.`);
    out = out.slice(i + 1);
  }
  if (query.limit !== undefined) out = out.slice(0, Number(query.limit));
  return out;
}
