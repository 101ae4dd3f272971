// Zun's private registries: the credentials a project's containers pull with, kept per project with
// the password sealed at rest (sealing.ts) and never shown again (`***`).
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { ConflictError } from '../platform/errors.ts';
import type { ZunCore } from './core.ts';
import { isUuid } from './core.ts';
import { RegistryNotFound } from './errors.ts';
import type { Sealer } from './sealing.ts';
import type { RegistryRow } from './store.ts';

export interface RegistryFields {
  name?: string;
  domain?: string;
  username?: string;
  password?: string;
}

export class Registries {
  constructor(private readonly core: ZunCore, private readonly sealer: Sealer) {}

  /** The caller's project's registry by uuid or name (an admin's all_projects: any). */
  async find(ctx: RequestContext, ident: string, allProjects = false): Promise<RegistryRow> {
    const project = allProjects && this.core.isAdmin(ctx) ? undefined : this.core.project(ctx);
    if (isUuid(ident)) {
      const r = await this.core.store.registry(ident.toLowerCase());
      if (r && (project === undefined || r.project_id === project)) return r;
    }
    const named = await this.core.store.registriesNamed(ident, project);
    if (named.length > 1) throw new ConflictError('Multiple registries exist with same name. Please use the registry uuid instead.');
    if (!named[0]) throw new RegistryNotFound(ident);
    return named[0];
  }

  async create(ctx: RequestContext, f: RegistryFields): Promise<RegistryRow> {
    this.core.enforce(ctx, 'registry:create');
    const now = new Date().toISOString();
    const row: RegistryRow = {
      uuid: randomUUID(),
      project_id: this.core.project(ctx),
      user_id: ctx.userId,
      name: f.name ?? '',
      domain: f.domain!,
      username: f.username ?? '',
      password_sealed: this.sealer.seal(f.password ?? ''),
      created_at: now,
      updated_at: now,
    };
    await this.core.store.insertRegistry(row);
    return row;
  }

  async list(ctx: RequestContext, allProjects: boolean, limit: number): Promise<RegistryRow[]> {
    this.core.enforce(ctx, 'registry:get_all');
    if (allProjects) this.core.enforce(ctx, 'registry:get_all_all_projects');
    return this.core.store.registries(allProjects ? undefined : this.core.project(ctx), limit);
  }

  async show(ctx: RequestContext, ident: string, allProjects: boolean): Promise<RegistryRow> {
    this.core.enforce(ctx, 'registry:get_one');
    return this.find(ctx, ident, allProjects);
  }

  async update(ctx: RequestContext, ident: string, f: RegistryFields): Promise<RegistryRow> {
    const row = await this.find(ctx, ident);
    this.core.enforce(ctx, 'registry:update', { project_id: row.project_id });
    const changes: Partial<RegistryRow> = {};
    if (f.name !== undefined) changes.name = f.name;
    if (f.domain !== undefined) changes.domain = f.domain;
    if (f.username !== undefined) changes.username = f.username;
    if (f.password !== undefined) changes.password_sealed = this.sealer.seal(f.password);
    await this.core.store.updateRegistry(row.uuid, changes);
    return (await this.core.store.registry(row.uuid))!;
  }

  async delete(ctx: RequestContext, ident: string, allProjects: boolean): Promise<void> {
    const row = await this.find(ctx, ident, allProjects);
    this.core.enforce(ctx, 'registry:delete', { project_id: row.project_id });
    await this.core.store.deleteRegistry(row.uuid);
  }

  /** The credentials to pull with (the image service's registry import), unsealed. */
  credentials(row: RegistryRow): { domain: string; username: string; password: string } {
    return { domain: row.domain, username: row.username, password: this.sealer.unseal(row.password_sealed) };
  }

  view(row: RegistryRow): Record<string, unknown> {
    return {
      uuid: row.uuid,
      links: [
        { href: `${this.core.base}/registries/${row.uuid}`, rel: 'self' },
        { href: `${this.core.base.replace(/\/v1$/, '')}/registries/${row.uuid}`, rel: 'bookmark' },
      ],
      user_id: row.user_id,
      project_id: row.project_id,
      name: row.name,
      domain: row.domain,
      username: row.username,
      password: '***',
    };
  }
}
