// Compute's rows: flavors, hosts, servers (which are also the capacity ledger), key pairs, server
// groups, quotas and instance actions. The store owns its SQL and migrations.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/database.ts';
import { isUniqueViolation } from '../platform/db/database.ts';
import { migrate, type Migration } from '../platform/db/migrations.ts';
import { ConflictError } from '../platform/errors.ts';

export interface FlavorRow {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral: number;
  swap: number;
  is_public: number;
  description: string | null;
  extra_specs: string;
  created_at: string;
}

export interface HostRow {
  id: string;
  hostname: string;
  endpoint: string;
  vcpus: number;
  memory_mib: number;
  disk_gib: number;
  architecture: string;
  availability_zone: string;
  enabled: number;
  disabled_reason: string | null;
  heartbeat_at: string;
  created_at: string;
}

export type VmState = 'building' | 'active' | 'stopped' | 'paused' | 'suspended' | 'error' | 'deleted' | 'resized';

export interface ServerRow {
  id: string;
  name: string;
  project_id: string;
  user_id: string;
  image_id: string;
  flavor_id: string;
  /** The flavor as it was at boot/resize (JSON): the ledger charges this. */
  flavor: string;
  old_flavor: string | null;
  host_id: string | null;
  vm_state: VmState;
  task_state: string | null;
  power_state: number;
  fault: string | null;
  metadata: string;
  key_name: string | null;
  user_data: string | null;
  availability_zone: string | null;
  locked: number;
  networks: string;
  addresses: string;
  security_groups: string;
  server_group_id: string | null;
  description: string | null;
  created_at: string;
  updated_at: string;
  launched_at: string | null;
  deleted: number;
}

export interface KeypairRow {
  user_id: string;
  name: string;
  public_key: string;
  fingerprint: string;
  type: string;
  created_at: string;
}

export interface ServerGroupRow {
  id: string;
  name: string;
  project_id: string;
  user_id: string;
  policy: string;
  created_at: string;
}

export interface ActionRow {
  id: string;
  server_id: string;
  action: string;
  request_id: string;
  user_id: string;
  project_id: string;
  start_time: string;
  message: string | null;
  events: string;
}

