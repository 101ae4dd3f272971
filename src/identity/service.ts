// Identity's rules: who may manage which identity resource, what a valid project/user/role is,
// and which changes revoke tokens. Every method takes the caller's context and enforces policy.
import type { Config } from '../config.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine, Target } from '../platform/auth/policy.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../platform/errors.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import {
  newId,
  type AssignmentRow,
  type DomainRow,
  type EndpointRow,
  type IdentityStore,
  type ProjectRow,
  type RoleRow,
  type ServiceRow,
  type TargetType,
  type UserRow,
} from './store.ts';
import type { TokenService } from './token-service.ts';
import type { CatalogEntry } from './views.ts';
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
  constructor(
    readonly store: IdentityStore,
    readonly tokens: TokenService,
    private readonly policy: PolicyEngine,
    private readonly config: Config,
  ) {}

  enforce(ctx: RequestContext, action: string, target: Target = {}): void {
    this.policy.enforce(`identity:${action}`, ctx, target);
  }

  // ---- catalog

  async catalog(): Promise<CatalogEntry[]> {
    const services = await this.store.list<ServiceRow>('identity_services', { enabled: 1 });
    const endpoints = await this.store.list<EndpointRow>('identity_endpoints', { enabled: 1 });
    return services.map((s) => ({
      id: s.id,
      type: s.type,
      name: s.name,
      endpoints: endpoints
        .filter((e) => e.service_id === s.id)
        .map((e) => ({ id: e.id, interface: e.interface, region: e.region_id, region_id: e.region_id, url: e.url })),
    }));
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

  async createDomain(ctx: RequestContext, body: Body): Promise<DomainRow> {
    this.enforce(ctx, 'create_domain');
    const row: DomainRow = {
      id: newId(),
      name: str(body, 'name', 'domain', { required: true, max: 64 })!,
      description: str(body, 'description', 'domain', { max: 65535 }) ?? '',
      enabled: bool(body, 'enabled', 'domain') ?? 1,
      tags: tags(body, 'domain') ?? '[]',
      created_at: this.store.timestamp(),
    };
    return this.store.insert('identity_domains', row, 'domain');
  }

  async updateDomain(ctx: RequestContext, id: string, body: Body): Promise<DomainRow> {
    this.enforce(ctx, 'update_domain', { target: { domain: { id } } });
    const before = await this.domain(id);
    const enabled = bool(body, 'enabled', 'domain');
    await this.store.update(
      'identity_domains',
      id,
      pruneUndefined({
        name: str(body, 'name', 'domain', { max: 64 }),
        description: str(body, 'description', 'domain', { max: 65535 }),
        enabled,
        tags: tags(body, 'domain'),
      }),
      'domain',
    );
    if (before.enabled && enabled === 0) await this.tokens.revocations.revoke({ domainId: id });
    return this.domain(id);
  }

  async deleteDomain(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_domain', { target: { domain: { id } } });
    const d = await this.domain(id);
    if (id === 'default') throw new ForbiddenError('The default domain cannot be deleted.');
    if (d.enabled) throw new ForbiddenError(`Cannot delete a domain that is enabled, please disable it first.`);
    const inUse =
      (await this.store.list('identity_projects', { domain_id: id })).length +
      (await this.store.list('identity_users', { domain_id: id })).length +
      (await this.store.list('identity_groups', { domain_id: id })).length;
    if (inUse > 0) throw new ConflictError(`Cannot delete domain ${id}: it still owns projects, users or groups.`);
    await this.store.removeAssignmentsOf('target_id', id);
    await this.store.remove('identity_domains', id);
    await this.tokens.revocations.revoke({ domainId: id });
  }

  // ---- projects

  async createProject(ctx: RequestContext, body: Body): Promise<ProjectRow> {
    this.enforce(ctx, 'create_project');
    if (body.is_domain === true) throw new BadRequestError("Invalid input for field 'project.is_domain': projects acting as domains are not supported.");
    let domainId = str(body, 'domain_id', 'project');
    let parentId = str(body, 'parent_id', 'project') ?? null;
    if (parentId) {
      const parent = await this.store.get<ProjectRow>('identity_projects', parentId);
      if (!parent) {
        const asDomain = await this.store.get<DomainRow>('identity_domains', parentId);
        if (!asDomain) throw new NotFoundError(`Could not find project: ${parentId}.`);
        domainId ??= asDomain.id;
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
      name: str(body, 'name', 'project', { required: true, max: 64 })!,
      domain_id: domainId,
      parent_id: parentId,
      description: str(body, 'description', 'project', { max: 65535 }) ?? '',
      enabled: bool(body, 'enabled', 'project') ?? 1,
      tags: tags(body, 'project') ?? '[]',
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

  async updateProject(ctx: RequestContext, id: string, body: Body): Promise<ProjectRow> {
    this.enforce(ctx, 'update_project', { target: { project: { id } } });
    const before = await this.project(id);
    if (body.domain_id !== undefined && body.domain_id !== before.domain_id) {
      throw new BadRequestError("Invalid input for field 'project.domain_id': a project's domain cannot be changed.");
    }
    if (body.parent_id !== undefined && body.parent_id !== before.parent_id) {
      throw new BadRequestError("Invalid input for field 'project.parent_id': a project's parent cannot be changed.");
    }
    const enabled = bool(body, 'enabled', 'project');
    await this.store.update(
      'identity_projects',
      id,
      pruneUndefined({
        name: str(body, 'name', 'project', { max: 64 }),
        description: str(body, 'description', 'project', { max: 65535 }),
        enabled,
        tags: tags(body, 'project'),
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
    await this.store.removeAssignmentsOf('target_id', id);
    await this.store.remove('identity_projects', id);
    await this.tokens.revocations.revoke({ projectId: id });
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

  async createUser(ctx: RequestContext, body: Body): Promise<UserRow> {
    this.enforce(ctx, 'create_user');
    const domainId = str(body, 'domain_id', 'user') ?? (ctx.scope.kind === 'domain' ? ctx.scope.domainId : 'default');
    await this.domain(domainId);
    const password = str(body, 'password', 'user', { max: 4096 });
    const defaultProject = str(body, 'default_project_id', 'user') ?? null;
    if (defaultProject) await this.project(defaultProject);
    const row: UserRow = {
      id: newId(),
      name: str(body, 'name', 'user', { required: true, max: 255 })!,
      domain_id: domainId,
      enabled: bool(body, 'enabled', 'user') ?? 1,
      password_hash: password === undefined ? null : await hashPassword(password, this.config.passwordHashCost),
      default_project_id: defaultProject,
      description: str(body, 'description', 'user', { max: 65535 }) ?? '',
      email: str(body, 'email', 'user') ?? null,
      failed_logins: 0,
      locked_until: null,
      password_changed_at: password === undefined ? null : this.store.timestamp(),
      created_at: this.store.timestamp(),
    };
    return this.store.insert('identity_users', row, 'user');
  }

  async getUser(ctx: RequestContext, id: string): Promise<UserRow> {
    if (!this.policy.authorize('identity:get_user', ctx, { target: { user: { id } } })) {
      throw new NotFoundError(`Could not find user: ${id}.`);
    }
    return this.user(id);
  }

  async updateUser(ctx: RequestContext, id: string, body: Body): Promise<UserRow> {
    this.enforce(ctx, 'update_user', { target: { user: { id } } });
    const before = await this.user(id);
    if (body.domain_id !== undefined && body.domain_id !== before.domain_id) {
      throw new BadRequestError("Invalid input for field 'user.domain_id': a user's domain cannot be changed.");
    }
    const password = str(body, 'password', 'user', { max: 4096 });
    const enabled = bool(body, 'enabled', 'user');
    const defaultProject = str(body, 'default_project_id', 'user');
    if (defaultProject) await this.project(defaultProject);
    await this.store.update(
      'identity_users',
      id,
      pruneUndefined({
        name: str(body, 'name', 'user'),
        description: str(body, 'description', 'user', { max: 65535 }),
        email: str(body, 'email', 'user'),
        default_project_id: defaultProject,
        enabled,
        ...(password !== undefined
          ? {
              password_hash: await hashPassword(password, this.config.passwordHashCost),
              password_changed_at: this.store.timestamp(),
              failed_logins: 0,
              locked_until: null,
            }
          : {}),
      }),
      'user',
    );
    if ((before.enabled && enabled === 0) || password !== undefined) await this.tokens.revocations.revoke({ userId: id });
    return this.user(id);
  }

  async changePassword(ctx: RequestContext, id: string, body: Body): Promise<void> {
    const b = objectBody(body, 'user');
    this.enforce(ctx, 'change_password', { user_id: id });
    const original = str(b, 'original_password', 'user', { required: true, max: 4096 })!;
    const password = str(b, 'password', 'user', { required: true, max: 4096 })!;
    const user = await this.user(id);
    if (!user.password_hash || !(await verifyPassword(original, user.password_hash))) {
      throw new UnauthorizedError('The request you have made requires authentication.');
    }
    await this.store.update(
      'identity_users',
      id,
      { password_hash: await hashPassword(password, this.config.passwordHashCost), password_changed_at: this.store.timestamp() },
      'user',
    );
    await this.tokens.revocations.revoke({ userId: id });
  }

  async deleteUser(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_user', { target: { user: { id } } });
    await this.user(id);
    await this.store.removeAssignmentsOf('actor_id', id);
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
}

export function pruneUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
