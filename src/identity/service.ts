// Identity's rules: who may manage which identity resource, what a valid project/user/role is,
// and which changes revoke tokens. Every method takes the caller's context and enforces policy.
import type { Config } from '../config.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine, Target } from '../platform/auth/policy.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../platform/errors.ts';
import { hashPassword } from './passwords.ts';
import {
  newId,
  type AssignmentRow,
  type DomainRow,
  type EndpointRow,
  type GroupRow,
  type IdentityStore,
  type RegionRow,
  type ProjectRow,
  type RoleRow,
  type ServiceRow,
  type TargetType,
  type UserRow,
} from './store.ts';
import type { TokenService } from './token-service.ts';
import type { CatalogEntry } from './views.ts';
import { CatalogCache, loadProjectEndpoints } from './catalog.ts';
import type { DomainCreate, DomainUpdate, PasswordChange, ProjectCreate, ProjectUpdate, UserCreate, UserUpdate } from './schemas.ts';
import { checkHistory, checkMinimumAge, checkStrength, mustChangeOnFirstUse, optionsOf, passwordExpiresAt, type UserOptions } from './password-policy.ts';
import { USER_ATTRIBUTES } from './views.ts';
import { UnauthorizedError } from '../platform/errors.ts';

type Body = Record<string, unknown>;

export function str(body: Body, field: string, what: string, opts: { required?: boolean; max?: number } = {}): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (opts.required) throw new BadRequestError(`Invalid input for field '${what}.${field}': '${field}' is a required property.`);
    return undefined;
  }
  if (typeof v !== 'string') throw new BadRequestError(`Invalid input for field '${what}.${field}': ${JSON.stringify(v)} is not of type 'string'.`);
  if (opts.required && v.trim() === '') throw new BadRequestError(`Invalid input for field '${what}.${field}': must not be empty.`);
  if (v.length > (opts.max ?? 255)) throw new BadRequestError(`Invalid input for field '${what}.${field}': is too long.`);
  return v;
}

export function bool(body: Body, field: string, what: string): number | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new BadRequestError(`Invalid input for field '${what}.${field}': ${JSON.stringify(v)} is not of type 'boolean'.`);
  return v ? 1 : 0;
}

export function tags(body: Body, what: string): string | undefined {
  const v = body.tags;
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((t) => typeof t !== 'string' || t.length > 255 || t.includes('/') || t.includes(','))) {
    throw new BadRequestError(`Invalid input for field '${what}.tags': must be a list of strings without '/' or ','.`);
  }
  return JSON.stringify([...new Set(v)]);
}

export function objectBody(body: unknown, key: string): Body {
  const inner = (body as Body | undefined)?.[key];
  if (!inner || typeof inner !== 'object' || Array.isArray(inner)) {
    throw new BadRequestError(`Invalid input for field '${key}': '${key}' is a required property and must be an object.`);
  }
  return inner as Body;
}

export class IdentityService {
  /** The catalog as tokens carry it, read once per change (see catalog.ts). */
  readonly catalogCache = new CatalogCache(async () => {
    const { entries, endpoints } = await this.loadCatalog();
    return { entries, projectEndpoints: await loadProjectEndpoints(this.store.db, endpoints) };
  });

  constructor(
    readonly store: IdentityStore,
    readonly tokens: TokenService,
    private readonly policy: PolicyEngine,
    private readonly config: Config,
  ) {}

  enforce(ctx: RequestContext, action: string, target: Target = {}): void {
    this.policy.enforce(`identity:${action}`, ctx, target);
  }

  authorize(ctx: RequestContext, action: string, target: Target = {}): boolean {
    return this.policy.authorize(`identity:${action}`, ctx, target);
  }

  // ---- catalog

  /** The catalog as a token of `projectId` (or of no project) sees it: project URLs filled. */
  async catalog(projectId: string | undefined): Promise<CatalogEntry[]> {
    return (await this.catalogCache.forProject(projectId)).entries;
  }

  private async loadCatalog(): Promise<{ entries: CatalogEntry[]; endpoints: EndpointRow[] }> {
    const services = await this.store.list<ServiceRow>('identity_services', { enabled: 1 });
    const endpoints = await this.store.list<EndpointRow>('identity_endpoints', { enabled: 1 });
    const entries = services.map((s) => ({
      id: s.id,
      type: s.type,
      name: s.name,
      endpoints: endpoints
        .filter((e) => e.service_id === s.id)
        .map((e) => ({ id: e.id, interface: e.interface, region: e.region_id, region_id: e.region_id, url: e.url })),
    }));
    return { entries, endpoints };
  }

