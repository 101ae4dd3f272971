// The network's rows: typed Kysely over the tables of ./tables.ts. Every tenant query is scoped by
// project in SQL; updates compare-and-swap revision_number; quota checks and inserts share a transaction.
// The store owns the SQL and the SQLite/PostgreSQL differences; the Kysely handle stays in here.
import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool, type Transaction } from 'kysely';
import type { Database, Dialect } from '../../platform/db/database.ts';
import { migrate } from '../../platform/db/migrations.ts';
import { PreparedQueries, PreparedQuery } from '../../platform/db/prepared.ts';
import { WriteGroup } from '../../platform/db/write-group.ts';
import { networkMigrations } from './migrations.ts';
import type {
  FloatingIpRow,
  IpAllocationRow,
  NetworkRow,
  NetworkTables,
  PortBindingRow,
  PortForwardingRow,
  PortRow,
  PortSecurityGroupRow,
  QuotaRow,
  ResourceKind,
  RouterPortRow,
  RouterRow,
  SecurityGroupRow,
  SecurityGroupRuleRow,
  SubnetPoolRow,
  SubnetRow,
  TaggedKind,
  TagRow,
} from './tables.ts';
import { TABLE_OF } from './tables.ts';

export type * from './tables.ts';
export { TABLE_OF } from './tables.ts';

export interface RowOf {
  network: NetworkRow;
  subnet: SubnetRow;
  port: PortRow;
  security_group: SecurityGroupRow;
  security_group_rule: SecurityGroupRuleRow;
  router: RouterRow;
  floatingip: FloatingIpRow;
  subnetpool: SubnetPoolRow;
  port_forwarding: PortForwardingRow;
}

/** Who a list or a look-up is for: one project (plus what it may see of others'), or every project. */
export type Scope = { projectId: string } | { all: true };

/** One condition of a list, built by the API's filter parsing. */
export type Condition =
  | { kind: 'in'; column: string; values: (string | number | null)[] }
  | { kind: 'tags'; mode: 'tags' | 'tags-any' | 'not-tags' | 'not-tags-any'; tags: string[] }
  | { kind: 'fixed_ip'; field: 'ip_address' | 'subnet_id'; value: string }
  | { kind: 'security_group'; values: string[] };

export interface ListQuery {
  where?: Condition[];
  sort?: { column: string; dir: 'asc' | 'desc' }[];
  marker?: string;
  limit?: number;
  /** Neutron's page_reverse: the page before the marker. */
  reverse?: boolean;
}

/** A subnet as the address allocator and a port binding need it. */
export type SubnetAddressingRow = Pick<SubnetRow, 'id' | 'network_id' | 'cidr' | 'gateway_ip' | 'allocation_pools'>;

export interface PortContext {
  network: NetworkRow;
  subnets: SubnetAddressingRow[];
  /** A router with an external gateway has an interface on the network. */
  routed: boolean;
  defaultGroupId?: string;
  portQuota?: number;
}

export interface ServerAddressRow {
  server_id: string;
  seq: number;
  port_id: string;
  mac_address: string;
  network_id: string;
  network_name: string;
  ip_address: string | null;
  floating_ip_address: string | null;
}

type Db = Kysely<NetworkTables>;
type Eb = ExpressionBuilder<NetworkTables, any>;
const CHUNK = 2000;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/**
 * The transaction the current async context runs in: a query through the root store from inside a
 * transaction's work joins it (on SQLite's one connection it would otherwise wait for it forever).
 */
const current = new AsyncLocalStorage<Db>();

/**
 * Per bound port of a server (binding order; the port of the binding's project): its network's name,
 * MAC, each fixed IP and the floating IP NATed to it; the caller says which servers.
 */
function addressRows(db: Db) {
  return db
    .selectFrom('network_port_bindings as b')
    .innerJoin('network_ports as p', (j) => j.onRef('p.id', '=', 'b.port_id').onRef('p.project_id', '=', 'b.project_id'))
    .innerJoin('network_networks as n', 'n.id', 'p.network_id')
    .leftJoin('network_ip_allocations as a', 'a.port_id', 'p.id')
    .leftJoin('network_floating_ips as f', (j) => j.onRef('f.port_id', '=', 'a.port_id').onRef('f.fixed_ip_address', '=', 'a.ip_address'))
    .select(['b.server_id', 'b.seq', 'p.id as port_id', 'p.mac_address', 'p.network_id', 'n.name as network_name', 'a.ip_address', 'f.floating_ip_address']);
}

/**
 * A boot's statements (a port made and bound for a server, its firewall and addresses read), built
 * and compiled once (see platform/db/prepared.ts): Kysely would build each anew on every call.
 */
