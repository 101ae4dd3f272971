// Authentication and tokens: turns credentials into signed, self-contained tokens and tokens back
// into request contexts. Validation of a valid token is signature + expiry + in-memory revocation
// look-ups; no database read.
import type { Config } from '../config.ts';
import type { AccessRule } from '../platform/auth/access-rules.ts';
import type { RequestContext, TokenValidator } from '../platform/auth/context.ts';
import { BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError } from '../platform/errors.ts';
import { evictOne } from '../platform/clock-eviction.ts';
import { decoyHash, verifyPassword } from './passwords.ts';
import { RevocationList } from './revocations.ts';
import type { DomainRow, IdentityStore, ProjectRow, UserRow } from './store.ts';
import { TokenCodec, newAuditId, type TokenClaims, type TokenRole, type TokenScopeClaims } from './tokens.ts';
import type { AppCredentialAuthenticator, AuthRequest, TrustAuthenticator } from './authenticators.ts';
import { RoleResolver } from './roles.ts';
import { countsFailures, passwordExpired, passwordExpiresAt, satisfiesMfa } from './password-policy.ts';

export type { AuthRequest } from './authenticators.ts';

/** What authenticating established before scoping. */
interface Authenticated {
  user: UserRow;
  userDomain: DomainRow;
  methods: string[];
  /** For re-scoping by token: the original token's expiry and audit chain carry over. */
  expiresAt?: number;
  parentAuditId?: string;
  appCred?: { id: string; projectId: string; roleIds: string[] | null; accessRules?: AccessRule[] };
}

/** A kept token: its claims, and what has been worked out from them once. */
interface Decoded {
  readonly claims: TokenClaims;
  readonly keyId: number;
  /** Used since the last eviction pass went over it. */
  used: boolean;
  /** The revocation list's version when this token was last found unrevoked (-1: not yet). */
  checkedAt: number;
  /** The request context, made on first use (it is the same for every request of the token, and frozen). */
  context: RequestContext | undefined;
}

const INVALID_CREDENTIALS = 'The request you have made requires authentication.';
/** Decoded tokens kept (each a token string and its claims, about 2 KB). */
const MAX_DECODED = 8192;
const REVOCATION_POLL_MS = 2000;

export class TokenService implements TokenValidator {
  readonly revocations: RevocationList;
  private readonly codec: TokenCodec;
  private decoy: Promise<string> | undefined;
  private readonly decoded = new Map<string, Decoded>();
  private refresher: NodeJS.Timeout | undefined;
  readonly roles: RoleResolver;
  private appCredentials: AppCredentialAuthenticator | undefined;
  private trusts: TrustAuthenticator | undefined;

  constructor(private readonly store: IdentityStore, private readonly config: Config) {
    this.codec = new TokenCodec(config.dataDir);
    this.revocations = new RevocationList(store.db, config.tokenTtlMs);
    this.roles = new RoleResolver(store);
  }

  /** Application credentials register themselves here (see app-credentials.ts). */
  useAppCredentials(auth: AppCredentialAuthenticator): void {
    this.appCredentials = auth;
  }

  /** Trusts register themselves here (see trusts.ts). */
  useTrusts(trusts: TrustAuthenticator): void {
    this.trusts = trusts;
  }

  /** Signs claims made elsewhere in identity (a delegation's context). */
  sign(claims: TokenClaims): string {
    return this.codec.encode(claims);
  }

  /** A token's lifetime from now, capped by `limit` (seconds since the epoch). */
  expiryFrom(nowSec: number, limit?: number): number {
    return Math.min(limit ?? Infinity, nowSec + this.config.tokenTtlMs / 1000);
  }

  async start(): Promise<void> {
    await this.revocations.prune();
    await this.revocations.refresh();
    // Other controllers' revocations arrive through the table.
    this.refresher = setInterval(() => {
      this.revocations.refresh().catch(() => {
        // the database is closing, or briefly away: the next round catches up
      });
    }, REVOCATION_POLL_MS);
    this.refresher.unref();
  }