  // ---- lookups that 404 in Keystone's words

  async mustGet<T>(table: Parameters<IdentityStore['get']>[0], id: string, kind: string): Promise<T> {
    const row = await this.store.get<T>(table, id);
    if (!row) throw new NotFoundError(`Could not find ${kind}: ${id}.`);
    return row;
  }
  domain(id: string) {
    return this.mustGet<DomainRow>('identity_domains', id, 'domain');
  }
  project(id: string) {
    return this.mustGet<ProjectRow>('identity_projects', id, 'project');
  }
  user(id: string) {
    return this.mustGet<UserRow>('identity_users', id, 'user');
  }
  role(id: string) {
    return this.mustGet<RoleRow>('identity_roles', id, 'role');
  }

  // ---- domains

  async createDomain(ctx: RequestContext, input: DomainCreate): Promise<DomainRow> {
    this.enforce(ctx, 'create_domain');
    const row: DomainRow = {
      id: newId(),
      name: input.name,
      description: input.description ?? '',
      enabled: input.enabled === false ? 0 : 1,
      tags: JSON.stringify([...new Set(input.tags ?? [])]),
      created_at: this.store.timestamp(),
    };
    return this.store.insert('identity_domains', row, 'domain');
  }

  async updateDomain(ctx: RequestContext, id: string, input: DomainUpdate): Promise<DomainRow> {
    this.enforce(ctx, 'update_domain', { target: { domain: { id } } });
    const before = await this.domain(id);
    const enabled = input.enabled === undefined ? undefined : input.enabled ? 1 : 0;
    await this.store.update(
      'identity_domains',
      id,
      pruneUndefined({
        name: input.name,
        description: input.description === null ? '' : input.description,
        enabled,
        tags: input.tags === undefined ? undefined : JSON.stringify([...new Set(input.tags)]),
      }),
      'domain',
    );
    if (before.enabled && enabled === 0) await this.tokens.revocations.revoke({ domainId: id });
    return this.domain(id);
  }

  /** Deletes a disabled domain and everything in it: its projects, users and groups, as Keystone does. */
  async deleteDomain(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_domain', { target: { domain: { id } } });
    const d = await this.domain(id);
    if (id === 'default') throw new ForbiddenError('The default domain cannot be deleted.');
    if (d.enabled) throw new ForbiddenError(`Cannot delete a domain that is enabled, please disable it first.`);
    // Children before parents: a project is deleted after the projects below it.
    const projects = await this.store.list<ProjectRow>('identity_projects', { domain_id: id });
    const depth = (p: ProjectRow): number => {
      let n = 0;
      for (let cur = p; cur.parent_id && n < 64; n++) cur = projects.find((x) => x.id === cur.parent_id) ?? { ...cur, parent_id: null };
      return n;
    };
    for (const p of projects.sort((a, b) => depth(b) - depth(a))) await this.removeProject(p.id);
    for (const u of await this.store.list<UserRow>('identity_users', { domain_id: id })) await this.removeUser(u.id);
    for (const g of await this.store.list<GroupRow>('identity_groups', { domain_id: id })) await this.store.remove('identity_groups', g.id);
    for (const r of await this.store.list<RoleRow>('identity_roles', { domain_id: id })) await this.store.remove('identity_roles', r.id);
    await this.store.removeAssignmentsOf('target_id', id);
    await this.store.remove('identity_domains', id);
    await this.tokens.revocations.revoke({ domainId: id });
  }

  async isDomain(id: string): Promise<boolean> {
    return (await this.store.get('identity_domains', id)) !== undefined;
  }

  // ---- projects

