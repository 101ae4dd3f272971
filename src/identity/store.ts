// Identity's rows: domains, projects, users, groups, roles, assignments and the catalog.
// The store owns its SQL and its migrations; the service above it owns the rules.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/database.ts';
import { isUniqueViolation } from '../platform/db/database.ts';
import { migrate } from '../platform/db/migrations.ts';
import { ConflictError } from '../platform/errors.ts';
import { identityMigrations } from './migrations.ts';

export interface DomainRow {
  id: string;
  name: string;
  description: string;
  enabled: number;
  tags: string;
  created_at: string;
}
export interface ProjectRow {
  id: string;
  name: string;
  domain_id: string;
  parent_id: string | null;
  description: string;
  enabled: number;
  tags: string;
  created_at: string;
}
export interface UserRow {
  id: string;
  name: string;
  domain_id: string;
  enabled: number;
  password_hash: string | null;
  default_project_id: string | null;
  description: string;
  email: string | null;
  failed_logins: number;
  locked_until: string | null;
  password_changed_at: string | null;
  created_at: string;
  /** JSON object of attributes Keystone does not name. */
  extra?: string;
  /** JSON object of Keystone's user options. */
  options?: string;
  password_must_change?: number;
  password_self_service?: number;
}
export interface GroupRow {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  created_at: string;
}
export interface RoleRow {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  created_at: string;
}
export type ActorType = 'user' | 'group';
export type TargetType = 'project' | 'domain' | 'system';
export interface AssignmentRow {
  actor_type: ActorType;
  actor_id: string;
  target_type: TargetType;
  target_id: string;
  role_id: string;
  inherited: number;
}
export interface RegionRow {
  id: string;
  description: string;
  parent_region_id: string | null;
}
export interface ServiceRow {
  id: string;
  type: string;
  name: string;
  description: string;
  enabled: number;
}
export interface EndpointRow {
  id: string;
  service_id: string;
  interface: string;
  url: string;
  region_id: string | null;
  enabled: number;
}
export interface AppCredentialRow {
  id: string;
  name: string;
  user_id: string;
  project_id: string;
  secret_hash: string;
  description: string;
  expires_at: string | null;
  unrestricted: number;
  roles: string;
  access_rules: string;
  created_at: string;
}

export interface AccessRuleRow {
  id: string;
  user_id: string;
  service: string;
  method: string;
  path: string;
}

export interface EndpointGroupRow {
  id: string;
  name: string;
  description: string;
  /** JSON: { interface?, service_id?, region_id? } */
  filters: string;
}

export interface TrustRow {
  id: string;
  trustor_user_id: string;
  trustee_user_id: string;
  project_id: string | null;
  impersonation: number;
  expires_at: string | null;
  remaining_uses: number | null;
  allow_redelegation: number;
  redelegation_count: number;
  redelegated_trust_id: string | null;
  /** JSON list of role ids. */
  roles: string;
  created_at: string;
}

export interface CredentialRow {
  id: string;
  user_id: string;
  project_id: string | null;
  type: string;
  /** Encrypted (credential-keys.ts). */
  blob: string;
  created_at: string;
}
export interface PolicyRow {
  id: string;
  type: string;
  blob: string;
  extra: string;
}
export interface ConsumerRow {
  id: string;
  description: string;
  secret_hash: string;
  created_at: string;
}
export interface RegisteredLimitRow {
  id: string;
  service_id: string;
  region_id: string;
  resource_name: string;
  default_limit: number;
  description: string;
}
export interface LimitRow {
  id: string;
  project_id: string | null;
  domain_id: string | null;
  target_id: string;
  service_id: string;
  region_id: string;
  resource_name: string;
  resource_limit: number;
  description: string;
}

export const newId = (): string => randomUUID().replace(/-/g, '');
const now = (): string => new Date().toISOString();

type Table =
  | 'identity_domains'
  | 'identity_projects'
  | 'identity_users'
  | 'identity_groups'
  | 'identity_roles'
  | 'identity_regions'
  | 'identity_services'
  | 'identity_endpoints'
  | 'identity_app_credentials'
  | 'identity_access_rules'
  | 'identity_endpoint_groups'
  | 'identity_trusts'
  | 'identity_credentials'
  | 'identity_policies'
  | 'identity_consumers'
  | 'identity_registered_limits'
  | 'identity_limits'
  | 'identity_endpoint_groups';

/** Equality filters on a list; undefined values are ignored. */
export type Filters = Record<string, string | number | null | undefined>;

export class IdentityStore {
  private constructor(readonly db: Kysely<any>) {}