  stop(): void {
    if (this.refresher) clearInterval(this.refresher);
  }

  // ---- validation

  /**
   * A token's claims: signature and claims checked once per token string and kept (bounded; a kept
   * token used since the last eviction pass gets a second chance, so the least recently used go
   * first); expiry and the signing key still being kept are checked every time.
   */
  private decode(token: string): Decoded {
    const hit = this.decoded.get(token);
    if (hit) {
      if (!(hit.claims.expiresAt * 1000 > Date.now())) throw new UnauthorizedError('The token has expired.');
      if (!this.codec.knowsKey(hit.keyId)) throw new UnauthorizedError('The request you have made requires authentication.');
      hit.used = true;
      return hit;
    }
    const claims = this.codec.decode(token);
    if (this.decoded.size >= MAX_DECODED) evictOne(this.decoded);
    const entry: Decoded = { claims, keyId: Number(token.split('.')[2]), used: false, checkedAt: -1, context: undefined };
    this.decoded.set(token, entry);
    return entry;
  }


  /**
   * Whether a kept token has been revoked: the revocation events are looked up again whenever the
   * list has changed since this token was last found unrevoked (an event only ever adds revocations).
   */
  private revoked(entry: Decoded): boolean {
    const version = this.revocations.version;
    if (entry.checkedAt === version) return false;
    if (this.revocations.isRevoked(entry.claims)) return true;
    entry.checkedAt = version;
    return false;
  }

  /** The context of a valid token, at once (no I/O is involved); UnauthorizedError (401) when not valid. */
  validateNow(token: string): RequestContext {
    const entry = this.decode(token);
    if (this.revoked(entry)) throw new UnauthorizedError('The token has been revoked.');
    return (entry.context ??= contextFromClaims(entry.claims, token));
  }

  async validate(token: string): Promise<RequestContext> {
    return this.validateNow(token);
  }

  /** Validates a token and returns its claims (for GET /v3/auth/tokens); 404 when invalid, as Keystone does. */
  claimsOf(token: string): TokenClaims {
    try {
      const entry = this.decode(token);
      if (this.revoked(entry)) throw new UnauthorizedError();
      return entry.claims;
    } catch (err) {
      if (err instanceof UnauthorizedError) throw new NotFoundError('Could not find token.');
      throw err;
    }
  }

  async revoke(token: string): Promise<void> {
    const claims = await this.claimsOf(token);
    await this.revocations.revoke({ auditId: claims.auditIds[0] });
  }

  // ---- issue

  async issue(req: AuthRequest): Promise<{ token: string; claims: TokenClaims }> {
    const auth = await this.authenticate(req);
    const claims = await this.scope(auth, req.scope);
    return { token: this.codec.encode(claims), claims };
  }

  private async authenticate(req: AuthRequest): Promise<Authenticated> {
    const methods = req.identity?.methods;
    if (!Array.isArray(methods) || methods.length === 0) {
      throw new BadRequestError('Invalid input for field identity/methods: at least one method is required.');
    }
    for (const m of methods) {
      if (!['password', 'token', 'application_credential'].includes(m)) {
        throw new UnauthorizedError(`Attempted to authenticate with an unsupported method: ${m}.`);
      }
    }
    if (methods.length > 1) throw new UnauthorizedError('Authenticating with more than one method is not supported.');
    switch (methods[0]) {
      case 'password':
        return this.byPassword(req.identity.password);
      case 'token':
        return this.byToken(req.identity.token);
      case 'application_credential': {
        if (!this.appCredentials) throw new UnauthorizedError('Application credentials are not enabled.');
        const r = await this.appCredentials.authenticate(req.identity.application_credential);
        const userDomain = await this.activeDomain(r.user.domain_id);
        return { user: r.user, userDomain, methods: ['application_credential'], appCred: r.appCred };
      }
      default:
        throw new UnauthorizedError(INVALID_CREDENTIALS);
    }
  }

