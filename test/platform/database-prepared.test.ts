// Prepared queries (platform/db/prepared.ts) on both dialects: the same rows and counts as the
// queries Kysely builds, values bound by name, constants kept; inside a caller's transaction they
// are part of it; outside, they never join another's open transaction (its rollback keeps them).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createDatabase, sql, type Database } from '../../src/platform/db/database.ts';
import { PreparedQueries, PreparedQuery } from '../../src/platform/db/prepared.ts';
import { testDataDir } from '../helpers/cloud.ts';
import { testPostgresUrl } from '../helpers/postgres.ts';

const dialects: { name: string; url: () => Promise<string> }[] = [
  { name: 'sqlite', url: async () => `sqlite://${path.join(testDataDir('db-prepared-sqlite'), 'hafen.db')}` },
  { name: 'postgres', url: testPostgresUrl },
];

type Thing = {
  id: string;
  name: string;
  size: number;
  deleted: number;
};

for (const d of dialects) {
  describe(`prepared queries on ${d.name}`, () => {
    let database: Database;
    const table = `prepared_things_${process.pid}`;
    before(async () => {
      database = await createDatabase(await d.url());
      await database.db.schema.dropTable(table).ifExists().execute();
      await database.db.schema
        .createTable(table)
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('deleted', 'integer', (c) => c.notNull())
        .execute();
    });
    after(async () => {
      await database?.db.schema.dropTable(table).ifExists().execute();
      await database?.close();
    });

    it('answers what the query Kysely builds answers, values bound by name and constants kept', async () => {
      const db = database.db;
      const insert = new PreparedQuery<Thing, never>(database, (p) => db.insertInto(table).values({ id: p('id'), name: p('name'), size: p('size'), deleted: p('deleted') }));
      for (const [i, name] of ['a', 'b', 'c'].entries()) await insert.execute({ id: `t${i}`, name, size: i * 10, deleted: i === 2 ? 1 : 0 });
      const live = new PreparedQuery<{ id: string }, Thing>(database, (p) => db.selectFrom(table).selectAll().where('id', '=', p('id')).where('deleted', '=', 0));
      assert.deepEqual(await live.first({ id: 't1' }), await db.selectFrom(table).selectAll().where('id', '=', 't1').where('deleted', '=', 0).executeTakeFirst());
      assert.equal(await live.first({ id: 't2' }), undefined, 'the constant deleted = 0 is kept');
      // Values in any order of the SQL: the names decide.
      const between = new PreparedQuery<{ max: number; min: number }, { id: string }>(database, (p) => db.selectFrom(table).select('id').where('size', '>=', p('min')).where('size', '<=', p('max')).orderBy('id'));
      assert.deepEqual((await between.rows({ min: 5, max: 20 })).map((r) => r.id), ['t1', 't2']);
      const rename = new PreparedQuery<{ id: string; name: string }, never>(database, (p) => db.updateTable(table).set({ name: p('name') }).where('id', '=', p('id')));
      assert.equal(await rename.affected({ id: 't0', name: 'renamed' }), 1);
      assert.equal(await rename.affected({ id: 'nope', name: 'x' }), 0);
      const returning = new PreparedQuery<{ id: string; size: number }, { id: string; size: number }>(database, (p) => db.updateTable(table).set({ size: p('size') }).where('id', '=', p('id')).returning(['id', 'size']));
      assert.deepEqual(await returning.first({ id: 't0', size: 7 }), { id: 't0', size: 7 });
      assert.equal(await returning.first({ id: 'nope', size: 7 }), undefined);
      assert.equal((await db.selectFrom(table).select('name').where('id', '=', 't0').executeTakeFirstOrThrow()).name, 'renamed');
    });

    it('refuses a value that does not end up as a parameter, and keeps one statement per shape', () => {
      const db = database.db;
      // A value written into the SQL itself (a literal) cannot be bound again.
      assert.throws(() => new PreparedQuery<{ n: number }, Thing>(database, (p) => db.selectFrom(table).selectAll().where('size', '=', sql.lit(p('n')))), /not a parameter/);
      const shapes = new PreparedQueries<Record<string, unknown>, never>(database);
      const build = (p: (n: string) => unknown) => db.updateTable(table).set({ name: p('name') as string }).where('id', '=', p('id') as string);
      assert.equal(shapes.of('name', build), shapes.of('name', build));
    });

    it('is part of the caller\'s transaction, and never of another\'s', async () => {
      const db = database.db;
      const rename = new PreparedQuery<{ id: string; name: string }, never>(database, (p) => db.updateTable(table).set({ name: p('name') }).where('id', '=', p('id')));
      // Inside: rolled back with the transaction.
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          assert.equal(await rename.affected({ id: 't1', name: 'inside' }, trx), 1);
          assert.equal((await trx.selectFrom(table).select('name').where('id', '=', 't1').executeTakeFirstOrThrow()).name, 'inside');
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.equal((await db.selectFrom(table).select('name').where('id', '=', 't1').executeTakeFirstOrThrow()).name, 'b');
      // Outside, while another transaction is open: it waits (SQLite) or runs apart (PostgreSQL),
      // and the other's rollback leaves its write in place.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let opened!: () => void;
      const open = new Promise<void>((r) => (opened = r));
      const other = db.transaction().execute(async (trx) => {
        await trx.updateTable(table).set({ size: 99 }).where('id', '=', 't2').execute();
        opened();
        await held;
        throw new Error('other rolls back');
      });
      await open;
      const outside = rename.affected({ id: 't1', name: 'outside' });
      release();
      await assert.rejects(other, /other rolls back/);
      assert.equal(await outside, 1);
      const rows = await db.selectFrom(table).select(['id', 'name', 'size']).where('id', 'in', ['t1', 't2']).orderBy('id').execute();
      assert.deepEqual(rows, [
        { id: 't1', name: 'outside', size: 10 },
        { id: 't2', name: 'c', size: 20 },
      ]);
    });
  });
}
