// Which roles a user holds on a target: direct and group assignments, inherited ones from the domain
// and parent projects, and the roles those imply. Tokens, trusts and application credentials ask here.
import type { IdentityStore, ProjectRow, RoleRow } from './store.ts';
import type { TokenRole, TokenScopeClaims } from './tokens.ts';

export class RoleResolver {
  constructor(private readonly store: IdentityStore) {}

  /** Roles of a user on a target: direct, through groups, inherited from parents, implied roles expanded. */
  async effectiveRoles(userId: string, target: TokenScopeClaims): Promise<TokenRole[]> {
    if (target.kind === 'unscoped') return [];
    const groupIds = await this.store.groupIdsOfUser(userId);
    const actorIds = [userId, ...groupIds];
    const roleIds = new Set<string>();
    const collect = async (targetType: 'project' | 'domain' | 'system', targetId: string, inheritedOnly: boolean) => {
      const rows = await this.store.listAssignments({ target_type: targetType, target_id: targetId, actor_ids: actorIds });
      for (const r of rows) if (Boolean(r.inherited) === inheritedOnly) roleIds.add(r.role_id);
    };
    if (target.kind === 'system') {
      await collect('system', 'all', false);
    } else if (target.kind === 'domain') {
      await collect('domain', target.id, false);
    } else {
      await collect('project', target.id, false);
      // Inherited assignments (OS-INHERIT) flow from the domain and every ancestor project.
      await collect('domain', target.domainId, true);
      let parent = (await this.store.get<ProjectRow>('identity_projects', target.id))?.parent_id;
      for (let depth = 0; parent && depth < 32; depth++) {
        await collect('project', parent, true);
        parent = (await this.store.get<ProjectRow>('identity_projects', parent))?.parent_id;
      }
    }
    return this.expandImplied(roleIds);
  }

  /** The roles with every role they imply (transitively), sorted by name. */
  async expandImplied(roleIds: Set<string>): Promise<TokenRole[]> {
    const edges = await this.store.impliedRoleEdges();
    const queue = [...roleIds];
    while (queue.length > 0) {
      const id = queue.pop()!;
      for (const e of edges) {
        if (e.prior_role_id === id && !roleIds.has(e.implied_role_id)) {
          roleIds.add(e.implied_role_id);
          queue.push(e.implied_role_id);
        }
      }
    }
    const roles: TokenRole[] = [];
    for (const id of roleIds) {
      const role = await this.store.get<RoleRow>('identity_roles', id);
      // Domain-specific roles act only through the global roles they imply; tokens carry those.
      if (role && role.domain_id === '') roles.push({ id: role.id, name: role.name });
    }
    return roles.sort((a, b) => a.name.localeCompare(b.name));
  }
}