  static async create(database: Database): Promise<IdentityStore> {
    await migrate(database, 'identity', identityMigrations);
    return new IdentityStore(database.db);
  }

  // ---- generic row helpers shared by every identity resource

  async get<T>(table: Table, id: string): Promise<T | undefined> {
    return (await this.db.selectFrom(table).selectAll().where('id', '=', id).executeTakeFirst()) as T | undefined;
  }

  async list<T>(table: Table, filters: Filters = {}, orderBy = 'id'): Promise<T[]> {
    let q = this.db.selectFrom(table).selectAll();
    for (const [col, val] of Object.entries(filters)) {
      if (val === undefined) continue;
      q = val === null ? q.where(col, 'is', null) : q.where(col, '=', val);
    }
    return (await q.orderBy(orderBy).execute()) as T[];
  }

  async insert<T extends object>(table: Table, row: T, what: string, db: Kysely<any> = this.db): Promise<T> {
    try {
      await db.insertInto(table).values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Conflict occurred attempting to store ${what} - Duplicate entry.`);
      throw err;
    }
    return row;
  }

  async update(table: Table, id: string, changes: Record<string, unknown>, what: string): Promise<void> {
    if (Object.keys(changes).length === 0) return;
    try {
      await this.db.updateTable(table).set(changes).where('id', '=', id).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Conflict occurred attempting to store ${what} - Duplicate entry.`);
      throw err;
    }
  }

  async remove(table: Table, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom(table).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ---- look-ups by name

  async domainByName(name: string): Promise<DomainRow | undefined> {
    return (await this.db.selectFrom('identity_domains').selectAll().where('name', '=', name).executeTakeFirst()) as any;
  }
  async projectByName(domainId: string, name: string): Promise<ProjectRow | undefined> {
    return (await this.db
      .selectFrom('identity_projects')
      .selectAll()
      .where('domain_id', '=', domainId)
      .where('name', '=', name)
      .executeTakeFirst()) as any;
  }
  async userByName(domainId: string, name: string): Promise<UserRow | undefined> {
    return (await this.db
      .selectFrom('identity_users')
      .selectAll()
      .where('domain_id', '=', domainId)
      .where('name', '=', name)
      .executeTakeFirst()) as any;
  }
  async roleByName(name: string, domainId = ''): Promise<RoleRow | undefined> {
    return (await this.db
      .selectFrom('identity_roles')
      .selectAll()
      .where('domain_id', '=', domainId)
      .where('name', '=', name)
      .executeTakeFirst()) as any;
  }

  // ---- groups

  async groupIdsOfUser(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('identity_group_members').select('group_id').where('user_id', '=', userId).execute();
    return rows.map((r: { group_id: string }) => r.group_id);
  }
  async addGroupMember(groupId: string, userId: string): Promise<void> {
    await this.db
      .insertInto('identity_group_members')
      .values({ group_id: groupId, user_id: userId })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  async removeGroupMember(groupId: string, userId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('identity_group_members')
      .where('group_id', '=', groupId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
  async isGroupMember(groupId: string, userId: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('identity_group_members')
      .select('user_id')
      .where('group_id', '=', groupId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return r !== undefined;
  }
  async membersOfGroup(groupId: string): Promise<UserRow[]> {
    return (await this.db
      .selectFrom('identity_users')
      .innerJoin('identity_group_members', 'identity_group_members.user_id', 'identity_users.id')
      .selectAll('identity_users')
      .where('identity_group_members.group_id', '=', groupId)
      .orderBy('identity_users.name')
      .execute()) as any;
  }
  async groupsOfUser(userId: string): Promise<GroupRow[]> {
    return (await this.db
      .selectFrom('identity_groups')
      .innerJoin('identity_group_members', 'identity_group_members.group_id', 'identity_groups.id')
      .selectAll('identity_groups')
      .where('identity_group_members.user_id', '=', userId)
      .orderBy('identity_groups.name')
      .execute()) as any;
  }

  // ---- role assignments

  async addAssignment(a: AssignmentRow): Promise<void> {
    await this.db.insertInto('identity_assignments').values(a).onConflict((oc) => oc.doNothing()).execute();
  }
  async removeAssignment(a: AssignmentRow): Promise<boolean> {
    const r = await this.db
      .deleteFrom('identity_assignments')
      .where('actor_type', '=', a.actor_type)
      .where('actor_id', '=', a.actor_id)
      .where('target_type', '=', a.target_type)
      .where('target_id', '=', a.target_id)
      .where('role_id', '=', a.role_id)
      .where('inherited', '=', a.inherited)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
  async hasAssignment(a: AssignmentRow): Promise<boolean> {
    const r = await this.db
      .selectFrom('identity_assignments')
      .select('role_id')
      .where('actor_type', '=', a.actor_type)
      .where('actor_id', '=', a.actor_id)
      .where('target_type', '=', a.target_type)
      .where('target_id', '=', a.target_id)
      .where('role_id', '=', a.role_id)
      .where('inherited', '=', a.inherited)
      .executeTakeFirst();
    return r !== undefined;
  }
  async listAssignments(filters: Partial<AssignmentRow> & { actor_ids?: string[]; target_ids?: string[] }): Promise<AssignmentRow[]> {
    let q = this.db.selectFrom('identity_assignments').selectAll();
    for (const col of ['actor_type', 'actor_id', 'target_type', 'target_id', 'role_id', 'inherited'] as const) {
      if (filters[col] !== undefined) q = q.where(col, '=', filters[col]!);
    }
    if (filters.actor_ids) {
      if (filters.actor_ids.length === 0) return [];
      q = q.where('actor_id', 'in', filters.actor_ids);
    }
    if (filters.target_ids) {
      if (filters.target_ids.length === 0) return [];
      q = q.where('target_id', 'in', filters.target_ids);
    }
    return (await q.orderBy('target_id').orderBy('actor_id').orderBy('role_id').execute()) as AssignmentRow[];
  }
  async removeAssignmentsOf(column: 'actor_id' | 'target_id', id: string): Promise<void> {
    await this.db.deleteFrom('identity_assignments').where(column, '=', id).execute();
  }

  async impliedRoleEdges(): Promise<{ prior_role_id: string; implied_role_id: string }[]> {
    return (await this.db.selectFrom('identity_implied_roles').selectAll().execute()) as any;
  }
  async addImpliedRole(priorId: string, impliedId: string): Promise<void> {
    await this.db
      .insertInto('identity_implied_roles')
      .values({ prior_role_id: priorId, implied_role_id: impliedId })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  async removeImpliedRole(priorId: string, impliedId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('identity_implied_roles')
      .where('prior_role_id', '=', priorId)
      .where('implied_role_id', '=', impliedId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async childProjects(parentId: string): Promise<ProjectRow[]> {
    return this.list<ProjectRow>('identity_projects', { parent_id: parentId }, 'name');
  }

  async recordFailedLogin(userId: string, lockedUntil: string | null): Promise<number> {
    const user = await this.get<UserRow>('identity_users', userId);
    const failed = (user?.failed_logins ?? 0) + 1;
    await this.db.updateTable('identity_users').set({ failed_logins: failed, locked_until: lockedUntil }).where('id', '=', userId).execute();
    return failed;
  }
  async clearFailedLogins(userId: string): Promise<void> {
    await this.db.updateTable('identity_users').set({ failed_logins: 0, locked_until: null }).where('id', '=', userId).execute();
  }

  // ---- trusts

  /**
   * Takes one use of a trust with `remaining_uses`, atomically: false when none is left (two
   * controllers consuming the last use at once cannot both succeed).
   */
  async consumeTrustUse(id: string): Promise<boolean> {
    const r = await this.db
      .updateTable('identity_trusts')
      .set((eb: any) => ({ remaining_uses: eb('remaining_uses', '-', 1) }))
      .where('id', '=', id)
      .where('remaining_uses', '>', 0)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Trusts a user takes part in, as trustor or trustee. */
  async trustsOfUser(userId: string): Promise<TrustRow[]> {
    return (await this.db
      .selectFrom('identity_trusts')
      .selectAll()
      .where((eb: any) => eb.or([eb('trustor_user_id', '=', userId), eb('trustee_user_id', '=', userId)]))
      .execute()) as TrustRow[];
  }

  // ---- password history

  /** The user's last `count` password hashes, newest first. */
  async passwordHistory(userId: string, count: number): Promise<string[]> {
    if (count <= 0) return [];
    const rows = await this.db
      .selectFrom('identity_password_history')
      .select('password_hash')
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .limit(count)
      .execute();
    return rows.map((r: { password_hash: string }) => r.password_hash);
  }

  /** Records a password and keeps at most `keep` of them. */
  async rememberPassword(userId: string, hash: string, keep: number): Promise<void> {
    await this.db.insertInto('identity_password_history').values({ user_id: userId, password_hash: hash, created_at: this.timestamp() }).execute();
    const old = await this.db
      .selectFrom('identity_password_history')
      .select('created_at')
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .offset(Math.max(1, keep))
      .limit(1)
      .executeTakeFirst();
    if (old) await this.db.deleteFrom('identity_password_history').where('user_id', '=', userId).where('created_at', '<=', old.created_at).execute();
  }

  timestamp(): string {
    return now();
  }
}
