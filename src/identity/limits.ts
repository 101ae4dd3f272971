// Keystone's unified limits (flat model): a registered limit is a service's default for a resource
// (per region), a limit overrides it for one project or domain. Quota code reads them through
// identity's client (`limitOf`).
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../platform/errors.ts';
import type { IdentityService } from './service.ts';
import { newId, type LimitRow, type RegisteredLimitRow, type ServiceRow } from './store.ts';

export interface RegisteredLimitInput {
  service_id: string;
  region_id?: string | null;
  resource_name: string;
  default_limit: number;
  description?: string | null;
}
export interface LimitInput {
  project_id?: string | null;
  domain_id?: string | null;
  service_id: string;
  region_id?: string | null;
  resource_name: string;
  resource_limit: number;
  description?: string | null;
}

export class Limits {
  constructor(private readonly identity: IdentityService) {}

  private get store() {
    return this.identity.store;
  }

  private async checkServiceAndRegion(serviceId: string, regionId: string | null | undefined): Promise<void> {
    await this.identity.mustGet('identity_services', serviceId, 'service').catch(() => {
      throw new BadRequestError(`Invalid input for field 'service_id': service ${serviceId} does not exist.`);
    });
    if (regionId) {
      await this.identity.mustGet('identity_regions', regionId, 'region').catch(() => {
        throw new BadRequestError(`Invalid input for field 'region_id': region ${regionId} does not exist.`);
      });
    }
  }

  /** Creates all or none (one transaction's worth of checks first). */
  async createRegistered(ctx: RequestContext, inputs: RegisteredLimitInput[]): Promise<RegisteredLimitRow[]> {
    this.identity.enforce(ctx, 'create_registered_limits');
    const rows: RegisteredLimitRow[] = [];
    for (const i of inputs) {
      await this.checkServiceAndRegion(i.service_id, i.region_id);
      rows.push({ id: newId(), service_id: i.service_id, region_id: i.region_id ?? '', resource_name: i.resource_name, default_limit: i.default_limit, description: i.description ?? '' });
    }
    await this.store.db.transaction().execute(async (trx) => {
      for (const r of rows) await this.store.insert('identity_registered_limits', r, 'registered limit', trx);
    });
    return rows;
  }

  async registered(id: string): Promise<RegisteredLimitRow> {
    return this.identity.mustGet<RegisteredLimitRow>('identity_registered_limits', id, 'registered limit');
  }

  async listRegistered(filter: { service_id?: string; region_id?: string; resource_name?: string }): Promise<RegisteredLimitRow[]> {
    return this.store.list<RegisteredLimitRow>('identity_registered_limits', filter, 'id');
  }

  private async referenced(r: RegisteredLimitRow): Promise<boolean> {
    return (await this.store.list<LimitRow>('identity_limits', { service_id: r.service_id, region_id: r.region_id, resource_name: r.resource_name })).length > 0;
  }

  async updateRegistered(ctx: RequestContext, id: string, input: Partial<RegisteredLimitInput>): Promise<RegisteredLimitRow> {
    this.identity.enforce(ctx, 'update_registered_limit');
    const before = await this.registered(id);
    const moves =
      (input.service_id !== undefined && input.service_id !== before.service_id) ||
      (input.region_id !== undefined && (input.region_id ?? '') !== before.region_id) ||
      (input.resource_name !== undefined && input.resource_name !== before.resource_name);
    if (moves && (await this.referenced(before))) {
      throw new ForbiddenError('Cannot change the service, region or resource of a registered limit that project limits refer to.');
    }
    if (input.service_id !== undefined || input.region_id !== undefined) await this.checkServiceAndRegion(input.service_id ?? before.service_id, input.region_id === undefined ? before.region_id : input.region_id);
    await this.store.update(
      'identity_registered_limits',
      id,
      Object.fromEntries(
        Object.entries({
          service_id: input.service_id,
          region_id: input.region_id === undefined ? undefined : (input.region_id ?? ''),
          resource_name: input.resource_name,
          default_limit: input.default_limit,
          description: input.description === undefined ? undefined : (input.description ?? ''),
        }).filter(([, v]) => v !== undefined),
      ),
      'registered limit',
    );
    return this.registered(id);
  }

  async deleteRegistered(ctx: RequestContext, id: string): Promise<void> {
    this.identity.enforce(ctx, 'delete_registered_limit');
    const row = await this.registered(id);
    if (await this.referenced(row)) throw new ForbiddenError('Cannot delete a registered limit that project limits refer to.');
    await this.store.remove('identity_registered_limits', id);
  }