  async createProject(ctx: RequestContext, input: ProjectCreate): Promise<ProjectRow> {
    this.enforce(ctx, 'create_project');
    let domainId = input.domain_id ?? undefined;
    let parentId = input.parent_id ?? null;
    if (parentId) {
      const parent = await this.store.get<ProjectRow>('identity_projects', parentId);
      if (!parent) {
        // A top-level project names its domain as its parent.
        const asDomain = await this.store.get<DomainRow>('identity_domains', parentId);
        if (!asDomain) throw new NotFoundError(`Could not find project: ${parentId}.`);
        if (domainId && domainId !== asDomain.id) throw new BadRequestError('A project must be in the same domain as its parent.');
        domainId = asDomain.id;
        parentId = null;
      } else {
        if (domainId && domainId !== parent.domain_id) throw new BadRequestError('A project must be in the same domain as its parent.');
        domainId = parent.domain_id;
      }
    }
    domainId ??= ctx.scope.kind === 'domain' ? ctx.scope.domainId : 'default';
    await this.domain(domainId);
    const row: ProjectRow = {
      id: newId(),
      name: input.name,
      domain_id: domainId,
      parent_id: parentId,
      description: input.description ?? '',
      enabled: input.enabled === false ? 0 : 1,
      tags: JSON.stringify([...new Set(input.tags ?? [])]),
      created_at: this.store.timestamp(),
    };
    return this.store.insert('identity_projects', row, 'project');
  }

  async getProject(ctx: RequestContext, id: string): Promise<ProjectRow> {
    // Authorise before looking: a foreign id must answer exactly like a missing one.
    if (!this.policy.authorize('identity:get_project', ctx, { target: { project: { id } } })) {
      throw new NotFoundError(`Could not find project: ${id}.`);
    }
    return this.project(id);
  }

  /** A project, or a domain asked for as a project (a project acting as a domain). */
  async getProjectOrDomain(ctx: RequestContext, id: string): Promise<{ kind: 'project'; row: ProjectRow } | { kind: 'domain'; row: DomainRow }> {
    if (!this.policy.authorize('identity:get_project', ctx, { target: { project: { id } } })) {
      throw new NotFoundError(`Could not find project: ${id}.`);
    }
    const project = await this.store.get<ProjectRow>('identity_projects', id);
    if (project) return { kind: 'project', row: project };
    const domain = await this.store.get<DomainRow>('identity_domains', id);
    if (domain) return { kind: 'domain', row: domain };
    throw new NotFoundError(`Could not find project: ${id}.`);
  }

  async updateProject(ctx: RequestContext, id: string, input: ProjectUpdate): Promise<ProjectRow> {
    this.enforce(ctx, 'update_project', { target: { project: { id } } });
    const before = await this.project(id);
    if (input.domain_id !== undefined && input.domain_id !== before.domain_id) {
      throw new BadRequestError("Invalid input for field 'project.domain_id': a project's domain cannot be changed.");
    }
    if (input.parent_id !== undefined && input.parent_id !== before.parent_id && !(before.parent_id === null && input.parent_id === before.domain_id)) {
      throw new BadRequestError("Invalid input for field 'project.parent_id': a project's parent cannot be changed.");
    }
    if (input.is_domain === true) throw new BadRequestError("Invalid input for field 'project.is_domain': a project cannot become a domain.");
    const enabled = input.enabled === undefined ? undefined : input.enabled ? 1 : 0;
    await this.store.update(
      'identity_projects',
      id,
      pruneUndefined({
        name: input.name,
        description: input.description === null ? '' : input.description,
        enabled,
        tags: input.tags === undefined ? undefined : JSON.stringify([...new Set(input.tags)]),
      }),
      'project',
    );
    if (before.enabled && enabled === 0) await this.tokens.revocations.revoke({ projectId: id });
    return this.project(id);
  }

  async deleteProject(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_project', { target: { project: { id } } });
    await this.project(id);
    if ((await this.store.childProjects(id)).length > 0) {
      throw new ForbiddenError(`Cannot delete project ${id}: it has child projects.`);
    }
    await this.removeProject(id);
  }

  private async removeProject(id: string): Promise<void> {
    await this.store.removeAssignmentsOf('target_id', id);
    for (const t of await this.store.list<{ id: string }>('identity_trusts', { project_id: id })) await this.store.remove('identity_trusts', t.id);
    await this.store.remove('identity_projects', id);
    await this.tokens.revocations.revoke({ projectId: id });
  }

  // ---- project tags

  async projectTags(ctx: RequestContext, id: string, action: 'list_project_tags' | 'get_project_tag'): Promise<string[]> {
    this.enforceOnProject(ctx, id, action);
    return JSON.parse((await this.project(id)).tags) as string[];
  }