const migrations: Migration[] = [
  {
    name: '0001-initial',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('compute_flavors')
        .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
        .addColumn('ram', 'integer', (c) => c.notNull())
        .addColumn('vcpus', 'integer', (c) => c.notNull())
        .addColumn('disk', 'integer', (c) => c.notNull())
        .addColumn('ephemeral', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('swap', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('description', 'text')
        .addColumn('extra_specs', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('compute_hosts')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('hostname', 'varchar(255)', (c) => c.notNull().unique())
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('vcpus', 'integer', (c) => c.notNull())
        .addColumn('memory_mib', 'integer', (c) => c.notNull())
        .addColumn('disk_gib', 'integer', (c) => c.notNull())
        .addColumn('architecture', 'varchar(32)', (c) => c.notNull())
        .addColumn('availability_zone', 'varchar(255)', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('disabled_reason', 'text')
        .addColumn('heartbeat_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('compute_servers')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('flavor_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('flavor', 'text', (c) => c.notNull())
        .addColumn('old_flavor', 'text')
        .addColumn('host_id', 'varchar(64)')
        .addColumn('vm_state', 'varchar(16)', (c) => c.notNull())
        .addColumn('task_state', 'varchar(32)')
        .addColumn('power_state', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('fault', 'text')
        .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('key_name', 'varchar(255)')
        .addColumn('user_data', 'text')
        .addColumn('availability_zone', 'varchar(255)')
        .addColumn('locked', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('networks', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('addresses', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('security_groups', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('server_group_id', 'varchar(36)')
        .addColumn('description', 'text')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('launched_at', 'varchar(32)')
        .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('compute_servers_project').on('compute_servers').columns(['project_id', 'deleted']).execute();
      await db.schema.createIndex('compute_servers_host').on('compute_servers').columns(['host_id', 'deleted']).execute();
      await db.schema
        .createTable('compute_keypairs')
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'varchar(255)', (c) => c.notNull())
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addPrimaryKeyConstraint('compute_keypairs_pk', ['user_id', 'name'])
        .execute();
      await db.schema
        .createTable('compute_server_groups')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('policy', 'varchar(32)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('compute_quotas')
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('resource', 'varchar(64)', (c) => c.notNull())
        .addColumn('hard_limit', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('compute_quotas_pk', ['project_id', 'resource'])
        .execute();
      await db.schema
        .createTable('compute_actions')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('server_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('action', 'varchar(64)', (c) => c.notNull())
        .addColumn('request_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('start_time', 'varchar(32)', (c) => c.notNull())
        .addColumn('message', 'text')
        .addColumn('events', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema.createIndex('compute_actions_server').on('compute_actions').column('server_id').execute();
      // Until the network service attaches servers, each project has one isolated engine network.
      await db.schema
        .createTable('compute_project_networks')
        .addColumn('project_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('slot', 'integer', (c) => c.notNull().unique())
        .execute();
    },
  },
];

export class ComputeStore {
  private constructor(readonly db: Kysely<any>) {}

  static async create(database: Database): Promise<ComputeStore> {
    await migrate(database, 'compute', migrations);
    return new ComputeStore(database.db);
  }

  // ---- flavors
  async flavors(): Promise<FlavorRow[]> {
    return (await this.db.selectFrom('compute_flavors').selectAll().orderBy('ram').orderBy('id').execute()) as FlavorRow[];
  }
  async flavor(idOrName: string): Promise<FlavorRow | undefined> {
    return (await this.db.selectFrom('compute_flavors').selectAll().where((eb) => eb.or([eb('id', '=', idOrName)])).executeTakeFirst()) as FlavorRow | undefined;
  }
  async insertFlavor(row: FlavorRow): Promise<void> {
    try {
      await this.db.insertInto('compute_flavors').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Flavor with name ${row.name} or ID ${row.id} already exists.`);
      throw err;
    }
  }
  async updateFlavor(id: string, changes: Partial<FlavorRow>): Promise<void> {
    await this.db.updateTable('compute_flavors').set(changes).where('id', '=', id).execute();
  }
  async deleteFlavor(id: string): Promise<boolean> {
    return Number((await this.db.deleteFrom('compute_flavors').where('id', '=', id).executeTakeFirst()).numDeletedRows) > 0;
  }

  // ---- hosts
  async hosts(): Promise<HostRow[]> {
    return (await this.db.selectFrom('compute_hosts').selectAll().orderBy('hostname').execute()) as HostRow[];
  }
  async host(id: string): Promise<HostRow | undefined> {
    return (await this.db.selectFrom('compute_hosts').selectAll().where('id', '=', id).executeTakeFirst()) as HostRow | undefined;
  }
  async upsertHost(row: HostRow): Promise<void> {
    const existing = await this.host(row.id);
    if (existing) {
      const { enabled: _e, disabled_reason: _d, created_at: _c, ...rest } = row;
      await this.db.updateTable('compute_hosts').set(rest).where('id', '=', row.id).execute();
    } else {
      await this.db.insertInto('compute_hosts').values(row).execute();
    }
  }
  async heartbeat(id: string): Promise<void> {
    await this.db.updateTable('compute_hosts').set({ heartbeat_at: new Date().toISOString() }).where('id', '=', id).execute();
  }
  async setHostEnabled(id: string, enabled: boolean, reason: string | null): Promise<void> {
    await this.db.updateTable('compute_hosts').set({ enabled: enabled ? 1 : 0, disabled_reason: reason }).where('id', '=', id).execute();
  }

  // ---- servers
  async server(id: string): Promise<ServerRow | undefined> {
    return (await this.db.selectFrom('compute_servers').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst()) as ServerRow | undefined;
  }
  async servers(filter: { projectId?: string; hostId?: string; includeDeleted?: boolean } = {}): Promise<ServerRow[]> {
    let q = this.db.selectFrom('compute_servers').selectAll();
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    if (filter.hostId !== undefined) q = q.where('host_id', '=', filter.hostId);
    if (!filter.includeDeleted) q = q.where('deleted', '=', 0);
    return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute()) as ServerRow[];
  }
  async updateServer(id: string, changes: Partial<ServerRow>, onlyIf?: { task_state?: string | null; vm_state?: VmState[] }): Promise<boolean> {
    let q = this.db.updateTable('compute_servers').set({ ...changes, updated_at: new Date().toISOString() }).where('id', '=', id).where('deleted', '=', 0);
    if (onlyIf?.task_state !== undefined) q = onlyIf.task_state === null ? q.where('task_state', 'is', null) : q.where('task_state', '=', onlyIf.task_state);
    if (onlyIf?.vm_state) q = q.where('vm_state', 'in', onlyIf.vm_state);
    return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
  }

  /**
   * Inserts servers only if the project stays within its quotas, in one transaction; on
   * PostgreSQL the project's quota rows are locked so concurrent boots serialise.
   */
  async insertServersWithinQuota(
    projectId: string,
    rows: ServerRow[],
    limits: { instances: number; cores: number; ram: number },
    dialectIsPostgres: boolean,
  ): Promise<{ over: 'instances' | 'cores' | 'ram'; used: number; limit: number; requested: number } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      if (dialectIsPostgres) {
        await trx.selectFrom('compute_quotas').select('project_id').where('project_id', '=', projectId).forUpdate().execute();
        await trx.insertInto('compute_quotas').values({ project_id: projectId, resource: '_lock', hard_limit: 0 }).onConflict((oc) => oc.doNothing()).execute();
        await trx.selectFrom('compute_quotas').select('project_id').where('project_id', '=', projectId).where('resource', '=', '_lock').forUpdate().execute();
      }
      const live = (await trx.selectFrom('compute_servers').select('flavor').where('project_id', '=', projectId).where('deleted', '=', 0).execute()) as { flavor: string }[];
      const used = { instances: live.length, cores: 0, ram: 0 };
      for (const r of live) {
        const f = JSON.parse(r.flavor) as { vcpus: number; ram: number };
        used.cores += f.vcpus;
        used.ram += f.ram;
      }
      const want = { instances: rows.length, cores: 0, ram: 0 };
      for (const r of rows) {
        const f = JSON.parse(r.flavor) as { vcpus: number; ram: number };
        want.cores += f.vcpus;
        want.ram += f.ram;
      }
      for (const k of ['instances', 'cores', 'ram'] as const) {
        if (limits[k] >= 0 && used[k] + want[k] > limits[k]) return { over: k, used: used[k], limit: limits[k], requested: want[k] };
      }
      for (const r of rows) await trx.insertInto('compute_servers').values(r).execute();
      return undefined;
    });
  }

  async markDeleted(id: string): Promise<void> {
    await this.db.updateTable('compute_servers').set({ deleted: 1, vm_state: 'deleted', task_state: null, updated_at: new Date().toISOString() }).where('id', '=', id).execute();
  }

  // ---- key pairs
  async keypairs(userId: string): Promise<KeypairRow[]> {
    return (await this.db.selectFrom('compute_keypairs').selectAll().where('user_id', '=', userId).orderBy('name').execute()) as KeypairRow[];
  }
  async keypair(userId: string, name: string): Promise<KeypairRow | undefined> {
    return (await this.db.selectFrom('compute_keypairs').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst()) as KeypairRow | undefined;
  }
  async insertKeypair(row: KeypairRow): Promise<void> {
    try {
      await this.db.insertInto('compute_keypairs').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Key pair '${row.name}' already exists.`);
      throw err;
    }
  }
  async deleteKeypair(userId: string, name: string): Promise<boolean> {
    return Number((await this.db.deleteFrom('compute_keypairs').where('user_id', '=', userId).where('name', '=', name).executeTakeFirst()).numDeletedRows) > 0;
  }

  // ---- server groups
  async serverGroups(projectId?: string): Promise<ServerGroupRow[]> {
    let q = this.db.selectFrom('compute_server_groups').selectAll();
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    return (await q.orderBy('name').execute()) as ServerGroupRow[];
  }
  async serverGroup(id: string): Promise<ServerGroupRow | undefined> {
    return (await this.db.selectFrom('compute_server_groups').selectAll().where('id', '=', id).executeTakeFirst()) as ServerGroupRow | undefined;
  }
  async insertServerGroup(row: ServerGroupRow): Promise<void> {
    await this.db.insertInto('compute_server_groups').values(row).execute();
  }
  async deleteServerGroup(id: string): Promise<void> {
    await this.db.deleteFrom('compute_server_groups').where('id', '=', id).execute();
  }

  // ---- quotas
  async quotaOverrides(projectId: string): Promise<Record<string, number>> {
    const rows = (await this.db.selectFrom('compute_quotas').selectAll().where('project_id', '=', projectId).execute()) as { resource: string; hard_limit: number }[];
    return Object.fromEntries(rows.filter((r) => r.resource !== '_lock').map((r) => [r.resource, r.hard_limit]));
  }
  async setQuota(projectId: string, resource: string, limit: number): Promise<void> {
    await this.db
      .insertInto('compute_quotas')
      .values({ project_id: projectId, resource, hard_limit: limit })
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit: limit }))
      .execute();
  }

  // ---- default project networks
  /** The project's network slot (0..), allocated on first use; unique across projects. */
  async projectNetworkSlot(projectId: string): Promise<number> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = (await this.db.selectFrom('compute_project_networks').select('slot').where('project_id', '=', projectId).executeTakeFirst()) as { slot: number } | undefined;
      if (row) return Number(row.slot);
      const max = (await this.db.selectFrom('compute_project_networks').select((eb) => eb.fn.max('slot').as('m')).executeTakeFirst()) as { m: number | null };
      try {
        await this.db.insertInto('compute_project_networks').values({ project_id: projectId, slot: max.m === null ? 0 : Number(max.m) + 1 }).execute();
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
    throw new ConflictError('Could not allocate a network for the project.');
  }

  // ---- instance actions
  async addAction(row: ActionRow): Promise<void> {
    await this.db.insertInto('compute_actions').values(row).execute();
  }
  async actions(serverId: string): Promise<ActionRow[]> {
    return (await this.db.selectFrom('compute_actions').selectAll().where('server_id', '=', serverId).orderBy('start_time', 'desc').execute()) as ActionRow[];
  }
  async setActionEvents(id: string, events: string, message: string | null): Promise<void> {
    await this.db.updateTable('compute_actions').set({ events, message }).where('id', '=', id).execute();
  }
}
