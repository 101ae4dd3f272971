// GET /v3/role_assignments: the assignments as stored, or (with `effective`) as they act: group
// assignments given to each member, inherited ones to every project below their target, the roles
// each role implies added, domain-specific roles left out.
import type { AssignmentRow, DomainRow, IdentityStore, ProjectRow, RoleRow } from './store.ts';

export interface AssignmentQuery {
  userId?: string;
  groupId?: string;
  roleId?: string;
  projectId?: string;
  domainId?: string;
  system?: boolean;
  /** Only inherited assignments (scope.OS-INHERIT:inherited_to=projects). */
  inheritedOnly?: boolean;
  effective: boolean;
  includeNames: boolean;
  /** With projectId: also the projects below it. */
  includeSubtree: boolean;
}

interface Effective {
  actorType: 'user' | 'group';
  actorId: string;
  targetType: 'project' | 'domain' | 'system';
  targetId: string;
  roleId: string;
  inherited: boolean;
  /** The stored assignment it comes from. */
  source: AssignmentRow;
  /** The group membership it comes through. */
  viaGroup?: string;
  /** The role that implies it. */
  priorRole?: string;
}

const MAX_RESULTS = 10_000;

export async function listRoleAssignments(store: IdentityStore, base: string, q: AssignmentQuery): Promise<unknown[]> {
  const projectIds = q.projectId ? (q.includeSubtree ? await subtree(store, q.projectId, true) : [q.projectId]) : undefined;
  let actorIds: string[] | undefined;
  if (q.userId) actorIds = q.effective ? [q.userId, ...(await store.groupIdsOfUser(q.userId))] : [q.userId];
  else if (q.groupId) actorIds = [q.groupId];
  const rows = await store.listAssignments({
    ...(actorIds ? { actor_ids: actorIds } : {}),
    ...(q.userId && !q.effective ? { actor_type: 'user' as const } : {}),
    ...(q.groupId ? { actor_type: 'group' as const } : {}),
    // Effective inherited assignments come from above the asked-for scope, so the scope filter waits.
    ...(!q.effective && projectIds ? { target_type: 'project' as const, target_ids: projectIds } : {}),
    ...(!q.effective && q.domainId ? { target_type: 'domain' as const, target_id: q.domainId } : {}),
    ...(q.system ? { target_type: 'system' as const, target_id: 'all' } : {}),
    ...(q.inheritedOnly ? { inherited: 1 } : {}),
    ...(q.roleId && !q.effective ? { role_id: q.roleId } : {}),
  });

  let list: Effective[] = rows.map((r) => ({
    actorType: r.actor_type,
    actorId: r.actor_id,
    targetType: r.target_type,
    targetId: r.target_id,
    roleId: r.role_id,
    inherited: Boolean(r.inherited),
    source: r,
  }));

  if (q.effective) {
    const expanded: Effective[] = [];
    const roles = new Map((await store.list<RoleRow>('identity_roles')).map((r) => [r.id, r]));
    const edges = await store.impliedRoleEdges();
    for (const a of list) {
      // Groups: one assignment per member (or only the asked-for user).
      const actors: { id: string; viaGroup?: string }[] =
        a.actorType === 'group' ? (await store.membersOfGroup(a.actorId)).filter((u) => !q.userId || u.id === q.userId).map((u) => ({ id: u.id, viaGroup: a.actorId })) : [{ id: a.actorId }];
      // Inherited: every project below the target (not the target itself).
      const targets: { type: Effective['targetType']; id: string }[] = !a.inherited
        ? [{ type: a.targetType, id: a.targetId }]
        : a.targetType === 'domain'
          ? (await store.list<ProjectRow>('identity_projects', { domain_id: a.targetId })).map((p) => ({ type: 'project' as const, id: p.id }))
          : (await subtree(store, a.targetId, false)).map((id) => ({ type: 'project' as const, id }));
      for (const actor of actors) {
        for (const target of targets) {
          for (const { roleId, prior } of implied(a.roleId, edges)) {
            expanded.push({ ...a, actorType: 'user', actorId: actor.id, viaGroup: actor.viaGroup, targetType: target.type, targetId: target.id, roleId, inherited: false, priorRole: prior });
            if (expanded.length > MAX_RESULTS) break;
          }
        }
      }
    }
    // Domain-specific roles act only through the global roles they imply.
    list = expanded.filter((e) => roles.get(e.roleId)?.domain_id === '');
    list = list.filter(
      (e) =>
        (!q.roleId || e.roleId === q.roleId) &&
        (!projectIds || (e.targetType === 'project' && projectIds.includes(e.targetId))) &&
        (!q.domainId || (e.targetType === 'domain' && e.targetId === q.domainId)),
    );
    list = dedupe(list);
  }

  const names = q.includeNames ? new NameCache(store) : undefined;
  const out = [];
  for (const e of list.slice(0, MAX_RESULTS)) out.push(await render(e, base, names));
  return out;
}

