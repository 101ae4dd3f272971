// Where image data lives. A backend stores whole objects only: data is written to a temporary name
// and becomes visible under the image id only once complete, so a failed upload leaves nothing.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { FileReader } from './file-reader.ts';

/** Data being written: positioned writes, then commit (durable, visible) or abort (nothing kept). */
export interface IncomingData {
  write(bytes: Buffer, position: number, done: (err: Error | null) => void): void;
  /** Makes the data durable and visible under the image id. */
  commit(): Promise<void>;
  /** Throws the data away; call only once no write is in flight. */
  abort(): Promise<void>;
}

export interface ImageBackend {
  /** Starts storing data under `id`, visible only once committed. */
  incoming(id: string): Promise<IncomingData>;
  /** Opens stored data, optionally a byte range (inclusive end). */
  open(id: string, range?: { start: number; end: number }): Readable;
  size(id: string): Promise<number | undefined>;
  /** Removes stored data; succeeds when it is already gone. */
  remove(id: string): Promise<void>;
  /** Removes leftovers of uploads that never finished (after a crash). */
  sweepIncomplete(): Promise<number>;
}

/** Bytes written between two background flushes of an upload's data. */
const FLUSH_EVERY = 32 << 20;

export class FileBackend implements ImageBackend {
  private readonly tmpDir: string;

  constructor(private readonly dir: string) {
    this.tmpDir = path.join(dir, '.incoming');
    fs.mkdirSync(this.tmpDir, { recursive: true });
  }

  private file(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`not an image id: ${id}`);
    return path.join(this.dir, id);
  }

  async incoming(id: string): Promise<IncomingData> {
    const final = this.file(id);
    const tmp = path.join(this.tmpDir, `${id}.${randomUUID()}`);
    const handle = await fs.promises.open(tmp, 'wx');
    const fd = handle.fd;
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    };
    // Writeback runs while the upload goes on: every FLUSH_EVERY bytes written, one fdatasync is
    // started in the background (never more than one at a time, never waited for by a write), so
    // that the fsync before the rename finds little left to write instead of the whole image.
    let unflushed = 0;
    let flushing: Promise<void> | undefined;
    const flushInBackground = () => {
      unflushed = 0;
      flushing = new Promise<void>((resolve) => fs.fdatasync(fd, () => resolve())).then(() => {
        flushing = undefined;
      });
    };
    return {
      write: (bytes, position, done) =>
        fs.write(fd, bytes, 0, bytes.length, position, (err) => {
          unflushed += bytes.length;
          if (!err && !closed && !flushing && unflushed >= FLUSH_EVERY) flushInBackground();
          done(err);
        }),
      // The fsync at the end is the one that counts: the data is durable before it is visible.
      commit: async () => {
        await flushing;
        await handle.sync();
        await close();
        await fs.promises.rename(tmp, final);
      },
      abort: async () => {
        await flushing;
        await close().catch(() => undefined);
        await fs.promises.rm(tmp, { force: true });
      },
    };
  }

  open(id: string, range?: { start: number; end: number }): Readable {
    return new FileReader(this.file(id), range);
  }

  async size(id: string): Promise<number | undefined> {
    try {
      return (await fs.promises.stat(this.file(id))).size;
    } catch {
      return undefined;
    }
  }

  async remove(id: string): Promise<void> {
    await fs.promises.rm(this.file(id), { force: true });
  }

  async sweepIncomplete(): Promise<number> {
    const leftovers = await fs.promises.readdir(this.tmpDir);
    await Promise.all(leftovers.map((f) => fs.promises.rm(path.join(this.tmpDir, f), { force: true })));
    return leftovers.length;
  }
}
