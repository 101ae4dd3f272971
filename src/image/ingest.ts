// One upload's path from the socket to the store: bytes are copied once, into slots of shared
// memory; each full slot is written to the file (a positioned write on libuv's pool) while the md5,
// sha512 and layer-sha256 threads read the same slot, and the slot is reused once all are done. The
// event loop only copies, counts against the quota and reads tar headers; a fixed number of slots
// in flight is the backpressure that keeps memory flat whatever the upload's size.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { hashWorker, type HashPart } from './hash-workers.ts';
import type { DockerArchiveValidator, EntryHashing } from './docker-archive.ts';
import type { ByteReservation } from './quota.ts';
import type { IncomingData } from './backend.ts';
import { overQuota } from './quota.ts';

const SLOT_BYTES = 4 << 20;
const SLOTS = 4;
/** Slot memories kept for the next uploads once one finishes (each is SLOTS * SLOT_BYTES). */
const IDLE_KEPT = 2;
const idleMemory: SharedArrayBuffer[] = [];

/**
 * Shared memory for one upload's slots. A shared WebAssembly memory is page-aligned, so the store
 * can write slots straight to disk (O_DIRECT); where one cannot be had, a SharedArrayBuffer (whose
 * writes then go through the page cache). A finished upload's memory is reused: its pages are
 * already mapped, where fresh ones fault on first touch.
 */
function slotMemory(): SharedArrayBuffer {
  const idle = idleMemory.pop();
  if (idle) return idle;
  const pages = (SLOT_BYTES * SLOTS) / 65536;
  try {
    const memory: unknown = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer;
    if (memory instanceof SharedArrayBuffer) return memory;
  } catch {
    // No WebAssembly memory here (address space, flags): the page cache path below.
  }
  return new SharedArrayBuffer(SLOT_BYTES * SLOTS);
}

/** Layer hashing for the validator through the sha256 thread: parts collected per slot, digests awaited at the end. */
class WorkerHashing implements EntryHashing {
  parts: HashPart[] = [];
  readonly digests: Promise<void>[] = [];
  constructor(private readonly prefix: string) {}
  update(entry: number, _part: Buffer, at: number): void {
    this.parts.push({ key: `${this.prefix}e${entry}`, off: at, len: _part.length });
  }
  end(entry: number, set: (hex: string) => void): void {
    const key = `${this.prefix}e${entry}`;
    this.digests.push(hashWorker('sha256').digest(key).then(set));
    this.parts.push({ key, off: 0, len: 0, end: true });
  }
}

export interface IngestResult {
  bytes: number;
  md5: string;
  sha512: string;
}

export class ImageIngest extends Writable {
  private readonly sab = slotMemory();
  /** Work still reading each slot (the write and the hashing threads); 0 = free. */
  private readonly busy = new Array<number>(SLOTS).fill(0);
  /** Who waits for each slot to be free. */
  private readonly waiters = Array.from({ length: SLOTS }, () => [] as (() => void)[]);
  private slot = 0;
  private fill = 0;
  private position = 0;
  private failure: Error | undefined;
  private readonly prefix = `${randomUUID()}:`;
  private readonly layerHashing: WorkerHashing | undefined;
  result: IngestResult | undefined;

  /**
   * `sink`: the incoming data, written at positions; `reservation`: the quota this upload grows into;
   * `validator`: the docker archive check, given the bytes slot by slot.
   */
  constructor(
    private readonly sink: IncomingData,
    private readonly reservation: ByteReservation,
    private readonly quota: number,
    private readonly makeValidator?: (hashing: EntryHashing) => DockerArchiveValidator,
  ) {
    super({ highWaterMark: 1 << 20 });
    if (makeValidator) {
      this.layerHashing = new WorkerHashing(this.prefix);
      this.validator = makeValidator(this.layerHashing);
    }
  }

  readonly validator: DockerArchiveValidator | undefined;

  private view(slot: number, len = SLOT_BYTES): Buffer {
    return Buffer.from(this.sab, slot * SLOT_BYTES, len);
  }

  /** Resolves once `slot` is free. */
  private async slotFree(slot: number): Promise<void> {
    while (this.busy[slot] !== 0) await new Promise<void>((resolve) => this.waiters[slot]!.push(resolve));
  }

  /** Runs `then` once `slot` is free: now if it is, else when its last reader lets it go. */
  private whenFree(slot: number, then: () => void): void {
    if (this.busy[slot] === 0) then();
    else this.waiters[slot]!.push(then);
  }

