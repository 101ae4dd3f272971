// Application credentials: a user delegates a subset of its roles on one project to a named
// secret that can log in without the user's password.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError } from '../platform/errors.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import type { IdentityService } from './service.ts';
import { str } from './service.ts';
import { newId, type AccessRuleRow, type AppCredentialRow, type RoleRow, type UserRow } from './store.ts';
import type { AccessRule } from '../platform/auth/access-rules.ts';
import type { AccessRuleInput } from './schemas.ts';
import type { AppCredentialAuthenticator, AppCredentialRef } from './authenticators.ts';
import { keystoneMicros } from './views.ts';

export type { AccessRule };

const INVALID = 'The request you have made requires authentication.';

/*
 * Secrets hafen generates carry 384 bits of randomness, so a single SHA-256 is as strong as any slow
 * hash against guessing and keeps app-credential logins fast; a secret the user chose may be weak
 * and gets the slow password hash.
 */
function fastHash(secret: string): string {
  return `sha256$${createHash('sha256').update(secret).digest('base64')}`;
}

async function verifySecret(secret: string, stored: string): Promise<boolean> {
  if (stored.startsWith('sha256$')) {
    const a = Buffer.from(fastHash(secret));
    const b = Buffer.from(stored);
    return a.length === b.length && timingSafeEqual(a, b);
  }
  return verifyPassword(secret, stored);
}

export class AppCredentials implements AppCredentialAuthenticator {
  constructor(private readonly identity: IdentityService, private readonly config: Config) {}

  async authenticate(ref: AppCredentialRef | undefined): Promise<{
    user: UserRow;
    appCred: { id: string; projectId: string; roleIds: string[] | null; accessRules?: AccessRule[] };
  }> {
    if (!ref || typeof ref !== 'object' || typeof ref.secret !== 'string') {
      throw new BadRequestError("Invalid input for field 'identity.application_credential.secret': a secret is required.");
    }
    const store = this.identity.store;
    let row: AppCredentialRow | undefined;
    if (ref.id) {
      row = await store.get<AppCredentialRow>('identity_app_credentials', String(ref.id));
    } else if (ref.name) {
      const user = await this.identity.tokens.resolveUser(ref.user);
      row = user ? (await store.list<AppCredentialRow>('identity_app_credentials', { user_id: user.id, name: String(ref.name) }))[0] : undefined;
    } else {
      throw new BadRequestError("Invalid input for field 'identity.application_credential': an id or a name and user are required.");
    }
    if (!row || !(await verifySecret(ref.secret, row.secret_hash))) throw new UnauthorizedError(INVALID);
    if (row.expires_at && Date.parse(row.expires_at) <= Date.now()) throw new UnauthorizedError(INVALID);
    const user = await store.get<UserRow>('identity_users', row.user_id);
    if (!user || !user.enabled) throw new UnauthorizedError(INVALID);
    const roleIds = (JSON.parse(row.roles) as { id: string }[]).map((r) => r.id);
    const accessRules = JSON.parse(row.access_rules) as AccessRule[];
    return { user, appCred: { id: row.id, projectId: row.project_id, roleIds, ...(accessRules.length > 0 ? { accessRules } : {}) } };
  }

