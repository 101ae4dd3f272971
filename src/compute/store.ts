// Compute's rows: flavors, hosts, servers (which are also the capacity ledger), key pairs, server
// groups, quotas and instance actions. The store owns its SQL and migrations; its Kysely handle is
// typed with compute's tables and never leaves it.
import { randomUUID } from 'node:crypto';
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import type { Database, Dialect } from '../platform/db/database.ts';
import { PreparedQueries, PreparedQuery } from '../platform/db/prepared.ts';
import { WriteGroup } from '../platform/db/write-group.ts';
import { isUniqueViolation } from '../platform/db/database.ts';
import { migrate, type Migration } from '../platform/db/migrations.ts';
import { ConflictError } from '../platform/errors.ts';
import { HostLedger } from './ledger.ts';
import type { ActionRow, AggregateHostRow, AggregateRow, AllocationRow, ComputeTables, FlavorRow, HostRow, KeypairRow, ServerGroupRow, ServerOwnerRow, ServerRevision, ServerRow, ServerStateRow, VmState, WorkloadKind } from './tables.ts';

export type { ActionRow, FlavorRow, HostRow, KeypairRow, ServerGroupRow, ServerRow, ServerStateRow, VmState, WorkloadKind } from './tables.ts';

/** Every column of a server row and of an action row, in the order their prepared inserts bind them. */
const SERVER_COLUMNS = ['id', 'name', 'kind', 'project_id', 'user_id', 'image_id', 'flavor_id', 'flavor', 'old_flavor', 'host_id', 'vm_state', 'task_state', 'power_state', 'fault', 'metadata', 'key_name', 'user_data', 'availability_zone', 'locked', 'locked_by', 'locked_reason', 'networks', 'addresses', 'security_groups', 'server_group_id', 'description', 'created_at', 'updated_at', 'launched_at', 'deleted', 'vcpus', 'memory_mib', 'disk_gib'] as const satisfies readonly (keyof ServerRow)[];
const ACTION_COLUMNS = ['id', 'server_id', 'action', 'request_id', 'user_id', 'project_id', 'start_time', 'message', 'events'] as const satisfies readonly (keyof ActionRow)[];

const SERVER_COLUMN_SET: ReadonlySet<string> = new Set(SERVER_COLUMNS);
const ACTION_COLUMN_SET: ReadonlySet<string> = new Set(ACTION_COLUMNS);
/** Whether a row sets exactly these columns (then its prepared insert binds each of them). */
const setsExactly = (row: object, columns: ReadonlySet<string>) => {
  const keys = Object.keys(row);
  return keys.length === columns.size && keys.every((k) => columns.has(k) && (row as Record<string, unknown>)[k] !== undefined);
};

function allocationOf(flavorJson: string): { vcpus: number; memory_mib: number; disk_gib: number } {
  const f = JSON.parse(flavorJson) as { vcpus?: number; ram?: number; disk?: number };
  return { vcpus: Number(f.vcpus ?? 0), memory_mib: Number(f.ram ?? 0), disk_gib: Number(f.disk ?? 0) };
}

/** The servers a listing asks for, narrowed in SQL. */
export interface ServerFilter {
  kind?: WorkloadKind;
  projectId?: string;
  hostId?: string;
  imageId?: string;
  flavorId?: string;
  changesSince?: string;
  /** Nova's tag filters (2.26): all of `tags`, any of `tagsAny`, not all of `notTags`, none of `notTagsAny`. */
  tags?: string[];
  tagsAny?: string[];
  notTags?: string[];
  notTagsAny?: string[];
  /** Continue a listing after this server (keyset: newest first). */
  after?: { created_at: string; id: string };
  limit?: number;
}

export interface QuotaLimits {
  instances: number;
  cores: number;
  ram: number;
}