  async resolveDomain(ref: { id?: string; name?: string } | undefined): Promise<DomainRow | undefined> {
    if (!ref) return undefined;
    if (ref.id) return this.store.get<DomainRow>('identity_domains', ref.id);
    if (ref.name) return this.store.domainByName(ref.name);
    return undefined;
  }

  /** Finds a user by id or by name within a domain; undefined if there is none. */
  async resolveUser(ref: { id?: string; name?: string; domain?: { id?: string; name?: string } } | undefined): Promise<UserRow | undefined> {
    if (!ref || typeof ref !== 'object') throw new BadRequestError('Invalid input for field identity/password/user: a user is required.');
    if (ref.id) return this.store.get<UserRow>('identity_users', String(ref.id));
    if (!ref.name) throw new BadRequestError('Invalid input for field identity/password/user: a user id or name is required.');
    if (!ref.domain || (!ref.domain.id && !ref.domain.name)) {
      throw new BadRequestError('Invalid input for field user/domain: a user name must be qualified by a domain id or name.');
    }
    const domain = await this.resolveDomain(ref.domain);
    if (!domain) return undefined;
    return this.store.userByName(domain.id, String(ref.name));
  }

  private async byPassword(pw: NonNullable<AuthRequest['identity']['password']> | undefined): Promise<Authenticated> {
    const userRef = pw?.user;
    if (!userRef || typeof userRef.password !== 'string') {
      throw new BadRequestError('Invalid input for field identity/password/user/password: a password is required.');
    }
    const user = await this.checkPassword(await this.resolveUser(userRef), userRef.password);
    if (!user.enabled) throw new UnauthorizedError(INVALID_CREDENTIALS);
    if (passwordExpired(user, this.config)) {
      throw new UnauthorizedError(`The password is expired and needs to be changed for user: ${user.id}.`);
    }
    if (!satisfiesMfa(user, ['password'])) {
      throw new UnauthorizedError(`Insufficient auth methods received for user ${user.id}: the user's multi-factor rules need more than a password.`);
    }
    const userDomain = await this.activeDomain(user.domain_id);
    return { user, userDomain, methods: ['password'] };
  }

  /**
   * The user if `password` is theirs and they are not locked out; 401 otherwise, after the same work
   * whether or not the user exists. Failures count towards the lockout.
   */
  async checkPassword(user: UserRow | undefined, password: string): Promise<UserRow> {
    const locked = user?.locked_until && Date.parse(user.locked_until) > Date.now() && countsFailures(user, this.config);
    // Hash even when the user does not exist so both failures cost (and look) the same.
    const ok = user?.password_hash ? await verifyPassword(password, user.password_hash) : (await verifyPassword(password, await this.decoyHash()), false);
    if (!user || !ok || locked) {
      if (user && !ok && countsFailures(user, this.config)) {
        const failures = user.failed_logins + 1;
        const lockedUntil = failures >= this.config.lockoutAttempts ? new Date(Date.now() + this.config.lockoutDurationMs).toISOString() : null;
        await this.store.recordFailedLogin(user.id, lockedUntil);
      }
      throw new UnauthorizedError(INVALID_CREDENTIALS);
    }
    if (user.failed_logins > 0) await this.store.clearFailedLogins(user.id);
    return user;
  }

  private decoyHash(): Promise<string> {
    this.decoy ??= decoyHash(this.config.passwordHashCost);
    return this.decoy;
  }

