// What other services ask of identity, with no HTTP in between: delegations for deferred work
// (Keystone trusts from the caller to hafen's own service user, as Heat uses Keystone's).
import type { RequestContext } from '../platform/auth/context.ts';
import { ForbiddenError, HafenError, NotFoundError } from '../platform/errors.ts';
import { SERVICE_USER_NAME } from './bootstrap.ts';
import type { IdentityStore, UserRow } from './store.ts';
import { contextFromClaims, type TokenService } from './token-service.ts';
import { newAuditId, type TokenClaims } from './tokens.ts';
import type { Trusts } from './trusts.ts';
import type { Limits } from './limits.ts';

export interface IdentityClient {
  /**
   * A trust from the caller to the cloud's service user (impersonating the caller) of `roles` (role
   * names; default: every role of the caller's token) on the caller's project, until `expiresAt`.
   * Fails with ForbiddenError for a token not scoped to a project or roles the caller does not hold.
   * `redelegation`: how many times a delegation may be made again through this one (a stack's
   * resource whose service makes a stack of its own, as a Magnum cluster does); a delegation made
   * through another one takes what that one has left.
   */
  createDelegation(ctx: RequestContext, opts: { roles?: string[]; expiresAt?: Date; redelegation?: number }): Promise<{ trustId: string }>;
  /**
   * The caller's context as the trust gives it now, with a fresh trust-scoped token: fails with
   * ForbiddenError when the trustor lost a delegated role, was disabled or deleted, or the trust
   * was deleted or expired.
   */
  contextOfDelegation(trustId: string): Promise<RequestContext>;
  /** Deletes the trust and revokes its tokens; idempotent. */
  deleteDelegation(trustId: string): Promise<void>;
  /**
   * The unified limit (Keystone's /v3/limits) on a service type's resource for a project: the
   * project's limit, else its domain's, else the registered default; undefined when none is registered.
   */
  limitOf(projectId: string, serviceType: string, resourceName: string, regionId?: string): Promise<number | undefined>;
}

export function createIdentityClient(store: IdentityStore, tokens: TokenService, trusts: Trusts, limits: Limits): IdentityClient {
  const serviceUser = async (): Promise<UserRow> => {
    const user = await store.userByName('default', SERVICE_USER_NAME);
    if (!user?.enabled) throw new ForbiddenError(`The service user ${SERVICE_USER_NAME} is disabled or deleted: delegations cannot be used.`);
    return user;
  };
  return {
    async createDelegation(ctx, opts) {
      if (ctx.scope.kind !== 'project') throw new ForbiddenError('Delegating needs a project-scoped token.');
      const names = opts.roles ?? ctx.roles;
      const missing = names.filter((r) => !ctx.roles.includes(r));
      if (missing.length > 0) throw new ForbiddenError(`Cannot delegate roles the caller does not hold: ${missing.join(', ')}.`);
      const trustee = await serviceUser();
      try {
        const row = await trusts.create(
          ctx,
          {
            trustor_user_id: ctx.userId,
            trustee_user_id: trustee.id,
            project_id: ctx.scope.projectId,
            impersonation: true,
            roles: names.map((name) => ({ name })),
            expires_at: opts.expiresAt ? opts.expiresAt.toISOString() : null,
            // A delegation made through another one is as deep as that one allows: its count is not asked again.
            ...(opts.redelegation && !ctx.trust ? { allow_redelegation: true, redelegation_count: opts.redelegation } : {}),
          },
          true,
        );
        return { trustId: row.id };
      } catch (err) {
        // A role the token names but the user no longer holds: as good as a forbidden delegation.
        if (err instanceof NotFoundError) throw new ForbiddenError(err.message);
        throw err;
      }
    },

    async contextOfDelegation(trustId) {
      let scoped;
      try {
        scoped = await trusts.scopeOfTrust(trustId, await serviceUser());
      } catch (err) {
        if (err instanceof HafenError && err.status === 404) throw new ForbiddenError(`The delegation ${trustId} is gone or has expired.`);
        throw err;
      }
      const nowSec = Date.now() / 1000;
      const claims: TokenClaims = {
        userId: scoped.user.id,
        userName: scoped.user.name,
        userDomainId: scoped.userDomain.id,
        userDomainName: scoped.userDomain.name,
        methods: ['trust'],
        scope: scoped.scope,
        roles: scoped.roles,
        issuedAt: nowSec,
        expiresAt: tokens.expiryFrom(nowSec, scoped.expiresAt),
        auditIds: [newAuditId()],
        trust: scoped.trust,
      };
      return contextFromClaims(claims, tokens.sign(claims));
    },

    async deleteDelegation(trustId) {
      await trusts.remove(trustId);
    },

    limitOf(projectId, serviceType, resourceName, regionId) {
      return limits.limitOf(projectId, serviceType, resourceName, regionId);
    },
  };
}
