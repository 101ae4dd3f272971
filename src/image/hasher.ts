// md5 and sha512 of a stream computed on two worker threads, one hash each, so that hashing runs
// beside the disk writes instead of on the event loop. Bounded: at most `maxQueued` bytes wait.
import { Worker } from 'node:worker_threads';

// Plain JavaScript, evaluated in the worker: it needs no loader.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hash = createHash(workerData.algorithm);
parentPort.on('message', (m) => {
  if (m === 'digest') { parentPort.postMessage({ digest: hash.digest('hex') }); return; }
  hash.update(m);
  parentPort.postMessage({ done: m.byteLength });
});
`;

class HashWorker {
  private readonly worker: Worker;
  private queued = 0;
  private waiters: (() => void)[] = [];
  private digestWaiter: ((hex: string) => void) | undefined;
  private failure: Error | undefined;

  constructor(algorithm: string, private readonly maxQueued: number) {
    this.worker = new Worker(WORKER, { eval: true, workerData: { algorithm } });
    this.worker.on('message', (m: { done?: number; digest?: string }) => {
      if (m.done !== undefined) {
        this.queued -= m.done;
        if (this.queued <= this.maxQueued) for (const w of this.waiters.splice(0)) w();
      } else if (m.digest !== undefined) {
        this.digestWaiter?.(m.digest);
      }
    });
    this.worker.on('error', (err) => {
      this.failure = err;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Queues a copy of the chunk; resolves once the queue is under its bound. */
  async update(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    const copy = new Uint8Array(chunk);
    this.queued += copy.byteLength;
    this.worker.postMessage(copy, [copy.buffer]);
    if (this.queued > this.maxQueued) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
  }

  digest(): Promise<string> {
    return new Promise((resolve) => {
      this.digestWaiter = resolve;
      this.worker.postMessage('digest');
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

const BATCH = 1 << 20;

export class ParallelHasher {
  private readonly md5: HashWorker;
  private readonly sha512: HashWorker;
  // Chunks are gathered into 1 MiB batches: one message per MiB instead of one per socket read.
  private batch = Buffer.allocUnsafe(BATCH);
  private filled = 0;

  constructor(maxQueuedBytes = 8 << 20) {
    this.md5 = new HashWorker('md5', maxQueuedBytes);
    this.sha512 = new HashWorker('sha512', maxQueuedBytes);
  }

  async update(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const n = Math.min(BATCH - this.filled, chunk.byteLength - offset);
      this.batch.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === BATCH) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.filled === 0) return;
    const full = this.batch.subarray(0, this.filled);
    this.filled = 0;
    await Promise.all([this.md5.update(full), this.sha512.update(full)]);
  }

  async digests(): Promise<{ md5: string; sha512: string }> {
    await this.flush();
    const [md5, sha512] = await Promise.all([this.md5.digest(), this.sha512.digest()]);
    return { md5, sha512 };
  }

  /** Ends the workers; call always, also after a failed upload. */
  async close(): Promise<void> {
    await Promise.all([this.md5.close(), this.sha512.close()]);
  }
}
