// Who is asking: the request context every service receives, established once from the token.
// Tenancy rests on this: services scope every query by `projectId` taken from here, never from input.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../errors.ts';
import { allowedByAccessRules, type AccessRule } from './access-rules.ts';

export type Scope =
  | { kind: 'project'; projectId: string; projectName: string; projectDomainId: string; projectDomainName: string }
  | { kind: 'domain'; domainId: string; domainName: string }
  | { kind: 'system' }
  | { kind: 'unscoped' };

export interface RequestContext {
  userId: string;
  userName: string;
  userDomainId: string;
  userDomainName: string;
  scope: Scope;
  /** Effective role names (implied roles expanded). */
  roles: string[];
  auditId: string;
  expiresAt: Date;
  issuedAt: Date;
  methods: string[];
  applicationCredentialId?: string;
  /** The access rules of the application credential the token was made from, when it has any. */
  accessRules?: AccessRule[];
  /** Set when the token is trust-scoped (Keystone's OS-TRUST): whose roles it carries and for whom. */
  trust?: { id: string; trustorId: string; trusteeId: string; impersonation: boolean };
  /** The raw token, so that a service calling another on the caller's behalf can pass it on. */
  token: string;
}

/** Validates a token string and returns its context; throws UnauthorizedError (401) if it is not valid. */
export interface TokenValidator {
  validate(token: string): Promise<RequestContext>;
  /** The same check when it needs no I/O: authenticate() then answers in the request's own turn. */
  validateNow?(token: string): RequestContext;
}

declare module 'fastify' {
  interface FastifyRequest {
    hafenContext?: RequestContext;
  }
}

export function projectIdOf(ctx: RequestContext): string | undefined {
  return ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
}

/** The project a project-scoped request acts in; non-project tokens get 403 where a project is required. */
export function requireProject(ctx: RequestContext): string {
  if (ctx.scope.kind !== 'project') throw new ForbiddenError('This action requires a project-scoped token.');
  return ctx.scope.projectId;
}

/**
 * A context for work the cloud does on its own, with no token (a clean-up after a restart, a seed, a
 * wait condition's signal): a user in a project of the default domain, with these roles, for a minute.
 */
export function internalContext(who: { userId: string; userName?: string; projectId: string; projectName?: string; roles: string[]; auditId: string }): RequestContext {
  const now = Date.now();
  return {
    userId: who.userId,
    userName: who.userName ?? '',
    userDomainId: 'default',
    userDomainName: 'Default',
    scope: { kind: 'project', projectId: who.projectId, projectName: who.projectName ?? '', projectDomainId: 'default', projectDomainName: 'Default' },
    roles: who.roles,
    auditId: who.auditId,
    issuedAt: new Date(now),
    expiresAt: new Date(now + 60_000),
    methods: [],
    token: '',
  };
}

export function isCloudAdmin(ctx: RequestContext): boolean {
  return ctx.roles.includes('admin') && (ctx.scope.kind === 'system' || ctx.scope.kind === 'project' || ctx.scope.kind === 'domain');
}

/**
 * Fastify preHandler (or onRequest) factory: reads X-Auth-Token, validates it and attaches the context.
 * Routes with `config: { public: true }` are skipped. A hook with a callback, not a promise: with a
 * validator that checks tokens without I/O (validateNow) the request goes on in the same turn.
 */
export function authenticate(validator: TokenValidator) {
  const attach = (request: FastifyRequest, ctx: RequestContext): void => {
    if (ctx.accessRules && ctx.accessRules.length > 0) enforceAccessRules(request, ctx.accessRules);
    request.hafenContext = ctx;
  };
  return (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    if (request.is404 || (request.routeOptions.config as { public?: boolean } | undefined)?.public) return done();
    const header = request.headers['x-auth-token'];
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) return done(new UnauthorizedError('The request you have made requires authentication.'));
    if (validator.validateNow) {
      try {
        attach(request, validator.validateNow(token));
      } catch (err) {
        return done(err as Error);
      }
      return done();
    }
    validator.validate(token).then(
      (ctx) => {
        try {
          attach(request, ctx);
        } catch (err) {
          return done(err as Error);
        }
        done();
      },
      (err: Error) => done(err),
    );
  };
}

/**
 * A token limited by access rules serves only the requests they name. The service type is the first
 * segment of the route that answers (each API is mounted under its type: /compute, /image...), the
 * path is what follows it in the request as sent, so anything that does not read the same way
 * (dot segments, doubled slashes) fails to match and is refused.
 */
function enforceAccessRules(request: FastifyRequest, rules: AccessRule[]): void {
  const service = (request.routeOptions.url ?? '').split('/')[1] ?? '';
  const raw = request.url.split('?')[0]!;
  const ok = service !== '' && raw.startsWith(`/${service}/`) && allowedByAccessRules(rules, service, request.method, raw.slice(service.length + 1));
  if (!ok) throw new UnauthorizedError('The request you have made requires authentication.');
}

export function contextOf(request: FastifyRequest): RequestContext {
  if (!request.hafenContext) throw new UnauthorizedError();
  return request.hafenContext;
}
