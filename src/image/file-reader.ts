// Stored image data as a stream. Piped into a response (a download), the file is read into a few
// buffers that are reused once the socket has taken them, instead of a new buffer for every read:
// no allocation, page faults or garbage per MiB sent, and the next read overlaps the send. Read as
// an ordinary stream or piped anywhere else (a check of stored data, an engine's image load), it
// behaves like fs.createReadStream: a stream may keep a chunk after its write callback (a
// PassThrough does), so only a response, which hands the bytes to its socket, gets reused buffers.
import fs from 'node:fs';
import { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

const CHUNK = 1 << 20;
/** Buffers of one download: one being read into while the others are being sent. */
const BUFFERS = 4;

/** What a download writes to: an HTTP response or any writable that calls back once it has taken a chunk. */
export interface ChunkSink {
  write(chunk: Buffer, callback: (err?: Error | null) => void): boolean;
  end(): unknown;
  once(event: 'drain', listener: () => void): unknown;
  readonly writableNeedDrain?: boolean;
}

export class FileReader extends Readable {
  private readonly opened: Promise<number>;
  private fd: number | undefined;
  private position: number;
  /** One past the last byte to send. */
  private readonly limit: number;
  private reading: Promise<void> | undefined;
  private sending = false;

  /** `range` is inclusive at both ends, as HTTP ranges are. */
  constructor(file: string, range?: { start: number; end: number }) {
    super({ highWaterMark: CHUNK });
    this.position = range?.start ?? 0;
    this.limit = range ? range.end + 1 : Infinity;
    this.opened = new Promise<number>((resolve, reject) => fs.open(file, 'r', (err, fd) => (err ? reject(err) : resolve((this.fd = fd)))));
    // An open that fails is reported when the stream is used (as createReadStream does).
    this.opened.catch(() => undefined);
  }

  /** One positioned read into `buf`; resolves with the bytes read (0 at the end). */
  private readInto(buf: Buffer): Promise<number> {
    const want = Math.min(buf.length, this.limit - this.position);
    if (want <= 0) return Promise.resolve(0);
    const done = this.opened.then(
      (fd) =>
        new Promise<number>((resolve, reject) =>
          fs.read(fd, buf, 0, want, this.position, (err, n) => {
            if (err) return reject(err);
            this.position += n;
            resolve(n);
          }),
        ),
    );
    this.reading = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  override _read(): void {
    const buf = Buffer.allocUnsafe(CHUNK);
    this.readInto(buf).then(
      (n) => this.push(n === 0 ? null : buf.subarray(0, n)),
      (err: Error) => this.destroy(err),
    );
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (!(destination instanceof ServerResponse) || this.sending || this.readableFlowing !== null || this.readableLength > 0) return super.pipe(destination, options);
    this.sendTo(destination as unknown as ChunkSink, options?.end !== false);
    return destination;
  }

  /**
   * The download loop: read into a free buffer, write it, take it back when the sink calls back.
   * Only for a sink that is done with a chunk when it calls back (a response, a socket).
   */
  sendTo(sink: ChunkSink, end = true): void {
    if (this.sending) throw new Error('already sending');
    this.sending = true;
    const free = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafeSlow(CHUNK));
    let busy = false;
    let waitingForDrain = false;
    const finish = () => {
      if (end) sink.end();
      // The stream ends as an ordinary one does, so that whoever watches it sees 'end'.
      this.push(null);
      this.resume();
    };
    const pump = (): void => {
      if (busy || this.destroyed || free.length === 0) return;
      if (sink.writableNeedDrain) {
        if (!waitingForDrain) {
          waitingForDrain = true;
          sink.once('drain', () => {
            waitingForDrain = false;
            pump();
          });
        }
        return;
      }
      const buf = free.pop()!;
      busy = true;
      this.readInto(buf).then(
        (n) => {
          busy = false;
          if (this.destroyed) return;
          if (n === 0) return finish();
          sink.write(n === buf.length ? buf : buf.subarray(0, n), (err) => {
            // A buffer comes back only once the sink is done with it; after an error it is dropped.
            if (err) return;
            free.push(buf);
            pump();
          });
          pump();
        },
        (err: Error) => {
          busy = false;
          this.destroy(err);
        },
      );
    };
    pump();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // The descriptor is closed once no read uses it any more.
    void Promise.all([this.opened.catch(() => undefined), this.reading]).then(() => {
      if (this.fd === undefined) return callback(err);
      const fd = this.fd;
      this.fd = undefined;
      fs.close(fd, () => callback(err));
    });
  }
}