function bootStatements(database: Database) {
  const db = database.db as Db;
  return {
    portContext: new PreparedQuery<{ networkId: string; projectId: string }, NetworkRow & { s_id: string | null; s_cidr: string | null; s_gateway_ip: string | null; s_allocation_pools: string | null; default_group_id: unknown; port_quota: unknown; routed: unknown }>(database, (p) =>
      db
        .selectFrom('network_networks as n')
        .leftJoin('network_subnets as s', 's.network_id', 'n.id')
        .selectAll('n')
        .select(['s.id as s_id', 's.cidr as s_cidr', 's.gateway_ip as s_gateway_ip', 's.allocation_pools as s_allocation_pools'])
        .select((eb) => [
          eb.selectFrom('network_security_groups as g').select('g.id').where('g.project_id', '=', p('projectId')).where('g.name', '=', 'default').orderBy('g.seq').limit(1).as('default_group_id'),
          eb.selectFrom('network_quotas as q').select('q.hard_limit').where('q.project_id', '=', p('projectId')).where('q.resource', '=', 'port').as('port_quota'),
          eb
            .exists(
              eb
                .selectFrom('network_router_ports as rp')
                .innerJoin('network_routers as r', 'r.id', 'rp.router_id')
                .innerJoin('network_ports as p', 'p.id', 'rp.port_id')
                .select('rp.port_id')
                .where('rp.port_type', '=', 'network:router_interface')
                .where('r.gw_network_id', 'is not', null)
                .whereRef('p.network_id', '=', 'n.id'),
            )
            .as('routed'),
        ])
        .where('n.id', '=', p('networkId'))
        .orderBy('s.seq') as never,
    ),
    claimAddress: new PreparedQuery<IpAllocationRow & Record<string, unknown>, never>(database, (p) =>
      db
        .insertInto('network_ip_allocations')
        .values({ subnet_id: p('subnet_id'), ip_address: p('ip_address'), owner_id: p('owner_id'), port_id: p('port_id') })
        .onConflict((oc) => oc.columns(['subnet_id', 'ip_address']).doNothing()),
    ),
    addGroup: new PreparedQuery<PortSecurityGroupRow & Record<string, unknown>, never>(database, (p) =>
      db.insertInto('network_port_security_groups').values({ port_id: p('port_id'), security_group_id: p('security_group_id'), position: p('position') }),
    ),
    bind: new PreparedQuery<PortBindingRow & Record<string, unknown>, never>(database, (p) =>
      db
        .insertInto('network_port_bindings')
        .values({ port_id: p('port_id'), server_id: p('server_id'), project_id: p('project_id'), host_id: p('host_id'), created_for_server: p('created_for_server'), seq: p('seq') })
        .onConflict((oc) => oc.column('port_id').doNothing()),
    ),
    /** A server that starts: its address rows and whether each port is NATed (a floating IP or a forwarding). */
    startedOf: new PreparedQuery<{ serverId: string }, ServerAddressRow & { fip: unknown; fwd: unknown }>(database, (p) =>
      addressRows(db)
        .select((eb) => [eb.exists(eb.selectFrom('network_floating_ips as nf').select('nf.id').whereRef('nf.port_id', '=', 'p.id')).as('fip'), eb.exists(eb.selectFrom('network_port_forwardings as pf').select('pf.id').whereRef('pf.internal_port_id', '=', 'p.id')).as('fwd')])
        .where('b.server_id', '=', p('serverId'))
        .orderBy('b.seq') as never,
    ),
    addressRowsOf: new PreparedQuery<{ serverId: string }, ServerAddressRow>(database, (p) =>
      addressRows(db)
        .where('b.server_id', '=', p('serverId'))
        .orderBy('b.seq') as never,
    ),
    addressGeneration: new PreparedQuery<Record<string, never>, { generation: number }>(database, () => db.selectFrom('network_address_generation').select('generation')),
    /** A row's insert, one statement per table and set of columns. */
    inserts: new PreparedQueries<Record<string, unknown>, never>(database),
  };
}
type BootStatements = ReturnType<typeof bootStatements>;

/** One caller's work in a grouped transaction, and what to take back besides the rows if it rolls back. */
interface GroupedWork {
  work: (tx: NetworkStore) => Promise<unknown>;
  rolledBack?: () => void;
}

export class NetworkStore {
  private constructor(
    private readonly handle: Db,
    readonly dialect: Dialect,
    private readonly clock: { seq: number },
    private readonly inTransaction: boolean,
    private readonly q: BootStatements,
    /** SQLite: concurrent callers' transactions of one turn in one commit (see groupedTransaction). */
    private readonly groups: WriteGroup<GroupedWork, unknown> | undefined,
  ) {}

  private get db(): Db {
    return this.inTransaction ? this.handle : (current.getStore() ?? this.handle);
  }

  /** The transaction a prepared statement joins (this store's, or the one the current work runs in), if any. */
  private get trx(): Transaction<NetworkTables> | undefined {
    return (this.inTransaction ? this.handle : current.getStore()) as Transaction<NetworkTables> | undefined;
  }

