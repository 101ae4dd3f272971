// The one query layer and the identity migrations on both dialects: SQLite (embedded default) and
// the project's own PostgreSQL cluster; plus one full cloud on PostgreSQL issuing a token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import path from 'node:path';
import { createDatabase, affectedRows, isForeignKeyViolation, sql, type Database } from '../../src/platform/db/database.ts';
import { migrate } from '../../src/platform/db/migrations.ts';
import { exclusively } from '../../src/platform/db/locks.ts';
import { IdentityStore, newId, type AssignmentRow, type ProjectRow } from '../../src/identity/store.ts';
import { RevocationList } from '../../src/identity/revocations.ts';
import { identityMigrations } from '../../src/identity/migrations.ts';
import { ConflictError } from '../../src/platform/errors.ts';
import { startTestCloud, testDataDir, type TestCloud } from '../helpers/cloud.ts';
import { testPostgresUrl } from '../helpers/postgres.ts';

const dialects: { name: string; url: () => Promise<string> }[] = [
  { name: 'sqlite', url: async () => `sqlite://${path.join(testDataDir('db-sqlite'), 'hafen.db')}` },
  { name: 'postgres', url: testPostgresUrl },
];

for (const d of dialects) {
  describe(`database on ${d.name}`, () => {
    let database: Database;
    let store: IdentityStore;
    const now = new Date().toISOString();

    const urls = new WeakMap<Database, string>();
    const urlOf = async (db: Database) => urls.get(db)!;
    before(async () => {
      const url = await d.url();
      database = await createDatabase(url);
      urls.set(database, url);
      store = await IdentityStore.create(database);
    });
    after(async () => database?.close());

    it('reports its dialect and applies each migration once', async () => {
      assert.equal(database.dialect, d.name);
      // A second run (a restart, or a second controller) is a no-op.
      await IdentityStore.create(database);
      const rows = await database.db.selectFrom('hafen_migrations').selectAll().where('namespace', '=', 'identity').execute();
      assert.deepEqual(rows.map((r) => r.name as string).sort(), identityMigrations.map((m) => m.name).sort());
    });

    it('applies a migration once when two controllers start together on a fresh database', async () => {
      const url = await d.url();
      // SQLite is embedded (one controller); PostgreSQL serves several, each with its own pool.
      const first = await createDatabase(url);
      const second = d.name === 'postgres' ? await createDatabase(url) : first;
      try {
        let runs = 0;
        const probe = [
          {
            name: '0001-probe',
            async up(db: Kysely<any>) {
              runs++;
              await db.schema.createTable('probe_rows').addColumn('id', 'varchar(64)', (c) => c.primaryKey()).execute();
            },
          },
        ];
        await Promise.all([migrate(first, 'probe', probe), migrate(second, 'probe', probe), migrate(first, 'other', [])]);
        assert.equal(runs, 1);
        const rows = await first.db.selectFrom('hafen_migrations').select('name').where('namespace', '=', 'probe').execute();
        assert.deepEqual(rows.map((r) => r.name), ['0001-probe']);
      } finally {
        if (second !== first) await second.close();
        await first.close();
      }
    });

    it('runs work under a named lock one caller at a time, across controllers', async () => {
      const other = d.name === 'postgres' ? await createDatabase(await urlOf(database)) : database;
      try {
        const events: string[] = [];
        const work = (who: string) => async () => {
          events.push(`${who}+`);
          await new Promise((r) => setTimeout(r, 50));
          events.push(`${who}-`);
          return who;
        };
        const results = await Promise.all([exclusively(database, 'probe', work('a')), exclusively(other, 'probe', work('b')), exclusively(database, 'probe', work('c'))]);
        assert.deepEqual(results, ['a', 'b', 'c']);
        for (let i = 0; i < events.length; i += 2) assert.equal(events[i]!.slice(0, 1), events[i + 1]!.slice(0, 1), events.join(' '));
        // A failing holder releases the lock.
        await assert.rejects(exclusively(database, 'probe', async () => { throw new Error('boom'); }), /boom/);
        assert.equal(await exclusively(other, 'probe', async () => 'after'), 'after');
      } finally {
        if (other !== database) await other.close();
      }
    });

    it('turns a unique violation into ConflictError and keeps the first row', async () => {
      const domain = { id: newId(), name: `dom-${d.name}`, description: '', enabled: 1, tags: '[]', created_at: now };
      await store.insert('identity_domains', domain, 'domain');
      const project: ProjectRow = { id: newId(), name: 'alpha', domain_id: domain.id, parent_id: null, description: '', enabled: 1, tags: '[]', created_at: now };
      await store.insert('identity_projects', project, 'project');
      await assert.rejects(
        store.insert('identity_projects', { ...project, id: newId() }, 'project'),
        (err: unknown) => err instanceof ConflictError && /Duplicate entry/.test(err.message),
      );
      // Same name in another domain is fine; renaming onto a taken name conflicts too.
      const other: ProjectRow = { ...project, id: newId(), name: 'beta' };
      await store.insert('identity_projects', other, 'project');
      await assert.rejects(store.update('identity_projects', other.id, { name: 'alpha' }, 'project'), ConflictError);
      const found = await store.projectByName(domain.id, 'alpha');
      assert.equal(found?.id, project.id);
      assert.equal(found?.enabled, 1);
      assert.equal(found?.parent_id, null);
      const listed = await store.list<ProjectRow>('identity_projects', { domain_id: domain.id, parent_id: null }, 'name');
      assert.deepEqual(listed.map((p) => p.name), ['alpha', 'beta']);
      assert.equal(await store.remove('identity_projects', other.id), true);
      assert.equal(await store.remove('identity_projects', other.id), false);
    });

    it('enforces foreign keys and counts affected rows the same way', async () => {
      await assert.rejects(
        database.db.insertInto('identity_projects').values({ id: newId(), name: 'orphan', domain_id: 'no-such-domain', description: '', enabled: 1, tags: '[]', created_at: now }).execute(),
        (err: unknown) => isForeignKeyViolation(err),
      );
      const r = await database.db.updateTable('identity_projects').set({ description: 'x' }).where('name', '=', 'alpha').executeTakeFirst();
      assert.equal(affectedRows(r), 1);
      const none = await database.db.deleteFrom('identity_projects').where('id', '=', 'nothing').executeTakeFirst();
      assert.equal(affectedRows(none), 0);
    });

    it('reads counts and 64-bit integers as numbers', async () => {
      const row = await database.db.selectFrom('identity_projects').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(typeof row.n, 'number');
      assert.ok((row.n as number) >= 1);
      const big = await sql<{ v: number }>`select cast(9007199254740991 as bigint) as v`.execute(database.db);
      assert.equal(big.rows[0]!.v, Number.MAX_SAFE_INTEGER);
    });

    it('stores, lists and removes role assignments idempotently', async () => {
      const role = { id: newId(), name: `role-${d.name}`, domain_id: '', description: '', created_at: now };
      await store.insert('identity_roles', role, 'role');
      const a: AssignmentRow = { actor_type: 'user', actor_id: 'u1', target_type: 'project', target_id: 'p1', role_id: role.id, inherited: 0 };
      await store.addAssignment(a);
      await store.addAssignment(a); // ON CONFLICT DO NOTHING on both dialects
      await store.addAssignment({ ...a, actor_id: 'u2' });
      await store.addAssignment({ ...a, target_type: 'system', target_id: 'all' });
      assert.equal(await store.hasAssignment(a), true);
      const onP1 = await store.listAssignments({ target_id: 'p1' });
      assert.deepEqual(onP1.map((x) => x.actor_id), ['u1', 'u2']);
      assert.equal(onP1[0]!.inherited, 0);
      assert.deepEqual(await store.listAssignments({ actor_ids: [] }), []);
      assert.equal((await store.listAssignments({ actor_ids: ['u1'], target_ids: ['p1', 'all'] })).length, 2);
      assert.equal(await store.removeAssignment(a), true);
      assert.equal(await store.removeAssignment(a), false);
      // Deleting the role cascades to its assignments.
      await store.remove('identity_roles', role.id);
      assert.deepEqual(await store.listAssignments({ role_id: role.id }), []);
    });

    it('numbers revocation events with the serial column and shares them between controllers', async () => {
      const first = new RevocationList(database.db, 3_600_000);
      const second = new RevocationList(database.db, 3_600_000);
      await first.refresh();
      await second.refresh();
      await first.revoke({ userId: 'user-a' });
      await first.revoke({ auditId: 'audit-b' });
      const rows = await database.db.selectFrom('identity_revocations').select(['seq', 'user_id']).orderBy('seq').execute();
      assert.equal(rows.length, 2);
      assert.equal(typeof rows[0]!.seq, 'number');
      assert.ok(rows[1]!.seq > rows[0]!.seq);
      const claims = (over: object) =>
        ({ userId: 'user-x', userDomainId: 'default', auditIds: ['audit-x'], roles: [], scope: { kind: 'unscoped' }, issuedAt: Math.floor(Date.now() / 1000) - 5, ...over }) as any;
      assert.equal(second.isRevoked(claims({ userId: 'user-a' })), false, 'not seen before polling');
      await second.refresh();
      assert.equal(second.isRevoked(claims({ userId: 'user-a' })), true);
      assert.equal(second.isRevoked(claims({ auditIds: ['audit-b'] })), true);
      assert.equal(second.isRevoked(claims({})), false);
      // Polling again only reads newer rows and changes nothing.
      await second.refresh();
      assert.equal(second.isRevoked(claims({ userId: 'user-a' })), true);
    });
  });
}