  async create(ctx: RequestContext, userId: string, body: Record<string, unknown>): Promise<{ row: AppCredentialRow; secret: string }> {
    this.identity.enforce(ctx, 'create_application_credential', { user_id: userId });
    if (ctx.scope.kind !== 'project') throw new ForbiddenError('Application credentials must be created with a project-scoped token.');
    if (ctx.applicationCredentialId) {
      const parent = await this.identity.store.get<AppCredentialRow>('identity_app_credentials', ctx.applicationCredentialId);
      if (!parent?.unrestricted) throw new ForbiddenError('A restricted application credential cannot create another one.');
    }
    const projectId = ctx.scope.projectId;
    const name = str(body, 'name', 'application_credential', { required: true })!;
    const given = str(body, 'secret', 'application_credential', { max: 4096 });
    const secret = given ?? randomBytes(48).toString('base64url');
    const expiresRaw = body.expires_at;
    let expiresAt: string | null = null;
    if (expiresRaw !== undefined && expiresRaw !== null) {
      const t = typeof expiresRaw === 'string' ? Date.parse(expiresRaw.endsWith('Z') || /[+-]\d\d:?\d\d$/.test(expiresRaw) ? expiresRaw : `${expiresRaw}Z`) : NaN;
      if (Number.isNaN(t)) throw new BadRequestError("Invalid input for field 'application_credential.expires_at': not a date-time.");
      if (t <= Date.now()) throw new BadRequestError("Invalid input for field 'application_credential.expires_at': must be in the future.");
      expiresAt = utcMicros(expiresRaw as string) ?? new Date(t).toISOString();
    }
    const unrestricted = body.unrestricted ?? false;
    if (typeof unrestricted !== 'boolean') throw new BadRequestError("Invalid input for field 'application_credential.unrestricted': not a boolean.");

    // The delegated roles: what the token has on the project, or a subset of it.
    const held = await this.identity.tokens.effectiveRoles(userId, {
      kind: 'project',
      id: projectId,
      name: ctx.scope.projectName,
      domainId: ctx.scope.projectDomainId,
      domainName: ctx.scope.projectDomainName,
    });
    let roles = held;
    if (body.roles !== undefined) {
      if (!Array.isArray(body.roles)) throw new BadRequestError("Invalid input for field 'application_credential.roles': not a list.");
      roles = [];
      for (const r of body.roles as { id?: string; name?: string }[]) {
        const match = held.find((h) => (r?.id && h.id === r.id) || (r?.name && h.name === r.name));
        if (!match) throw new BadRequestError(`Invalid input for field 'application_credential.roles': role ${r?.id ?? r?.name} is not held by the user on project ${projectId}.`);
        roles.push(match);
      }
      // Roles implied by a delegated role come with it.
      roles = await this.identity.tokens.expandImplied(new Set(roles.map((r) => r.id)));
    }
    const accessRules = await this.resolveAccessRules(userId, body.access_rules);
    const row: AppCredentialRow = {
      id: newId(),
      name,
      user_id: userId,
      project_id: projectId,
      secret_hash: given === undefined ? fastHash(secret) : await hashPassword(secret, this.config.passwordHashCost),
      description: str(body, 'description', 'application_credential', { max: 65535 }) ?? '',
      expires_at: expiresAt,
      unrestricted: unrestricted ? 1 : 0,
      roles: JSON.stringify(roles),
      access_rules: JSON.stringify(accessRules),
      created_at: this.identity.store.timestamp(),
    };
    await this.identity.store.insert('identity_app_credentials', row, 'application credential');
    return { row, secret };
  }

