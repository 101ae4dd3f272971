// OpenStack microversions for the APIs that have them (Nova, Zun, Magnum): reads the version a request
// asks for, refuses what the API does not serve, and says on every answer which version it spoke.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, HafenError, NotAcceptableError } from '../errors.ts';
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

  /** A version the scope serves, with the texts of its response headers made once. */
  interface Served {
    version: Microversion;
    header: string;
    text: string;
  }
  const served = (version: Microversion): Served => {
    const text = formatMicroversion(version);
    return { version, header: `${options.service} ${text}`, text };
  };
  const [atMin, atMax] = [served(min), served(max)];
  const answer = (reply: FastifyReply, s: Served): void => {
    reply.header('openstack-api-version', s.header);
    if (options.legacyHeader) reply.header(options.legacyHeader, s.text);
    reply.header('vary', vary);
  };

  // The version each header value asks for, decided once per distinct value (bounded: the values are
  // the client's); a value that is refused is decided again each time (an error object is not shared).
  const decided = new Map<string, Served>();
  const decide = (request: FastifyRequest): Served | HafenError => {
    const asked = requestedMicroversion(request.headers, options);
    if (asked === undefined) return atMin;
    if ('otherService' in asked) return new NotAcceptableError(`Invalid service type for OpenStack-API-Version header: ${asked.otherService}`);
    const known = decided.get(asked.text);
    if (known !== undefined) return known;
    const result = negotiate(asked.text);
    if (result instanceof HafenError) return result;
    if (decided.size >= MAX_DECIDED) decided.clear();
    decided.set(asked.text, result);
    return result;
  };
  const negotiate = (text: string): Served | HafenError => {
    if (text.toLowerCase() === 'latest') return atMax;
    const wanted = parseMicroversion(text);
    if (!wanted) return new BadRequestError(`Invalid API version request string ${text}`);
    if (compareMicroversions(wanted, min) < 0 || compareMicroversions(wanted, max) > 0) {
      return new NotAcceptableError(`Version ${text} is not supported by the API. Minimum is ${options.min} and maximum is ${options.max}.`);
    }
    return served(wanted);
  };

  // A hook with a callback, not a promise: it runs on every request of the API.
  scope.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (options.announceRange) {
      reply.header('openstack-api-minimum-version', `${options.service} ${options.min}`);
      reply.header('openstack-api-maximum-version', `${options.service} ${options.max}`);
    }
    if (unversioned.size > 0) {
      const q = request.url.indexOf('?');
      const path = (q < 0 ? request.url : request.url.slice(0, q)).slice(prefix.length) || '/';
      if (unversioned.has(path) || unversioned.has(path.replace(/\/+$/, '') || '/')) {
        request.microversion = min;
        reply.header('vary', vary);
        return done();
      }
    }
    const result = decide(request);
    if (result instanceof HafenError) {
      answer(reply, atMin);
      return done(result);
    }
    request.microversion = result.version;
    answer(reply, result);
    done();
  });
}

/** How many distinct header values a scope keeps the decision for. */
const MAX_DECIDED = 256;

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
