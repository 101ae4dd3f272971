// Grouped writes (write-group.ts) on SQLite: the writes of one turn share one transaction, each caller
// gets its own result after the commit, and a write that fails fails its caller alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, sql, type Database } from './database.ts';
import { WriteGroup } from './write-group.ts';

describe('grouped writes', () => {
  let database: Database;
  before(async () => {
    database = await createDatabase('sqlite::memory:');
    await sql`create table things (id text primary key, n integer not null)`.execute(database.db);
  });
  after(async () => database.close());

  it('writes the calls of one turn in one transaction, answering each after the commit', async () => {
    const transactions = new Set<unknown>();
    const group = new WriteGroup<{ id: string; n: number }, number>(database.db, async (trx, t) => {
      transactions.add(trx);
      await trx.insertInto('things').values(t).execute();
      return t.n * 2;
    });
    const answers = await Promise.all([1, 2, 3].map((n) => group.add({ id: `a${n}`, n })));
    assert.deepEqual(answers, [2, 4, 6]);
    assert.equal(transactions.size, 1);
    const rows = await database.db.selectFrom('things').select(['id']).where('id', 'like', 'a%').orderBy('id').execute();
    assert.deepEqual(rows.map((r) => r.id), ['a1', 'a2', 'a3']);
  });

  it('fails only the write that fails, and takes back what the rolled-back ones did', async () => {
    const rolledBack: string[] = [];
    const group = new WriteGroup<{ id: string; n: number }, string>(
      database.db,
      async (trx, t) => {
        await trx.insertInto('things').values(t).execute();
        return t.id;
      },
      200,
      (t) => rolledBack.push(t.id),
    );
    // b2 clashes with a row of its own group: the group rolls back, then each is written alone.
    const answers = await Promise.allSettled([group.add({ id: 'b1', n: 1 }), group.add({ id: 'b1', n: 2 }), group.add({ id: 'b3', n: 3 })]);
    assert.equal(answers[0].status, 'fulfilled');
    assert.equal(answers[1].status, 'rejected');
    assert.equal(answers[2].status, 'fulfilled');
    assert.deepEqual(rolledBack, ['b1', 'b1', 'b3', 'b1']);
    const rows = await database.db.selectFrom('things').select(['id', 'n']).where('id', 'like', 'b%').orderBy('id').execute();
    assert.deepEqual(rows, [{ id: 'b1', n: 1 }, { id: 'b3', n: 3 }]);
  });
});