  static async create(database: Database): Promise<NetworkStore> {
    await migrate(database, 'network', networkMigrations);
    const q = bootStatements(database);
    const clock = { seq: Date.now() * 1000 };
    // The group's work runs as transaction() would run it: root-store queries inside it join it.
    const groups =
      database.dialect === 'sqlite'
        ? new WriteGroup<GroupedWork, unknown>(
            database.db,
            (trx, w) => current.run(trx as Db, () => w.work(new NetworkStore(trx as Db, database.dialect, clock, true, q, undefined))),
            200,
            (w) => w.rolledBack?.(),
          )
        : undefined;
    return new NetworkStore(database.db as Db, database.dialect, clock, false, q, groups);
  }

  /** Runs `work` in one transaction; a store already in one joins it. */
  async transaction<T>(work: (tx: NetworkStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    const joined = current.getStore();
    if (joined) return work(new NetworkStore(joined, this.dialect, this.clock, true, this.q, undefined));
    return this.handle.transaction().execute((trx: Transaction<NetworkTables>) => current.run(trx, () => work(new NetworkStore(trx, this.dialect, this.clock, true, this.q, undefined))));
  }

  /**
   * As transaction(), but on SQLite the work of concurrent callers (a burst of boots' ports) shares one
   * transaction and so one commit, each caller answered once it is done (platform/db/write-group.ts).
   * A group that fails is run again one caller a transaction, so an error stays its caller's:
   * `work` may run twice and must decide everything inside; `rolledBack` takes back what it did
   * outside the database. PostgreSQL, or a caller already in a transaction: transaction().
   */
  async groupedTransaction<T>(work: (tx: NetworkStore) => Promise<T>, rolledBack?: () => void): Promise<T> {
    if (!this.groups || this.inTransaction || current.getStore()) return this.transaction(work);
    return this.groups.add({ work, ...(rolledBack ? { rolledBack } : {}) }) as Promise<T>;
  }

  /**
   * Serialises the quota check and insert of one project's resources of a kind until the transaction
   * ends. PostgreSQL: an advisory lock; SQLite: transactions write one at a time already.
   */
  async lockQuota(projectId: string, resource: string): Promise<void> {
    if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`network-quota:${projectId}:${resource}`}))`.execute(this.db);
  }

  /** A time-based counter that orders lists by creation and stays monotonic across restarts. */
  nextSeq(): number {
    this.clock.seq = Math.max(this.clock.seq + 1, Date.now() * 1000);
    return this.clock.seq;
  }

  // ----- any resource kind -------------------------------------------------------------------

  async get<K extends ResourceKind>(kind: K, id: string): Promise<RowOf[K] | undefined> {
    return (await this.db.selectFrom(TABLE_OF[kind] as any).selectAll().where('id', '=', id).executeTakeFirst()) as RowOf[K] | undefined;
  }

  async getMany<K extends ResourceKind>(kind: K, ids: string[]): Promise<RowOf[K][]> {
    const out: RowOf[K][] = [];
    for (const part of chunks([...new Set(ids)])) out.push(...((await this.db.selectFrom(TABLE_OF[kind] as any).selectAll().where('id', 'in', part).execute()) as RowOf[K][]));
    return out;
  }

  async insert<K extends ResourceKind>(kind: K, row: RowOf[K]): Promise<void> {
    // Kysely leaves out the columns set to undefined: so does the statement's shape.
    const values = row as unknown as Record<string, unknown>;
    const columns = Object.keys(values).filter((c) => values[c] !== undefined);
    const table = TABLE_OF[kind];
    await this.q.inserts.of(`${table} ${columns.join(',')}`, (p) => this.handle.insertInto(table as any).values(Object.fromEntries(columns.map((c) => [c, p(c)])) as any)).execute(values, this.trx);
  }

  /**
   * Compare-and-swap: applies `changes` if the row is still at `revision`, bumping revision_number and
   * updated_at. False when another writer got there first (or the row is gone).
   */
  async update<K extends ResourceKind>(kind: K, id: string, revision: number, changes: Partial<RowOf[K]>, updatedAt: string): Promise<boolean> {
    const r = await this.db
      .updateTable(TABLE_OF[kind] as any)
      .set({ ...(changes as object), revision_number: revision + 1, updated_at: updatedAt } as any)
      .where('id', '=', id)
      .where('revision_number', '=', revision)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async remove(kind: ResourceKind, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom(TABLE_OF[kind] as any).where('id', '=', id).executeTakeFirst();
    if (kind !== 'security_group_rule' && kind !== 'port_forwarding') await this.db.deleteFrom('network_tags').where('resource_id', '=', id).execute();
    return Number(r.numDeletedRows) > 0;
  }

  /** Resources of a kind the project holds (what its quota counts). */
  async count(kind: ResourceKind, projectId: string): Promise<number> {
    const row = await this.db.selectFrom(TABLE_OF[kind] as any).select((eb: Eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirst();
    return Number((row as { n: number } | undefined)?.n ?? 0);
  }

  /** Rows of a kind in a scope, filtered, sorted and paged in SQL; `more` when a page was cut. */
  async list<K extends ResourceKind>(kind: K, scope: Scope, q: ListQuery = {}): Promise<{ rows: RowOf[K][]; more: boolean }> {
    const table = TABLE_OF[kind];
    let query = this.db.selectFrom(`${table} as r` as any).selectAll('r' as any) as any;
    query = query.where((eb: Eb) => this.visibility(eb, kind, scope));
    for (const c of q.where ?? []) query = query.where((eb: Eb) => this.condition(eb, kind, c));
    const sort = [...(q.sort ?? []), { column: 'seq', dir: 'asc' as const }, { column: 'id', dir: 'asc' as const }].filter((s, i, all) => all.findIndex((x) => x.column === s.column) === i);
    const dirs = sort.map((s) => (q.reverse ? (s.dir === 'asc' ? 'desc' : 'asc') : s.dir));
    if (q.marker) {
      const marker = (await this.db.selectFrom(table as any).selectAll().where('id', '=', q.marker).executeTakeFirst()) as Record<string, unknown> | undefined;
      if (marker) {
        query = query.where((eb: Eb) =>
          eb.or(
            sort.map((s, i) =>
              eb.and([
                ...sort.slice(0, i).map((p) => (marker[p.column] === null ? eb(`r.${p.column}` as any, 'is', null) : eb(`r.${p.column}` as any, '=', marker[p.column]))),
                marker[s.column] === null ? sql<SqlBool>`1 = 0` : eb(`r.${s.column}` as any, dirs[i] === 'asc' ? '>' : '<', marker[s.column]),
              ] as Expression<SqlBool>[]),
            ),
          ),
        );
      }
    }
    for (let i = 0; i < sort.length; i++) query = query.orderBy(`r.${sort[i]!.column}`, dirs[i]);
    if (q.limit !== undefined && q.limit > 0) query = query.limit(q.limit + 1);
    let rows = (await query.execute()) as RowOf[K][];
    const more = q.limit !== undefined && q.limit > 0 && rows.length > q.limit;
    if (more) rows = rows.slice(0, q.limit);
    if (q.reverse) rows.reverse();
    return { rows, more };
  }

  /** What a project sees: its own rows, plus shared and external networks and their subnets. */
  private visibility(eb: Eb, kind: ResourceKind, scope: Scope): Expression<SqlBool> {
    if ('all' in scope) return sql<SqlBool>`1 = 1`;
    const own = eb('r.project_id' as any, '=', scope.projectId);
    if (kind === 'network') return eb.or([own, eb('r.shared' as any, '=', 1), eb('r.external' as any, '=', 1)]);
    if (kind === 'subnet') {
      return eb.or([own, eb('r.network_id' as any, 'in', eb.selectFrom('network_networks').select('id').where((w) => w.or([w('shared', '=', 1), w('external', '=', 1)])))]);
    }
    if (kind === 'subnetpool') return eb.or([own, eb('r.shared' as any, '=', 1)]);
    return own;
  }

  private condition(eb: Eb, kind: ResourceKind, c: Condition): Expression<SqlBool> {
    switch (c.kind) {
      case 'in': {
        const col = `r.${c.column}` as any;
        const values = c.values.filter((v) => v !== null);
        const parts: Expression<SqlBool>[] = [];
        if (values.length) parts.push(eb(col, 'in', values));
        if (values.length !== c.values.length) parts.push(eb(col, 'is', null));
        return parts.length === 1 ? parts[0]! : eb.or(parts);
      }
      case 'tags': {
        const having = (tag: string) => eb.exists(eb.selectFrom('network_tags as t').select('t.tag').whereRef('t.resource_id', '=', 'r.id' as any).where('t.tag', '=', tag));
        const each = c.tags.map(having);
        if (c.mode === 'tags') return eb.and(each);
        if (c.mode === 'tags-any') return eb.or(each);
        if (c.mode === 'not-tags') return eb.not(eb.and(each));
        return eb.not(eb.or(each));
      }
      case 'fixed_ip':
        return eb.exists(eb.selectFrom('network_ip_allocations as a').select('a.port_id').whereRef('a.port_id', '=', 'r.id' as any).where(`a.${c.field}`, '=', c.value));
      case 'security_group':
        return eb.exists(eb.selectFrom('network_port_security_groups as g').select('g.port_id').whereRef('g.port_id', '=', 'r.id' as any).where('g.security_group_id', 'in', c.values));
    }
    void kind;
  }

  // ----- tags ---------------------------------------------------------------------------------

  async tagsOf(ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const part of chunks(ids)) {
      const rows = await this.db.selectFrom('network_tags').select(['resource_id', 'tag']).where('resource_id', 'in', part).orderBy('tag').execute();
      for (const r of rows) (out.get(r.resource_id) ?? out.set(r.resource_id, []).get(r.resource_id)!).push(r.tag);
    }
    return out;
  }

  async setTags(kind: TaggedKind, id: string, tags: string[]): Promise<void> {
    await this.db.deleteFrom('network_tags').where('resource_id', '=', id).execute();
    if (tags.length) await this.db.insertInto('network_tags').values(tags.map((tag): TagRow => ({ resource_id: id, resource_kind: kind, tag }))).execute();
  }

  async addTag(kind: TaggedKind, id: string, tag: string): Promise<void> {
    await this.db.insertInto('network_tags').values({ resource_id: id, resource_kind: kind, tag }).onConflict((oc) => oc.doNothing()).execute();
  }

  async removeTag(id: string, tag: string): Promise<boolean> {
    const r = await this.db.deleteFrom('network_tags').where('resource_id', '=', id).where('tag', '=', tag).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ----- networks and subnets ----------------------------------------------------------------

  async subnetsOfNetworks(networkIds: string[]): Promise<SubnetRow[]> {
    const out: SubnetRow[] = [];
    for (const part of chunks(networkIds)) out.push(...(await this.db.selectFrom('network_subnets').selectAll().where('network_id', 'in', part).orderBy('seq').execute()));
    return out;
  }

  async networkInUse(networkId: string): Promise<'ports' | 'floatingips' | 'routers' | undefined> {
    if (await this.db.selectFrom('network_ports').select('id').where('network_id', '=', networkId).where('device_owner', '!=', 'network:router_gateway').executeTakeFirst()) return 'ports';
    if (await this.db.selectFrom('network_floating_ips').select('id').where('floating_network_id', '=', networkId).where('port_id', 'is not', null).executeTakeFirst()) return 'floatingips';
    if (await this.db.selectFrom('network_routers').select('id').where('gw_network_id', '=', networkId).executeTakeFirst()) return 'routers';
    return undefined;
  }

  /** CIDRs of every subnet (the default network's /24 must overlap none on shared engines). */
  async allCidrs(): Promise<string[]> {
    return (await this.db.selectFrom('network_subnets').select('cidr').execute()).map((r) => r.cidr);
  }

  async gatewayAddresses(): Promise<string[]> {
    return (await this.db.selectFrom('network_subnets').select('gateway_ip').where('gateway_ip', 'is not', null).execute()).map((r) => r.gateway_ip!);
  }

  async projectNetworkNamed(projectId: string, name: string): Promise<NetworkRow | undefined> {
    return this.db.selectFrom('network_networks').selectAll().where('project_id', '=', projectId).where('name', '=', name).where('external', '=', 0).orderBy('seq').executeTakeFirst();
  }

  async externalNetworkNamed(name: string): Promise<NetworkRow | undefined> {
    return this.db.selectFrom('network_networks').selectAll().where('name', '=', name).where('external', '=', 1).orderBy('seq').executeTakeFirst();
  }

  async subnetsOfPool(poolId: string): Promise<SubnetRow[]> {
    return this.db.selectFrom('network_subnets').selectAll().where('subnetpool_id', '=', poolId).execute();
  }

  /**
   * What making a port on a network needs, in one read: the network, its subnets (oldest first), whether
   * a router with an external gateway has an interface on it, and the project's default security group
   * and port quota override (null when it has none). Undefined for an unknown network.
   */
  async portContext(networkId: string, projectId: string): Promise<PortContext | undefined> {
    const rows = await this.q.portContext.rows({ networkId, projectId }, this.trx);
    const first = rows[0];
    if (!first) return undefined;
    const { s_id: _i, s_cidr: _c, s_gateway_ip: _g, s_allocation_pools: _p, default_group_id, port_quota, routed, ...network } = first;
    const subnets = rows.filter((r) => r.s_id !== null).map((r): SubnetAddressingRow => ({ id: r.s_id!, network_id: network.id, cidr: r.s_cidr!, gateway_ip: r.s_gateway_ip, allocation_pools: r.s_allocation_pools! }));
    return { network: network as NetworkRow, subnets, routed: Boolean(routed), defaultGroupId: (default_group_id as string | null) ?? undefined, portQuota: port_quota === null || port_quota === undefined ? undefined : Number(port_quota) };
  }

  // ----- the address ledger ------------------------------------------------------------------

  /** Claims an address; false when someone holds it already (no error: PostgreSQL's transaction goes on). */
  async claimAddress(subnetId: string, ipAddress: string, ownerId: string, portId: string | null): Promise<boolean> {
    return (await this.q.claimAddress.affected({ subnet_id: subnetId, ip_address: ipAddress, owner_id: ownerId, port_id: portId }, this.trx)) > 0;
  }

  async addressesIn(subnetId: string): Promise<string[]> {
    return (await this.db.selectFrom('network_ip_allocations').select('ip_address').where('subnet_id', '=', subnetId).execute()).map((r) => r.ip_address);
  }

  async subnetHasAllocations(subnetId: string): Promise<boolean> {
    return Boolean(await this.db.selectFrom('network_ip_allocations').select('ip_address').where('subnet_id', '=', subnetId).where('port_id', 'is not', null).executeTakeFirst());
  }

  async releaseAddresses(ownerId: string, subnetId?: string, ipAddress?: string): Promise<void> {
    let q = this.db.deleteFrom('network_ip_allocations').where('owner_id', '=', ownerId);
    if (subnetId) q = q.where('subnet_id', '=', subnetId);
    if (ipAddress) q = q.where('ip_address', '=', ipAddress);
    await q.execute();
  }

  async releaseSubnet(subnetId: string): Promise<void> {
    await this.db.deleteFrom('network_ip_allocations').where('subnet_id', '=', subnetId).execute();
  }

  /** Fixed IPs of ports, in the order they were claimed. */
  async fixedIpsOf(portIds: string[]): Promise<Map<string, IpAllocationRow[]>> {
    const out = new Map<string, IpAllocationRow[]>();
    for (const part of chunks(portIds)) {
      const rows = await this.db.selectFrom('network_ip_allocations').selectAll().where('port_id', 'in', part).execute();
      for (const r of rows) (out.get(r.port_id!) ?? out.set(r.port_id!, []).get(r.port_id!)!).push(r);
    }
    return out;
  }

  async allocationOwnedBy(ownerId: string): Promise<IpAllocationRow | undefined> {
    return this.db.selectFrom('network_ip_allocations').selectAll().where('owner_id', '=', ownerId).executeTakeFirst();
  }

  // ----- ports --------------------------------------------------------------------------------

  async macInUse(networkId: string, mac: string): Promise<boolean> {
    return Boolean(await this.db.selectFrom('network_ports').select('id').where('network_id', '=', networkId).where('mac_address', '=', mac).executeTakeFirst());
  }

  async groupsOf(portIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const part of chunks(portIds)) {
      const rows = await this.db.selectFrom('network_port_security_groups').select(['port_id', 'security_group_id']).where('port_id', 'in', part).orderBy('position').execute();
      for (const r of rows) (out.get(r.port_id) ?? out.set(r.port_id, []).get(r.port_id)!).push(r.security_group_id);
    }
    return out;
  }

  async setGroups(portId: string, groupIds: string[]): Promise<void> {
    await this.db.deleteFrom('network_port_security_groups').where('port_id', '=', portId).execute();
    if (groupIds.length === 1) await this.q.addGroup.execute({ port_id: portId, security_group_id: groupIds[0]!, position: 0 }, this.trx);
    else if (groupIds.length) await this.db.insertInto('network_port_security_groups').values(groupIds.map((g, position): PortSecurityGroupRow => ({ port_id: portId, security_group_id: g, position }))).execute();
  }

  /** The groups of a port that has none yet (a new one), in order. */
  async addGroups(portId: string, groupIds: string[]): Promise<void> {
    if (groupIds.length) await this.db.insertInto('network_port_security_groups').values(groupIds.map((g, position): PortSecurityGroupRow => ({ port_id: portId, security_group_id: g, position }))).execute();
  }

  async groupInUse(groupId: string): Promise<boolean> {
    return Boolean(await this.db.selectFrom('network_port_security_groups').select('port_id').where('security_group_id', '=', groupId).executeTakeFirst());
  }

  /** Addresses of the ports in these groups (remote-group rules), by group. */
  async memberAddresses(groupIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const part of chunks(groupIds)) {
      const rows = await this.db
        .selectFrom('network_port_security_groups as g')
        .innerJoin('network_ip_allocations as a', 'a.port_id', 'g.port_id')
        .select(['g.security_group_id', 'a.ip_address'])
        .where('g.security_group_id', 'in', part)
        .execute();
      for (const r of rows) (out.get(r.security_group_id) ?? out.set(r.security_group_id, []).get(r.security_group_id)!).push(r.ip_address);
    }
    return out;
  }

  // ----- security groups ----------------------------------------------------------------------

  async groupNamed(projectId: string, name: string): Promise<SecurityGroupRow | undefined> {
    return this.db.selectFrom('network_security_groups').selectAll().where('project_id', '=', projectId).where('name', '=', name).orderBy('seq').executeTakeFirst();
  }

  async rulesOf(groupIds: string[]): Promise<SecurityGroupRuleRow[]> {
    const out: SecurityGroupRuleRow[] = [];
    for (const part of chunks(groupIds)) out.push(...(await this.db.selectFrom('network_security_group_rules').selectAll().where('security_group_id', 'in', part).orderBy('seq').execute()));
    return out;
  }

  /** Groups whose rules name these as their remote group. */
  async groupsReferring(groupIds: string[]): Promise<string[]> {
    if (!groupIds.length) return [];
    return (await this.db.selectFrom('network_security_group_rules').select('security_group_id').distinct().where('remote_group_id', 'in', groupIds).execute()).map((r) => r.security_group_id);
  }

  // ----- port bindings (compute's, through the client) -------------------------------------------

  /** Records the binding; false when the port is bound already. */
  async bind(b: Omit<PortBindingRow, 'seq'>): Promise<boolean> {
    return (await this.q.bind.affected({ ...b, seq: this.nextSeq() }, this.trx)) > 0;
  }

  async unbind(portId: string): Promise<void> {
    await this.db.deleteFrom('network_port_bindings').where('port_id', '=', portId).execute();
  }

  async bindingsOfPorts(portIds: string[]): Promise<Map<string, PortBindingRow>> {
    const out = new Map<string, PortBindingRow>();
    for (const part of chunks(portIds)) for (const r of await this.db.selectFrom('network_port_bindings').selectAll().where('port_id', 'in', part).execute()) out.set(r.port_id, r);
    return out;
  }

  /**
   * Bindings of these servers (all when omitted) with their ports, in binding order, where the port is
   * of the binding's project.
   */
  async boundPorts(serverIds?: string[]): Promise<{ binding: PortBindingRow; port: PortRow }[]> {
    const run = async (ids?: string[]) => {
      let q = this.db
        .selectFrom('network_port_bindings as b')
        .innerJoin('network_ports as p', (j) => j.onRef('p.id', '=', 'b.port_id').onRef('p.project_id', '=', 'b.project_id'))
        .selectAll('p')
        .select(['b.server_id as b_server_id', 'b.project_id as b_project_id', 'b.host_id as b_host_id', 'b.created_for_server as b_created_for_server', 'b.seq as b_seq']);
      if (ids) q = q.where('b.server_id', 'in', ids);
      const rows = await q.orderBy('b.seq').execute();
      return rows.map(({ b_server_id, b_project_id, b_host_id, b_created_for_server, b_seq, ...port }) => ({
        binding: { port_id: port.id, server_id: b_server_id, project_id: b_project_id, host_id: b_host_id, created_for_server: b_created_for_server, seq: b_seq },
        port: port as PortRow,
      }));
    };
    if (!serverIds) return run();
    const out: { binding: PortBindingRow; port: PortRow }[] = [];
    for (const part of chunks([...new Set(serverIds)])) out.push(...(await run(part)));
    return serverIds.length > CHUNK ? out.sort((a, b) => a.binding.seq - b.binding.seq) : out;
  }

  /** One server's address rows, each with whether its port is NATed (a floating IP or a forwarding on it): what a start needs, in one read. */
  async startedServerRows(serverId: string): Promise<(ServerAddressRow & { nat: boolean })[]> {
    return (await this.q.startedOf.rows({ serverId }, this.trx)).map(({ fip, fwd, ...r }) => ({ ...r, nat: Boolean(fip) || Boolean(fwd) }));
  }

  /**
   * Nova's addresses of these servers in one read: per bound port (binding order; the port of the
   * binding's project) its network's name, MAC, each fixed IP and the floating IP NATed to it, if any.
   * A port without fixed IPs has one row with a null address.
   */
  async serverAddressRows(serverIds: string[]): Promise<ServerAddressRow[]> {
    if (serverIds.length === 1) return this.q.addressRowsOf.rows({ serverId: serverIds[0]! }, this.trx);
    const out: ServerAddressRow[] = [];
    for (const part of chunks([...new Set(serverIds)])) {
      out.push(
        ...(await addressRows(this.db)
          .where('b.server_id', 'in', part)
          .orderBy('b.seq')
          .execute()),
      );
    }
    return serverIds.length > CHUNK ? out.sort((a, b) => Number(a.seq) - Number(b.seq)) : out;
  }

  /**
   * How many times what servers' addresses are made of (bindings, ports, networks' names, fixed and
   * floating IPs) has changed: equal twice, nothing changed in between. SQLite only (its triggers
   * count every write); undefined on PostgreSQL, whose addresses are read every time.
   */
  async addressGeneration(): Promise<number | undefined> {
    if (this.dialect !== 'sqlite') return undefined;
    return Number((await this.q.addressGeneration.first({}, this.trx))!.generation);
  }

  async bindingRows(serverIds: string[]): Promise<PortBindingRow[]> {
    const out: PortBindingRow[] = [];
    for (const part of chunks(serverIds)) out.push(...(await this.db.selectFrom('network_port_bindings').selectAll().where('server_id', 'in', part).orderBy('seq').execute()));
    return out;
  }

  // ----- routers ------------------------------------------------------------------------------

  async routerPorts(routerIds: string[], type?: RouterPortRow['port_type']): Promise<(RouterPortRow & { network_id: string })[]> {
    const out: (RouterPortRow & { network_id: string })[] = [];
    for (const part of chunks(routerIds)) {
      let q = this.db.selectFrom('network_router_ports as rp').innerJoin('network_ports as p', 'p.id', 'rp.port_id').select(['rp.router_id', 'rp.port_id', 'rp.port_type', 'p.network_id']).where('rp.router_id', 'in', part);
      if (type) q = q.where('rp.port_type', '=', type);
      out.push(...((await q.orderBy('p.seq').execute()) as (RouterPortRow & { network_id: string })[]));
    }
    return out;
  }

  async routerOfPort(portId: string): Promise<RouterPortRow | undefined> {
    return this.db.selectFrom('network_router_ports').selectAll().where('port_id', '=', portId).executeTakeFirst();
  }

  async addRouterPort(row: RouterPortRow): Promise<void> {
    await this.db.insertInto('network_router_ports').values(row).execute();
  }

  /** Routers with an external gateway on `externalNetworkId` and an interface on `subnetId`. */
  async routerBetween(externalNetworkId: string, subnetId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('network_routers as r')
      .innerJoin('network_router_ports as rp', 'rp.router_id', 'r.id')
      .innerJoin('network_ip_allocations as a', 'a.port_id', 'rp.port_id')
      .select('r.id')
      .where('r.gw_network_id', '=', externalNetworkId)
      .where('rp.port_type', '=', 'network:router_interface')
      .where('a.subnet_id', '=', subnetId)
      .executeTakeFirst();
    return row?.id;
  }

  /** Whether a router with an external gateway has an interface on the network. */
  async hasExternalRoute(networkIds: string[]): Promise<Set<string>> {
    if (!networkIds.length) return new Set();
    const rows = await this.db
      .selectFrom('network_router_ports as rp')
      .innerJoin('network_routers as r', 'r.id', 'rp.router_id')
      .innerJoin('network_ports as p', 'p.id', 'rp.port_id')
      .select('p.network_id')
      .distinct()
      .where('rp.port_type', '=', 'network:router_interface')
      .where('r.gw_network_id', 'is not', null)
      .where('p.network_id', 'in', networkIds)
      .execute();
    return new Set(rows.map((r) => r.network_id));
  }

  // ----- floating IPs and port forwardings -------------------------------------------------------

  async floatingIpsOfPorts(portIds: string[]): Promise<FloatingIpRow[]> {
    const out: FloatingIpRow[] = [];
    for (const part of chunks(portIds)) out.push(...(await this.db.selectFrom('network_floating_ips').selectAll().where('port_id', 'in', part).execute()));
    return out;
  }

  async floatingIpsWhere(column: 'router_id' | 'floating_network_id', value: string, associated?: boolean): Promise<FloatingIpRow[]> {
    let q = this.db.selectFrom('network_floating_ips').selectAll().where(column, '=', value);
    if (associated === true) q = q.where('port_id', 'is not', null);
    if (associated === false) q = q.where('port_id', 'is', null);
    return q.execute();
  }

  /** Floating IPs associated with ports bound to servers, with the server (the dataplane's NAT). */
  async boundFloatingIps(serverIds?: string[]): Promise<(FloatingIpRow & { server_id: string })[]> {
    let q = this.db
      .selectFrom('network_floating_ips as f')
      .innerJoin('network_port_bindings as b', 'b.port_id', 'f.port_id')
      .selectAll('f')
      .select('b.server_id')
      .where('f.port_id', 'is not', null);
    if (serverIds) q = q.where('b.server_id', 'in', serverIds);
    return (await q.orderBy('f.seq').execute()) as (FloatingIpRow & { server_id: string })[];
  }

  async forwardingsOf(floatingIpIds: string[]): Promise<PortForwardingRow[]> {
    const out: PortForwardingRow[] = [];
    for (const part of chunks(floatingIpIds)) out.push(...(await this.db.selectFrom('network_port_forwardings').selectAll().where('floatingip_id', 'in', part).orderBy('seq').execute()));
    return out;
  }

  /** Port forwardings whose internal port is bound to a server, with the server and floating address. */
  async boundForwardings(): Promise<(PortForwardingRow & { server_id: string; floating_ip_address: string })[]> {
    return (await this.db
      .selectFrom('network_port_forwardings as pf')
      .innerJoin('network_port_bindings as b', 'b.port_id', 'pf.internal_port_id')
      .innerJoin('network_floating_ips as f', 'f.id', 'pf.floatingip_id')
      .selectAll('pf')
      .select(['b.server_id', 'f.floating_ip_address'])
      .orderBy('pf.seq')
      .execute()) as (PortForwardingRow & { server_id: string; floating_ip_address: string })[];
  }

  // ----- quotas -------------------------------------------------------------------------------

  async quotaOverrides(projectId: string): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('network_quotas').select(['resource', 'hard_limit']).where('project_id', '=', projectId).execute();
    return Object.fromEntries(rows.map((r) => [r.resource, r.hard_limit]));
  }

  async allQuotaOverrides(): Promise<QuotaRow[]> {
    return this.db.selectFrom('network_quotas').selectAll().orderBy('project_id').execute();
  }

  async setQuota(projectId: string, resource: string, limit: number): Promise<void> {
    await this.db
      .insertInto('network_quotas')
      .values({ project_id: projectId, resource, hard_limit: limit })
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit: limit }))
      .execute();
  }

  async resetQuota(projectId: string): Promise<void> {
    await this.db.deleteFrom('network_quotas').where('project_id', '=', projectId).execute();
  }
}
