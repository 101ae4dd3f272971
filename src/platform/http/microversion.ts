// OpenStack microversions for the APIs that have them (Nova, Zun, Magnum): reads the version a request
// asks for, refuses what the API does not serve, and says on every answer which version it spoke.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, NotAcceptableError } from '../errors.ts';
import type { HttpServer } from './server.ts';

export interface Microversion {
  major: number;
  minor: number;
}

export interface MicroversionOptions {
  /** The service type as the header names it: `OpenStack-API-Version: compute 2.53`. */
  service: string;
  min: string;
  max: string;
  /** An older header that carries the bare version (Nova's `X-OpenStack-Nova-API-Version`). */
  legacyHeader?: string;
  /** Also answer `OpenStack-API-Minimum-Version` and `-Maximum-Version` (Zun, Magnum). */
  announceRange?: boolean;
  /** A header that names only other services is refused with 406 (Magnum) instead of ignored (Nova). */
  refuseOtherServices?: boolean;
  /** Paths (relative to the scope, e.g. `/`) that are answered without negotiation (version documents). */
  unversionedPaths?: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The microversion this request is served at; set by registerMicroversions for its scope. */
    microversion?: Microversion;
  }
}

export function parseMicroversion(text: string): Microversion | undefined {
  const m = /^(\d{1,4})\.(\d{1,4})$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

export function formatMicroversion(v: Microversion): string {
  return `${v.major}.${v.minor}`;
}

export function compareMicroversions(a: Microversion, b: Microversion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

const known = new Map<string, Microversion>();

/** A version the code names (never user input); parsed once. */
function required(text: string): Microversion {
  let v = known.get(text);
  if (!v) {
    v = parseMicroversion(text);
    if (!v) throw new Error(`not a microversion: ${text}`);
    known.set(text, v);
  }
  return v;
}

/**
 * The version the headers ask for: the service's entry of `OpenStack-API-Version` (a comma-separated
 * list of `<service> <version>`), else the legacy header, else none (the minimum is served).
 */
export function requestedMicroversion(
  headers: Record<string, string | string[] | undefined>,
  options: Pick<MicroversionOptions, 'service' | 'legacyHeader' | 'refuseOtherServices'>,
): { text: string } | { otherService: string } | undefined {
  const raw = headers['openstack-api-version'];
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (value !== undefined && value.trim() !== '') {
    let other: string | undefined;
    for (const entry of value.split(',')) {
      const parts = entry.trim().split(/\s+/);
      if (parts.length === 0 || parts[0] === '') continue;
      if (parts[0]!.toLowerCase() === options.service) return { text: parts.slice(1).join(' ') };
      other ??= parts[0];
    }
    if (other !== undefined && options.refuseOtherServices) return { otherService: other };
  }
  if (options.legacyHeader) {
    const legacy = headers[options.legacyHeader.toLowerCase()];
    const text = Array.isArray(legacy) ? legacy[0] : legacy;
    if (text !== undefined && text.trim() !== '') return { text: text.trim() };
  }
  return undefined;
}

/**
 * Negotiates the microversion of every request in `scope` (an encapsulated service scope, so errors are
 * rendered in that API's envelope): no header means the minimum, `latest` the maximum, a malformed
 * version 400, one outside [min, max] 406. Sets `request.microversion` and the response headers.
 */
export function registerMicroversions(scope: HttpServer, options: MicroversionOptions): void {
  const min = required(options.min);
  const max = required(options.max);
  const vary = ['OpenStack-API-Version', ...(options.legacyHeader ? [options.legacyHeader] : [])].join(', ');
  const unversioned = new Set(options.unversionedPaths ?? []);
  const prefix = scope.prefix;

  const answer = (reply: FastifyReply, served: Microversion): void => {
    const text = formatMicroversion(served);
    reply.header('openstack-api-version', `${options.service} ${text}`);
    if (options.legacyHeader) reply.header(options.legacyHeader, text);
    reply.header('vary', vary);
  };

  scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (options.announceRange) {
      reply.header('openstack-api-minimum-version', `${options.service} ${options.min}`);
      reply.header('openstack-api-maximum-version', `${options.service} ${options.max}`);
    }
    const path = request.url.split('?')[0]!.slice(prefix.length) || '/';
    if (unversioned.has(path) || unversioned.has(path.replace(/\/+$/, '') || '/')) {
      request.microversion = min;
      reply.header('vary', vary);
      return;
    }
    const asked = requestedMicroversion(request.headers, options);
    if (asked === undefined) {
      request.microversion = min;
      answer(reply, min);
      return;
    }
    if ('otherService' in asked) {
      answer(reply, min);
      throw new NotAcceptableError(`Invalid service type for OpenStack-API-Version header: ${asked.otherService}`);
    }
    if (asked.text.toLowerCase() === 'latest') {
      request.microversion = max;
      answer(reply, max);
      return;
    }
    const wanted = parseMicroversion(asked.text);
    if (!wanted) {
      answer(reply, min);
      throw new BadRequestError(`Invalid API version request string ${asked.text}`);
    }
    if (compareMicroversions(wanted, min) < 0 || compareMicroversions(wanted, max) > 0) {
      answer(reply, min);
      throw new NotAcceptableError(
        `Version ${asked.text} is not supported by the API. Minimum is ${options.min} and maximum is ${options.max}.`,
      );
    }
    request.microversion = wanted;
    answer(reply, wanted);
  });
}

/** True when the request is served at `version` or later (`atLeast(request, '2.47')`). */
export function atLeast(request: FastifyRequest, version: string): boolean {
  const served = request.microversion;
  if (!served) return false;
  return compareMicroversions(served, required(version)) >= 0;
}

/** True when the request is served at `version` or earlier (fields that a later version drops). */
export function atMost(request: FastifyRequest, version: string): boolean {
  const served = request.microversion;
  if (!served) return true;
  return compareMicroversions(served, required(version)) <= 0;
}
