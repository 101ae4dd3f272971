// Cluster-wide mutual exclusion for work that must not run twice at once across controllers (first-start
// bootstraps, one-off repairs): a PostgreSQL advisory lock, or an in-process queue on embedded SQLite.
import { sql } from 'kysely';
import type { Database } from './database.ts';

const localQueues = new Map<string, Promise<unknown>>();

/** A stable 31-bit key for a lock name (FNV-1a). */
export function lockKey(name: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name, 'utf8')) {
    h ^= c;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}

/**
 * Runs `fn` while holding the lock `name`; other controllers (and other callers here) wait their turn.
 * `fn` uses the ordinary handle: on PostgreSQL the lock is held by one reserved connection meanwhile.
 */
export async function exclusively<T>(database: Database, name: string, fn: () => Promise<T>): Promise<T> {
  if (database.dialect === 'postgres') {
    return database.db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${lockKey(name)})`.execute(conn);
      try {
        return await fn();
      } finally {
        await sql`select pg_advisory_unlock(${lockKey(name)})`.execute(conn);
      }
    });
  }
  // SQLite is embedded: one process, so a queue per name is enough.
  const previous = localQueues.get(name) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.then(() => undefined, () => undefined);
  localQueues.set(name, settled);
  try {
    return await run;
  } finally {
    if (localQueues.get(name) === settled) localQueues.delete(name);
  }
}