  private async byToken(ref: { id?: string } | undefined): Promise<Authenticated> {
    if (!ref?.id || typeof ref.id !== 'string') throw new BadRequestError('Invalid input for field identity/token/id: a token id is required.');
    let claims: TokenClaims;
    try {
      claims = this.codec.decode(ref.id);
    } catch {
      throw new UnauthorizedError(INVALID_CREDENTIALS);
    }
    if (this.revocations.isRevoked(claims)) throw new UnauthorizedError(INVALID_CREDENTIALS);
    if (claims.appCredId) throw new ForbiddenError('An application credential token cannot be used to create another token.');
    if (claims.trust) throw new ForbiddenError('A trust-scoped token cannot be used to create another token.');
    const user = await this.store.get<UserRow>('identity_users', claims.userId);
    if (!user || !user.enabled) throw new UnauthorizedError(INVALID_CREDENTIALS);
    const userDomain = await this.activeDomain(user.domain_id);
    return {
      user,
      userDomain,
      methods: [...new Set([...claims.methods, 'token'])],
      expiresAt: claims.expiresAt,
      parentAuditId: claims.auditIds[0],
    };
  }

  private async activeDomain(domainId: string): Promise<DomainRow> {
    const domain = await this.store.get<DomainRow>('identity_domains', domainId);
    if (!domain || !domain.enabled) throw new UnauthorizedError(INVALID_CREDENTIALS);
    return domain;
  }

  private async scope(auth: Authenticated, scope: AuthRequest['scope']): Promise<TokenClaims> {
    const nowSec = Date.now() / 1000;
    const expiresAt = Math.min(auth.expiresAt ?? Infinity, nowSec + this.config.tokenTtlMs / 1000);
    const auditId = newAuditId();
    const base = {
      userId: auth.user.id,
      userName: auth.user.name,
      userDomainId: auth.userDomain.id,
      userDomainName: auth.userDomain.name,
      methods: auth.methods,
      issuedAt: nowSec,
      expiresAt,
      auditIds: auth.parentAuditId ? [auditId, auth.parentAuditId] : [auditId],
      ...(passwordExpiresAt(auth.user, this.config) ? { passwordExpiresAt: passwordExpiresAt(auth.user, this.config)! } : {}),
      ...(auth.appCred ? { appCredId: auth.appCred.id } : {}),
      ...(auth.appCred?.accessRules?.length ? { accessRules: auth.appCred.accessRules } : {}),
    };
    const trustRef = typeof scope === 'object' && scope !== null ? scope['OS-TRUST:trust'] : undefined;
    if (trustRef !== undefined) {
      if (!this.trusts) throw new UnauthorizedError('Trusts are not enabled.');
      if (auth.appCred) throw new ForbiddenError('An application credential cannot be used to consume a trust.');
      if (!trustRef || typeof trustRef !== 'object' || typeof trustRef.id !== 'string') {
        throw new BadRequestError("Invalid input for field 'scope.OS-TRUST:trust.id': a trust id is required.");
      }
      const t = await this.trusts.scopeOfTrust(trustRef.id, auth.user);
      return {
        ...base,
        userId: t.user.id,
        userName: t.user.name,
        userDomainId: t.userDomain.id,
        userDomainName: t.userDomain.name,
        expiresAt: Math.min(expiresAt, t.expiresAt ?? Infinity),
        passwordExpiresAt: undefined,
        scope: t.scope,
        roles: t.roles,
        trust: t.trust,
      };
    }
    let target: TokenScopeClaims;
    if (auth.appCred) {
      // An application credential is always scoped to the project it was created for.
      target = await this.projectScope({ id: auth.appCred.projectId });
    } else if (scope === undefined || scope === 'unscoped') {
      const defaultProject = scope === undefined && auth.user.default_project_id
        ? await this.store.get<ProjectRow>('identity_projects', auth.user.default_project_id)
        : undefined;
      target = defaultProject && defaultProject.enabled ? await this.projectScope({ id: defaultProject.id }) : { kind: 'unscoped' };
      if (target.kind === 'project' && (await this.effectiveRoles(auth.user.id, target)).length === 0) target = { kind: 'unscoped' };
    } else if (typeof scope !== 'object') {
      throw new BadRequestError('Invalid input for field scope.');
    } else if (scope.project) {
      target = await this.projectScope(scope.project);
    } else if (scope.domain) {
      const domain = await this.resolveDomain(scope.domain);
      if (!domain) throw new UnauthorizedError(INVALID_CREDENTIALS);
      if (!domain.enabled) throw new UnauthorizedError(INVALID_CREDENTIALS);
      target = { kind: 'domain', id: domain.id, name: domain.name };
    } else if (scope.system) {
      if (scope.system.all !== true) throw new BadRequestError('Invalid input for field scope/system: only {"all": true} is supported.');
      target = { kind: 'system' };
    } else {
      throw new BadRequestError('Invalid input for field scope: expected project, domain or system.');
    }
    let roles: TokenRole[] = [];
    if (target.kind !== 'unscoped') {
      roles = await this.effectiveRoles(auth.user.id, target);
      if (auth.appCred?.roleIds) {
        const allowed = new Set(auth.appCred.roleIds);
        roles = roles.filter((r) => allowed.has(r.id));
      }
      if (roles.length === 0) {
        throw new UnauthorizedError(`User ${auth.user.id} has no access to ${target.kind === 'system' ? 'the system' : `${target.kind} ${target.id}`}.`);
      }
    }
    return { ...base, scope: target, roles };
  }

