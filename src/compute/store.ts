// Compute's rows: flavors, hosts, servers (which are also the capacity ledger), key pairs, server
// groups, quotas and instance actions. The store owns its SQL and migrations.
import { randomUUID } from 'node:crypto';
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
  /** What the ledger charges (the flavor's, kept in step with `flavor` by the store). */
  vcpus: number;
  memory_mib: number;
  disk_gib: number;
}

/** What one host has allocated: sums of its servers' flavors, the servers and their groups. */
export interface HostAllocation {
  vcpus: number;
  ramMiB: number;
  diskGiB: number;
  servers: number;
  serverIds: ReadonlySet<string>;
  groupIds: ReadonlySet<string>;
}

/** The columns reconciliation reads, for every live server. */
export type ServerStateRow = Pick<ServerRow, 'id' | 'project_id' | 'user_id' | 'host_id' | 'vm_state' | 'task_state' | 'power_state' | 'server_group_id' | 'vcpus' | 'memory_mib' | 'disk_gib'>;

type AllocationRow = Pick<ServerRow, 'id' | 'host_id' | 'server_group_id' | 'vcpus' | 'memory_mib' | 'disk_gib'>;

interface MutableHostAllocation {
  vcpus: number;
  ramMiB: number;
  diskGiB: number;
  servers: number;
  serverIds: Set<string>;
  groupIds: Set<string>;
  groupCounts: Map<string, number>;
}

