// Flavors: the sizes servers boot with (memory, vCPUs, disk become cgroup limits; extra specs
// `hafen:*` tune the container). Everyone reads the public ones, a project also the private ones it
// was given access to (os-flavor-access); admins manage them.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, NotFoundError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import { novaBool, toInt, type FlavorCreateBody } from './schemas.ts';
import type { FlavorRow } from './tables.ts';

/** Nova's largest flavor figure (a database integer). */
const MAX_FLAVOR_FIGURE = 2147483647;

export interface FlavorFilter {
  minRam?: number;
  minDisk?: number;
  /** Nova's is_public filter: true (the default) public ones, false private ones, null both. */
  isPublic?: boolean | null;
  /** Nova's sort keys (flavorid, name, memory_mb, vcpus, root_gb ...); without one, smallest first. */
  sortKey?: string;
  sortDir?: 'asc' | 'desc';
  /** Continue after this flavor id (in the same order). */
  marker?: string;
  limit?: number;
}

const SORT_KEYS: Record<string, (f: FlavorRow) => string | number> = {
  flavorid: (f) => f.id,
  id: (f) => f.id,
  name: (f) => f.name,
  memory_mb: (f) => f.ram,
  vcpus: (f) => f.vcpus,
  root_gb: (f) => f.disk,
  ephemeral_gb: (f) => f.ephemeral,
  swap: (f) => f.swap,
  is_public: (f) => f.is_public,
  description: (f) => f.description ?? '',
  created_at: (f) => f.created_at,
};

export class Flavors {
  constructor(private readonly core: ComputeCore) {}

  /** Whether the caller's project may see and use a flavor: public, given access to, or an admin. */
  private async mayUse(ctx: RequestContext, f: FlavorRow): Promise<boolean> {
    if (f.is_public || this.core.isAdmin(ctx)) return true;
    return ctx.scope.kind === 'project' && (await this.core.store.hasFlavorAccess(f.id, ctx.scope.projectId));
  }

  /** A flavor the caller may see; 404 otherwise. */
  async get(ctx: RequestContext, id: string): Promise<FlavorRow> {
    const f = await this.core.store.flavor(id);
    if (!f || !(await this.mayUse(ctx, f))) throw new NotFoundError(`Flavor ${id} could not be found.`);
    return f;
  }

  /**
   * A flavor the caller's project may boot or resize to: a public one, a private one it has access
   * to, or (admins) any. Undefined otherwise, whether it exists or not, so that a private flavor's
   * id tells nothing.
   */
  async usable(ctx: RequestContext, id: string): Promise<FlavorRow | undefined> {
    const f = await this.core.store.flavor(id);
    if (!f || !(await this.mayUse(ctx, f))) return undefined;
    return f;
  }

  /** os-flavor-access: the projects given a private flavor (admins); a public flavor has no list. */
  async access(ctx: RequestContext, id: string): Promise<string[]> {
    this.core.enforce(ctx, 'flavor_access');
    const f = await this.get(ctx, id);
    if (f.is_public) throw new NotFoundError('Access list not available for public flavors.');
    return this.core.store.flavorAccess(f.id);
  }

  async addAccess(ctx: RequestContext, id: string, projectId: string, refusePublic: boolean): Promise<string[]> {
    this.core.enforce(ctx, 'flavor_access:add_tenant_access');
    const f = await this.get(ctx, id);
    // 2.7: access to a public flavor is a conflict, not a no-op.
    if (f.is_public && refusePublic) throw new ConflictError(`Can not add access to a public flavor.`);
    if (!(await this.core.store.addFlavorAccess(f.id, projectId))) throw new ConflictError(`Flavor access already exists for flavor ${id} and project ${projectId} combination.`);
    return this.core.store.flavorAccess(f.id);
  }

  async removeAccess(ctx: RequestContext, id: string, projectId: string): Promise<string[]> {
    this.core.enforce(ctx, 'flavor_access:remove_tenant_access');
    const f = await this.get(ctx, id);
    if (!(await this.core.store.removeFlavorAccess(f.id, projectId))) throw new NotFoundError(`Flavor access not found for ${id} / ${projectId} combination.`);
    return this.core.store.flavorAccess(f.id);
  }

  /** 2.55: a flavor's description is the one thing that changes after create. */
  async setDescription(ctx: RequestContext, id: string, description: string | null): Promise<FlavorRow> {
    this.core.enforce(ctx, 'flavor_manage');
    const f = await this.get(ctx, id);
    await this.core.store.updateFlavor(f.id, { description });
    return { ...f, description };
  }

