// The one HTTP listener: request ids, logging, body limits, metrics, /healthz, and the mounting of
// each service under its path prefix with that API's error envelope, 404 and 405 handling.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import pino, { type Bindings, type LogFn } from 'pino';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AjvCompiler } from '@fastify/ajv-compiler';
import { HafenError, MethodNotAllowedError, NotFoundError } from '../errors.ts';
import { plainError, type ErrorRenderer } from './envelopes.ts';
import { createHttpMetrics } from './metrics.ts';
import { readableLogStream, resolveLogFormat, type LogFormat } from '../log.ts';

export type HttpServer = FastifyInstance;

export interface HttpServerOptions {
  logLevel: string;
  maxJsonBodyBytes: number;
  /** JSON lines, readable lines, or text on a terminal and JSON elsewhere (`auto`, the default). */
  logFormat?: LogFormat;
  /** Replaces pino's destination (standard output), e.g. for tests that read the log. */
  logStream?: NodeJS.WritableStream;
}

export function createHttpServer(options: HttpServerOptions): HttpServer {
  const target = options.logStream ?? process.stdout;
  const format = resolveLogFormat(options.logFormat ?? 'auto', target as { isTTY?: boolean });
  const app = Fastify({
    logger:
      format === 'text'
        ? { level: options.logLevel, stream: readableLogStream(target) }
        : options.logStream
          ? { level: options.logLevel, stream: options.logStream }
          : { level: options.logLevel },
    // One record per request, written when it is answered (below), instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify makes a child logger for every request; most requests never log through it (their one
    // record is written from the root logger below), so the child is made on first use only.
    childLoggerFactory: (logger, bindings, opts) => new DeferredChildLogger(logger, bindings, opts) as unknown as FastifyBaseLogger,
    bodyLimit: options.maxJsonBodyBytes,
    genReqId: () => `req-${randomUUID()}`,
    exposeHeadRoutes: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    return503OnClosing: true,
    schemaController: { compilersFactory: { buildValidator: typedBodyValidators() } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Hooks on every request take a callback rather than return a promise: no microtask turn each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-openstack-request-id', request.id);
    done();
  });
  acceptBodylessJson(app);
  const routes: RouteEntry[] = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) routes.push({ method: String(method).toUpperCase(), url: route.url });
  });
  const metrics = createHttpMetrics();
  const logCompletion = completionLog(app.log);
  app.addHook('onResponse', (request, reply, done) => {
    const elapsed = reply.elapsedTime;
    const route = request.is404 ? undefined : request.routeOptions.url;
    metrics.observe(request.method, route ?? 'unmatched', reply.statusCode, elapsed / 1000);
    // The path without its query: query strings can carry secrets (a signal URL's token).
    const q = request.url.indexOf('?');
    logCompletion(String(request.id), request.method, q < 0 ? request.url : request.url.slice(0, q), reply.statusCode, elapsed);
    done();
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.contentType);
    return metrics.render();
  });

  app.setErrorHandler(errorHandler(plainError));
  app.setNotFoundHandler(async (request, reply) => {
    sendError(reply, plainError, new NotFoundError(`No route for ${request.method} ${request.url.split('?')[0]}`));
  });
  return app as unknown as HttpServer;
}

/**
 * Writes a request's completion record, `{"level":30,"time":...,"pid":...,"hostname":...,"reqId":...,
 * "req":{"method":...,"url":...},"res":{"statusCode":...},"responseTime":...,"msg":"request completed"}`:
 * the record pino writes for `root.info({ reqId, req, res, responseTime }, 'request completed')` with
 * Fastify's serializers (the same fields a request's child logger writes), put together directly
 * (a test compares the two), since it is written for every request. A logger that adds to its records
 * (mixin, formatters, hooks, a multistream or transport) gets the record through pino itself.
 */
export function completionLog(root: FastifyBaseLogger): (reqId: string, method: string, url: string, statusCode: number, responseTime: number) => void {
  const logger = root as unknown as Record<symbol, unknown>;
  const sym = pino.symbols;
  const stream = logger[sym.streamSym] as { write(line: string): unknown; [k: symbol]: unknown } | undefined;
  const formatters = logger[sym.formattersSym] as { log?: unknown } | undefined;
  const hooks = logger[sym.hooksSym] as { streamWrite?: unknown } | undefined;
  const plain =
    stream !== undefined &&
    typeof stream.write === 'function' &&
    stream[sym.needsMetadataGsym] !== true &&
    !logger[sym.mixinSym] &&
    !formatters?.log &&
    !hooks?.streamWrite &&
    logger[sym.messageKeySym] === 'msg' &&
    typeof logger[sym.timeSym] === 'function' &&
    typeof (logger[sym.lsCacheSym] as Record<number, string> | undefined)?.[30] === 'string';
  if (!plain) {
    return (reqId, method, url, statusCode, responseTime) =>
      root.info({ reqId, req: { method, url }, res: { statusCode }, responseTime }, 'request completed');
  }
  const info = (logger[sym.lsCacheSym] as Record<number, string>)[30]!;
  const time = logger[sym.timeSym] as () => string;
  return (reqId, method, url, statusCode, responseTime) => {
    if (!(root as unknown as pino.Logger).isLevelEnabled('info')) return;
    stream.write(
      `${info}${time()}${logger[sym.chindingsSym] as string},"reqId":${JSON.stringify(reqId)},"req":{"method":${JSON.stringify(method)},"url":${JSON.stringify(url)}},` +
        `"res":{"statusCode":${statusCode}},"responseTime":${Number.isFinite(responseTime) ? responseTime : null},"msg":"request completed"${logger[sym.endSym] as string}`,
    );
  };
}

