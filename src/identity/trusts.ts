// Keystone's trusts (OS-TRUST): a trustor delegates some of its roles on one project to a trustee,
// who gets trust-scoped tokens carrying them for as long as the trustor still holds them.
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../platform/errors.ts';
import type { TrustAuthenticator, TrustScope } from './authenticators.ts';
import type { IdentityService } from './service.ts';
import { newId, type AppCredentialRow, type DomainRow, type ProjectRow, type RoleRow, type TrustRow, type UserRow } from './store.ts';
import type { TokenRole, TokenScopeClaims } from './tokens.ts';

/** Keystone's `[trust] max_redelegation_count` default. */
export const MAX_REDELEGATION_COUNT = 3;

/** A trust as POST /v3/OS-TRUST/trusts takes it (the schema in api-trusts.ts checks the types). */
export interface TrustCreate {
  trustor_user_id: string;
  trustee_user_id: string;
  impersonation: boolean;
  project_id?: string | null;
  roles?: { id?: string; name?: string }[];
  expires_at?: string | null;
  remaining_uses?: number | null;
  allow_redelegation?: boolean | null;
  redelegation_count?: number | null;
}

export type TrustFilter = { trustor_user_id?: string; trustee_user_id?: string };

export class Trusts implements TrustAuthenticator {
  constructor(private readonly identity: IdentityService) {}

  private get store() {
    return this.identity.store;
  }

  /**
   * Creates a trust from the caller (who must be its trustor). A caller acting through a trust
   * redelegates it: the new trust is bounded by its parent (roles, expiry, depth).
   * `internal` is the services' own delegation, which restricted application credentials may make.
   */
  async create(ctx: RequestContext, body: TrustCreate, internal = false): Promise<TrustRow> {
    this.identity.enforce(ctx, 'create_trust', { trust: { trustor_user_id: body.trustor_user_id } });
    if (!internal && ctx.applicationCredentialId) {
      const cred = await this.store.get<AppCredentialRow>('identity_app_credentials', ctx.applicationCredentialId);
      if (!cred?.unrestricted) throw new ForbiddenError("Using method 'application_credential' is not allowed for managing trusts.");
    }
    const projectId = body.project_id ?? null;
    if (projectId && (!body.roles || body.roles.length === 0)) throw new ForbiddenError('At least one role should be specified.');
    if (ctx.userId !== body.trustor_user_id) throw new ForbiddenError('The authenticated user should match the trustor.');
    await this.identity.user(body.trustee_user_id);

    const parent = ctx.trust ? await this.validTrust(ctx.trust.id) : undefined;
    if (ctx.trust && !parent) throw new ForbiddenError('The trust this token acts through is gone.');
    if (parent && (!parent.allow_redelegation || parent.redelegation_count <= 0)) {
      throw new ForbiddenError('The trust this token acts through may not be redelegated.');
    }
    if (parent && projectId !== parent.project_id) throw new ForbiddenError('A redelegated trust must be on the project of the trust it comes from.');

    const roleIds: string[] = [];
    for (const ref of body.roles ?? []) {
      const role = ref.id ? await this.store.get<RoleRow>('identity_roles', ref.id) : ref.name ? await this.store.roleByName(ref.name) : undefined;
      if (!role) throw new NotFoundError(`Could not find role: ${ref.id ?? ref.name ?? ''}.`);
      if (!roleIds.includes(role.id)) roleIds.push(role.id);
    }
    // The trustor (the first one of a redelegation chain) must hold every delegated role on the project.
    if (projectId) {
      const project = await this.store.get<ProjectRow>('identity_projects', projectId);
      if (!project) throw new NotFoundError(`Could not find project: ${projectId}.`);
      const originalTrustor = parent ? (await this.pedigree(parent))[0]!.trustor_user_id : body.trustor_user_id;
      const held = new Set((await this.identity.tokens.roles.effectiveRoles(originalTrustor, await this.projectTarget(project))).map((r) => r.id));
      for (const id of roleIds) if (!held.has(id)) throw new NotFoundError(`Could not find role: ${id}.`);
    } else if (roleIds.length > 0) {
      throw new NotFoundError(`Could not find role: ${roleIds[0]}.`);
    }

    let expiresAt: string | null = null;
    if (body.expires_at !== undefined && body.expires_at !== null) {
      const t = parseTime(body.expires_at);
      if (Number.isNaN(t)) throw new BadRequestError("Invalid input for field 'trust.expires_at': not a date-time.");
      if (t <= Date.now()) throw new BadRequestError("Invalid input for field 'trust.expires_at': the expiration date must be in the future.");
      expiresAt = new Date(t).toISOString();
    }

    const requested = body.redelegation_count ?? null;
    const redelegatable = Boolean(body.allow_redelegation) && requested !== 0;
    let count: number;
    if (!redelegatable) {
      count = 0;
    } else {
      if (requested !== null && requested > MAX_REDELEGATION_COUNT) {
        throw new ForbiddenError(`Requested redelegation depth of ${requested} is greater than allowed ${MAX_REDELEGATION_COUNT}.`);
      }
      if (body.remaining_uses !== undefined && body.remaining_uses !== null) {
        throw new BadRequestError('remaining_uses must not be set if redelegation is allowed.');
      }
      count = requested ?? MAX_REDELEGATION_COUNT;
    }
    if (body.remaining_uses !== undefined && body.remaining_uses !== null && body.remaining_uses <= 0) {
      throw new BadRequestError('remaining_uses must be a positive integer or null.');
    }
    if (parent) {
      const remaining = parent.redelegation_count - 1;
      if (redelegatable && requested !== null && requested !== remaining) {
        throw new ForbiddenError('Modifying "redelegation_count" upon redelegation is forbidden. Omitting this parameter is advised.');
      }
      count = redelegatable ? remaining : 0;
      if (parent.expires_at) {
        if (expiresAt === null) expiresAt = parent.expires_at;
        else if (Date.parse(expiresAt) > Date.parse(parent.expires_at)) {
          throw new ForbiddenError('Requested expiration time is more than redelegated trust can provide.');
        }
      }
      const parentRoles = new Set(JSON.parse(parent.roles) as string[]);
      if (!roleIds.every((id) => parentRoles.has(id))) throw new ForbiddenError('Some of requested roles are not in redelegated trust.');
      if (body.impersonation && !parent.impersonation) throw new ForbiddenError('Impersonation is not allowed by the redelegated trust.');
    }

    const row: TrustRow = {
      id: newId(),
      trustor_user_id: body.trustor_user_id,
      trustee_user_id: body.trustee_user_id,
      project_id: projectId,
      impersonation: body.impersonation ? 1 : 0,
      expires_at: expiresAt,
      remaining_uses: body.remaining_uses ?? null,
      allow_redelegation: redelegatable ? 1 : 0,
      redelegation_count: count,
      redelegated_trust_id: parent?.id ?? null,
      roles: JSON.stringify(roleIds),
      created_at: this.store.timestamp(),
    };
    return this.store.insert('identity_trusts', row, 'trust');
  }

