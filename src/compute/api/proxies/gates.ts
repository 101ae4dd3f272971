// When a proxy API answers: until 2.36 (404 from then on, as Nova answers a method its version lacks),
// and 410 Gone for the APIs Nova removed.
import type { FastifyRequest } from 'fastify';
import { HafenError, NotFoundError } from '../../../platform/errors.ts';
import { servedBetween } from '../versions.ts';

/** The first microversion without the proxy APIs (Nova's MIN_WITHOUT_PROXY_API_SUPPORT_VERSION). */
export const WITHOUT_PROXIES = '2.36';

/** 404 from `until` on, as Nova answers a method its version does not have. */
export function servedUntil(request: FastifyRequest, until = WITHOUT_PROXIES): void {
  if (!servedBetween(request, null, until)) throw new NotFoundError('The resource could not be found.');
}

/** webob's HTTPGone, as Nova raises it for a removed API. */
export class GoneError extends HafenError {
  override readonly name = 'GoneError';
  readonly status = 410;
  constructor() {
    super('This resource is no longer available.  No forwarding address is given.');
  }
}
