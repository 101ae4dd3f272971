// OS-EP-FILTER: which endpoints a project's catalog shows. Endpoints are associated with a project
// directly or through endpoint groups (filters over interface, service and region); a project with
// none sees the whole catalog. Every change here renews the catalog tokens carry (catalog.ts).
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, NotFoundError } from '../platform/errors.ts';
import type { IdentityService } from './service.ts';
import { endpointInGroup, type EndpointGroupFilters } from './catalog.ts';
import { newId, type EndpointGroupRow, type EndpointRow, type ProjectRow } from './store.ts';

export interface EndpointGroupInput {
  name?: string;
  description?: string | null;
  filters?: EndpointGroupFilters;
}

export class EndpointFilter {
  constructor(private readonly identity: IdentityService) {}

  private get db() {
    return this.identity.store.db;
  }

  private changed(): void {
    this.identity.catalogCache.invalidate();
  }

  private endpoint(id: string) {
    return this.identity.mustGet<EndpointRow>('identity_endpoints', id, 'endpoint');
  }

  group(id: string) {
    return this.identity.mustGet<EndpointGroupRow>('identity_endpoint_groups', id, 'endpoint group');
  }

  // ---- endpoints associated with a project

  async associate(ctx: RequestContext, projectId: string, endpointId: string): Promise<void> {
    this.identity.enforce(ctx, 'add_endpoint_to_project');
    await this.identity.project(projectId);
    await this.endpoint(endpointId);
    const exists = await this.db.selectFrom('identity_project_endpoints').select('project_id').where('project_id', '=', projectId).where('endpoint_id', '=', endpointId).executeTakeFirst();
    if (!exists) {
      await this.db
        .insertInto('identity_project_endpoints')
        .values({ project_id: projectId, endpoint_id: endpointId })
        .execute()
        .catch(async (err) => {
          // Associated meanwhile: the same outcome.
          const again = await this.db.selectFrom('identity_project_endpoints').select('project_id').where('project_id', '=', projectId).where('endpoint_id', '=', endpointId).executeTakeFirst();
          if (!again) throw err;
        });
    }
    this.changed();
  }

  async checkAssociation(ctx: RequestContext, projectId: string, endpointId: string): Promise<void> {
    this.identity.enforce(ctx, 'check_endpoint_in_project');
    await this.identity.project(projectId);
    await this.endpoint(endpointId);
    const row = await this.db.selectFrom('identity_project_endpoints').select('project_id').where('project_id', '=', projectId).where('endpoint_id', '=', endpointId).executeTakeFirst();
    if (!row) throw new NotFoundError(`Endpoint ${endpointId} is not associated with project ${projectId}.`);
  }

  async dissociate(ctx: RequestContext, projectId: string, endpointId: string): Promise<void> {
    this.identity.enforce(ctx, 'remove_endpoint_from_project');
    const r = await this.db.deleteFrom('identity_project_endpoints').where('project_id', '=', projectId).where('endpoint_id', '=', endpointId).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw new NotFoundError(`Endpoint ${endpointId} is not associated with project ${projectId}.`);
    this.changed();
  }

  /** A project's endpoints: associated directly and through its endpoint groups, as Keystone lists them. */
  async endpointsOfProject(ctx: RequestContext, projectId: string): Promise<EndpointRow[]> {
    this.identity.enforce(ctx, 'list_endpoints_for_project');
    await this.identity.project(projectId);
    const direct = (await this.db.selectFrom('identity_project_endpoints').select('endpoint_id').where('project_id', '=', projectId).execute()).map((r) => r.endpoint_id as string);
    const groups = await this.groupsOf(projectId);
    const all = await this.identity.store.list<EndpointRow>('identity_endpoints');
    const ids = new Set(direct);
    return all.filter((e) => ids.has(e.id) || groups.some((g) => endpointInGroup(e, JSON.parse(g.filters) as EndpointGroupFilters)));
  }

  /** Projects an endpoint is associated with directly. */
  async projectsOfEndpoint(ctx: RequestContext, endpointId: string): Promise<ProjectRow[]> {
    this.identity.enforce(ctx, 'list_projects_for_endpoint');
    await this.endpoint(endpointId);
    return (await this.db
      .selectFrom('identity_projects as p')
      .innerJoin('identity_project_endpoints as l', 'l.project_id', 'p.id')
      .selectAll('p')
      .where('l.endpoint_id', '=', endpointId)
      .orderBy('p.id')
      .execute()) as ProjectRow[];
  }

  // ---- endpoint groups

  private async checkFilters(filters: EndpointGroupFilters): Promise<void> {
    if (filters.service_id !== undefined && !(await this.identity.store.get('identity_services', filters.service_id))) {
      throw new BadRequestError(`Invalid input for field 'endpoint_group.filters.service_id': service ${filters.service_id} does not exist.`);
    }
    if (filters.region_id !== undefined && !(await this.identity.store.get('identity_regions', filters.region_id))) {
      throw new BadRequestError(`Invalid input for field 'endpoint_group.filters.region_id': region ${filters.region_id} does not exist.`);
    }
  }