  /** A trust the caller takes part in (or any, for an admin); someone else's answers like a missing one. */
  async get(ctx: RequestContext, id: string, action: 'get_trust' | 'list_roles_for_trust' | 'get_role_for_trust' | 'delete_trust' = 'get_trust'): Promise<TrustRow> {
    const row = await this.validTrust(id);
    if (!row || !this.identity.authorize(ctx, action, { target: { trust: { trustor_user_id: row.trustor_user_id, trustee_user_id: row.trustee_user_id } } })) {
      throw new NotFoundError(`Could not find trust: ${id}.`);
    }
    return row;
  }

  async list(ctx: RequestContext, filter: TrustFilter): Promise<TrustRow[]> {
    if (filter.trustor_user_id) this.identity.enforce(ctx, 'list_trusts_for_trustor', { trust: { trustor_user_id: filter.trustor_user_id } });
    else if (filter.trustee_user_id) this.identity.enforce(ctx, 'list_trusts_for_trustee', { trust: { trustee_user_id: filter.trustee_user_id } });
    else this.identity.enforce(ctx, 'list_trusts');
    const rows = await this.store.list<TrustRow>('identity_trusts', filter, 'created_at');
    const now = Date.now();
    return rows.filter((r) => usable(r, now));
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    await this.get(ctx, id, 'delete_trust');
    if (ctx.applicationCredentialId) {
      const cred = await this.store.get<AppCredentialRow>('identity_app_credentials', ctx.applicationCredentialId);
      if (!cred?.unrestricted) throw new ForbiddenError("Using method 'application_credential' is not allowed for managing trusts.");
    }
    await this.remove(id);
  }

  /** Deletes a trust and every trust redelegated from it, and revokes their tokens. */
  async remove(id: string): Promise<void> {
    const children = await this.store.list<TrustRow>('identity_trusts', { redelegated_trust_id: id });
    for (const c of children) await this.remove(c.id);
    await this.store.remove('identity_trusts', id);
    await this.identity.tokens.revocations.revoke({ trustId: id });
  }