  /** The flavors the caller may see, smallest first. */
  async list(ctx: RequestContext, filter: FlavorFilter = {}): Promise<FlavorRow[]> {
    const admin = this.core.isAdmin(ctx);
    const granted = !admin && ctx.scope.kind === 'project' ? await this.core.store.flavorsOfProject(ctx.scope.projectId) : new Set<string>();
    let rows = (await this.core.store.flavors()).filter((f) => f.is_public || admin || granted.has(f.id));
    if (filter.minRam !== undefined) rows = rows.filter((f) => f.ram >= filter.minRam!);
    if (filter.minDisk !== undefined) rows = rows.filter((f) => f.disk >= filter.minDisk!);
    // Nova: public ones by default (with, for a project, the private ones it has access to).
    const isPublic = filter.isPublic === undefined ? true : filter.isPublic;
    if (isPublic === false) rows = rows.filter((f) => !f.is_public);
    else if (isPublic === true) rows = rows.filter((f) => f.is_public || granted.has(f.id));
    if (filter.sortKey !== undefined) {
      const key = SORT_KEYS[filter.sortKey];
      if (!key) throw new BadRequestError(`Invalid input for query parameters sort_key. Value: ${filter.sortKey}. It is not one of ${Object.keys(SORT_KEYS).join(', ')}`);
      const dir = filter.sortDir === 'desc' ? -1 : 1;
      rows = [...rows].sort((a, b) => {
        const x = key(a);
        const y = key(b);
        return (x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * dir;
      });
    }
    if (filter.marker !== undefined) {
      const at = rows.findIndex((f) => f.id === filter.marker);
      if (at < 0) throw new BadRequestError(`marker [${filter.marker}] not found`);
      rows = rows.slice(at + 1);
    }
    if (filter.limit !== undefined) rows = rows.slice(0, filter.limit);
    return rows;
  }

  async create(ctx: RequestContext, body: FlavorCreateBody): Promise<FlavorRow> {
    this.core.enforce(ctx, 'flavor_manage');
    const f = body.flavor;
    const row: FlavorRow = {
      id: f.id === undefined || f.id === null || f.id === 'auto' ? randomUUID() : String(f.id),
      name: f.name,
      ram: toInt(f.ram),
      vcpus: toInt(f.vcpus),
      disk: toInt(f.disk),
      ephemeral: f['OS-FLV-EXT-DATA:ephemeral'] === undefined ? 0 : toInt(f['OS-FLV-EXT-DATA:ephemeral']),
      swap: f.swap === '' || f.swap === undefined ? 0 : toInt(f.swap),
      is_public: novaBool(f['os-flavor-access:is_public'], true) ? 1 : 0,
      description: typeof f.description === 'string' ? f.description : null,
      extra_specs: '{}',
      created_at: new Date().toISOString(),
    };
    for (const k of ['ram', 'vcpus', 'disk', 'ephemeral', 'swap'] as const) {
      if (row[k] > MAX_FLAVOR_FIGURE) throw new BadRequestError(`Invalid input for field/attribute ${k}. Value: ${row[k]}. must be <= ${MAX_FLAVOR_FIGURE}`);
    }
    await this.core.store.insertFlavor(row);
    return row;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    this.core.enforce(ctx, 'flavor_manage');
    if (!(await this.core.store.deleteFlavor(id))) throw new NotFoundError(`Flavor ${id} could not be found.`);
  }

  async extraSpecs(ctx: RequestContext, id: string): Promise<Record<string, string>> {
    return JSON.parse((await this.get(ctx, id)).extra_specs) as Record<string, string>;
  }

  async setExtraSpecs(ctx: RequestContext, flavorId: string, specs: Record<string, string | number | boolean>, replace = false): Promise<Record<string, string>> {
    this.core.enforce(ctx, 'flavor_manage');
    const f = await this.get(ctx, flavorId);
    const merged = { ...(replace ? {} : (JSON.parse(f.extra_specs) as Record<string, string>)), ...Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, String(v)])) };
    await this.core.store.updateFlavor(flavorId, { extra_specs: JSON.stringify(merged) });
    return merged;
  }

  async deleteExtraSpec(ctx: RequestContext, flavorId: string, key: string): Promise<void> {
    this.core.enforce(ctx, 'flavor_manage');
    const f = await this.get(ctx, flavorId);
    const specs = JSON.parse(f.extra_specs) as Record<string, string>;
    if (!(key in specs)) throw new NotFoundError(`Flavor ${flavorId} has no extra specs with key ${key}.`);
    delete specs[key];
    await this.core.store.updateFlavor(flavorId, { extra_specs: JSON.stringify(specs) });
  }

  /** m1.tiny .. m1.large, unless flavors of those names exist. */
  async seed(): Promise<void> {
    const defaults: [string, string, number, number, number][] = [
      ['1', 'm1.tiny', 64, 1, 1],
      ['2', 'm1.small', 256, 1, 5],
      ['3', 'm1.medium', 512, 2, 10],
      ['4', 'm1.large', 1024, 4, 20],
    ];
    const existing = new Set((await this.core.store.flavors()).map((f) => f.name));
    for (const [id, name, ram, vcpus, disk] of defaults) {
      if (existing.has(name)) continue;
      await this.core.store
        .insertFlavor({ id, name, ram, vcpus, disk, ephemeral: 0, swap: 0, is_public: 1, description: null, extra_specs: '{}', created_at: new Date().toISOString() })
        .catch((err) => {
          if (!(err instanceof ConflictError)) throw err;
        });
    }
  }
}