export type QuotaExcess = { over: 'instances' | 'cores' | 'ram'; used: number; limit: number; requested: number };

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
  {
    // A row's kind: Nova servers, or workloads of other APIs (Zun's containers) that share the
    // ledger and the scheduler but stay out of Nova's views. The per-project engine networks of
    // the days before the network service bound ports are gone.
    name: '0005-workload-kind',
    async up(db: Kysely<any>) {
      await db.schema.alterTable('compute_servers').addColumn('kind', 'varchar(16)', (c) => c.notNull().defaultTo('server')).execute();
      await db.schema.createIndex('compute_servers_kind_listing').on('compute_servers').columns(['kind', 'project_id', 'deleted', 'created_at', 'id']).execute();
      // The quota sums per project and kind stay index-only scans.
      await db.schema.createIndex('compute_servers_kind_usage').on('compute_servers').columns(['project_id', 'kind', 'deleted', 'vcpus', 'memory_mib']).execute();
      await db.schema.dropTable('compute_project_networks').ifExists().execute();
    },
  },
  {
    // Nova's locked_by: an admin's lock is lifted by admins only; and the reason given (2.73).
    name: '0006-locked-by',
    async up(db: Kysely<any>) {
      await db.schema.alterTable('compute_servers').addColumn('locked_by', 'varchar(16)').execute();
      await db.schema.alterTable('compute_servers').addColumn('locked_reason', 'text').execute();
      await db.updateTable('compute_servers').set({ locked_by: 'owner' }).where('locked', '=', 1).execute();
    },
  },
  {
    // What each host reports of its tenant containers' confinement (seccomp, AppArmor/SELinux, userns, caps).
    name: '0007-host-confinement',
    async up(db: Kysely<any>) {
      await db.schema.alterTable('compute_hosts').addColumn('confinement', 'text').execute();
    },
  },
  {
    // Nova's admin APIs: hosts with the integer ids of microversions before 2.53 and the uuids of
    // 2.53 on, forced down (2.11); host aggregates; projects' access to private flavors.
    name: '0008-admin-apis',
    async up(db: Kysely<any>, dialect: Dialect) {
      await db.schema.alterTable('compute_hosts').addColumn('number', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('compute_hosts').addColumn('uuid', 'varchar(36)', (c) => c.notNull().defaultTo('')).execute();
      await db.schema.alterTable('compute_hosts').addColumn('forced_down', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      const hosts = (await db.selectFrom('compute_hosts').select(['id']).orderBy('created_at').orderBy('id').execute()) as { id: string }[];
      for (const [i, h] of hosts.entries()) await db.updateTable('compute_hosts').set({ number: i + 1, uuid: randomUUID() }).where('id', '=', h.id).execute();
      await db.schema
        .createTable('compute_aggregates')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
        .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
        .addColumn('availability_zone', 'varchar(255)')
        .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('compute_aggregate_hosts')
        .addColumn('aggregate_id', 'integer', (c) => c.notNull().references('compute_aggregates.id').onDelete('cascade'))
        .addColumn('host_id', 'varchar(64)', (c) => c.notNull())
        .addPrimaryKeyConstraint('compute_aggregate_hosts_pk', ['aggregate_id', 'host_id'])
        .execute();
      await db.schema
        .createTable('compute_flavor_access')
        .addColumn('flavor_id', 'varchar(255)', (c) => c.notNull().references('compute_flavors.id').onDelete('cascade'))
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addPrimaryKeyConstraint('compute_flavor_access_pk', ['flavor_id', 'project_id'])
        .execute();
      await db.schema.createIndex('compute_flavor_access_project').on('compute_flavor_access').columns(['project_id', 'flavor_id']).execute();
    },
  },
  {
    // Server tags (2.26), Nova's quota classes, and when a deleted server ended (for usage reports).
    name: '0009-tags-quota-classes',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('compute_server_tags')
        .addColumn('server_id', 'varchar(36)', (c) => c.notNull().references('compute_servers.id').onDelete('cascade'))
        .addColumn('tag', 'varchar(60)', (c) => c.notNull())
        .addPrimaryKeyConstraint('compute_server_tags_pk', ['server_id', 'tag'])
        .execute();
      await db.schema.createIndex('compute_server_tags_tag').on('compute_server_tags').columns(['tag', 'server_id']).execute();
      await db.schema
        .createTable('compute_quota_classes')
        .addColumn('class_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('resource', 'varchar(255)', (c) => c.notNull())
        .addColumn('hard_limit', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('compute_quota_classes_pk', ['class_name', 'resource'])
        .execute();
      await db.schema.alterTable('compute_servers').addColumn('terminated_at', 'varchar(32)').execute();
    },
  },
  {
    // A server row's revision, bumped by every update: lists keep each server's rendered view by it.
    name: '0010-server-revision',
    async up(db: Kysely<any>) {
      await db.schema.alterTable('compute_servers').addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
];

/** One create request's servers to insert within quota (insertServersWithinQuota's arguments). */
interface QuotaInsert {
  projectId: string;
  kind: WorkloadKind;
  count: { min: number; max: number };
  each: { cores: number; ram: number };
  limits: QuotaLimits;
  make: (n: number) => ServerRow[];
  tags: string[];
  actionsOf?: (rows: ServerRow[]) => ActionRow[];
  /** The usage counted for the rows inserted, until their commit is done or rolled back. */
  added?: Pick<ServerRow, 'vcpus' | 'memory_mib'>[];
}

/** What a build's end writes (finishBuild). */
interface BuildEnd {
  id: string;
  changes: Partial<ServerRow>;
  onlyIf: { task_state?: string | null };
  action: Pick<ActionRow, 'id' | 'events' | 'message'>;
}

export class ComputeStore {
  /** This cloud's id (shared by every controller of one database). */
  cloudId = '';
  /** What each host has allocated, kept from the server rows this store writes. */
  readonly ledger = new HostLedger();
  /** Host rows, re-read at most every `maxAgeMs` or after this store changed one. */
  private hostsCache: { rows: HostRow[]; at: number } | undefined;

  private readonly db: Kysely<ComputeTables>;
  private readonly dialect: Dialect;
  /** The boot path's statements, compiled once (see platform/db/prepared.ts). */
  private readonly q;
  /** A server's updates, one statement per set of columns and conditions. */
  private readonly serverUpdates: PreparedQueries<Record<string, unknown>, AllocationRow>;
  /** Builds' ends and placements of the same turn, each kind in one commit (see platform/db/write-group.ts). */
  private readonly buildEnds: WriteGroup<BuildEnd, boolean>;
  private readonly placements: WriteGroup<{ id: string; hostId: string }, AllocationRow | undefined>;
  /** SQLite: create requests' quota checks and inserts of the same turn, in one commit. */
  private readonly quotaInserts: WriteGroup<QuotaInsert, { rows: ServerRow[] } | QuotaExcess>;

  private constructor(database: Database) {
    const db = (this.db = database.db as Kysely<ComputeTables>);
    this.dialect = database.dialect;
    this.serverUpdates = new PreparedQueries(database);
    this.buildEnds = new WriteGroup(db, async (trx, end: BuildEnd) => {
      const updated = await this.updateServerIn(trx, end.id, end.changes, end.onlyIf);
      await this.q.setActionEvents.execute({ id: end.action.id, events: end.action.events, message: end.action.message }, trx);
      return updated;
    });
    this.quotaInserts = new WriteGroup(db, (trx, w: QuotaInsert) => this.insertWithinQuota(trx, w), 200, (w) => this.takeBackUsage(w));
    // The ledger's entry is set once the commit is done (placeServer): a reconciliation reading the
    // rows before it keeps the claim.
    this.placements = new WriteGroup(db, async (trx, p: { id: string; hostId: string }) => (await this.writeServer(trx, p.id, { host_id: p.hostId, task_state: 'spawning' })) as AllocationRow | undefined);
    this.q = {
      server: new PreparedQuery<{ id: string }, ServerRow>(database, (p) => db.selectFrom('compute_servers').selectAll().where('id', '=', p('id')).where('deleted', '=', 0)),
      // A project's page of ids and revisions (a detail list's, unfiltered), first and after a marker.
      revisions: new PreparedQuery<{ kind: WorkloadKind; projectId: string; limit: number }, ServerRevision>(database, (p) =>
        this.pageQuery({ kind: p('kind'), projectId: p('projectId'), limit: p('limit') }).select(['id', 'revision']),
      ),
      revisionsAfter: new PreparedQuery<{ kind: WorkloadKind; projectId: string; limit: number; afterCreatedAt: string; afterId: string }, ServerRevision>(database, (p) =>
        this.pageQuery({ kind: p('kind'), projectId: p('projectId'), limit: p('limit'), after: { created_at: p('afterCreatedAt'), id: p('afterId') } }).select(['id', 'revision']),
      ),
      serverTags: new PreparedQuery<{ id: string }, { tag: string }>(database, (p) => db.selectFrom('compute_server_tags').select('tag').where('server_id', '=', p('id')).orderBy('tag')),
      serverOwner: new PreparedQuery<{ id: string }, ServerOwnerRow>(database, (p) =>
        db.selectFrom('compute_servers').select(['id', 'revision', 'project_id', 'kind']).where('id', '=', p('id')).where('deleted', '=', 0),
      ),
      flavor: new PreparedQuery<{ id: string }, FlavorRow>(database, (p) => db.selectFrom('compute_flavors').selectAll().where('id', '=', p('id'))),
      quotaClass: new PreparedQuery<{ name: string }, { resource: string; hard_limit: number }>(database, (p) => db.selectFrom('compute_quota_classes').select(['resource', 'hard_limit']).where('class_name', '=', p('name'))),
      quotaOverrides: new PreparedQuery<{ projectId: string }, { resource: string; hard_limit: number }>(database, (p) => db.selectFrom('compute_quotas').select(['resource', 'hard_limit']).where('project_id', '=', p('projectId'))),
      projectUsage: new PreparedQuery<{ projectId: string; kind: WorkloadKind }, { n: number | string; cores: number | string | null; ram: number | string | null }>(database, (p) =>
        db
          .selectFrom('compute_servers')
          .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.sum<number | string | null>('vcpus').as('cores'), eb.fn.sum<number | string | null>('memory_mib').as('ram')])
          .where('project_id', '=', p('projectId'))
          .where('kind', '=', p('kind'))
          .where('deleted', '=', 0),
      ),
      insertServer: new PreparedQuery<ServerRow & Record<string, unknown>, never>(database, (p) => db.insertInto('compute_servers').values(Object.fromEntries(SERVER_COLUMNS.map((c) => [c, p(c)])) as unknown as ServerRow)),
      insertAction: new PreparedQuery<ActionRow & Record<string, unknown>, never>(database, (p) => db.insertInto('compute_actions').values(Object.fromEntries(ACTION_COLUMNS.map((c) => [c, p(c)])) as unknown as ActionRow)),
      setActionEvents: new PreparedQuery<{ id: string; events: string; message: string | null }, never>(database, (p) => db.updateTable('compute_actions').set({ events: p('events'), message: p('message') }).where('id', '=', p('id'))),
    };
  }

  static async create(database: Database): Promise<ComputeStore> {
    await migrate(database, 'compute', migrations);
    const store = new ComputeStore(database);
    store.cloudId = (await store.db.selectFrom('compute_cloud').select('id').executeTakeFirstOrThrow()).id;
    const since = store.ledger.version();
    store.ledger.refresh(await store.serverStates(), since);
    return store;
  }

  private async reloadAllocation(id: string): Promise<void> {
    const r: AllocationRow | undefined = await this.db
      .selectFrom('compute_servers')
      .select(['id', 'host_id', 'server_group_id', 'vcpus', 'memory_mib', 'disk_gib'])
      .where('id', '=', id)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    this.ledger.set(id, r);
  }

  // ---- flavors
  async flavors(): Promise<FlavorRow[]> {
    return this.db.selectFrom('compute_flavors').selectAll().orderBy('ram').orderBy('id').execute();
  }
  async flavor(id: string): Promise<FlavorRow | undefined> {
    return this.keptRead(`flavor ${id}`, () => this.q.flavor.first({ id }));
  }
  async insertFlavor(row: FlavorRow): Promise<void> {
    this.forgetKept();
    try {
      await this.db.insertInto('compute_flavors').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Flavor with name ${row.name} or ID ${row.id} already exists.`);
      throw err;
    } finally {
      this.forgetKept();
    }
  }
  async updateFlavor(id: string, changes: Partial<FlavorRow>): Promise<void> {
    this.forgetKept();
    await this.db.updateTable('compute_flavors').set(changes).where('id', '=', id).execute();
    this.forgetKept();
  }
  async deleteFlavor(id: string): Promise<boolean> {
    this.forgetKept();
    try {
      return Number((await this.db.deleteFrom('compute_flavors').where('id', '=', id).executeTakeFirst()).numDeletedRows) > 0;
    } finally {
      this.forgetKept();
    }
  }

  // ---- hosts
  async hosts(): Promise<HostRow[]> {
    return this.db.selectFrom('compute_hosts').selectAll().orderBy('hostname').execute();
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
    return this.db.selectFrom('compute_hosts').selectAll().where('id', '=', id).executeTakeFirst();
  }
  /** Registers a host, or refreshes what its agent reports; its ids, enabled state and forced-down flag stay. */
  async upsertHost(row: Omit<HostRow, 'number' | 'uuid' | 'forced_down'>): Promise<void> {
    const existing = await this.host(row.id);
    if (existing) {
      const { enabled: _e, disabled_reason: _d, created_at: _c, availability_zone: zone, ...rest } = row;
      // A host in an aggregate with a zone keeps that zone (os-aggregates), whatever its agent says.
      const zoned = await this.db
        .selectFrom('compute_aggregate_hosts')
        .innerJoin('compute_aggregates', 'compute_aggregates.id', 'compute_aggregate_hosts.aggregate_id')
        .select('compute_aggregates.id')
        .where('compute_aggregate_hosts.host_id', '=', row.id)
        .where('compute_aggregates.availability_zone', 'is not', null)
        .executeTakeFirst();
      await this.db.updateTable('compute_hosts').set(zoned ? rest : { ...rest, availability_zone: zone }).where('id', '=', row.id).execute();
    } else {
      for (let attempt = 0; ; attempt++) {
        const max = await this.db.selectFrom('compute_hosts').select((eb) => eb.fn.max('number').as('m')).executeTakeFirst();
        try {
          await this.db.insertInto('compute_hosts').values({ ...row, number: Number(max?.m ?? 0) + 1, uuid: randomUUID(), forced_down: 0 }).execute();
          break;
        } catch (err) {
          // Another controller registered the same host meanwhile: it is there now.
          if (!isUniqueViolation(err) || attempt > 3) throw err;
          if (await this.host(row.id)) break;
        }
      }
    }
    this.hostsCache = undefined;
  }
  async setHostZone(id: string, zone: string): Promise<void> {
    await this.db.updateTable('compute_hosts').set({ availability_zone: zone }).where('id', '=', id).execute();
    this.hostsCache = undefined;
  }
  async setHostForcedDown(id: string, down: boolean): Promise<void> {
    await this.db.updateTable('compute_hosts').set({ forced_down: down ? 1 : 0 }).where('id', '=', id).execute();
    this.hostsCache = undefined;
  }
  async deleteHost(id: string): Promise<void> {
    await this.db.deleteFrom('compute_aggregate_hosts').where('host_id', '=', id).execute();
    await this.db.deleteFrom('compute_hosts').where('id', '=', id).execute();
    this.hostsCache = undefined;
  }

  // ---- aggregates
  async aggregates(): Promise<AggregateRow[]> {
    return this.db.selectFrom('compute_aggregates').selectAll().orderBy('id').execute();
  }
  async aggregate(id: number): Promise<AggregateRow | undefined> {
    return this.db.selectFrom('compute_aggregates').selectAll().where('id', '=', id).executeTakeFirst();
  }
  async insertAggregate(row: Omit<AggregateRow, 'id'>): Promise<AggregateRow> {
    try {
      await this.db.insertInto('compute_aggregates').values(row as AggregateRow).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Aggregate ${row.name} already exists.`);
      throw err;
    }
    return (await this.db.selectFrom('compute_aggregates').selectAll().where('uuid', '=', row.uuid).executeTakeFirstOrThrow());
  }
  async updateAggregate(id: number, changes: Partial<Omit<AggregateRow, 'id'>>): Promise<void> {
    try {
      await this.db.updateTable('compute_aggregates').set(changes).where('id', '=', id).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Aggregate ${changes.name} already exists.`);
      throw err;
    }
  }
  async deleteAggregate(id: number): Promise<void> {
    await this.db.deleteFrom('compute_aggregate_hosts').where('aggregate_id', '=', id).execute();
    await this.db.deleteFrom('compute_aggregates').where('id', '=', id).execute();
  }
  async aggregateHosts(id: number): Promise<string[]> {
    return (await this.db.selectFrom('compute_aggregate_hosts').select('host_id').where('aggregate_id', '=', id).orderBy('host_id').execute()).map((r) => r.host_id);
  }
  async allAggregateHosts(): Promise<AggregateHostRow[]> {
    return this.db.selectFrom('compute_aggregate_hosts').selectAll().orderBy('host_id').execute();
  }
  async addAggregateHost(id: number, hostId: string): Promise<void> {
    await this.db.insertInto('compute_aggregate_hosts').values({ aggregate_id: id, host_id: hostId }).execute();
  }
  async removeAggregateHost(id: number, hostId: string): Promise<void> {
    await this.db.deleteFrom('compute_aggregate_hosts').where('aggregate_id', '=', id).where('host_id', '=', hostId).execute();
  }

  // ---- flavor access
  async flavorAccess(flavorId: string): Promise<string[]> {
    return (await this.db.selectFrom('compute_flavor_access').select('project_id').where('flavor_id', '=', flavorId).orderBy('project_id').execute()).map((r) => r.project_id);
  }
  async hasFlavorAccess(flavorId: string, projectId: string): Promise<boolean> {
    return (await this.db.selectFrom('compute_flavor_access').select('flavor_id').where('flavor_id', '=', flavorId).where('project_id', '=', projectId).executeTakeFirst()) !== undefined;
  }
  async flavorsOfProject(projectId: string): Promise<Set<string>> {
    return new Set((await this.db.selectFrom('compute_flavor_access').select('flavor_id').where('project_id', '=', projectId).execute()).map((r) => r.flavor_id));
  }
  async addFlavorAccess(flavorId: string, projectId: string): Promise<boolean> {
    try {
      await this.db.insertInto('compute_flavor_access').values({ flavor_id: flavorId, project_id: projectId }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }
  async removeFlavorAccess(flavorId: string, projectId: string): Promise<boolean> {
    return Number((await this.db.deleteFrom('compute_flavor_access').where('flavor_id', '=', flavorId).where('project_id', '=', projectId).executeTakeFirst()).numDeletedRows) > 0;
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
    return this.q.server.first({ id });
  }
  /** A live server's revision and owner only (a show whose view is kept reads no more). */
  async serverOwner(id: string): Promise<ServerOwnerRow | undefined> {
    return this.q.serverOwner.first({ id });
  }
  /** A server whether live or deleted (usage reports page over both). */
  async serverEvenDeleted(id: string): Promise<ServerRow | undefined> {
    return this.db.selectFrom('compute_servers').selectAll().where('id', '=', id).executeTakeFirst();
  }
  /** Live servers, newest first, narrowed in SQL; `after` continues a listing after that server (keyset). */
  async serversPage(filter: ServerFilter): Promise<ServerRow[]> {
    return this.pageQuery(filter).selectAll().execute();
  }
  /** serversPage() as ids and revisions only (a list whose views are kept by revision). */
  async serverRevisionsPage(filter: ServerFilter): Promise<ServerRevision[]> {
    const { kind, projectId, limit, after, ...narrowed } = filter;
    // A project's whole list, page by page: its statement is compiled once.
    if (kind !== undefined && projectId !== undefined && limit !== undefined && Object.values(narrowed).every((v) => v === undefined)) {
      return after ? this.q.revisionsAfter.rows({ kind, projectId, limit, afterCreatedAt: after.created_at, afterId: after.id }) : this.q.revisions.rows({ kind, projectId, limit });
    }
    // The column is NOT NULL: every stored row has its revision.
    return (await this.pageQuery(filter).select(['id', 'revision']).execute()) as ServerRevision[];
  }
  /** Live servers by id, in no particular order. */
  async serversById(ids: string[]): Promise<ServerRow[]> {
    const out: ServerRow[] = [];
    for (let i = 0; i < ids.length; i += 500) out.push(...(await this.db.selectFrom('compute_servers').selectAll().where('id', 'in', ids.slice(i, i + 500)).where('deleted', '=', 0).execute()));
    return out;
  }
  private pageQuery(filter: ServerFilter) {
    let q = this.db.selectFrom('compute_servers').where('deleted', '=', 0);
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    if (filter.hostId !== undefined) q = q.where('host_id', '=', filter.hostId);
    if (filter.imageId !== undefined) q = q.where('image_id', '=', filter.imageId);
    if (filter.flavorId !== undefined) q = q.where('flavor_id', '=', filter.flavorId);
    if (filter.changesSince !== undefined) q = q.where('updated_at', '>=', filter.changesSince);
    const tagged = (eb: ExpressionBuilder<ComputeTables, 'compute_servers'>, tags: string[]) =>
      eb.exists(eb.selectFrom('compute_server_tags').select('compute_server_tags.server_id').whereRef('compute_server_tags.server_id', '=', 'compute_servers.id').where('compute_server_tags.tag', 'in', tags));
    if (filter.tags?.length) for (const t of filter.tags) q = q.where((eb) => tagged(eb, [t]));
    if (filter.tagsAny?.length) q = q.where((eb) => tagged(eb, filter.tagsAny!));
    if (filter.notTags?.length) q = q.where((eb) => eb.or(filter.notTags!.map((t) => eb.not(tagged(eb, [t])))));
    if (filter.notTagsAny?.length) q = q.where((eb) => eb.not(tagged(eb, filter.notTagsAny!)));
    const after = filter.after;
    if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after.created_at), eb.and([eb('created_at', '=', after.created_at), eb('id', '<', after.id)])]));
    q = q.orderBy('created_at', 'desc').orderBy('id', 'desc');
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    return q;
  }
  /** What reconciliation compares with the engines, for every live server. */
  async serverStates(): Promise<ServerStateRow[]> {
    return this.db
      .selectFrom('compute_servers')
      .select(['id', 'kind', 'project_id', 'user_id', 'host_id', 'vm_state', 'task_state', 'power_state', 'server_group_id', 'vcpus', 'memory_mib', 'disk_gib'])
      .where('deleted', '=', 0)
      .execute();
  }
  /** Live servers of a group; `placed` only those with a host. */
  async groupMemberIds(groupId: string, placed = false): Promise<string[]> {
    let q = this.db.selectFrom('compute_servers').select('id').where('server_group_id', '=', groupId).where('deleted', '=', 0);
    if (placed) q = q.where('host_id', 'is not', null);
    return (await q.orderBy('created_at').execute()).map((r) => r.id);
  }
  /** A project's instances, cores and RAM in use by workloads of one kind (the ledger's sums). */
  /**
   * SQLite: each project's usage by kind, summed once and kept with every write that changes it
   * (servers inserted, deleted, resized) instead of summed over all its servers on every boot (at
   * 10,000 servers, 0.7 ms a boot). One controller owns a SQLite database; PostgreSQL's controllers
   * share theirs and always sum.
   */
  private readonly usage = new Map<string, { instances: number; cores: number; ram: number }>();

  /** Forgets the kept usage (reconciliation re-reads the rows; a resize changes a server's share). */
  forgetUsage(): void {
    this.usage.clear();
  }

  async projectUsage(projectId: string, kind: WorkloadKind = 'server', trx?: Transaction<ComputeTables>): Promise<{ instances: number; cores: number; ram: number }> {
    const key = `${projectId} ${kind}`;
    const kept = this.usage.get(key);
    if (kept) return { ...kept };
    const summed = await this.sumUsage(projectId, kind, trx);
    // Kept unless a transaction kept (and counted into) it meanwhile: that one is the newer.
    if (this.dialect === 'sqlite' && !this.usage.has(key)) this.usage.set(key, { ...summed });
    return summed;
  }

  private async sumUsage(projectId: string, kind: WorkloadKind, trx?: Transaction<ComputeTables>): Promise<{ instances: number; cores: number; ram: number }> {
    const r = (await this.q.projectUsage.first({ projectId, kind }, trx))!;
    return { instances: Number(r.n), cores: Number(r.cores ?? 0), ram: Number(r.ram ?? 0) };
  }
  async updateServer(id: string, changes: Partial<ServerRow>, onlyIf?: { task_state?: string | null; vm_state?: VmState[] }): Promise<boolean> {
    return this.updateServerIn(this.db, id, changes, onlyIf);
  }

  /**
   * A build's end in one transaction (one commit, shared with the other builds ending in the same
   * turn): the server's result recorded if `onlyIf` still holds, and its action's events, whether
   * the server's write applied or not.
   */
  async finishBuild(id: string, changes: Partial<ServerRow>, onlyIf: { task_state?: string | null }, action: Pick<ActionRow, 'id' | 'events' | 'message'>): Promise<boolean> {
    return this.buildEnds.add({ id, changes, onlyIf, action });
  }

  /**
   * A scheduling decision: the server's allocation on the host goes into the ledger at once (the next
   * decision sees it), its row (host, task state spawning) is written with the other placements of
   * the same turn, in one commit; resolves once written. False: the server was deleted meanwhile
   * (its allocation is gone again).
   */
  async placeServer(row: AllocationRow, hostId: string): Promise<boolean> {
    this.ledger.claim({ id: row.id, host_id: hostId, server_group_id: row.server_group_id, vcpus: row.vcpus, memory_mib: row.memory_mib, disk_gib: row.disk_gib });
    try {
      // No condition but the row's being live: a placement that changes nothing met a deleted server.
      const written = await this.placements.add({ id: row.id, hostId });
      this.ledger.settle(row.id, written);
      return written !== undefined;
    } catch (err) {
      this.ledger.set(row.id, undefined);
      await this.reloadAllocation(row.id).catch(() => undefined);
      throw err;
    }
  }

  private async updateServerIn(db: Kysely<ComputeTables> | Transaction<ComputeTables>, id: string, changes: Partial<ServerRow>, onlyIf?: { task_state?: string | null; vm_state?: VmState[] }): Promise<boolean> {
    const r = await this.writeServer(db, id, changes, onlyIf);
    if (typeof r === 'boolean') return r;
    if (r) this.ledger.set(id, r);
    return r !== undefined;
  }

  /** A server's update; answers whether it applied, or the ledger's entry as written when the write changes an allocation (the ledger is not touched). */
  private async writeServer(db: Kysely<ComputeTables> | Transaction<ComputeTables>, id: string, changes: Partial<ServerRow>, onlyIf?: { task_state?: string | null; vm_state?: VmState[] }): Promise<boolean | AllocationRow | undefined> {
    const set: Partial<ServerRow> = { ...changes, ...(changes.flavor !== undefined ? allocationOf(changes.flavor) : {}), updated_at: new Date().toISOString() };
    const allocation = 'host_id' in changes || 'flavor' in changes || 'server_group_id' in changes;
    // A new flavor changes the project's usage: summed again at the next look.
    if ('flavor' in changes) this.forgetUsage();
    // One statement per shape: the columns set (Kysely leaves out those set to undefined), the
    // conditions, and whether the ledger's entry comes back (both dialects return the row as written).
    const columns = (Object.keys(set) as (keyof ServerRow)[]).filter((c) => set[c] !== undefined);
    const onlyTask = onlyIf?.task_state === undefined ? 'any' : onlyIf.task_state === null ? 'null' : 'is';
    const states = onlyIf?.vm_state ?? [];
    const q = this.serverUpdates.of(`${columns.join(',')} ${onlyTask} ${states.length} ${allocation}`, (p) => {
      let u = this.db
        .updateTable('compute_servers')
        .set(Object.fromEntries(columns.map((c) => [c, p(c)])) as Partial<ServerRow>)
        .set((eb) => ({ revision: eb('revision', '+', 1) }))
        .where('id', '=', p('_id') as string)
        .where('deleted', '=', 0);
      if (onlyTask === 'null') u = u.where('task_state', 'is', null);
      if (onlyTask === 'is') u = u.where('task_state', '=', p('_task_state') as string);
      if (states.length) u = u.where('vm_state', 'in', states.map((_, i) => p(`_vm_state${i}`) as VmState));
      return allocation ? u.returning(['id', 'host_id', 'server_group_id', 'vcpus', 'memory_mib', 'disk_gib']) : (u as never);
    });
    const args: Record<string, unknown> = { ...set, _id: id, _task_state: onlyIf?.task_state };
    for (const [i, state] of states.entries()) args[`_vm_state${i}`] = state;
    const trx = db === this.db ? undefined : (db as Transaction<ComputeTables>);
    if (!allocation) return (await q.affected(args, trx)) > 0;
    return q.first(args, trx);
  }

  /**
   * Inserts as many servers as the project's quotas for their kind allow, between `count.min` and
   * `count.max`, in one transaction (one pass over the quotas, so a large max_count costs no more
   * than a small one); on PostgreSQL the project's lock row serialises concurrent boots. Answers
   * the rows inserted, or which quota `count.min` servers would exceed.
   */
  async insertServersWithinQuota(
    projectId: string,
    kind: WorkloadKind,
    count: { min: number; max: number },
    each: { cores: number; ram: number },
    limits: QuotaLimits,
    make: (n: number) => ServerRow[],
    tags: string[] = [],
    /** The servers' instance actions, inserted in the same transaction (one commit for both). */
    actionsOf?: (rows: ServerRow[]) => ActionRow[],
  ): Promise<{ rows: ServerRow[] } | QuotaExcess> {
    const insert: QuotaInsert = { projectId, kind, count, each, limits, make, tags, actionsOf };
    let result: { rows: ServerRow[] } | QuotaExcess;
    if (this.dialect === 'postgres') {
      result = await this.db
        .transaction()
        .execute(async (trx) => {
          // One row per project is the lock (locking the quota rows too deadlocked: a statement that
          // saw the lock row locked it first, in key order, one that did not locked it last).
          await trx.insertInto('compute_quotas').values({ project_id: projectId, resource: '_lock', hard_limit: 0 }).onConflict((oc) => oc.doNothing()).execute();
          await trx.selectFrom('compute_quotas').select('project_id').where('project_id', '=', projectId).where('resource', '=', '_lock').forUpdate().execute();
          return this.insertWithinQuota(trx, insert);
        })
        .catch((err: unknown) => {
          this.takeBackUsage(insert);
          throw err;
        });
    } else {
      // SQLite: one controller, one connection; the boots of one turn share a commit.
      result = await this.quotaInserts.add(insert);
    }
    if ('rows' in result) for (const r of result.rows) if (r.host_id) await this.reloadAllocation(r.id);
    return result;
  }

  /** The quota check and the inserts of one create request, within a transaction (insertServersWithinQuota). */
  private async insertWithinQuota(trx: Transaction<ComputeTables>, w: QuotaInsert): Promise<{ rows: ServerRow[] } | QuotaExcess> {
    const { projectId, kind, count, each, limits } = w;
    const used = await this.projectUsage(projectId, kind, trx);
    const cost = { instances: 1, cores: each.cores, ram: each.ram };
    let fit = count.max;
    for (const k of ['instances', 'cores', 'ram'] as const) {
      if (limits[k] >= 0 && cost[k] > 0) fit = Math.min(fit, Math.floor((limits[k] - used[k]) / cost[k]));
    }
    if (fit < count.min) {
      for (const k of ['instances', 'cores', 'ram'] as const) {
        if (limits[k] >= 0 && used[k] + count.min * cost[k] > limits[k]) return { over: k, used: used[k], limit: limits[k], requested: count.min * cost[k] };
      }
    }
    const rows = w.make(Math.max(fit, count.min));
    // 200 rows (about 7,000 parameters) per statement: under SQLite's and PostgreSQL's limits, and few statements to prepare.
    if (rows.length === 1 && setsExactly(rows[0]!, SERVER_COLUMN_SET)) await this.q.insertServer.execute(rows[0]! as ServerRow & Record<string, unknown>, trx);
    else for (let i = 0; i < rows.length; i += 200) await trx.insertInto('compute_servers').values(rows.slice(i, i + 200)).execute();
    if (w.tags.length) {
      const tagRows = rows.flatMap((r) => w.tags.map((tag) => ({ server_id: r.id, tag })));
      for (let i = 0; i < tagRows.length; i += 400) await trx.insertInto('compute_server_tags').values(tagRows.slice(i, i + 400)).execute();
    }
    if (w.actionsOf) await this.addActions(w.actionsOf(rows), trx);
    // Counted before the commit, so that the next boot's check (SQLite's transactions run one
    // after another, and a group's inserts one after another in its transaction) sees them; taken
    // back if the commit fails.
    w.added = this.addUsage(projectId, kind, rows, 1);
    return { rows };
  }

  /** Takes back the usage an insert counted whose transaction rolled back. */
  private takeBackUsage(w: QuotaInsert): void {
    if (w.added) this.addUsage(w.projectId, w.kind, w.added, -1);
    w.added = undefined;
  }


  async markDeleted(id: string): Promise<void> {
    const now = new Date().toISOString();
    const gone = await this.db
      .updateTable('compute_servers')
      .set({ deleted: 1, vm_state: 'deleted', task_state: null, updated_at: now, terminated_at: now })
      .set((eb) => ({ revision: eb('revision', '+', 1) }))
      .where('id', '=', id)
      .where('deleted', '=', 0)
      .returning(['project_id', 'kind', 'vcpus', 'memory_mib'])
      .executeTakeFirst();
    // Deleted already (a repeated delete): left as it is, its first deletion's times kept (a changes-since
    // list must not see it change again) and its usage no longer counted.
    if (gone) this.addUsage(gone.project_id, gone.kind, [gone], -1);
    this.ledger.set(id, undefined);
  }

  /** Adds (sign 1) or takes back (-1) servers in a project's kept usage, if it is kept; answers them. */
  private addUsage<T extends Pick<ServerRow, 'vcpus' | 'memory_mib'>>(projectId: string, kind: WorkloadKind, rows: T[], sign: 1 | -1): T[] {
    const kept = this.usage.get(`${projectId} ${kind}`);
    if (kept) {
      for (const r of rows) {
        kept.instances += sign;
        kept.cores += sign * Number(r.vcpus);
        kept.ram += sign * Number(r.memory_mib);
      }
    }
    return rows;
  }

  // ---- tags
  /** The tags of each of `ids` (servers without tags are absent). */
  async serverTags(ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (ids.length === 1) {
      // One server's (a show): a statement compiled once.
      const rows = await this.q.serverTags.rows({ id: ids[0]! });
      if (rows.length) out.set(ids[0]!, rows.map((r) => r.tag));
      return out;
    }
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db.selectFrom('compute_server_tags').select(['server_id', 'tag']).where('server_id', 'in', ids.slice(i, i + 500)).orderBy('tag').execute();
      for (const r of rows) {
        const list = out.get(r.server_id);
        if (list) list.push(r.tag);
        else out.set(r.server_id, [r.tag]);
      }
    }
    return out;
  }
  /** Replaces a server's tags with `tags` (already checked and without duplicates). */
  async replaceServerTags(id: string, tags: string[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('compute_server_tags').where('server_id', '=', id).execute();
      if (tags.length) await trx.insertInto('compute_server_tags').values(tags.map((tag) => ({ server_id: id, tag }))).execute();
    });
  }
  /** Adds one tag unless the server already has `max`: 'added', 'exists' or 'full'. */
  async addServerTag(id: string, tag: string, max: number): Promise<'added' | 'exists' | 'full'> {
    return this.db.transaction().execute(async (trx) => {
      const have = await trx.selectFrom('compute_server_tags').select('tag').where('server_id', '=', id).execute();
      if (have.some((r) => r.tag === tag)) return 'exists';
      if (have.length >= max) return 'full';
      try {
        await trx.insertInto('compute_server_tags').values({ server_id: id, tag }).execute();
      } catch (e) {
        // Another request added the same tag in between.
        if (isUniqueViolation(e)) return 'exists';
        throw e;
      }
      return 'added';
    });
  }
  async deleteServerTag(id: string, tag: string): Promise<boolean> {
    const r = await this.db.deleteFrom('compute_server_tags').where('server_id', '=', id).where('tag', '=', tag).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ---- quota classes
  async quotaClass(name: string): Promise<Record<string, number>> {
    const limits = await this.keptRead(`class ${name}`, async () => {
      const rows = await this.q.quotaClass.rows({ name });
      return Object.fromEntries(rows.map((r) => [r.resource, Number(r.hard_limit)]));
    });
    return limits!;
  }
  async setQuotaClass(name: string, resource: string, limit: number): Promise<void> {
    this.forgetKept();
    await this.db
      .insertInto('compute_quota_classes')
      .values({ class_name: name, resource, hard_limit: limit })
      .onConflict((oc) => oc.columns(['class_name', 'resource']).doUpdateSet({ hard_limit: limit }))
      .execute();
    this.forgetKept();
  }

  // ---- usage
  /**
   * Servers (live and deleted) that ran at some time in [start, stop), oldest first, of one
   * project or all; `after` continues after that server (keyset on launched_at, id).
   */
  async serversRunningIn(start: string, stop: string, projectId: string | undefined, limit: number, after?: { launched_at: string; id: string }): Promise<ServerRow[]> {
    let q = this.db
      .selectFrom('compute_servers')
      .selectAll()
      .where('kind', '=', 'server')
      .where('launched_at', 'is not', null)
      .where('launched_at', '<', stop)
      .where((eb) => eb.or([eb('deleted', '=', 0), eb('terminated_at', 'is', null), eb('terminated_at', '>=', start)]));
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    if (after) q = q.where((eb) => eb.or([eb('launched_at', '>', after.launched_at), eb.and([eb('launched_at', '=', after.launched_at), eb('id', '>', after.id)])]));
    return q.orderBy('launched_at').orderBy('id').limit(limit).execute();
  }

  // ---- container options
  /** Sets (or replaces) the container options of one server or of many. */
  async setContainerOptions(serverIds: string | string[], options: string): Promise<void> {
    const ids = typeof serverIds === 'string' ? [serverIds] : serverIds;
    for (let i = 0; i < ids.length; i += 100) {
      await this.db
        .insertInto('compute_container_options')
        .values(ids.slice(i, i + 100).map((server_id) => ({ server_id, options })))
        .onConflict((oc) => oc.column('server_id').doUpdateSet({ options }))
        .execute();
    }
  }
  async containerOptions(serverId: string): Promise<string | undefined> {
    return (await this.db.selectFrom('compute_container_options').select('options').where('server_id', '=', serverId).executeTakeFirst())?.options;
  }
  async deleteContainerOptions(serverId: string): Promise<void> {
    await this.db.deleteFrom('compute_container_options').where('server_id', '=', serverId).execute();
  }

  // ---- key pairs
  async keypairs(userId: string): Promise<KeypairRow[]> {
    return this.db.selectFrom('compute_keypairs').selectAll().where('user_id', '=', userId).orderBy('name').execute();
  }
  async keypairCount(userId: string): Promise<number> {
    return Number((await this.db.selectFrom('compute_keypairs').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()).n);
  }
  async keypair(userId: string, name: string): Promise<KeypairRow | undefined> {
    return this.db.selectFrom('compute_keypairs').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
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
    return q.orderBy('name').execute();
  }
  async serverGroupCount(projectId: string): Promise<number> {
    return Number((await this.db.selectFrom('compute_server_groups').select((eb) => eb.fn.countAll().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow()).n);
  }
  async serverGroup(id: string): Promise<ServerGroupRow | undefined> {
    return this.db.selectFrom('compute_server_groups').selectAll().where('id', '=', id).executeTakeFirst();
  }
  async insertServerGroup(row: ServerGroupRow): Promise<void> {
    await this.db.insertInto('compute_server_groups').values(row).execute();
  }
  async deleteServerGroup(id: string): Promise<void> {
    await this.db.deleteFrom('compute_server_groups').where('id', '=', id).execute();
  }

  // ---- quotas
  async quotaOverrides(projectId: string): Promise<Record<string, number>> {
    const limits = await this.keptRead(`project ${projectId}`, async () => {
      const rows = await this.q.quotaOverrides.rows({ projectId });
      return Object.fromEntries(rows.filter((r) => r.resource !== '_lock').map((r) => [r.resource, r.hard_limit]));
    });
    return limits!;
  }
  async setQuota(projectId: string, resource: string, limit: number): Promise<void> {
    this.forgetKept();
    await this.db
      .insertInto('compute_quotas')
      .values({ project_id: projectId, resource, hard_limit: limit })
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit: limit }))
      .execute();
    this.forgetKept();
  }

  /**
   * SQLite: rows every boot read and that rarely change (quota limits, a class's and a project's own;
   * flavors) kept as read until this store writes one of them. One controller owns a SQLite database;
   * PostgreSQL's share theirs and always read. Each is a flat record, handed out as a copy.
   */
  private readonly kept = new Map<string, object>();
  private keptVersion = 0;

  /** Before and after a kept kind's write: a read in between keeps nothing. */
  private forgetKept(): void {
    this.kept.clear();
    this.keptVersion++;
  }

  private async keptRead<T extends object>(key: string, read: () => Promise<T | undefined>): Promise<T | undefined> {
    const kept = this.kept.get(key);
    if (kept) return { ...(kept as T) };
    const version = this.keptVersion;
    const row = await read();
    // Kept unless a write came in while it was read (nothing kept for what was not found).
    if (row && this.dialect === 'sqlite' && version === this.keptVersion && this.kept.size < 10_000) this.kept.set(key, { ...row });
    return row;
  }

  // ---- instance actions
  async addActions(rows: ActionRow[], trx?: Transaction<ComputeTables>): Promise<void> {
    // Kept whole by the callers (a build finishes its action from it without reading it again).
    if (rows.length === 1 && setsExactly(rows[0]!, ACTION_COLUMN_SET)) await this.q.insertAction.execute(rows[0]! as ActionRow & Record<string, unknown>, trx);
    else for (let i = 0; i < rows.length; i += 500) await (trx ?? this.db).insertInto('compute_actions').values(rows.slice(i, i + 500)).execute();
  }
  async actions(serverId: string): Promise<ActionRow[]> {
    return this.db.selectFrom('compute_actions').selectAll().where('server_id', '=', serverId).orderBy('start_time', 'desc').execute();
  }
  async setActionEvents(id: string, events: string, message: string | null): Promise<void> {
    await this.q.setActionEvents.execute({ id, events, message });
  }
}
