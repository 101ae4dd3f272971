// The metadata definitions catalog's rows: namespaces and what each holds (objects, property
// definitions, tags, resource type associations), and the resource types. Children go with their
// namespace (foreign keys, cascade); names are unique within a namespace.
import type { Kysely } from 'kysely';
import type { Database } from '../../platform/db/database.ts';
import { isUniqueViolation } from '../../platform/db/database.ts';
import { migrate, type Migration } from '../../platform/db/migrations.ts';
import { ConflictError } from '../../platform/errors.ts';

export interface NamespaceRow {
  id: string;
  namespace: string;
  display_name: string | null;
  description: string | null;
  visibility: 'public' | 'private';
  protected: number;
  owner: string;
  created_at: string;
  updated_at: string;
}

/** An object, a property or a tag of a namespace: its name and, for objects and properties, a JSON body. */
export interface ChildRow {
  namespace_id: string;
  name: string;
  /** Objects: {description, required, properties}; properties: the property definition; tags: '{}'. */
  body: string;
  created_at: string;
  updated_at: string;
}

export interface AssociationRow {
  namespace_id: string;
  resource_type: string;
  prefix: string | null;
  properties_target: string | null;
  created_at: string;
  updated_at: string;
}

export interface ResourceTypeRow {
  name: string;
  protected: number;
  created_at: string;
  updated_at: string;
}

export type ChildKind = 'objects' | 'properties' | 'tags';
const CHILD_TABLES: Record<ChildKind, string> = { objects: 'image_md_objects', properties: 'image_md_properties', tags: 'image_md_tags' };

/** The resource types Glance knows that hafen serves; more appear when a namespace is associated with one. */
const SEEDED_RESOURCE_TYPES = ['OS::Glance::Image', 'OS::Nova::Flavor', 'OS::Nova::Server', 'OS::Nova::Aggregate'];

