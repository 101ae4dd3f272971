// Hashing image data off the event loop: one worker thread per algorithm (md5, sha512, and sha256
// for the layers of docker archives) reads the bytes straight from the shared memory an upload also
// writes to disk from, so the hashes run in parallel with the write and with each other, and the
// data is never copied for them.
import { Worker } from 'node:worker_threads';

export type Algorithm = 'md5' | 'sha512' | 'sha256';

/** A slice of a shared buffer to feed into the hash named `key`; `end` finishes it (a digest comes back). */
export interface HashPart {
  key: string;
  off: number;
  len: number;
  end?: boolean;
}

// Plain JavaScript so that it runs in a worker whatever loader the main thread uses.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const open = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'u') {
    const bytes = new Uint8Array(m.sab);
    for (const p of m.parts) {
      let h = open.get(p.key);
      if (!h) { h = createHash(workerData.algorithm); open.set(p.key, h); }
      if (p.len) h.update(bytes.subarray(p.off, p.off + p.len));
      if (p.end) { open.delete(p.key); parentPort.postMessage({ t: 'd', key: p.key, hex: h.digest('hex') }); }
    }
    parentPort.postMessage({ t: 'a', ticket: m.ticket });
  } else if (m.t === 'x') {
    for (const k of [...open.keys()]) if (k.startsWith(m.prefix)) open.delete(k);
  }
});
`;

class HashWorker {
  private worker: Worker | undefined;
  private ticket = 0;
  private readonly acks = new Map<number, (err?: Error) => void>();
  private readonly digests = new Map<string, { resolve: (hex: string) => void; reject: (err: Error) => void }>();

  constructor(private readonly algorithm: Algorithm) {}

  private get thread(): Worker {
    if (this.worker) return this.worker;
    // No loaders: the worker is plain JavaScript.
    const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { algorithm: this.algorithm } });
    w.on('message', (m: { t: 'a'; ticket: number } | { t: 'd'; key: string; hex: string }) => {
      if (m.t === 'a') {
        const done = this.acks.get(m.ticket);
        this.acks.delete(m.ticket);
        done?.();
      } else {
        const waiter = this.digests.get(m.key);
        this.digests.delete(m.key);
        waiter?.resolve(m.hex);
      }
      this.settle();
    });
    const fail = (err: Error) => {
      // Every caller waiting on this thread fails; the next use starts a new one.
      this.worker = undefined;
      for (const done of this.acks.values()) done(err);
      for (const waiter of this.digests.values()) waiter.reject(err);
      this.acks.clear();
      this.digests.clear();
    };
    w.on('error', fail);
    // Unref'd after the listeners (a 'message' listener refs the port again): idle, the thread never keeps a process alive.
    w.unref();
    w.on('exit', (code) => fail(new Error(`the ${this.algorithm} hashing thread exited (${code})`)));
    this.worker = w;
    return w;
  }

  /** Busy, the thread keeps the process alive (its answers are awaited); idle, it does not. */
  private settle(): void {
    if (this.acks.size === 0 && this.digests.size === 0) this.worker?.unref();
    else this.worker?.ref();
  }

  /** Feeds parts of `sab`; `done` runs once the thread has read them (the memory may then be reused). */
  update(sab: SharedArrayBuffer, parts: HashPart[], done: (err?: Error) => void): void {
    const ticket = ++this.ticket;
    this.acks.set(ticket, done);
    this.thread.postMessage({ t: 'u', sab, parts, ticket });
    this.settle();
  }

  /** The digest of `key`, which a part with `end` finishes (register before sending that part). */
  digest(key: string): Promise<string> {
    const p = new Promise<string>((resolve, reject) => this.digests.set(key, { resolve, reject }));
    this.settle();
    return p;
  }

  /** Forgets every open hash whose key starts with `prefix` (an upload that failed). */
  drop(prefix: string): void {
    for (const k of [...this.digests.keys()]) if (k.startsWith(prefix)) this.digests.delete(k);
    this.worker?.postMessage({ t: 'x', prefix });
    this.settle();
  }
}

const workers = new Map<Algorithm, HashWorker>();

/** The process's hashing thread for `algorithm` (started on first use). */
export function hashWorker(algorithm: Algorithm): HashWorker {
  let w = workers.get(algorithm);
  if (!w) {
    w = new HashWorker(algorithm);
    workers.set(algorithm, w);
  }
  return w;
}

export type { HashWorker };
