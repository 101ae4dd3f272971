// WAL checkpoints on a worker thread (checkpointer.ts): the main connection never checkpoints, the
// worker copies the log into the database file, and closing leaves the file whole with no log behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, sql, type Database } from './database.ts';

describe('checkpoints on a worker thread', () => {
  let dir: string;
  let file: string;
  let database: Database;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-checkpointer-'));
    file = path.join(dir, 'hafen.sqlite');
    database = await createDatabase(`sqlite://${file}`);
    await sql`create table pages (id integer primary key, body text not null)`.execute(database.db);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('copies committed pages into the database file while the main connection only appends to the log', async () => {
    const before = fs.statSync(file).size;
    const auto = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(database.db);
    assert.equal(auto.rows[0]!.wal_autocheckpoint, 0);
    // About 2,000 pages: SQLite's own checkpoint (every 1,000) would have run on this connection.
    for (let i = 0; i < 40; i++) {
      await database.db.transaction().execute(async (trx) => {
        for (let j = 0; j < 50; j++) await trx.insertInto('pages').values({ id: i * 50 + j, body: 'x'.repeat(3000) }).execute();
      });
    }
    const deadline = Date.now() + 20_000;
    while (fs.statSync(file).size < before + 2_000 * 3000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(fs.statSync(file).size >= before + 2_000 * 3000, `the database file holds the pages (${fs.statSync(file).size} bytes)`);
  });

  it('closes with every row in the database file and the log gone', async () => {
    await database.close();
    assert.equal(fs.existsSync(`${file}-wal`), false);
    const again = await createDatabase(`sqlite://${file}`);
    const n = await again.db.selectFrom('pages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(n.n), 2000);
    await again.close();
  });
});