  async createGroup(ctx: RequestContext, input: Required<Pick<EndpointGroupInput, 'name' | 'filters'>> & EndpointGroupInput): Promise<EndpointGroupRow> {
    this.identity.enforce(ctx, 'create_endpoint_group');
    await this.checkFilters(input.filters);
    const row: EndpointGroupRow = { id: newId(), name: input.name, description: input.description ?? '', filters: JSON.stringify(input.filters) };
    return this.identity.store.insert('identity_endpoint_groups', row, 'endpoint group');
  }

  async listGroups(ctx: RequestContext, name?: string): Promise<EndpointGroupRow[]> {
    this.identity.enforce(ctx, 'list_endpoint_groups');
    return this.identity.store.list<EndpointGroupRow>('identity_endpoint_groups', { name }, 'name');
  }

  async getGroup(ctx: RequestContext, id: string): Promise<EndpointGroupRow> {
    this.identity.enforce(ctx, 'get_endpoint_group');
    return this.group(id);
  }

  async updateGroup(ctx: RequestContext, id: string, input: EndpointGroupInput): Promise<EndpointGroupRow> {
    this.identity.enforce(ctx, 'update_endpoint_group');
    await this.group(id);
    if (input.filters) await this.checkFilters(input.filters);
    const changes: Partial<EndpointGroupRow> = {};
    if (input.name !== undefined) changes.name = input.name;
    if (input.description !== undefined) changes.description = input.description ?? '';
    if (input.filters !== undefined) changes.filters = JSON.stringify(input.filters);
    if (Object.keys(changes).length > 0) await this.identity.store.update('identity_endpoint_groups', id, changes, 'endpoint group');
    this.changed();
    return this.group(id);
  }

  async deleteGroup(ctx: RequestContext, id: string): Promise<void> {
    this.identity.enforce(ctx, 'delete_endpoint_group');
    await this.group(id);
    await this.db.deleteFrom('identity_project_endpoint_groups').where('endpoint_group_id', '=', id).execute();
    await this.identity.store.remove('identity_endpoint_groups', id);
    this.changed();
  }

  async endpointsOfGroup(ctx: RequestContext, id: string): Promise<EndpointRow[]> {
    this.identity.enforce(ctx, 'list_endpoints_associated_with_endpoint_group');
    const filters = JSON.parse((await this.group(id)).filters) as EndpointGroupFilters;
    return (await this.identity.store.list<EndpointRow>('identity_endpoints')).filter((e) => endpointInGroup(e, filters));
  }

  async projectsOfGroup(ctx: RequestContext, id: string): Promise<ProjectRow[]> {
    this.identity.enforce(ctx, 'list_projects_associated_with_endpoint_group');
    await this.group(id);
    return (await this.db
      .selectFrom('identity_projects as p')
      .innerJoin('identity_project_endpoint_groups as l', 'l.project_id', 'p.id')
      .selectAll('p')
      .where('l.endpoint_group_id', '=', id)
      .orderBy('p.id')
      .execute()) as ProjectRow[];
  }

  private groupsOf(projectId: string): Promise<EndpointGroupRow[]> {
    return this.db
      .selectFrom('identity_endpoint_groups as g')
      .innerJoin('identity_project_endpoint_groups as l', 'l.endpoint_group_id', 'g.id')
      .selectAll('g')
      .where('l.project_id', '=', projectId)
      .orderBy('g.name')
      .execute() as Promise<EndpointGroupRow[]>;
  }

  async groupsOfProject(ctx: RequestContext, projectId: string): Promise<EndpointGroupRow[]> {
    this.identity.enforce(ctx, 'list_endpoint_groups_for_project');
    await this.identity.project(projectId);
    return this.groupsOf(projectId);
  }

  async associateGroup(ctx: RequestContext, groupId: string, projectId: string): Promise<void> {
    this.identity.enforce(ctx, 'add_endpoint_group_to_project');
    await this.group(groupId);
    await this.identity.project(projectId);
    const link = () => this.db.selectFrom('identity_project_endpoint_groups').select('project_id').where('endpoint_group_id', '=', groupId).where('project_id', '=', projectId).executeTakeFirst();
    if (!(await link())) {
      await this.db
        .insertInto('identity_project_endpoint_groups')
        .values({ endpoint_group_id: groupId, project_id: projectId })
        .execute()
        .catch(async (err) => {
          if (!(await link())) throw err;
        });
    }
    this.changed();
  }

  async checkGroupAssociation(ctx: RequestContext, groupId: string, projectId: string): Promise<void> {
    this.identity.enforce(ctx, 'get_endpoint_group_in_project');
    await this.group(groupId);
    await this.identity.project(projectId);
    const row = await this.db.selectFrom('identity_project_endpoint_groups').select('project_id').where('endpoint_group_id', '=', groupId).where('project_id', '=', projectId).executeTakeFirst();
    if (!row) throw new NotFoundError(`Endpoint group ${groupId} is not associated with project ${projectId}.`);
  }

  async dissociateGroup(ctx: RequestContext, groupId: string, projectId: string): Promise<void> {
    this.identity.enforce(ctx, 'remove_endpoint_group_from_project');
    const r = await this.db.deleteFrom('identity_project_endpoint_groups').where('endpoint_group_id', '=', groupId).where('project_id', '=', projectId).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw new NotFoundError(`Endpoint group ${groupId} is not associated with project ${projectId}.`);
    this.changed();
  }
}