  async projectTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
    const tags = await this.projectTags(ctx, id, 'get_project_tag');
    if (!tags.includes(tag)) throw new NotFoundError(`Tag ${tag} was not found on project ${id}.`);
  }

  async setProjectTags(ctx: RequestContext, id: string, tags: string[], action: 'update_project_tags' | 'delete_project_tags' = 'update_project_tags'): Promise<string[]> {
    this.enforceOnProject(ctx, id, action);
    await this.project(id);
    const unique = [...new Set(tags)];
    await this.store.update('identity_projects', id, { tags: JSON.stringify(unique) }, 'project');
    return unique;
  }

  async addProjectTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
    this.enforceOnProject(ctx, id, 'create_project_tag');
    const tags = JSON.parse((await this.project(id)).tags) as string[];
    if (tags.includes(tag)) return;
    if (tags.length >= 80) throw new BadRequestError('Invalid input for field \'tags\': a project has at most 80 tags.');
    await this.store.update('identity_projects', id, { tags: JSON.stringify([...tags, tag]) }, 'project');
  }

  async removeProjectTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
    this.enforceOnProject(ctx, id, 'delete_project_tag');
    const tags = JSON.parse((await this.project(id)).tags) as string[];
    if (!tags.includes(tag)) throw new NotFoundError(`Tag ${tag} was not found on project ${id}.`);
    await this.store.update('identity_projects', id, { tags: JSON.stringify(tags.filter((t) => t !== tag)) }, 'project');
  }

  /** Policy on a project, answered like a missing project when a reader may not even see it. */
  private enforceOnProject(ctx: RequestContext, id: string, action: string): void {
    const target = { target: { project: { id } } };
    if (this.authorize(ctx, action, target)) return;
    if (!this.authorize(ctx, 'get_project', target)) throw new NotFoundError(`Could not find project: ${id}.`);
    this.enforce(ctx, action, target);
  }

  async projectsOfUser(userId: string): Promise<ProjectRow[]> {
    const projects = await this.store.list<ProjectRow>('identity_projects', { enabled: 1 }, 'name');
    const result: ProjectRow[] = [];
    for (const p of projects) {
      const roles = await this.tokens.effectiveRoles(userId, {
        kind: 'project',
        id: p.id,
        name: p.name,
        domainId: p.domain_id,
        domainName: '',
      });
      if (roles.length > 0) result.push(p);
    }
    return result;
  }

  // ---- users

  passwordExpiresAt(user: UserRow): string | null {
    return passwordExpiresAt(user, this.config);
  }

  async createUser(ctx: RequestContext, input: UserCreate): Promise<UserRow> {
    this.enforce(ctx, 'create_user');
    const domainId = input.domain_id ?? (ctx.scope.kind === 'domain' ? ctx.scope.domainId : 'default');
    await this.domain(domainId);
    const defaultProject = input.default_project_id ?? null;
    if (defaultProject) await this.project(defaultProject);
    const password = input.password ?? undefined;
    const options = mergeOptions({}, input.options);
    if (password !== undefined) checkStrength(password, this.config);
    const now = this.store.timestamp();
    const row: UserRow = {
      id: newId(),
      name: input.name,
      domain_id: domainId,
      enabled: input.enabled === false ? 0 : 1,
      password_hash: password === undefined ? null : await hashPassword(password, this.config.passwordHashCost),
      default_project_id: defaultProject,
      description: input.description ?? '',
      email: input.email ?? null,
      failed_logins: 0,
      locked_until: null,
      password_changed_at: password === undefined ? null : now,
      created_at: now,
      extra: JSON.stringify(extraOf(input)),
      options: JSON.stringify(options),
      password_must_change: password !== undefined && mustChangeOnFirstUse(options, this.config) ? 1 : 0,
      password_self_service: 0,
    };
    await this.store.insert('identity_users', row, 'user');
    if (row.password_hash) await this.store.rememberPassword(row.id, row.password_hash, this.historyKept());
    return row;
  }

  async getUser(ctx: RequestContext, id: string): Promise<UserRow> {
    if (!this.policy.authorize('identity:get_user', ctx, { target: { user: { id } } })) {
      throw new NotFoundError(`Could not find user: ${id}.`);
    }
    return this.user(id);
  }

  /** An administrator's change: any attribute, a password reset (which the user may have to change at first use). */
  async updateUser(ctx: RequestContext, id: string, input: UserUpdate): Promise<UserRow> {
    this.enforce(ctx, 'update_user', { target: { user: { id } } });
    const before = await this.user(id);
    if (input.domain_id !== undefined && input.domain_id !== before.domain_id) {
      throw new BadRequestError("Invalid input for field 'user.domain_id': a user's domain cannot be changed.");
    }
    const enabled = input.enabled === undefined ? undefined : input.enabled ? 1 : 0;
    if (input.default_project_id) await this.project(input.default_project_id);
    const options = mergeOptions(before.options ? JSON.parse(before.options) : {}, input.options);
    const password = input.password ?? undefined;
    let passwordChanges: Partial<UserRow> = {};
    if (password !== undefined) {
      checkStrength(password, this.config);
      await checkHistory(password, await this.store.passwordHistory(id, this.config.uniqueLastPasswordCount), this.config);
      passwordChanges = {
        password_hash: await hashPassword(password, this.config.passwordHashCost),
        password_changed_at: this.store.timestamp(),
        password_must_change: mustChangeOnFirstUse(options, this.config) ? 1 : 0,
        password_self_service: 0,
        failed_logins: 0,
        locked_until: null,
      };
    }
    const extra = { ...(before.extra ? JSON.parse(before.extra) : {}), ...extraOf(input) };
    await this.store.update(
      'identity_users',
      id,
      pruneUndefined({
        name: input.name,
        description: input.description === null ? '' : input.description,
        email: input.email,
        default_project_id: input.default_project_id,
        enabled,
        extra: JSON.stringify(extra),
        options: JSON.stringify(options),
        ...passwordChanges,
      }),
      'user',
    );
    if (passwordChanges.password_hash) await this.store.rememberPassword(id, passwordChanges.password_hash, this.historyKept());
    // Re-enabling a user clears a lockout, as Keystone's "users can be re-enabled via the API".
    if (enabled === 1 && before.locked_until) await this.store.clearFailedLogins(id);
    if ((before.enabled && enabled === 0) || password !== undefined) await this.tokens.revocations.revoke({ userId: id });
    return this.user(id);
  }

  /**
   * The user's own change (POST /v3/users/{id}/password, no token needed: the original password
   * authenticates, so an expired password can be changed). Minimum age, history and lock_password apply.
   */
  async changePassword(id: string, input: PasswordChange): Promise<void> {
    const user = await this.tokens.checkPassword(await this.store.get<UserRow>('identity_users', id), input.original_password);
    if (!user.enabled) throw new UnauthorizedError('The request you have made requires authentication.');
    if (optionsOf(user).lock_password) throw new BadRequestError(`The password of user ${id} is locked: only an administrator may change it.`);
    checkMinimumAge(user, this.config);
    checkStrength(input.password, this.config);
    await checkHistory(input.password, await this.store.passwordHistory(id, this.config.uniqueLastPasswordCount), this.config);
    const hash = await hashPassword(input.password, this.config.passwordHashCost);
    await this.store.update(
      'identity_users',
      id,
      { password_hash: hash, password_changed_at: this.store.timestamp(), password_must_change: 0, password_self_service: 1, failed_logins: 0, locked_until: null },
      'user',
    );
    await this.store.rememberPassword(id, hash, this.historyKept());
    await this.tokens.revocations.revoke({ userId: id });
  }

  private historyKept(): number {
    return Math.max(1, this.config.uniqueLastPasswordCount);
  }

  async deleteUser(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_user', { target: { user: { id } } });
    await this.user(id);
    await this.removeUser(id);
  }

  private async removeUser(id: string): Promise<void> {
    await this.store.removeAssignmentsOf('actor_id', id);
    // Trusts the user gave or was given go with it (their tokens fall with the user's revocation).
    for (const t of await this.store.trustsOfUser(id)) await this.store.remove('identity_trusts', t.id);
    await this.store.remove('identity_users', id);
    await this.tokens.revocations.revoke({ userId: id });
  }


  // ---- roles

  async createRole(ctx: RequestContext, body: Body): Promise<RoleRow> {
    this.enforce(ctx, 'create_role');
    const domainId = str(body, 'domain_id', 'role') ?? '';
    if (domainId) await this.domain(domainId);
    const row: RoleRow = {
      id: newId(),
      name: str(body, 'name', 'role', { required: true, max: 255 })!,
      domain_id: domainId,
      description: str(body, 'description', 'role', { max: 65535 }) ?? '',
      created_at: this.store.timestamp(),
    };
    return this.store.insert('identity_roles', row, 'role');
  }

  async updateRole(ctx: RequestContext, id: string, body: Body): Promise<RoleRow> {
    this.enforce(ctx, 'update_role');
    await this.role(id);
    await this.store.update(
      'identity_roles',
      id,
      pruneUndefined({ name: str(body, 'name', 'role'), description: str(body, 'description', 'role', { max: 65535 }) }),
      'role',
    );
    return this.role(id);
  }

  async deleteRole(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_role');
    await this.role(id);
    await this.store.remove('identity_roles', id);
    await this.tokens.revocations.revoke({ roleId: id });
  }

  // ---- grants (role assignments)

  async grant(ctx: RequestContext, a: AssignmentRow, action: 'create_grant' | 'revoke_grant' | 'check_grant'): Promise<void> {
    this.enforce(ctx, action);
    await this.assertAssignmentParts(a);
    if (action === 'create_grant') {
      await this.store.addAssignment(a);
      return;
    }
    if (action === 'check_grant') {
      if (!(await this.store.hasAssignment(a))) throw new NotFoundError(`Could not find role assignment with role: ${a.role_id}.`);
      return;
    }
    if (!(await this.store.removeAssignment(a))) {
      throw new NotFoundError(`Could not find role assignment with role: ${a.role_id}, ${a.actor_type}: ${a.actor_id}.`);
    }
    await this.revokeForAssignment(a);
  }

  private async revokeForAssignment(a: AssignmentRow): Promise<void> {
    const userIds = a.actor_type === 'user' ? [a.actor_id] : (await this.store.membersOfGroup(a.actor_id)).map((u) => u.id);
    for (const userId of userIds) {
      if (a.target_type === 'project') await this.tokens.revocations.revoke({ userId, projectId: a.target_id });
      else if (a.target_type === 'domain') await this.tokens.revocations.revoke({ userId, domainId: a.target_id });
      else await this.tokens.revocations.revoke({ userId });
    }
  }

  private async assertAssignmentParts(a: AssignmentRow): Promise<void> {
    await this.role(a.role_id);
    if (a.actor_type === 'user') await this.user(a.actor_id);
    else await this.mustGet('identity_groups', a.actor_id, 'group');
    const kinds: Record<TargetType, () => Promise<unknown>> = {
      project: () => this.project(a.target_id),
      domain: () => this.domain(a.target_id),
      system: async () => {
        if (a.target_id !== 'all') throw new BadRequestError('Only the "all" system target is supported.');
      },
    };
    await kinds[a.target_type]();
  }
  // ---- groups

  group(id: string) {
    return this.mustGet<GroupRow>('identity_groups', id, 'group');
  }

  async createGroup(ctx: RequestContext, body: Body): Promise<GroupRow> {
    this.enforce(ctx, 'create_group');
    const domainId = str(body, 'domain_id', 'group') ?? (ctx.scope.kind === 'domain' ? ctx.scope.domainId : 'default');
    await this.domain(domainId);
    const row: GroupRow = {
      id: newId(),
      name: str(body, 'name', 'group', { required: true, max: 64 })!,
      domain_id: domainId,
      description: str(body, 'description', 'group', { max: 65535 }) ?? '',
      created_at: this.store.timestamp(),
    };
    return this.store.insert('identity_groups', row, 'group');
  }

  async updateGroup(ctx: RequestContext, id: string, body: Body): Promise<GroupRow> {
    this.enforce(ctx, 'update_group');
    const before = await this.group(id);
    if (body.domain_id !== undefined && body.domain_id !== before.domain_id) {
      throw new BadRequestError("Invalid input for field 'group.domain_id': a group's domain cannot be changed.");
    }
    await this.store.update(
      'identity_groups',
      id,
      pruneUndefined({ name: str(body, 'name', 'group', { max: 64 }), description: str(body, 'description', 'group', { max: 65535 }) }),
      'group',
    );
    return this.group(id);
  }

  async deleteGroup(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_group');
    await this.group(id);
    const members = await this.store.membersOfGroup(id);
    await this.store.removeAssignmentsOf('actor_id', id);
    await this.store.remove('identity_groups', id);
    for (const m of members) await this.tokens.revocations.revoke({ userId: m.id });
  }

  async groupMembership(ctx: RequestContext, groupId: string, userId: string, action: 'add_user_to_group' | 'remove_user_from_group' | 'check_user_in_group'): Promise<void> {
    this.enforce(ctx, action);
    await this.group(groupId);
    await this.user(userId);
    if (action === 'add_user_to_group') return this.store.addGroupMember(groupId, userId);
    if (action === 'check_user_in_group') {
      if (!(await this.store.isGroupMember(groupId, userId))) throw new NotFoundError(`User ${userId} is not a member of group ${groupId}.`);
      return;
    }
    if (!(await this.store.removeGroupMember(groupId, userId))) throw new NotFoundError(`User ${userId} is not a member of group ${groupId}.`);
    // Tokens may carry roles the group gave; they go with the membership.
    await this.tokens.revocations.revoke({ userId });
  }

  // ---- implied roles

  async implyRole(ctx: RequestContext, priorId: string, impliedId: string, action: 'create_implied_role' | 'delete_implied_role' | 'get_implied_role'): Promise<{ prior: RoleRow; implied: RoleRow }> {
    this.enforce(ctx, action === 'get_implied_role' ? 'list_implied_roles' : action);
    const prior = await this.role(priorId);
    const implied = await this.role(impliedId);
    const edges = await this.store.impliedRoleEdges();
    const exists = edges.some((e) => e.prior_role_id === priorId && e.implied_role_id === impliedId);
    if (action === 'create_implied_role') {
      if (priorId === impliedId) throw new BadRequestError('A role cannot imply itself.');
      if (prior.domain_id === '' && implied.domain_id !== '') {
        throw new ForbiddenError(`Global role ${priorId} cannot imply the domain-specific role ${impliedId}.`);
      }
      // Refuse cycles: the implied role must not already (transitively) imply the prior one.
      const reach = new Set([impliedId]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const e of edges) if (reach.has(e.prior_role_id) && !reach.has(e.implied_role_id)) (reach.add(e.implied_role_id), (grew = true));
      }
      if (reach.has(priorId)) throw new BadRequestError(`Role ${impliedId} already implies ${priorId}: the inference would make a cycle.`);
      await this.store.addImpliedRole(priorId, impliedId);
    } else if (!exists) {
      throw new NotFoundError(`${priorId} does not imply ${impliedId}.`);
    } else if (action === 'delete_implied_role') {
      await this.store.removeImpliedRole(priorId, impliedId);
      await this.tokens.revocations.revoke({ roleId: priorId });
    }
    return { prior, implied };
  }

  // ---- catalog management

  async createRegion(ctx: RequestContext, body: Body): Promise<RegionRow> {
    this.enforce(ctx, 'create_region');
    const parent = str(body, 'parent_region_id', 'region') ?? null;
    if (parent) await this.mustGet('identity_regions', parent, 'region');
    const row: RegionRow = {
      id: str(body, 'id', 'region') ?? newId(),
      description: str(body, 'description', 'region', { max: 65535 }) ?? '',
      parent_region_id: parent,
    };
    return this.store.insert('identity_regions', row, 'region');
  }

  async updateRegion(ctx: RequestContext, id: string, body: Body): Promise<RegionRow> {
    this.enforce(ctx, 'update_region');
    await this.mustGet('identity_regions', id, 'region');
    const parent = str(body, 'parent_region_id', 'region');
    if (parent) {
      if (parent === id) throw new BadRequestError('A region cannot be its own parent.');
      await this.mustGet('identity_regions', parent, 'region');
    }
    await this.store.update('identity_regions', id, pruneUndefined({ description: str(body, 'description', 'region', { max: 65535 }), parent_region_id: parent }), 'region');
    return this.mustGet<RegionRow>('identity_regions', id, 'region');
  }

  async deleteRegion(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_region');
    await this.mustGet('identity_regions', id, 'region');
    if ((await this.store.list('identity_regions', { parent_region_id: id })).length > 0) {
      throw new ConflictError(`Cannot delete region ${id}: it has child regions.`);
    }
    if ((await this.store.list('identity_endpoints', { region_id: id }, 'id')).length > 0) {
      throw new ConflictError(`Cannot delete region ${id}: endpoints are in it.`);
    }
    await this.store.remove('identity_regions', id);
  }

  async createService(ctx: RequestContext, body: Body): Promise<ServiceRow> {
    this.enforce(ctx, 'create_service');
    const row: ServiceRow = {
      id: newId(),
      type: str(body, 'type', 'service', { required: true })!,
      name: str(body, 'name', 'service') ?? '',
      description: str(body, 'description', 'service', { max: 65535 }) ?? '',
      enabled: bool(body, 'enabled', 'service') ?? 1,
    };
    const created = await this.store.insert('identity_services', row, 'service');
    this.catalogCache.invalidate();
    return created;
  }

  async updateService(ctx: RequestContext, id: string, body: Body): Promise<ServiceRow> {
    this.enforce(ctx, 'update_service');
    await this.mustGet('identity_services', id, 'service');
    await this.store.update(
      'identity_services',
      id,
      pruneUndefined({
        type: str(body, 'type', 'service'),
        name: str(body, 'name', 'service'),
        description: str(body, 'description', 'service', { max: 65535 }),
        enabled: bool(body, 'enabled', 'service'),
      }),
      'service',
    );
    this.catalogCache.invalidate();
    return this.mustGet<ServiceRow>('identity_services', id, 'service');
  }

  async deleteService(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_service');
    await this.mustGet('identity_services', id, 'service');
    await this.store.remove('identity_services', id);
    this.catalogCache.invalidate();
  }

  private endpointFields(body: Body, required: boolean) {
    const iface = str(body, 'interface', 'endpoint', { required });
    if (iface !== undefined && !['public', 'internal', 'admin'].includes(iface)) {
      throw new BadRequestError(`Invalid input for field 'endpoint.interface': ${iface} is not one of public, internal, admin.`);
    }
    const url = str(body, 'url', 'endpoint', { required, max: 2048 });
    if (url !== undefined && !/^https?:\/\/\S+$/.test(url)) throw new BadRequestError(`Invalid input for field 'endpoint.url': ${url} is not an http(s) URL.`);
    return { interface: iface, url, service_id: str(body, 'service_id', 'endpoint', { required }), region_id: str(body, 'region_id', 'endpoint') ?? str(body, 'region', 'endpoint'), enabled: bool(body, 'enabled', 'endpoint') };
  }

  async createEndpoint(ctx: RequestContext, body: Body): Promise<EndpointRow> {
    this.enforce(ctx, 'create_endpoint');
    const f = this.endpointFields(body, true);
    await this.mustGet('identity_services', f.service_id!, 'service');
    if (f.region_id) {
      // The legacy `region` attribute names a region that is made if missing, as Keystone does.
      const legacy = body.region_id === undefined && body.region !== undefined;
      if (legacy && !(await this.store.get('identity_regions', f.region_id))) {
        await this.store.insert('identity_regions', { id: f.region_id, description: '', parent_region_id: null }, 'region').catch((err) => {
          if (!(err instanceof ConflictError)) throw err;
        });
      }
      await this.mustGet('identity_regions', f.region_id, 'region');
    }
    const row: EndpointRow = { id: newId(), service_id: f.service_id!, interface: f.interface!, url: f.url!, region_id: f.region_id ?? null, enabled: f.enabled ?? 1 };
    const created = await this.store.insert('identity_endpoints', row, 'endpoint');
    this.catalogCache.invalidate();
    return created;
  }

  async updateEndpoint(ctx: RequestContext, id: string, body: Body): Promise<EndpointRow> {
    this.enforce(ctx, 'update_endpoint');
    await this.mustGet('identity_endpoints', id, 'endpoint');
    const f = this.endpointFields(body, false);
    if (f.service_id) await this.mustGet('identity_services', f.service_id, 'service');
    if (f.region_id) await this.mustGet('identity_regions', f.region_id, 'region');
    await this.store.update('identity_endpoints', id, pruneUndefined(f), 'endpoint');
    this.catalogCache.invalidate();
    return this.mustGet<EndpointRow>('identity_endpoints', id, 'endpoint');
  }

  async deleteEndpoint(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_endpoint');
    await this.mustGet('identity_endpoints', id, 'endpoint');
    await this.store.remove('identity_endpoints', id);
    this.catalogCache.invalidate();
  }

}

/** Options given as null are removed, as Keystone does. */
function mergeOptions(before: UserOptions, given: Record<string, unknown> | undefined): UserOptions {
  const out: Record<string, unknown> = { ...before };
  for (const [k, v] of Object.entries(given ?? {})) {
    if (v === null) delete out[k];
    else if (v !== undefined) out[k] = v;
  }
  return out as UserOptions;
}

/** The attributes of a user body that Keystone does not name, kept as given. */
function extraOf(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([k]) => !USER_ATTRIBUTES.has(k)));
}

export function pruneUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