  /**
   * The rules a new credential carries, as Keystone keeps them: a rule given by id must be one of the
   * user's; a rule given by service, method and path is the user's identical rule when there is one,
   * else a new one. Rules outlive the credentials that use them until deleted.
   */
  private async resolveAccessRules(userId: string, raw: unknown): Promise<AccessRule[]> {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) throw new BadRequestError("Invalid input for field 'application_credential.access_rules': not a list.");
    const store = this.identity.store;
    const out: AccessRule[] = [];
    for (const given of raw as AccessRuleInput[]) {
      let row: AccessRuleRow | undefined;
      if (given.id !== undefined) {
        row = await store.get<AccessRuleRow>('identity_access_rules', given.id);
        if (!row || row.user_id !== userId) throw new NotFoundError(`Could not find access rule: ${given.id}.`);
        if ((given.service ?? row.service) !== row.service || (given.method ?? row.method) !== row.method || (given.path ?? row.path) !== row.path) {
          throw new BadRequestError(`Invalid input for field 'application_credential.access_rules': access rule ${given.id} is not the one described.`);
        }
      } else {
        if (given.service === undefined || given.method === undefined || given.path === undefined) {
          throw new BadRequestError("Invalid input for field 'application_credential.access_rules': each rule needs an id, or a service, method and path.");
        }
        const key = { user_id: userId, service: given.service, method: given.method, path: given.path };
        row = (await store.list<AccessRuleRow>('identity_access_rules', key))[0];
        if (!row) {
          row = { id: newId(), ...key };
          await store.insert('identity_access_rules', row, 'access rule').catch(async (err) => {
            // Made meanwhile by another request: use that one.
            const again = (await store.list<AccessRuleRow>('identity_access_rules', key))[0];
            if (!again) throw err;
            row = again;
          });
        }
      }
      if (!out.some((r) => r.id === row!.id)) out.push({ id: row.id, service: row.service, method: row.method, path: row.path });
    }
    return out;
  }

  async listAccessRules(ctx: RequestContext, userId: string, filters: { service?: string; method?: string; path?: string }): Promise<AccessRuleRow[]> {
    this.identity.enforce(ctx, 'list_access_rules', { user_id: userId });
    return this.identity.store.list<AccessRuleRow>('identity_access_rules', { user_id: userId, ...filters }, 'id');
  }

  async getAccessRule(ctx: RequestContext, userId: string, id: string): Promise<AccessRuleRow> {
    const row = await this.identity.store.get<AccessRuleRow>('identity_access_rules', id);
    // Someone else's rule answers like a missing one.
    if (!row || row.user_id !== userId || !this.identity.authorize(ctx, 'get_access_rule', { target: { user: { id: userId } } })) {
      throw new NotFoundError(`Could not find access rule: ${id}.`);
    }
    return row;
  }

  async deleteAccessRule(ctx: RequestContext, userId: string, id: string): Promise<void> {
    await this.getAccessRule(ctx, userId, id);
    this.identity.enforce(ctx, 'delete_access_rule', { target: { user: { id: userId } } });
    for (const cred of await this.identity.store.list<AppCredentialRow>('identity_app_credentials', { user_id: userId })) {
      if ((JSON.parse(cred.access_rules) as AccessRule[]).some((r) => r.id === id)) {
        throw new ForbiddenError(`Cannot delete access rule ${id}: application credential ${cred.id} uses it.`);
      }
    }
    await this.identity.store.remove('identity_access_rules', id);
  }

  async get(ctx: RequestContext, userId: string, id: string): Promise<AppCredentialRow> {
    const row = await this.identity.store.get<AppCredentialRow>('identity_app_credentials', id);
    // Someone else's credential answers like a missing one.
    if (!row || row.user_id !== userId || !this.identity.authorize(ctx, 'get_application_credential', { target: { user: { id: userId } } })) {
      throw new NotFoundError(`Could not find application credential: ${id}.`);
    }
    return row;
  }

  async list(ctx: RequestContext, userId: string, name?: string): Promise<AppCredentialRow[]> {
    this.identity.enforce(ctx, 'list_application_credentials', { user_id: userId });
    return this.identity.store.list<AppCredentialRow>('identity_app_credentials', { user_id: userId, name }, 'name');
  }

  async delete(ctx: RequestContext, userId: string, id: string): Promise<void> {
    await this.get(ctx, userId, id);
    if (ctx.applicationCredentialId && ctx.applicationCredentialId !== id) {
      const parent = await this.identity.store.get<AppCredentialRow>('identity_app_credentials', ctx.applicationCredentialId);
      if (!parent?.unrestricted) throw new ForbiddenError('A restricted application credential cannot delete another one.');
    }
    await this.identity.store.remove('identity_app_credentials', id);
    await this.identity.tokens.revocations.revoke({ appCredId: id });
  }
}

export function appCredentialView(row: AppCredentialRow, base: string, secret?: string) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    user_id: row.user_id,
    project_id: row.project_id,
    // As Keystone writes it: microseconds, no zone (UTC).
    expires_at: row.expires_at ? keystoneMicros(row.expires_at) : null,
    unrestricted: Boolean(row.unrestricted),
    roles: (JSON.parse(row.roles) as RoleRow[]).map((r) => ({ id: r.id, name: r.name, domain_id: null })),
    access_rules: JSON.parse(row.access_rules),
    ...(secret !== undefined ? { secret } : {}),
    links: { self: `${base}/users/${row.user_id}/application_credentials/${row.id}` },
  };
}

/** A UTC time given with up to microseconds, kept to the microsecond ("2031-02-03T04:05:06.123456Z"). */
function utcMicros(raw: string): string | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(?:Z|[+-]00:?00)?$/.exec(raw);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}Z` : undefined;
}
