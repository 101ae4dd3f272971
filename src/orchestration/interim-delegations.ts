// Delegations kept by orchestration itself until identity serves them on Keystone trusts
// (src/identity/client.ts): the delegated roles are stored here and held against the user's current
// roles in the project every time the delegation is used, so it dies with the user's role.
import { randomBytes } from 'node:crypto';
import type { RequestContext, Scope } from '../platform/auth/context.ts';
import { ForbiddenError } from '../platform/errors.ts';
import type { DelegationClient } from './clients.ts';
import type { OrchestrationStore } from './store.ts';

type ProjectScope = Extract<Scope, { kind: 'project' }>;

/** What the interim delegations ask of identity: a user's roles in a project as they are now. */
export interface CurrentRoles {
  /** Effective role names (implied ones included); [] when the user is gone or disabled. */
  rolesOn(userId: string, scope: ProjectScope): Promise<string[]>;
}

type Trustor = Omit<RequestContext, 'roles' | 'token' | 'issuedAt' | 'expiresAt'> & { scope: ProjectScope };

export class InterimDelegations implements DelegationClient {
  constructor(
    private readonly store: OrchestrationStore,
    private readonly current: CurrentRoles,
  ) {}

  async createDelegation(ctx: RequestContext, opts: { roles?: string[]; expiresAt?: Date }): Promise<{ trustId: string }> {
    if (ctx.scope.kind !== 'project') throw new ForbiddenError('Delegating needs a project-scoped token.');
    const roles = opts.roles ?? ctx.roles;
    const missing = roles.filter((r) => !ctx.roles.includes(r));
    if (missing.length) throw new ForbiddenError(`Cannot delegate roles the caller does not hold: ${missing.join(', ')}.`);
    const trustor: Trustor = {
      userId: ctx.userId,
      userName: ctx.userName,
      userDomainId: ctx.userDomainId,
      userDomainName: ctx.userDomainName,
      scope: ctx.scope,
      auditId: ctx.auditId,
      methods: ctx.methods,
      ...(ctx.applicationCredentialId ? { applicationCredentialId: ctx.applicationCredentialId } : {}),
    };
    const id = randomBytes(16).toString('hex');
    await this.store.insertDelegation({
      id,
      user_id: ctx.userId,
      context: JSON.stringify(trustor),
      roles: JSON.stringify(roles),
      expires_at: opts.expiresAt ? opts.expiresAt.toISOString() : null,
      created_at: new Date().toISOString(),
    });
    return { trustId: id };
  }

  async contextOfDelegation(trustId: string): Promise<RequestContext> {
    const row = await this.store.delegation(trustId);
    if (!row) throw new ForbiddenError(`The delegation ${trustId} is gone.`);
    if (row.expires_at && Date.parse(row.expires_at) <= Date.now()) throw new ForbiddenError(`The delegation ${trustId} has expired.`);
    const trustor = JSON.parse(row.context) as Trustor;
    const delegated = JSON.parse(row.roles) as string[];
    const now = await this.current.rolesOn(trustor.userId, trustor.scope);
    const lost = delegated.filter((r) => !now.includes(r));
    if (lost.length) throw new ForbiddenError(`User ${trustor.userName} no longer holds the role${lost.length > 1 ? 's' : ''} ${lost.join(', ')} in project ${trustor.scope.projectName} that the operation acts with.`);
    return { ...trustor, roles: delegated, token: '', issuedAt: new Date(), expiresAt: row.expires_at ? new Date(row.expires_at) : new Date(Date.now() + 3600_000) };
  }

  async deleteDelegation(trustId: string): Promise<void> {
    await this.store.deleteDelegation(trustId);
  }
}