function allocationOf(flavorJson: string): { vcpus: number; memory_mib: number; disk_gib: number } {
  const f = JSON.parse(flavorJson) as { vcpus?: number; ram?: number; disk?: number };
  return { vcpus: Number(f.vcpus ?? 0), memory_mib: Number(f.ram ?? 0), disk_gib: Number(f.disk ?? 0) };
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
  {
    // The ledger's figures as columns, so that quotas and host usage are sums in SQL (an index-only
    // scan per project) instead of parsing every server's flavor on every boot.
    name: '0002-server-allocation-columns',
    async up(db: Kysely<any>) {
      for (const col of ['vcpus', 'memory_mib', 'disk_gib']) {
        await db.schema.alterTable('compute_servers').addColumn(col, 'integer', (c) => c.notNull().defaultTo(0)).execute();
      }
      const rows = (await db.selectFrom('compute_servers').select(['id', 'flavor']).execute()) as { id: string; flavor: string }[];
      for (const r of rows) await db.updateTable('compute_servers').set(allocationOf(r.flavor)).where('id', '=', r.id).execute();
      await db.schema.createIndex('compute_servers_project_usage').on('compute_servers').columns(['project_id', 'deleted', 'vcpus', 'memory_mib']).execute();
      await db.schema.createIndex('compute_servers_group').on('compute_servers').columns(['server_group_id', 'deleted']).execute();
      await db.schema.createIndex('compute_servers_listing').on('compute_servers').columns(['project_id', 'deleted', 'created_at', 'id']).execute();
    },
  },  {
    // Container settings a server was booted with (orchestration's Docker containers, Compose services).
    name: '0003-container-options',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('compute_container_options')
        .addColumn('server_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('options', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    // A random id of this cloud, stamped on its containers so that clouds sharing an engine (tests,
    // benches, a second cloud) never take each other's servers for strays.
    name: '0004-cloud-identity',
    async up(db: Kysely<any>) {
      await db.schema.createTable('compute_cloud').addColumn('id', 'varchar(64)', (c) => c.primaryKey()).execute();
      await db.insertInto('compute_cloud').values({ id: randomUUID() }).execute();
    },
  },
];

export class ComputeStore {
  /** This cloud's id (shared by every controller of one database). */
  cloudId = '';

  /**
   * The ledger in memory: what each host has allocated, from the server rows. Every write this store
   * makes to a server's host, flavor or group updates it; `refreshAllocations` rebuilds it from the
   * rows (reconciliation does, so other controllers' writes show within one pass).
   */
  private readonly allocations = new Map<string, AllocationRow>();
  private readonly byHost = new Map<string, MutableHostAllocation>();
  private writes = 0;
  private readonly lastWrite = new Map<string, number>();
  /** Host rows, re-read at most every HOSTS_MAX_AGE_MS or after this store changed one. */
  private hostsCache: { rows: HostRow[]; at: number } | undefined;

  private constructor(readonly db: Kysely<any>) {}

  static async create(database: Database): Promise<ComputeStore> {
    await migrate(database, 'compute', migrations);
    const store = new ComputeStore(database.db);
    store.cloudId = ((await database.db.selectFrom('compute_cloud').select('id').executeTakeFirstOrThrow()) as { id: string }).id;
    const since = store.allocationVersion();
    store.refreshAllocations(await store.serverStates(), since);
    return store;
  }

  // ---- the ledger in memory

  hostAllocations(): ReadonlyMap<string, HostAllocation> {
    return this.byHost;
  }

  /** A mark to pass to refreshAllocations: writes after it win over the rows read after it. */
  allocationVersion(): number {
    return this.writes;
  }

  /** Rebuilds the ledger from live rows read after `since`; servers written since then keep their newer entry. */
  refreshAllocations(rows: AllocationRow[], since: number): void {
    const kept = new Map<string, AllocationRow | undefined>();
    for (const [id, v] of this.lastWrite) if (v > since) kept.set(id, this.allocations.get(id));
    this.allocations.clear();
    this.byHost.clear();
    for (const r of rows) if (!kept.has(r.id)) this.place(r);
    for (const r of kept.values()) if (r) this.place(r);
    for (const [id, v] of this.lastWrite) if (v <= since) this.lastWrite.delete(id);
  }

  private place(r: AllocationRow): void {
    if (!r.host_id) return;
    this.allocations.set(r.id, r);
    let h = this.byHost.get(r.host_id);
    if (!h) this.byHost.set(r.host_id, (h = { vcpus: 0, ramMiB: 0, diskGiB: 0, servers: 0, serverIds: new Set(), groupIds: new Set(), groupCounts: new Map() }));
    h.vcpus += Number(r.vcpus);
    h.ramMiB += Number(r.memory_mib);
    h.diskGiB += Number(r.disk_gib);
    h.servers++;
    h.serverIds.add(r.id);
    if (r.server_group_id) {
      h.groupCounts.set(r.server_group_id, (h.groupCounts.get(r.server_group_id) ?? 0) + 1);
      h.groupIds.add(r.server_group_id);
    }
  }

  private unplace(id: string): void {
    const r = this.allocations.get(id);
    if (!r) return;
    this.allocations.delete(id);
    const h = this.byHost.get(r.host_id!);
    if (!h) return;
    h.vcpus -= Number(r.vcpus);
    h.ramMiB -= Number(r.memory_mib);
    h.diskGiB -= Number(r.disk_gib);
    h.servers--;
    h.serverIds.delete(id);
    if (r.server_group_id) {
      const n = (h.groupCounts.get(r.server_group_id) ?? 1) - 1;
      if (n > 0) h.groupCounts.set(r.server_group_id, n);
      else {
        h.groupCounts.delete(r.server_group_id);
        h.groupIds.delete(r.server_group_id);
      }
    }
    if (h.servers === 0) this.byHost.delete(r.host_id!);
  }

  /** Records a server's allocation as it now is (undefined: it is gone). */
  private setAllocation(id: string, r: AllocationRow | undefined): void {
    this.lastWrite.set(id, ++this.writes);
    this.unplace(id);
    if (r) this.place(r);
  }

  private async reloadAllocation(id: string): Promise<void> {
    const r = (await this.db
      .selectFrom('compute_servers')
      .select(['id', 'host_id', 'server_group_id', 'vcpus', 'memory_mib', 'disk_gib'])
      .where('id', '=', id)
      .where('deleted', '=', 0)
      .executeTakeFirst()) as AllocationRow | undefined;
    this.setAllocation(id, r);
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
  /** The host rows as of at most `maxAgeMs` ago (or this store's last change to one): the scheduler's view. */
  async hostsRecent(maxAgeMs = 1000): Promise<HostRow[]> {
    if (this.hostsCache && Date.now() - this.hostsCache.at < maxAgeMs) return this.hostsCache.rows;
    const at = Date.now();
    const rows = await this.hosts();
    this.hostsCache = { rows, at };
    return rows;
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
    this.hostsCache = undefined;
  }
  async heartbeat(id: string): Promise<void> {
    await this.heartbeats([id]);
  }
  /** One heartbeat for many hosts (a reconcile pass), a few hundred ids per statement. */
  async heartbeats(ids: string[]): Promise<void> {
    const now = new Date().toISOString();
    for (let i = 0; i < ids.length; i += 500) {
      await this.db.updateTable('compute_hosts').set({ heartbeat_at: now }).where('id', 'in', ids.slice(i, i + 500)).execute();
    }
    this.hostsCache = undefined;
  }
  async setHostEnabled(id: string, enabled: boolean, reason: string | null): Promise<void> {
    await this.db.updateTable('compute_hosts').set({ enabled: enabled ? 1 : 0, disabled_reason: reason }).where('id', '=', id).execute();
    this.hostsCache = undefined;
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
  /** Live servers, newest first, narrowed in SQL; `after` continues a listing after that server (keyset). */
  async serversPage(filter: { projectId?: string; hostId?: string; imageId?: string; flavorId?: string; changesSince?: string; after?: { created_at: string; id: string }; limit?: number }): Promise<ServerRow[]> {
    let q = this.db.selectFrom('compute_servers').selectAll().where('deleted', '=', 0);
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    if (filter.hostId !== undefined) q = q.where('host_id', '=', filter.hostId);
    if (filter.imageId !== undefined) q = q.where('image_id', '=', filter.imageId);
    if (filter.flavorId !== undefined) q = q.where('flavor_id', '=', filter.flavorId);
    if (filter.changesSince !== undefined) q = q.where('updated_at', '>=', filter.changesSince);
    const after = filter.after;
    if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after.created_at), eb.and([eb('created_at', '=', after.created_at), eb('id', '<', after.id)])]));
    q = q.orderBy('created_at', 'desc').orderBy('id', 'desc');
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    return (await q.execute()) as ServerRow[];
  }
  /** What reconciliation compares with the engines, for every live server. */
  async serverStates(): Promise<ServerStateRow[]> {
    return (await this.db
      .selectFrom('compute_servers')
      .select(['id', 'project_id', 'user_id', 'host_id', 'vm_state', 'task_state', 'power_state', 'server_group_id', 'vcpus', 'memory_mib', 'disk_gib'])
      .where('deleted', '=', 0)
      .execute()) as ServerStateRow[];
  }
  /** Live servers of a group; `placed` only those with a host. */
  async groupMemberIds(groupId: string, placed = false): Promise<string[]> {
    let q = this.db.selectFrom('compute_servers').select('id').where('server_group_id', '=', groupId).where('deleted', '=', 0);
    if (placed) q = q.where('host_id', 'is not', null);
    return ((await q.orderBy('created_at').execute()) as { id: string }[]).map((r) => r.id);
  }
  /** A project's instances, cores and RAM in use (the ledger's sums). */
  async projectUsage(projectId: string, db: Kysely<any> = this.db): Promise<{ instances: number; cores: number; ram: number }> {
    const r = (await db
      .selectFrom('compute_servers')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('vcpus').as('cores'), eb.fn.sum('memory_mib').as('ram')])
      .where('project_id', '=', projectId)
      .where('deleted', '=', 0)
      .executeTakeFirst()) as { n: number | string; cores: number | string | null; ram: number | string | null };
    return { instances: Number(r.n), cores: Number(r.cores ?? 0), ram: Number(r.ram ?? 0) };
  }
  async updateServer(id: string, changes: Partial<ServerRow>, onlyIf?: { task_state?: string | null; vm_state?: VmState[] }): Promise<boolean> {
    const set: Partial<ServerRow> = { ...changes, ...(changes.flavor !== undefined ? allocationOf(changes.flavor) : {}), updated_at: new Date().toISOString() };
    let q = this.db.updateTable('compute_servers').set(set).where('id', '=', id).where('deleted', '=', 0);
    if (onlyIf?.task_state !== undefined) q = onlyIf.task_state === null ? q.where('task_state', 'is', null) : q.where('task_state', '=', onlyIf.task_state);
    if (onlyIf?.vm_state) q = q.where('vm_state', 'in', onlyIf.vm_state);
    const updated = Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
    if (updated && ('host_id' in changes || 'flavor' in changes || 'server_group_id' in changes)) await this.reloadAllocation(id);
    return updated;
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
    const over = await this.db.transaction().execute(async (trx) => {
      if (dialectIsPostgres) {
        // One row per project is the lock (locking the quota rows too deadlocked: a statement that
        // saw the lock row locked it first, in key order, one that did not locked it last).
        await trx.insertInto('compute_quotas').values({ project_id: projectId, resource: '_lock', hard_limit: 0 }).onConflict((oc) => oc.doNothing()).execute();
        await trx.selectFrom('compute_quotas').select('project_id').where('project_id', '=', projectId).where('resource', '=', '_lock').forUpdate().execute();
      }
      const used = await this.projectUsage(projectId, trx);
      const charged = rows.map((r) => ({ ...r, ...allocationOf(r.flavor) }));
      const want = { instances: rows.length, cores: 0, ram: 0 };
      for (const r of charged) {
        want.cores += r.vcpus;
        want.ram += r.memory_mib;
      }
      for (const k of ['instances', 'cores', 'ram'] as const) {
        if (limits[k] >= 0 && used[k] + want[k] > limits[k]) return { over: k, used: used[k], limit: limits[k], requested: want[k] };
      }
      // A few rows per statement keeps under SQLite's bound-parameter limit.
      for (let i = 0; i < charged.length; i += 25) await trx.insertInto('compute_servers').values(charged.slice(i, i + 25)).execute();
      return undefined;
    });
    if (!over) for (const r of rows) if (r.host_id) await this.reloadAllocation(r.id);
    return over;
  }

  async markDeleted(id: string): Promise<void> {
    await this.db.updateTable('compute_servers').set({ deleted: 1, vm_state: 'deleted', task_state: null, updated_at: new Date().toISOString() }).where('id', '=', id).execute();
    this.setAllocation(id, undefined);
  }

  // ---- key pairs
  async keypairs(userId: string): Promise<KeypairRow[]> {
    return (await this.db.selectFrom('compute_keypairs').selectAll().where('user_id', '=', userId).orderBy('name').execute()) as KeypairRow[];
  }
  async setContainerOptions(serverId: string, options: string): Promise<void> {
    await this.db.insertInto('compute_container_options').values({ server_id: serverId, options }).execute();
  }

  async containerOptions(serverId: string): Promise<string | undefined> {
    const row = (await this.db.selectFrom('compute_container_options').select('options').where('server_id', '=', serverId).executeTakeFirst()) as { options: string } | undefined;
    return row?.options;
  }

  async deleteContainerOptions(serverId: string): Promise<void> {
    await this.db.deleteFrom('compute_container_options').where('server_id', '=', serverId).execute();
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
