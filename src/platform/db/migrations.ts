// Ordered, named migrations per namespace (one namespace per store), applied once and recorded in
// hafen_migrations. The same migration code runs on SQLite and PostgreSQL; PostgreSQL serialises
// concurrent controllers with an advisory lock.
import { sql, type Kysely } from 'kysely';
import type { Database, Dialect } from './database.ts';

export interface Migration {
  name: string;
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

const MIGRATION_LOCK = 724_011;

export async function migrate(database: Database, namespace: string, migrations: Migration[]): Promise<void> {
  const { db, dialect } = database;
  await db.transaction().execute(async (trx) => {
    // The lock comes first: PostgreSQL's CREATE TABLE IF NOT EXISTS itself races between sessions.
    if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(trx);
    await trx.schema
      .createTable('hafen_migrations')
      .ifNotExists()
      .addColumn('namespace', 'varchar(64)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('applied_at', 'varchar(32)', (c) => c.notNull())
      .addPrimaryKeyConstraint('hafen_migrations_pk', ['namespace', 'name'])
      .execute();
    const done = new Set(
      (await trx.selectFrom('hafen_migrations').select('name').where('namespace', '=', namespace).execute()).map(
        (r: { name: string }) => r.name,
      ),
    );
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      await m.up(trx, dialect);
      await trx
        .insertInto('hafen_migrations')
        .values({ namespace, name: m.name, applied_at: new Date().toISOString() })
        .execute();
    }
  });
}