  async rolesOf(row: TrustRow): Promise<RoleRow[]> {
    const roles: RoleRow[] = [];
    for (const id of JSON.parse(row.roles) as string[]) {
      const role = await this.store.get<RoleRow>('identity_roles', id);
      if (role) roles.push(role);
    }
    return roles;
  }

  // ---- trust-scoped tokens

  async scopeOfTrust(trustId: string, trustee: UserRow): Promise<TrustScope> {
    const row = await this.validTrust(trustId);
    if (!row) throw new NotFoundError(`Could not find trust: ${trustId}.`);
    if (row.trustee_user_id !== trustee.id) throw new ForbiddenError('The user is not the trustee of this trust.');
    const chain = await this.pedigree(row);
    // Every trustee up the chain must still be there and enabled.
    for (const t of chain.slice(0, -1)) {
      const agent = await this.store.get<UserRow>('identity_users', t.trustee_user_id);
      if (!agent?.enabled) throw new ForbiddenError('One of the trust agents is disabled or deleted.');
    }
    const trustor = await this.store.get<UserRow>('identity_users', row.trustor_user_id);
    const trustorDomain = trustor ? await this.store.get<DomainRow>('identity_domains', trustor.domain_id) : undefined;
    if (!trustor?.enabled || !trustorDomain?.enabled) throw new ForbiddenError('The trustor is disabled or deleted.');
    const trusteeDomain = await this.store.get<DomainRow>('identity_domains', trustee.domain_id);
    if (!trusteeDomain?.enabled) throw new ForbiddenError('The trustee is disabled or deleted.');

    let scope: TokenScopeClaims = { kind: 'unscoped' };
    let roles: TokenRole[] = [];
    if (row.project_id) {
      const project = await this.store.get<ProjectRow>('identity_projects', row.project_id);
      if (!project?.enabled) throw new ForbiddenError(`The project of trust ${row.id} is disabled or deleted.`);
      scope = await this.projectTarget(project);
      if (scope.kind !== 'project') throw new ForbiddenError(`The project of trust ${row.id} is disabled or deleted.`);
      const delegated = await this.identity.tokens.roles.expandImplied(new Set(JSON.parse(row.roles) as string[]));
      const held = new Set((await this.identity.tokens.roles.effectiveRoles(chain[0]!.trustor_user_id, scope)).map((r) => r.id));
      if (delegated.length === 0 || delegated.some((r) => !held.has(r.id))) throw new ForbiddenError('Trustee has no delegated roles.');
      roles = delegated;
    }
    if (row.remaining_uses !== null && !(await this.store.consumeTrustUse(row.id))) {
      throw new NotFoundError(`Could not find trust: ${trustId}.`);
    }
    const impersonate = Boolean(row.impersonation);
    return {
      user: impersonate ? trustor : trustee,
      userDomain: impersonate ? trustorDomain : trusteeDomain,
      scope,
      roles,
      trust: { id: row.id, trustorId: trustor.id, trusteeId: trustee.id, impersonation: impersonate },
      ...(row.expires_at ? { expiresAt: Date.parse(row.expires_at) / 1000 } : {}),
    };
  }

  /** The trust if it exists, has not expired and has uses left. */
  async validTrust(id: string): Promise<TrustRow | undefined> {
    const row = await this.store.get<TrustRow>('identity_trusts', id);
    return row && usable(row, Date.now()) ? row : undefined;
  }

  /** The chain of trusts from the original one down to `row` (original first). */
  private async pedigree(row: TrustRow): Promise<TrustRow[]> {
    const chain = [row];
    while (chain[0]!.redelegated_trust_id && chain.length <= MAX_REDELEGATION_COUNT + 1) {
      const parent = await this.validTrust(chain[0]!.redelegated_trust_id);
      if (!parent) throw new ForbiddenError('A trust this one was redelegated from is gone.');
      chain.unshift(parent);
    }
    return chain;
  }

  private async projectTarget(project: ProjectRow): Promise<TokenScopeClaims> {
    const domain = await this.store.get<DomainRow>('identity_domains', project.domain_id);
    if (!domain?.enabled) return { kind: 'unscoped' };
    return { kind: 'project', id: project.id, name: project.name, domainId: domain.id, domainName: domain.name };
  }
}

function usable(row: TrustRow, now: number): boolean {
  if (row.expires_at && Date.parse(row.expires_at) <= now) return false;
  if (row.remaining_uses !== null && row.remaining_uses <= 0) return false;
  return true;
}

/** ISO 8601 as Keystone takes it; a time without a zone is UTC. */
export function parseTime(raw: string): number {
  return Date.parse(/[zZ]$|[+-]\d\d:?\d\d$/.test(raw) ? raw : `${raw}Z`);
}
