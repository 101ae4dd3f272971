// What a request may carry at the microversion it asked for: fields Nova added later are refused
// as unknown keys, as Nova's schema of that version refuses them.
import type { FastifyRequest } from 'fastify';
import { atLeast, atMost } from '../../platform/http/microversion.ts';
import { BadRequestError } from '../../platform/errors.ts';

/** 400 for any of `fields` present in `body` before the version that added it. */
export function newerThan(request: FastifyRequest, body: object | undefined | null, fields: Record<string, string>): void {
  if (!body) return;
  for (const [field, since] of Object.entries(fields)) {
    if (Object.hasOwn(body, field) && !atLeast(request, since)) {
      throw new BadRequestError(`Invalid input for field/attribute ${field}. Additional properties are not allowed ('${field}' was unexpected) before microversion ${since}`);
    }
  }
}

/** 400 for any of `fields` present in `body` from the version that removed it on. */
export function removedAt(request: FastifyRequest, body: object | undefined | null, fields: Record<string, string>): void {
  if (!body) return;
  for (const [field, removed] of Object.entries(fields)) {
    // `removed` is the first version without it: present at the one before only.
    const [maj, min] = removed.split('.').map(Number) as [number, number];
    if (Object.hasOwn(body, field) && !atMost(request, `${maj}.${min - 1}`)) {
      throw new BadRequestError(`Invalid input for field/attribute ${field}. Additional properties are not allowed ('${field}' was unexpected) from microversion ${removed}`);
    }
  }
}

/** A route Nova serves only from `since` (or only before `until`): 404 outside, as Nova answers. */
export function servedBetween(request: FastifyRequest, since: string | null, until: string | null): boolean {
  if (since && !atLeast(request, since)) return false;
  if (until) {
    const [maj, min] = until.split('.').map(Number) as [number, number];
    if (!atMost(request, `${maj}.${min - 1}`)) return false;
  }
  return true;
}