  async createLimits(ctx: RequestContext, inputs: LimitInput[]): Promise<LimitRow[]> {
    this.identity.enforce(ctx, 'create_limits');
    const rows: LimitRow[] = [];
    for (const i of inputs) {
      if (Boolean(i.project_id) === Boolean(i.domain_id)) throw new BadRequestError('A limit is for either a project_id or a domain_id.');
      if (i.project_id) await this.identity.project(i.project_id);
      if (i.domain_id) await this.identity.domain(i.domain_id);
      await this.checkServiceAndRegion(i.service_id, i.region_id);
      const registered = await this.store.list<RegisteredLimitRow>('identity_registered_limits', { service_id: i.service_id, region_id: i.region_id ?? '', resource_name: i.resource_name });
      if (registered.length === 0) {
        throw new ForbiddenError(`The service ${i.service_id} has no registered limit for ${i.resource_name}${i.region_id ? ` in ${i.region_id}` : ''}: register it first.`);
      }
      rows.push({
        id: newId(),
        project_id: i.project_id ?? null,
        domain_id: i.domain_id ?? null,
        target_id: (i.project_id ?? i.domain_id)!,
        service_id: i.service_id,
        region_id: i.region_id ?? '',
        resource_name: i.resource_name,
        resource_limit: i.resource_limit,
        description: i.description ?? '',
      });
    }
    await this.store.db.transaction().execute(async (trx) => {
      for (const r of rows) await this.store.insert('identity_limits', r, 'limit', trx);
    });
    return rows;
  }

  /** A limit the caller may see: an admin sees all, a project member those of its project. */
  async limit(ctx: RequestContext, id: string): Promise<LimitRow> {
    const row = await this.store.get<LimitRow>('identity_limits', id);
    if (!row || !this.visible(ctx, row)) throw new NotFoundError(`Could not find limit: ${id}.`);
    return row;
  }

  private visible(ctx: RequestContext, row: LimitRow): boolean {
    if (this.identity.authorize(ctx, 'list_limits')) return true;
    return ctx.scope.kind === 'project' ? row.project_id === ctx.scope.projectId : ctx.scope.kind === 'domain' && row.domain_id === ctx.scope.domainId;
  }

  async listLimits(ctx: RequestContext, filter: { service_id?: string; region_id?: string; resource_name?: string; project_id?: string; domain_id?: string }): Promise<LimitRow[]> {
    const rows = await this.store.list<LimitRow>('identity_limits', filter, 'id');
    return rows.filter((r) => this.visible(ctx, r));
  }

  async updateLimit(ctx: RequestContext, id: string, input: { resource_limit?: number; description?: string | null }): Promise<LimitRow> {
    this.identity.enforce(ctx, 'update_limit');
    await this.limit(ctx, id);
    await this.store.update(
      'identity_limits',
      id,
      Object.fromEntries(Object.entries({ resource_limit: input.resource_limit, description: input.description === undefined ? undefined : (input.description ?? '') }).filter(([, v]) => v !== undefined)),
      'limit',
    );
    return this.limit(ctx, id);
  }

  async deleteLimit(ctx: RequestContext, id: string): Promise<void> {
    this.identity.enforce(ctx, 'delete_limit');
    await this.limit(ctx, id);
    await this.store.remove('identity_limits', id);
  }

  /**
   * What a project may have of a service's resource: its own limit, else its domain's, else the
   * registered default (the region's, then any region's); undefined when nothing is registered.
   */
  async limitOf(projectId: string, serviceType: string, resourceName: string, regionId?: string): Promise<number | undefined> {
    const services = await this.store.list<ServiceRow>('identity_services', { type: serviceType });
    const project = await this.store.get<{ domain_id: string }>('identity_projects', projectId);
    for (const service of services) {
      for (const region of regionId ? [regionId, ''] : ['']) {
        for (const target of [projectId, project?.domain_id]) {
          if (!target) continue;
          const own = await this.store.list<LimitRow>('identity_limits', { target_id: target, service_id: service.id, region_id: region, resource_name: resourceName });
          if (own[0]) return own[0].resource_limit;
        }
        const registered = await this.store.list<RegisteredLimitRow>('identity_registered_limits', { service_id: service.id, region_id: region, resource_name: resourceName });
        if (registered[0]) return registered[0].default_limit;
      }
    }
    return undefined;
  }
}
