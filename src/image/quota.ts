// The image data quota (HAFEN_IMAGE_QUOTA_BYTES) as one ledger per project: bytes stored plus bytes
// arriving right now (uploads, staged data, registry pulls), so that writers together never pass it.
import { Transform, type TransformCallback } from 'node:stream';
import { OverQuotaError } from '../platform/errors.ts';

export function overQuota(quota: number): OverQuotaError {
  return new OverQuotaError(`Denying attempt to upload image because it exceeds the quota of ${quota} bytes.`, 'image_size_total', 413);
}

interface Ledger {
  bytes: number;
}

export class ByteLedgers {
  /** Loaded from the database once per project; this controller is the only writer of image data. */
  private readonly ledgers = new Map<string, Promise<Ledger>>();

  constructor(private readonly storedBytes: (project: string) => Promise<number>, readonly quota: number) {}

  private ledger(project: string): Promise<Ledger> {
    let l = this.ledgers.get(project);
    if (!l) {
      l = this.storedBytes(project).then((bytes) => ({ bytes }));
      this.ledgers.set(project, l);
    }
    return l;
  }

  /** Reserves `bytes` (what a client announced) at once; OverQuotaError (413) if they do not fit. */
  async reserve(project: string, bytes = 0): Promise<ByteReservation> {
    const ledger = await this.ledger(project);
    if (ledger.bytes + bytes > this.quota) throw overQuota(this.quota);
    ledger.bytes += bytes;
    return new ByteReservation(ledger, this.quota, bytes);
  }

  /** Stored data went away (an image deleted). */
  async forget(project: string, bytes: number): Promise<void> {
    (await this.ledger(project)).bytes -= bytes;
  }
}

/** Bytes held in a project's ledger by one writer; grows as data arrives, never past the quota. */
export class ByteReservation {
  constructor(private readonly ledger: Ledger, private readonly quota: number, private held: number) {}

  get bytes(): number {
    return this.held;
  }

  /** Holds at least `total` bytes; false (nothing changed) when that would pass the quota. */
  growTo(total: number): boolean {
    if (total <= this.held) return true;
    const extra = total - this.held;
    if (this.ledger.bytes + extra > this.quota) return false;
    this.ledger.bytes += extra;
    this.held = total;
    return true;
  }

  /** Keeps exactly `bytes` (what was stored), giving back the rest. */
  settle(bytes: number): void {
    this.ledger.bytes -= this.held - bytes;
    this.held = bytes;
  }

  release(): void {
    this.settle(0);
  }

  /**
   * A pass-through that counts what flows into this reservation and fails with OverQuotaError as
   * soon as the data would pass the quota: a writer never stores more than the project may hold.
   * `base`: bytes the reservation holds for other data (earlier files of the same pull).
   */
  meter(base = 0): Transform & { total: number } {
    const reservation = this;
    const t = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        const total = (t as unknown as { total: number }).total + chunk.length;
        if (!reservation.growTo(base + total)) return done(overQuota(reservation.quota));
        (t as unknown as { total: number }).total = total;
        done(null, chunk);
      },
    }) as Transform & { total: number };
    t.total = 0;
    return t;
  }
}