const migrations: Migration[] = [
  {
    name: '0001-catalog',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('image_md_namespaces')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('namespace', 'varchar(80)', (c) => c.notNull().unique())
        .addColumn('display_name', 'varchar(80)')
        .addColumn('description', 'text')
        .addColumn('visibility', 'varchar(16)', (c) => c.notNull())
        .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('owner', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('image_md_namespaces_owner').on('image_md_namespaces').column('owner').execute();
      for (const table of Object.values(CHILD_TABLES)) {
        await db.schema
          .createTable(table)
          .addColumn('namespace_id', 'varchar(36)', (c) => c.notNull().references('image_md_namespaces.id').onDelete('cascade'))
          .addColumn('name', 'varchar(255)', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
          .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['namespace_id', 'name'])
          .execute();
      }
      await db.schema
        .createTable('image_md_resource_types')
        .addColumn('name', 'varchar(80)', (c) => c.primaryKey())
        .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('image_md_associations')
        .addColumn('namespace_id', 'varchar(36)', (c) => c.notNull().references('image_md_namespaces.id').onDelete('cascade'))
        .addColumn('resource_type', 'varchar(80)', (c) => c.notNull().references('image_md_resource_types.name'))
        .addColumn('prefix', 'varchar(80)')
        .addColumn('properties_target', 'varchar(80)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .addPrimaryKeyConstraint('image_md_associations_pk', ['namespace_id', 'resource_type'])
        .execute();
      await db.schema.createIndex('image_md_associations_type').on('image_md_associations').column('resource_type').execute();
      const now = new Date().toISOString();
      await db.insertInto('image_md_resource_types').values(SEEDED_RESOURCE_TYPES.map((name) => ({ name, protected: 1, created_at: now, updated_at: now }))).execute();
    },
  },
];

export interface NamespacePage {
  /** Owner whose private namespaces are listed too; undefined: every namespace (admin). */
  visibleTo: string | undefined;
  all: boolean;
  visibility?: 'public' | 'private';
  resourceTypes?: string[];
  sortKey: 'created_at' | 'updated_at' | 'namespace';
  sortDir: 'asc' | 'desc';
  limit: number;
  after?: NamespaceRow;
}

export class MetadefStore {
  private constructor(private readonly db: Kysely<any>) {}

  static async create(database: Database): Promise<MetadefStore> {
    await migrate(database, 'image-metadefs', migrations);
    return new MetadefStore(database.db);
  }

  async namespace(name: string): Promise<NamespaceRow | undefined> {
    return (await this.db.selectFrom('image_md_namespaces').selectAll().where('namespace', '=', name).executeTakeFirst()) as NamespaceRow | undefined;
  }

  /** A page of namespaces, filtered and sorted in SQL, visibility included. */
  async namespaces(page: NamespacePage): Promise<NamespaceRow[]> {
    let q = this.db.selectFrom('image_md_namespaces').selectAll();
    if (!page.all) q = q.where((eb) => eb.or([eb('visibility', '=', 'public'), eb('owner', '=', page.visibleTo ?? '')]));
    if (page.visibility) q = q.where('visibility', '=', page.visibility);
    if (page.resourceTypes?.length) {
      q = q.where('id', 'in', this.db.selectFrom('image_md_associations').select('namespace_id').where('resource_type', 'in', page.resourceTypes));
    }
    if (page.after) {
      const key = page.sortKey;
      const value = page.after[key];
      const cmp = page.sortDir === 'asc' ? '>' : '<';
      q = q.where((eb) => eb.or([eb(key, cmp, value), eb.and([eb(key, '=', value), eb('id', cmp, page.after!.id)])]));
    }
    return (await q.orderBy(page.sortKey, page.sortDir).orderBy('id', page.sortDir).limit(page.limit).execute()) as NamespaceRow[];
  }

  async insertNamespace(row: NamespaceRow, children: { kind: ChildKind; rows: ChildRow[] }[], associations: AssociationRow[]): Promise<void> {
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('image_md_namespaces').values(row).execute();
        for (const { kind, rows } of children) if (rows.length) await tx.insertInto(CHILD_TABLES[kind]).values(rows).execute();
        for (const a of associations) {
          await this.ensureResourceType(tx, a.resource_type);
          await tx.insertInto('image_md_associations').values(a).execute();
        }
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Namespace name=${row.namespace} already exists, or it names one of its items twice`);
      throw err;
    }
  }

  async updateNamespace(id: string, changes: Partial<NamespaceRow>): Promise<void> {
    try {
      await this.db.updateTable('image_md_namespaces').set({ ...changes, updated_at: new Date().toISOString() }).where('id', '=', id).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Namespace name=${changes.namespace} already exists`);
      throw err;
    }
  }

  async deleteNamespace(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      // Children first: SQLite enforces the cascade only with foreign keys switched on.
      for (const table of [...Object.values(CHILD_TABLES), 'image_md_associations']) await tx.deleteFrom(table).where('namespace_id', '=', id).execute();
      await tx.deleteFrom('image_md_namespaces').where('id', '=', id).execute();
    });
  }

  // ---- objects, properties, tags

  async children(kind: ChildKind, namespaceId: string): Promise<ChildRow[]> {
    return (await this.db.selectFrom(CHILD_TABLES[kind]).selectAll().where('namespace_id', '=', namespaceId).orderBy('name').execute()) as ChildRow[];
  }

  async child(kind: ChildKind, namespaceId: string, name: string): Promise<ChildRow | undefined> {
    return (await this.db.selectFrom(CHILD_TABLES[kind]).selectAll().where('namespace_id', '=', namespaceId).where('name', '=', name).executeTakeFirst()) as ChildRow | undefined;
  }

  async insertChildren(kind: ChildKind, rows: ChildRow[], replaceAll = false): Promise<void> {
    try {
      await this.db.transaction().execute(async (tx) => {
        if (replaceAll && rows.length) await tx.deleteFrom(CHILD_TABLES[kind]).where('namespace_id', '=', rows[0]!.namespace_id).execute();
        if (rows.length) await tx.insertInto(CHILD_TABLES[kind]).values(rows).execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`A metadata definition ${kind.replace(/ies$/, 'y').replace(/s$/, '')} named ${rows.map((r) => r.name).join(', ')} already exists in this namespace`);
      throw err;
    }
  }

  /** Renames and rewrites one; false when it is gone. */
  async updateChild(kind: ChildKind, namespaceId: string, name: string, changes: { name: string; body: string }): Promise<boolean> {
    try {
      const r = await this.db
        .updateTable(CHILD_TABLES[kind])
        .set({ ...changes, updated_at: new Date().toISOString() })
        .where('namespace_id', '=', namespaceId)
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`A metadata definition named ${changes.name} already exists in this namespace`);
      throw err;
    }
  }

  async deleteChild(kind: ChildKind, namespaceId: string, name: string): Promise<boolean> {
    const r = await this.db.deleteFrom(CHILD_TABLES[kind]).where('namespace_id', '=', namespaceId).where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteChildren(kind: ChildKind, namespaceId: string): Promise<void> {
    await this.db.deleteFrom(CHILD_TABLES[kind]).where('namespace_id', '=', namespaceId).execute();
  }

  // ---- resource types

  private async ensureResourceType(tx: Kysely<any>, name: string): Promise<void> {
    if (await tx.selectFrom('image_md_resource_types').select('name').where('name', '=', name).executeTakeFirst()) return;
    const now = new Date().toISOString();
    await tx.insertInto('image_md_resource_types').values({ name, protected: 0, created_at: now, updated_at: now }).execute();
  }

  async resourceTypes(): Promise<ResourceTypeRow[]> {
    return (await this.db.selectFrom('image_md_resource_types').selectAll().orderBy('name').execute()) as ResourceTypeRow[];
  }

  async associations(namespaceIds: string[]): Promise<AssociationRow[]> {
    if (!namespaceIds.length) return [];
    return (await this.db.selectFrom('image_md_associations').selectAll().where('namespace_id', 'in', namespaceIds).orderBy('resource_type').execute()) as AssociationRow[];
  }

  async associate(row: AssociationRow): Promise<void> {
    try {
      await this.db.transaction().execute(async (tx) => {
        await this.ensureResourceType(tx, row.resource_type);
        await tx.insertInto('image_md_associations').values(row).execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`The namespace is already associated with resource type ${row.resource_type}`);
      throw err;
    }
  }

  async deassociate(namespaceId: string, resourceType: string): Promise<boolean> {
    const r = await this.db.deleteFrom('image_md_associations').where('namespace_id', '=', namespaceId).where('resource_type', '=', resourceType).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
