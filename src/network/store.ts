// Network rows: every Neutron resource kept as a JSON document keyed by kind, plus the address
// ledger whose (subnet_id, ip_address) primary key is what makes IPAM safe under concurrency.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/database.ts';
import { isUniqueViolation } from '../platform/db/database.ts';
import { migrate, type Migration } from '../platform/db/migrations.ts';

export type ResourceKind = 'network' | 'subnet' | 'port' | 'security_group' | 'security_group_rule' | 'router' | 'floatingip' | 'quota';

export interface ResourceDoc {
  id: string;
  project_id: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
  tags: string[];
  [field: string]: unknown;
}

const migrations: Migration[] = [
  {
    name: '0001-initial',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('network_resources')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('network_resources_kind').on('network_resources').columns(['kind', 'seq']).execute();
      await db.schema
        .createTable('network_ip_allocations')
        .addColumn('subnet_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('ip_address', 'varchar(64)', (c) => c.notNull())
        .addColumn('owner_id', 'varchar(64)', (c) => c.notNull())
        .addPrimaryKeyConstraint('network_ip_allocations_pk', ['subnet_id', 'ip_address'])
        .execute();
      await db.schema.createIndex('network_ip_allocations_owner').on('network_ip_allocations').column('owner_id').execute();
    },
  },
  {
    // Which ports a server has is compute's word alone (bindPorts), never a port's device fields.
    name: '0002-port-bindings',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('network_port_bindings')
        .addColumn('port_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('server_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('host_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_for_server', 'integer', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('network_port_bindings_server').on('network_port_bindings').columns(['server_id', 'seq']).execute();
      // Existing bindings: the ports compute made for servers; ports it was given only where the
      // server is compute's and of the port's project (a forged device_id names no server of its own).
      const rows = (await db.selectFrom('network_resources').select(['id', 'body', 'seq']).where('kind', '=', 'port').execute()) as { id: string; body: string; seq: number }[];
      let servers: Map<string, string> | undefined;
      for (const r of rows) {
        const p = JSON.parse(r.body) as { project_id: string; device_id?: string; device_owner?: string; created_for_server?: boolean; 'binding:host_id'?: string };
        if (p.device_owner !== 'compute:nova' || !p.device_id) continue;
        if (!p.created_for_server) {
          servers ??= await computeServers(db);
          if (servers.get(p.device_id) !== p.project_id) continue;
        }
        await db.insertInto('network_port_bindings').values({ port_id: r.id, server_id: p.device_id, project_id: p.project_id, host_id: p['binding:host_id'] ?? '', created_for_server: p.created_for_server ? 1 : 0, seq: Number(r.seq) }).execute();
      }
    },
  },
];

/** Server id -> project of compute's servers, when compute's table exists (an upgrade); else none. */
async function computeServers(db: Kysely<any>): Promise<Map<string, string>> {
  try {
    const rows = (await db.selectFrom('compute_servers').select(['id', 'project_id']).execute()) as { id: string; project_id: string }[];
    return new Map(rows.map((r) => [r.id, r.project_id]));
  } catch {
    return new Map();
  }
}

export interface PortBindingRow {
  port_id: string;
  server_id: string;
  project_id: string;
  host_id: string;
  created_for_server: number;
  seq: number;
}

export class NetworkStore {
  private seq = Date.now() * 1000;
  private constructor(private readonly db: Kysely<any>) {}

  static async create(database: Database): Promise<NetworkStore> {
    await migrate(database, 'network', migrations);
    return new NetworkStore(database.db);
  }

  async insert(kind: ResourceKind, doc: ResourceDoc): Promise<void> {
    // seq orders lists by creation; a time-based counter stays monotonic across restarts.
    this.seq = Math.max(this.seq + 1, Date.now() * 1000);
    await this.db.insertInto('network_resources').values({ id: doc.id, kind, project_id: doc.project_id, seq: this.seq, body: JSON.stringify(doc) }).execute();
  }

  async update(doc: ResourceDoc): Promise<void> {
    await this.db.updateTable('network_resources').set({ body: JSON.stringify(doc), project_id: doc.project_id }).where('id', '=', doc.id).execute();
  }

  async get(kind: ResourceKind, id: string): Promise<ResourceDoc | undefined> {
    const row = await this.db.selectFrom('network_resources').select('body').where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
    return row ? (JSON.parse(row.body) as ResourceDoc) : undefined;
  }

  async list(kind: ResourceKind): Promise<ResourceDoc[]> {
    const rows = await this.db.selectFrom('network_resources').select('body').where('kind', '=', kind).orderBy('seq').execute();
    return rows.map((r: { body: string }) => JSON.parse(r.body) as ResourceDoc);
  }

  async count(kind: ResourceKind, projectId: string): Promise<number> {
    const row = await this.db.selectFrom('network_resources').select((eb) => eb.fn.countAll().as('n')).where('kind', '=', kind).where('project_id', '=', projectId).executeTakeFirst();
    return Number((row as { n: number } | undefined)?.n ?? 0);
  }

  async remove(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('network_resources').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ----- port bindings (written by compute through the client only)

  /** Records the binding; false when the port is bound already. */
  async bind(b: Omit<PortBindingRow, 'seq'>): Promise<boolean> {
    this.seq = Math.max(this.seq + 1, Date.now() * 1000);
    try {
      await this.db.insertInto('network_port_bindings').values({ ...b, seq: this.seq }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async unbind(portId: string): Promise<void> {
    await this.db.deleteFrom('network_port_bindings').where('port_id', '=', portId).execute();
  }

  async bindingOfPort(portId: string): Promise<PortBindingRow | undefined> {
    return (await this.db.selectFrom('network_port_bindings').selectAll().where('port_id', '=', portId).executeTakeFirst()) as PortBindingRow | undefined;
  }

  /** Bindings of these servers (all servers when omitted), in the order they were made. */
  async bindings(serverIds?: string[]): Promise<PortBindingRow[]> {
    if (serverIds && serverIds.length === 0) return [];
    let q = this.db.selectFrom('network_port_bindings').selectAll();
    if (serverIds) q = q.where('server_id', 'in', serverIds);
    return (await q.orderBy('seq').execute()) as PortBindingRow[];
  }

  /** Claims an address; false when someone holds it already. */
  async claimAddress(subnetId: string, ipAddress: string, ownerId: string): Promise<boolean> {
    try {
      await this.db.insertInto('network_ip_allocations').values({ subnet_id: subnetId, ip_address: ipAddress, owner_id: ownerId }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async addressesIn(subnetId: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('network_ip_allocations').select('ip_address').where('subnet_id', '=', subnetId).execute();
    return new Set(rows.map((r: { ip_address: string }) => r.ip_address));
  }

  async releaseAddresses(ownerId: string, subnetId?: string, ipAddress?: string): Promise<void> {
    let q = this.db.deleteFrom('network_ip_allocations').where('owner_id', '=', ownerId);
    if (subnetId) q = q.where('subnet_id', '=', subnetId);
    if (ipAddress) q = q.where('ip_address', '=', ipAddress);
    await q.execute();
  }
}