describe('a full cloud on PostgreSQL', () => {
  let t: TestCloud;
  before(async () => {
    t = await startTestCloud('pg', { HAFEN_DATABASE_URL: await testPostgresUrl() });
  });
  after(async () => t?.close());

  it('serves the real openstack CLI', async () => {
    const out = await t.openstack(['token', 'issue', '-f', 'json']);
    assert.match(JSON.parse(out).id, /.+/);
  });

  it('bootstraps once when two controllers start together on a fresh database', async () => {
    const url = await testPostgresUrl();
    const dataDir = testDataDir('pg-together');
    const clouds = await Promise.all([startTestCloud('pg-a', { HAFEN_DATABASE_URL: url, HAFEN_DATA_DIR: dataDir }), startTestCloud('pg-b', { HAFEN_DATABASE_URL: url, HAFEN_DATA_DIR: dataDir })]);
    try {
      for (const c of clouds) assert.ok(await c.token('admin'));
      const users = await clouds[0]!.request('GET', '/identity/v3/users?name=admin', { token: await clouds[0]!.token('admin') });
      assert.equal(users.body.users.length, 1);
    } finally {
      await Promise.all(clouds.map((c) => c.close()));
    }
  });

  it('bootstraps, issues and validates a token, and shares its rows with a second controller', async () => {
    assert.equal(t.cloud.database.dialect, 'postgres');
    const admin = await t.token('admin');
    const created = await t.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'on-postgres' } } });
    assert.equal(created.status, 201, created.text);
    const check = await t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': admin } });
    assert.equal(check.status, 200);
    assert.equal(check.body.token.project.name, 'admin');
    const dup = await t.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'on-postgres' } } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 409);

    // A second controller on the same database (and signing keys; it rewrites clouds.yaml) sees the same rows and accepts the same token.
    const second = await startTestCloud('pg2', { HAFEN_DATABASE_URL: t.env.HAFEN_DATABASE_URL!, HAFEN_DATA_DIR: t.dataDir });
    try {
      const listed = await second.request('GET', '/identity/v3/projects?name=on-postgres', { token: admin });
      assert.equal(listed.status, 200, listed.text);
      assert.equal(listed.body.projects.length, 1);
      assert.equal(listed.body.projects[0].id, created.body.project.id);
    } finally {
      await second.close();
    }
  });

});
