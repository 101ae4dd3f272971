// SQLite's WAL checkpoints (the log's pages copied into the database file, both synced to disk) run on
// a worker thread's own connection, so that no commit on the event loop pays for one.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the worker copies the log into the database (SQLite's own would run every 1,000 pages). */
const CHECKPOINT_EVERY_MS = 200;

// The worker's code, run as a script: its own connection, a passive checkpoint (never waits for nor
// blocks a writer) every interval, an error reported once and then nothing more.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
let db;
try {
  db = new SQLite(workerData.file);
  db.pragma('busy_timeout = 5000');
} catch (err) {
  parentPort.postMessage({ failed: String(err && err.message || err) });
  process.exit(0);
}
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    clearInterval(timer);
    parentPort.postMessage({ failed: String(err && err.message || err) });
  }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /** Stops the worker and closes its connection (before the main connection closes, which checkpoints last). */
  close(): Promise<void>;
}

/**
 * Starts the worker for the database at `file` (in WAL mode, with the main connection's automatic
 * checkpoints turned off by the caller). `failed` is called once if the worker cannot go on: the
 * caller then turns automatic checkpoints back on.
 */
export function startCheckpointer(file: string, failed: (reason: string) => void): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, everyMs: CHECKPOINT_EVERY_MS }, execArgv: [] });
  worker.unref();
  let done = false;
  const fail = (reason: string) => {
    if (done) return;
    done = true;
    failed(reason);
  };
  worker.on('message', (m: { failed?: string }) => {
    if (m.failed) fail(m.failed);
  });
  worker.on('error', (err) => fail(err.message));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async close() {
      done = true;
      worker.postMessage('close');
      const timeout = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timeout);
    },
  };
}
