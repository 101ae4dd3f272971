// Zun's rows: what a container is beyond its compute workload (the image as asked, command, labels,
// Zun's own states), its actions and events, capsules, private registries (passwords sealed),
// quotas and quota classes. A container's uuid is its compute workload's id.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/database.ts';
import { affectedRows, isUniqueViolation } from '../platform/db/database.ts';
import { migrate, type Migration } from '../platform/db/migrations.ts';
import { ConflictError } from '../platform/errors.ts';

export interface ContainerRow {
  uuid: string;
  project_id: string;
  user_id: string;
  name: string;
  /** The image as the user named it, and what it resolved to in the image service. */
  image: string;
  image_id: string;
  image_driver: string;
  /** Zun's CPU (fractions allowed), memory in MiB, disk in GiB. */
  cpu: number;
  memory: number;
  disk: number;
  /** JSON: the rest of what the container was created with, by Zun's wire names. */
  spec: string;
  /** Security group ids the container's port has (JSON list). */
  security_groups: string;
  /** The group made for `exposed_ports` (deleted with the container), if any. */
  exposed_group_id: string | null;
  /** 1 once the container was started (Created vs Stopped). */
  started: number;
  /** Zun's own task under way (container_deleting, container_rebuilding, ...). */
  task_state: string | null;
  status_reason: string | null;
  capsule_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface ActionRow {
  id: string;
  container_uuid: string;
  project_id: string;
  user_id: string;
  action: string;
  request_id: string;
  start_time: string;
  finish_time: string | null;
  message: string | null;
  /** JSON list of {event, start_time, finish_time, result, traceback}. */
  events: string;
}

export interface CapsuleRow {
  uuid: string;
  project_id: string;
  user_id: string;
  name: string;
  /** JSON: the template as given. */
  template: string;
  /** JSON list of the member containers' uuids, the first being the pod's sandbox. */
  containers: string;
  status: string;
  status_reason: string | null;
  cpu: number;
  memory: number;
  restart_policy: string;
  labels: string;
  annotations: string;
  created_at: string;
  updated_at: string;
}

export interface RegistryRow {
  uuid: string;
  project_id: string;
  user_id: string;
  name: string;
  domain: string;
  username: string;
  password_sealed: string;
  created_at: string;
  updated_at: string;
}

export interface QuotaRow {
  scope: string;
  resource: string;
  hard_limit: number;
}

export interface ZunTables {
  zun_containers: ContainerRow;
  zun_actions: ActionRow;
  zun_capsules: CapsuleRow;
  zun_registries: RegistryRow;
  /** Per-project limits (scope: project id) and quota classes (scope: `class:<name>`). */
  zun_quotas: QuotaRow;
}

const migrations: Migration[] = [
  {
    name: '001-zun',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('zun_containers')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('image', 'varchar(255)', (c) => c.notNull())
        .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('image_driver', 'varchar(16)', (c) => c.notNull())
        .addColumn('cpu', 'real', (c) => c.notNull())
        .addColumn('memory', 'integer', (c) => c.notNull())
        .addColumn('disk', 'integer', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('security_groups', 'text', (c) => c.notNull())
        .addColumn('exposed_group_id', 'varchar(36)')
        .addColumn('started', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('task_state', 'varchar(32)')
        .addColumn('status_reason', 'text')
        .addColumn('capsule_id', 'varchar(36)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('zun_containers_project').on('zun_containers').columns(['project_id', 'created_at']).execute();
      await db.schema.createIndex('zun_containers_name').on('zun_containers').columns(['project_id', 'name']).execute();
      await db.schema
        .createTable('zun_actions')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('container_uuid', 'varchar(36)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('action', 'varchar(64)', (c) => c.notNull())
        .addColumn('request_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('start_time', 'varchar(32)', (c) => c.notNull())
        .addColumn('finish_time', 'varchar(32)')
        .addColumn('message', 'text')
        .addColumn('events', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('zun_actions_container').on('zun_actions').columns(['container_uuid', 'request_id']).execute();
      await db.schema
        .createTable('zun_capsules')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('containers', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('cpu', 'real', (c) => c.notNull())
        .addColumn('memory', 'integer', (c) => c.notNull())
        .addColumn('restart_policy', 'varchar(32)', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('annotations', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('zun_capsules_project').on('zun_capsules').columns(['project_id', 'created_at']).execute();
      await db.schema
        .createTable('zun_registries')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('domain', 'varchar(255)', (c) => c.notNull())
        .addColumn('username', 'varchar(255)', (c) => c.notNull())
        .addColumn('password_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('zun_registries_project').on('zun_registries').columns(['project_id', 'name']).execute();
      await db.schema
        .createTable('zun_quotas')
        .addColumn('scope', 'varchar(128)', (c) => c.notNull())
        .addColumn('resource', 'varchar(32)', (c) => c.notNull())
        .addColumn('hard_limit', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('zun_quotas_pk', ['scope', 'resource'])
        .execute();
    },
  },
];

/** What the project's containers hold, for Zun's quotas. */
export interface ZunUsage {
  containers: number;
  cpu: number;
  memory: number;
  disk: number;
}

export class ZunStore {
  private constructor(private readonly db: Kysely<ZunTables>) {}

  static async create(database: Database): Promise<ZunStore> {
    await migrate(database, 'containers', migrations);
    return new ZunStore(database.db as unknown as Kysely<ZunTables>);
  }

  // ---- containers

  async insertContainer(row: ContainerRow): Promise<void> {
    await this.db.insertInto('zun_containers').values(row).execute();
  }

  async container(uuid: string): Promise<ContainerRow | undefined> {
    return this.db.selectFrom('zun_containers').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  /** Containers of a project (or every project) named `name`, oldest first. */
  async containersNamed(name: string, projectId: string | undefined): Promise<ContainerRow[]> {
    let q = this.db.selectFrom('zun_containers').selectAll().where('name', '=', name);
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    return q.orderBy('created_at').execute();
  }

  /** A page of a project's (or every project's) containers, capsule members left out unless asked for. */
  async containers(filter: { projectId?: string; limit?: number; after?: ContainerRow; sortDir?: 'asc' | 'desc'; withCapsuleMembers?: boolean; name?: string }): Promise<ContainerRow[]> {
    let q = this.db.selectFrom('zun_containers').selectAll();
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    if (!filter.withCapsuleMembers) q = q.where('capsule_id', 'is', null);
    if (filter.name !== undefined) q = q.where('name', '=', filter.name);
    const dir = filter.sortDir ?? 'asc';
    if (filter.after) {
      const a = filter.after;
      q = q.where((eb) =>
        dir === 'asc'
          ? eb.or([eb('created_at', '>', a.created_at), eb.and([eb('created_at', '=', a.created_at), eb('uuid', '>', a.uuid)])])
          : eb.or([eb('created_at', '<', a.created_at), eb.and([eb('created_at', '=', a.created_at), eb('uuid', '<', a.uuid)])]),
      );
    }
    q = q.orderBy('created_at', dir).orderBy('uuid', dir);
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    return q.execute();
  }

  async containersOf(uuids: string[]): Promise<ContainerRow[]> {
    if (uuids.length === 0) return [];
    return this.db.selectFrom('zun_containers').selectAll().where('uuid', 'in', uuids).execute();
  }

  /** Changes a container; with `when`, only if its row still matches (compare-and-swap). */
  async updateContainer(uuid: string, changes: Partial<ContainerRow>, when: Partial<Pick<ContainerRow, 'task_state'>> = {}): Promise<boolean> {
    let q = this.db.updateTable('zun_containers').set({ ...changes, updated_at: new Date().toISOString() }).where('uuid', '=', uuid);
    if ('task_state' in when) q = when.task_state === null ? q.where('task_state', 'is', null) : q.where('task_state', '=', when.task_state!);
    return affectedRows(await q.executeTakeFirst()) > 0;
  }

  async deleteContainer(uuid: string): Promise<void> {
    await this.db.deleteFrom('zun_containers').where('uuid', '=', uuid).execute();
    await this.db.deleteFrom('zun_actions').where('container_uuid', '=', uuid).execute();
  }

  async usage(projectId: string): Promise<ZunUsage> {
    const r = await this.db
      .selectFrom('zun_containers')
      .select((eb) => [eb.fn.countAll<number>().as('containers'), eb.fn.sum<number>('cpu').as('cpu'), eb.fn.sum<number>('memory').as('memory'), eb.fn.sum<number>('disk').as('disk')])
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return { containers: Number(r?.containers ?? 0), cpu: Number(r?.cpu ?? 0), memory: Number(r?.memory ?? 0), disk: Number(r?.disk ?? 0) };
  }

  /** Every container row (reconciliation after a restart). */
  async allContainers(): Promise<ContainerRow[]> {
    return this.db.selectFrom('zun_containers').selectAll().execute();
  }

  // ---- actions

  async addAction(row: ActionRow): Promise<void> {
    await this.db.insertInto('zun_actions').values(row).execute();
  }

  async actions(containerUuid: string): Promise<ActionRow[]> {
    return this.db.selectFrom('zun_actions').selectAll().where('container_uuid', '=', containerUuid).orderBy('start_time', 'desc').execute();
  }

  async action(containerUuid: string, requestId: string): Promise<ActionRow | undefined> {
    return this.db.selectFrom('zun_actions').selectAll().where('container_uuid', '=', containerUuid).where('request_id', '=', requestId).executeTakeFirst();
  }

  async updateAction(id: string, changes: Partial<Pick<ActionRow, 'finish_time' | 'message' | 'events'>>): Promise<void> {
    await this.db.updateTable('zun_actions').set(changes).where('id', '=', id).execute();
  }

  // ---- capsules

  async insertCapsule(row: CapsuleRow): Promise<void> {
    await this.db.insertInto('zun_capsules').values(row).execute();
  }

  async capsule(uuid: string): Promise<CapsuleRow | undefined> {
    return this.db.selectFrom('zun_capsules').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  async capsulesNamed(name: string, projectId: string | undefined): Promise<CapsuleRow[]> {
    let q = this.db.selectFrom('zun_capsules').selectAll().where('name', '=', name);
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    return q.execute();
  }

  /** A page of a project's (or every project's) capsules in creation order, after `after` when given. */
  async capsules(projectId: string | undefined, limit: number, after?: CapsuleRow, dir: 'asc' | 'desc' = 'asc'): Promise<CapsuleRow[]> {
    let q = this.db.selectFrom('zun_capsules').selectAll();
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    if (after) {
      const a = after;
      q = q.where((eb) =>
        dir === 'asc'
          ? eb.or([eb('created_at', '>', a.created_at), eb.and([eb('created_at', '=', a.created_at), eb('uuid', '>', a.uuid)])])
          : eb.or([eb('created_at', '<', a.created_at), eb.and([eb('created_at', '=', a.created_at), eb('uuid', '<', a.uuid)])]),
      );
    }
    return q.orderBy('created_at', dir).orderBy('uuid', dir).limit(limit).execute();
  }

  /** Every capsule row (the clean-up pass). */
  async allCapsules(): Promise<CapsuleRow[]> {
    return this.db.selectFrom('zun_capsules').selectAll().execute();
  }

  async updateCapsule(uuid: string, changes: Partial<CapsuleRow>): Promise<void> {
    await this.db.updateTable('zun_capsules').set({ ...changes, updated_at: new Date().toISOString() }).where('uuid', '=', uuid).execute();
  }

  async deleteCapsule(uuid: string): Promise<void> {
    await this.db.deleteFrom('zun_capsules').where('uuid', '=', uuid).execute();
  }

  // ---- registries

  async insertRegistry(row: RegistryRow): Promise<void> {
    try {
      await this.db.insertInto('zun_registries').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`A registry named ${row.name} already exists.`);
      throw err;
    }
  }

  async registry(uuid: string): Promise<RegistryRow | undefined> {
    return this.db.selectFrom('zun_registries').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  async registriesNamed(name: string, projectId: string | undefined): Promise<RegistryRow[]> {
    let q = this.db.selectFrom('zun_registries').selectAll().where('name', '=', name);
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    return q.execute();
  }

  async registries(projectId: string | undefined, limit: number): Promise<RegistryRow[]> {
    let q = this.db.selectFrom('zun_registries').selectAll();
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    return q.orderBy('created_at').limit(limit).execute();
  }

  async updateRegistry(uuid: string, changes: Partial<RegistryRow>): Promise<void> {
    await this.db.updateTable('zun_registries').set({ ...changes, updated_at: new Date().toISOString() }).where('uuid', '=', uuid).execute();
  }

  async deleteRegistry(uuid: string): Promise<void> {
    await this.db.deleteFrom('zun_registries').where('uuid', '=', uuid).execute();
  }

  // ---- quotas (scope: a project id, or `class:<name>`)

  async limits(scope: string): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('zun_quotas').selectAll().where('scope', '=', scope).execute();
    return Object.fromEntries(rows.map((r) => [r.resource, r.hard_limit]));
  }

  async setLimit(scope: string, resource: string, hardLimit: number): Promise<void> {
    const updated = affectedRows(await this.db.updateTable('zun_quotas').set({ hard_limit: hardLimit }).where('scope', '=', scope).where('resource', '=', resource).executeTakeFirst());
    if (updated > 0) return;
    try {
      await this.db.insertInto('zun_quotas').values({ scope, resource, hard_limit: hardLimit }).execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      await this.db.updateTable('zun_quotas').set({ hard_limit: hardLimit }).where('scope', '=', scope).where('resource', '=', resource).execute();
    }
  }

  async clearLimits(scope: string): Promise<void> {
    await this.db.deleteFrom('zun_quotas').where('scope', '=', scope).execute();
  }
}