  private release(slot: number, err?: Error): void {
    if (err && !this.failure) this.failure = err;
    this.busy[slot]! -= 1;
    // Only waiters of this very slot wake: a slot is refilled only once every reader released it.
    if (this.busy[slot] === 0) for (const wake of this.waiters[slot]!.splice(0)) wake();
  }

  private dispatch(slot: number, len: number): void {
    const at = slot * SLOT_BYTES;
    const bytes = this.view(slot, len);
    const parts: HashPart[] = [];
    if (this.validator && this.layerHashing) {
      this.validator.scan(bytes, at);
      parts.push(...this.layerHashing.parts);
      this.layerHashing.parts = [];
    }
    this.busy[slot] = 3 + (parts.length ? 1 : 0);
    this.sink.write(bytes, this.position, (err) => this.release(slot, err ?? undefined));
    this.position += len;
    const done = (err?: Error) => this.release(slot, err);
    hashWorker('md5').update(this.sab, [{ key: `${this.prefix}md5`, off: at, len }], done);
    hashWorker('sha512').update(this.sab, [{ key: `${this.prefix}sha512`, off: at, len }], done);
    if (parts.length) hashWorker('sha256').update(this.sab, parts, done);
  }

  /**
   * Copies `chunks` (from chunk `i`, byte `from` on) into the slots, dispatching each slot as it fills.
   * Runs synchronously while slots are free (no promise or tick per chunk); when the next slot is
   * still being read, it carries on from there once that slot is released.
   */
  private put(chunks: Buffer[], i: number, from: number, done: (err?: Error | null) => void): void {
    for (; i < chunks.length; i++, from = 0) {
      const chunk = chunks[i]!;
      while (from < chunk.length) {
        if (this.failure) return done(this.failure);
        // A destroyed upload fills no slot any more (its file is being thrown away).
        if (this.destroyed) return done();
        if (this.fill === 0 && this.busy[this.slot] !== 0) {
          const at = i;
          const resumeFrom = from;
          return this.whenFree(this.slot, () => this.put(chunks, at, resumeFrom, done));
        }
        const n = Math.min(SLOT_BYTES - this.fill, chunk.length - from);
        chunk.copy(this.view(this.slot), this.fill, from, from + n);
        this.fill += n;
        from += n;
        if (this.fill === SLOT_BYTES) {
          this.dispatch(this.slot, this.fill);
          this.slot = (this.slot + 1) % SLOTS;
          this.fill = 0;
        }
      }
    }
    done();
  }

  private accept(chunks: Buffer[], done: (err?: Error | null) => void): void {
    let total = this.position + this.fill;
    for (const c of chunks) total += c.length;
    if (!this.reservation.growTo(total)) return done(overQuota(this.quota));
    this.put(chunks, 0, 0, done);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.accept([chunk], done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.accept(
      chunks.map((c) => c.chunk),
      done,
    );
  }

  override _final(done: (err?: Error | null) => void): void {
    this.finish().then(() => done(), done);
  }

  private async finish(): Promise<void> {
    if (this.fill > 0) this.dispatch(this.slot, this.fill);
    const bytes = this.position;
    for (let s = 0; s < SLOTS; s++) await this.slotFree(s);
    if (this.failure) throw this.failure;
    const md5 = hashWorker('md5').digest(`${this.prefix}md5`);
    const sha512 = hashWorker('sha512').digest(`${this.prefix}sha512`);
    // Empty parts that only finish the two whole-data hashes.
    await new Promise<void>((resolve, reject) => {
      let left = 2;
      const done = (err?: Error) => (err ? reject(err) : --left === 0 && resolve());
      hashWorker('md5').update(this.sab, [{ key: `${this.prefix}md5`, off: 0, len: 0, end: true }], done);
      hashWorker('sha512').update(this.sab, [{ key: `${this.prefix}sha512`, off: 0, len: 0, end: true }], done);
    });
    await Promise.all(this.layerHashing?.digests ?? []);
    this.result = { bytes, md5: await md5, sha512: await sha512 };
    // Every slot is free and every hash finished: nothing reads this memory any more.
    if (idleMemory.length < IDLE_KEPT) idleMemory.push(this.sab);
  }

  /** Resolves once nothing reads or writes the slots any more (before the incoming data is thrown away). */
  async idle(): Promise<void> {
    for (let s = 0; s < SLOTS; s++) await this.slotFree(s);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // Hashes left open in the threads are dropped; slots still being read are let go with the buffer.
    for (const algorithm of ['md5', 'sha512', 'sha256'] as const) hashWorker(algorithm).drop(this.prefix);
    done(err);
  }
}
