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
];

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