/**
 * Route schemas compile with Fastify's own Ajv set-up, except that a JSON body is taken as typed:
 * path and query values are strings and get coerced to the schema's types, but a body's `0` is not
 * `null` and its `"true"` is not `true`, and a property its schema does not allow is refused (400)
 * rather than silently dropped (OpenStack's services check bodies the same way).
 */
function typedBodyValidators() {
  const pool = AjvCompiler();
  return (externalSchemas: Parameters<ReturnType<typeof AjvCompiler>>[0], options: Parameters<ReturnType<typeof AjvCompiler>>[1] = {}) => {
    const customOptions = (options as { customOptions?: Record<string, unknown> }).customOptions ?? {};
    const coercing = pool(externalSchemas, options);
    const typed = pool(externalSchemas, { ...options, customOptions: { ...customOptions, coerceTypes: false, removeAdditional: false } } as typeof options);
    return (route: Parameters<typeof coercing>[0]) => (route.httpPart === 'body' ? typed(route) : coercing(route));
  };
}

type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];

/**
 * A request's logger that becomes a real child logger (with the request id bound) the first time
 * something logs through it: creating pino children costs a few microseconds per request, and most
 * requests only write the record of their completion, from the root logger. A class, so that a
 * request costs one small object and no closures.
 */
class DeferredChildLogger {
  private real: FastifyBaseLogger | undefined;
  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildOptions,
  ) {}
  private get logger(): FastifyBaseLogger {
    return (this.real ??= this.parent.child(this.bindings, this.opts));
  }
  get level(): string {
    return this.real ? this.real.level : (this.opts?.level ?? this.parent.level);
  }
  set level(level: string) {
    this.logger.level = level;
  }
  fatal(...args: Parameters<LogFn>): void {
    this.logger.fatal(...args);
  }
  error(...args: Parameters<LogFn>): void {
    this.logger.error(...args);
  }
  warn(...args: Parameters<LogFn>): void {
    this.logger.warn(...args);
  }
  info(...args: Parameters<LogFn>): void {
    this.logger.info(...args);
  }
  debug(...args: Parameters<LogFn>): void {
    this.logger.debug(...args);
  }
  trace(...args: Parameters<LogFn>): void {
    this.logger.trace(...args);
  }
  silent(...args: Parameters<LogFn>): void {
    this.logger.silent(...args);
  }
  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }
}

export interface RouteEntry {
  method: string;
  url: string;
}
const routeLists = new WeakMap<object, RouteEntry[]>();

/** Every route the server serves (method and URL pattern), for tests that walk the whole API surface. */
export function routesOf(app: HttpServer): readonly RouteEntry[] {
  return routeLists.get(app) ?? [];
}

export interface ServiceMount {
  prefix: string;
  renderError: ErrorRenderer;
  /**
   * The Content-Type of this API's JSON answers, as the OpenStack service spells it. OpenStack's
   * services send `application/json` without a charset (Heat's clients compare it exactly), so that
   * is the default.
   */
  jsonContentType?: string;
  register: (scope: HttpServer) => Promise<void> | void;
}

export const DEFAULT_JSON_CONTENT_TYPE = 'application/json';

/**
 * A request without a body is a request without a body, whatever its Content-Type: Python's HTTP
 * clients send `Content-Type: application/json` with `Content-Length: 0` on a body-less PUT and with
 * no Content-Length at all on GET and DELETE. Such a body parses to `undefined`; routes that need a
 * body say so in their schema (or check), and only they answer 400.
 */
function acceptBodylessJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.length === 0 || /^\s*$/.test(text)) {
      done(null, undefined);
      return;
    }
    parse(request, text, done);
  });
}

/**
 * For a scope whose clients send body-less requests as raw data: python-magnumclient and
 * python-zunclient send DELETE (and magnumclient the CA rotation's PATCH) with
 * `Content-Type: application/octet-stream` and no body. Such a request has no body, not a 415;
 * octet-stream data with content is still refused (415).
 */