/** The role and every role it implies, each with the role that implied it. */
function implied(roleId: string, edges: { prior_role_id: string; implied_role_id: string }[]): { roleId: string; prior?: string }[] {
  const out: { roleId: string; prior?: string }[] = [{ roleId }];
  const seen = new Set([roleId]);
  for (let i = 0; i < out.length; i++) {
    for (const e of edges) {
      if (e.prior_role_id === out[i]!.roleId && !seen.has(e.implied_role_id)) {
        seen.add(e.implied_role_id);
        out.push({ roleId: e.implied_role_id, prior: e.prior_role_id });
      }
    }
  }
  return out;
}

/** The projects below `projectId` (and itself when asked), breadth first, bounded. */
async function subtree(store: IdentityStore, projectId: string, includeSelf: boolean): Promise<string[]> {
  const out: string[] = includeSelf ? [projectId] : [];
  const queue = [projectId];
  while (queue.length > 0 && out.length < MAX_RESULTS) {
    for (const child of await store.childProjects(queue.shift()!)) {
      out.push(child.id);
      queue.push(child.id);
    }
  }
  return out;
}

function dedupe(list: Effective[]): Effective[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const key = `${e.actorId}|${e.targetType}|${e.targetId}|${e.roleId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

class NameCache {
  private readonly cache = new Map<string, { name: string; domain?: { id: string; name: string } }>();
  constructor(private readonly store: IdentityStore) {}
  async of(table: 'identity_users' | 'identity_groups' | 'identity_projects' | 'identity_roles' | 'identity_domains', id: string) {
    const key = `${table}:${id}`;
    if (!this.cache.has(key)) {
      const row = await this.store.get<{ name: string; domain_id?: string }>(table, id);
      const domain = row?.domain_id ? await this.store.get<DomainRow>('identity_domains', row.domain_id) : undefined;
      this.cache.set(key, { name: row?.name ?? '', ...(domain ? { domain: { id: domain.id, name: domain.name } } : {}) });
    }
    return this.cache.get(key)!;
  }
}

function grantUrl(base: string, a: AssignmentRow): string {
  const target = a.target_type === 'system' ? 'system' : `${a.target_type}s/${a.target_id}`;
  const path = `${target}/${a.actor_type}s/${a.actor_id}/roles/${a.role_id}`;
  return a.inherited ? `${base}/OS-INHERIT/${path}/inherited_to_projects` : `${base}/${path}`;
}

async function render(e: Effective, base: string, names: NameCache | undefined) {
  const actorTable = e.actorType === 'user' ? 'identity_users' : 'identity_groups';
  const scope =
    e.targetType === 'system'
      ? { system: { all: true } }
      : {
          [e.targetType]: { id: e.targetId, ...(names ? await names.of(e.targetType === 'project' ? 'identity_projects' : 'identity_domains', e.targetId) : {}) },
          ...(e.inherited ? { 'OS-INHERIT:inherited_to': 'projects' } : {}),
        };
  const role = { id: e.roleId, ...(names ? await names.of('identity_roles', e.roleId) : {}) };
  return {
    role,
    [e.actorType]: { id: e.actorId, ...(names ? await names.of(actorTable, e.actorId) : {}) },
    scope,
    links: {
      assignment: grantUrl(base, e.source),
      ...(e.viaGroup ? { membership: `${base}/groups/${e.viaGroup}/users/${e.actorId}` } : {}),
      ...(e.priorRole ? { prior_role: `${base}/roles/${e.priorRole}` } : {}),
    },
  };
}

