// The one query layer: a Kysely handle on SQLite (embedded default) or PostgreSQL (scale-out).
// Stores keep SQL portable: booleans as 0/1 integers, JSON as text, times as ISO-8601 text.
import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect, sql, type CompiledQuery, type QueryResult } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { startCheckpointer, type Checkpointer } from './checkpointer.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  // Each store narrows this to its own tables with `db.withTables<T>()`-style casts.
  readonly db: Kysely<any>;
  readonly dialect: Dialect;
  close(): Promise<void>;
  /**
   * SQLite only: runs a compiled statement on the connection at once, as Kysely's driver would, when
   * the caller's own transaction holds it (`inCallersTransaction`) or no transaction does; answers
   * undefined when another's transaction holds it (the statement then waits its turn through Kysely).
   */
  runNow?(query: CompiledQuery, inCallersTransaction: boolean): QueryResult<any> | undefined;
}

export async function createDatabase(url: string): Promise<Database> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: url, max: 10, types: { getTypeParser: pgTypeParser } as pg.CustomTypesConfig });
    // Surface a wrong URL at start-up rather than on the first request.
    try {
      const client = await pool.connect();
      client.release();
    } catch (err) {
      await pool.end().catch(() => {});
      throw new Error(`cannot connect to the database ${url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}: ${(err as Error).message}`);
    }
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  const file = url === 'sqlite::memory:' ? ':memory:' : url.slice('sqlite://'.length);
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const handle = new SQLite(file);
  // WAL + NORMAL survives a SIGKILL of the process (the WAL is in the OS page cache).
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = NORMAL');
  handle.pragma('foreign_keys = ON');
  handle.pragma('busy_timeout = 5000');
  keepStatements(handle);
  // Checkpoints on a worker thread (./checkpointer.ts); SQLite's own again if the worker fails.
  let checkpointer: Checkpointer | undefined;
  if (file !== ':memory:') {
    handle.pragma('wal_autocheckpoint = 0');
    checkpointer = startCheckpointer(file, () => {
      if (handle.open) handle.pragma('wal_autocheckpoint = 1000');
    });
  }
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: handle }) });
  const runNow = (query: CompiledQuery, inCallersTransaction: boolean): QueryResult<any> | undefined => {
    if (!inCallersTransaction && handle.inTransaction) return undefined;
    const stmt = handle.prepare(query.sql);
    if (stmt.reader) return { rows: stmt.all(query.parameters) };
    const { changes, lastInsertRowid } = stmt.run(query.parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  };
  const close = async () => {
    await checkpointer?.close();
    await db.destroy();
  };
  return { db, dialect: 'sqlite', close, runNow };
}

/** How many prepared statements a SQLite handle keeps (distinct SQL texts; the least recently used go). */
const STATEMENTS_KEPT = 500;

/**
 * Kysely's SQLite driver prepares every query anew, and preparing costs about as much as running a
 * small query: the handle keeps its statements by SQL text instead. Safe because the driver runs each
 * statement to its end at once (`all`/`run`; nothing here streams with `iterate`).
 */
function keepStatements(handle: SQLite.Database): void {
  const prepare = handle.prepare.bind(handle);
  const kept = new Map<string, SQLite.Statement>();
  handle.prepare = ((source: string) => {
    let stmt = kept.get(source);
    if (stmt) kept.delete(source);
    else {
      stmt = prepare(source);
      if (kept.size >= STATEMENTS_KEPT) kept.delete(kept.keys().next().value!);
    }
    kept.set(source, stmt);
    return stmt;
  }) as typeof handle.prepare;
}

/**
 * PostgreSQL hands 64-bit integers (count(*), bigint, bigserial) back as strings; SQLite gives numbers.
 * Read them as numbers on both: hafen's counters and serials stay far below 2^53.
 */
function pgTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
}

/** Row counts from an UPDATE/DELETE result, the same on both dialects. */
export function affectedRows(result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): number {
  return Number(result.numUpdatedRows ?? result.numDeletedRows ?? 0n);
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

export { sql };