export function acceptBodylessOctetStream(scope: FastifyInstance): void {
  scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => {
    if ((body as Buffer).length === 0) done(null, undefined);
    else done(Object.assign(new Error('Unsupported Content-Type: application/octet-stream'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }), undefined);
  });
}

/**
 * Mounts a service's routes under its prefix in an encapsulated scope whose errors, unknown routes
 * and wrong methods are all answered in that service's own envelope.
 */
export async function mountService(app: HttpServer, mount: ServiceMount): Promise<void> {
  await app.register(
    async (scope) => {
      const patterns: { method: string; regex: RegExp }[] = [];
      scope.addHook('onRoute', (route) => {
        const methods = Array.isArray(route.method) ? route.method : [route.method];
        const regex = routeRegex(route.url);
        for (const method of methods) patterns.push({ method: String(method).toUpperCase(), regex });
      });
      const jsonType = mount.jsonContentType ?? DEFAULT_JSON_CONTENT_TYPE;
      scope.addHook('onSend', (_request, reply, payload, done) => {
        const type = reply.getHeader('content-type');
        if (typeof type === 'string' && type !== jsonType && type.startsWith('application/json')) reply.header('content-type', jsonType);
        done(null, payload);
      });
      scope.setErrorHandler(errorHandler(mount.renderError));
      scope.setNotFoundHandler(async (request, reply) => {
        const path = request.url.split('?')[0].replace(/\/+$/, '') || '/';
        const allowed = [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))];
        if (allowed.length > 0) {
          reply.header('allow', allowed.join(', '));
          sendError(reply, mount.renderError, new MethodNotAllowedError(`The method ${request.method} is not allowed for this resource.`));
          return;
        }
        sendError(reply, mount.renderError, new NotFoundError('The resource could not be found.'));
      });
      await mount.register(scope as HttpServer);
    },
    { prefix: mount.prefix },
  );
}

function routeRegex(url: string): RegExp {
  const body = url
    .replace(/\/+$/, '')
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body || ''}/?$`);
}

function errorHandler(render: ErrorRenderer) {
  return (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const hafen = toHafenError(err);
    if (hafen.status >= 500) request.log.error({ err }, 'request failed');
    sendError(reply, render, hafen);
  };
}

export function sendError(reply: FastifyReply, render: ErrorRenderer, err: HafenError): void {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  reply
    .code(err.status)
    .header('content-type', 'application/json; charset=utf-8')
    .send(render({ status: err.status, message: err.message, type: err.name, requestId: String(reply.request.id) }));
}

class HttpError extends HafenError {
  override readonly name: string;
  constructor(readonly status: number, message: string, name: string) {
    super(message);
    this.name = name;
  }
}

/** Maps framework errors (bad JSON, oversize bodies, schema failures) onto domain errors. */
export function toHafenError(err: unknown): HafenError {
  if (err instanceof HafenError) return err;
  const e = err as FastifyError & { validation?: unknown; validationContext?: string };
  if (e.validation) return new HttpError(400, validationMessage(e.validation, e.validationContext ?? 'body', e.message), 'BadRequestError');
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'Request Entity Too Large: the body is larger than the limit.', 'PayloadTooLargeError');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError(415, `Unsupported Content-Type: ${e.message}`, 'UnsupportedMediaTypeError');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, 'The request body must not be empty when Content-Type is application/json.', 'BadRequestError');
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new HttpError(400, e.message, 'BadRequestError');
  }
  if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new HttpError(400, `Malformed JSON in request body: ${e.message}`, 'BadRequestError');
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) return new HttpError(status, e.message, 'BadRequestError');
  return new HttpError(500, 'An unexpected error prevented the server from fulfilling your request.', 'InternalError');
}

type SchemaError = { instancePath?: string; message?: string; keyword?: string; params?: Record<string, unknown> };

/**
 * A schema violation in OpenStack's words: the field as a dotted path (`server.name`, `limit`), and
 * what is wrong with it ("Invalid input for field 'project.name': must NOT have fewer than 1 characters.").
 */
export function validationMessage(validation: unknown, part: string, fallback: string): string {
  const first = Array.isArray(validation) ? (validation[0] as SchemaError | undefined) : undefined;
  if (!first) return `Invalid input for ${part}: ${fallback}`;
  let field = (first.instancePath ?? '').split('/').filter(Boolean).join('.');
  if (first.keyword === 'required' && typeof first.params?.missingProperty === 'string') {
    const missing = first.params.missingProperty;
    return `Invalid input for field '${field ? `${field}.` : ''}${missing}': '${missing}' is a required property.`;
  }
  if (first.keyword === 'additionalProperties' && typeof first.params?.additionalProperty === 'string') {
    return `Invalid input for field '${field || part}': additional property '${first.params.additionalProperty}' is not allowed.`;
  }
  if (!field) field = part === 'body' ? 'request body' : part;
  return `Invalid input for field '${field}': ${first.message ?? fallback}.`;
}