  private async projectScope(ref: { id?: string; name?: string; domain?: { id?: string; name?: string } }): Promise<TokenScopeClaims> {
    let project: ProjectRow | undefined;
    if (ref.id) {
      project = await this.store.get<ProjectRow>('identity_projects', ref.id);
    } else if (ref.name) {
      if (!ref.domain) throw new BadRequestError('Invalid input for field scope/project/domain: a project name must be qualified by a domain.');
      const domain = await this.resolveDomain(ref.domain);
      project = domain ? await this.store.projectByName(domain.id, ref.name) : undefined;
    } else {
      throw new BadRequestError('Invalid input for field scope/project: an id or a name is required.');
    }
    // Unknown, disabled or foreign projects all answer the same: the caller learns nothing.
    if (!project || !project.enabled) throw new UnauthorizedError(INVALID_CREDENTIALS);
    const domain = await this.store.get<DomainRow>('identity_domains', project.domain_id);
    if (!domain || !domain.enabled) throw new UnauthorizedError(INVALID_CREDENTIALS);
    return { kind: 'project', id: project.id, name: project.name, domainId: domain.id, domainName: domain.name };
  }

  /** Roles of a user on a target (see roles.ts). */
  effectiveRoles(userId: string, target: TokenScopeClaims): Promise<TokenRole[]> {
    return this.roles.effectiveRoles(userId, target);
  }

  expandImplied(roleIds: Set<string>): Promise<TokenRole[]> {
    return this.roles.expandImplied(roleIds);
  }
}

export function contextFromClaims(claims: TokenClaims, token: string): RequestContext {
  const s = claims.scope;
  // Frozen: one context serves every request of a token (see TokenService.validateNow).
  return Object.freeze({
    userId: claims.userId,
    userName: claims.userName,
    userDomainId: claims.userDomainId,
    userDomainName: claims.userDomainName,
    scope: Object.freeze(
      s.kind === 'project'
        ? { kind: 'project' as const, projectId: s.id, projectName: s.name, projectDomainId: s.domainId, projectDomainName: s.domainName }
        : s.kind === 'domain'
          ? { kind: 'domain' as const, domainId: s.id, domainName: s.name }
          : { kind: s.kind },
    ),
    roles: Object.freeze(claims.roles.map((r) => r.name)) as string[],
    auditId: claims.auditIds[0],
    issuedAt: new Date(claims.issuedAt * 1000),
    expiresAt: new Date(claims.expiresAt * 1000),
    methods: claims.methods,
    applicationCredentialId: claims.appCredId,
    ...(claims.accessRules ? { accessRules: claims.accessRules } : {}),
    ...(claims.trust ? { trust: claims.trust } : {}),
    token,
  });
}
