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
/** What O_DIRECT needs of a write's length and position (and of its memory's address). */
const DIRECT_ALIGN = 4096;

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
    // A second descriptor with O_DIRECT: whole aligned blocks go from the upload's memory to the
    // disk without being copied into the page cache (that copy cost as much CPU as the md5 hash),
    // and leave nothing for the final fsync to write back. Where O_DIRECT is refused (a
    // filesystem without it, memory that is not page-aligned) writes go through the page cache.
    let direct = await fs.promises.open(tmp, fs.constants.O_WRONLY | fs.constants.O_DIRECT).catch(() => undefined);
    const directHandle = direct;
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await directHandle?.close().catch(() => undefined);
        await handle.close();
      }
    };
    // Writeback of what went through the page cache runs while the upload goes on: every
    // FLUSH_EVERY such bytes, one fdatasync is started in the background (never more than one at
    // a time, never waited for by a write), so that the fsync before the rename finds little left.
    let unflushed = 0;
    let flushing: Promise<void> | undefined;
    const flushInBackground = () => {
      unflushed = 0;
      flushing = new Promise<void>((resolve) => fs.fdatasync(fd, () => resolve())).then(() => {
        flushing = undefined;
      });
    };
    const buffered = (bytes: Buffer, position: number, done: (err: Error | null) => void) =>
      fs.write(fd, bytes, 0, bytes.length, position, (err) => {
        unflushed += bytes.length;
        if (!err && !closed && !flushing && unflushed >= FLUSH_EVERY) flushInBackground();
        done(err);
      });
    return {
      write: (bytes, position, done) => {
        if (!direct || bytes.length % DIRECT_ALIGN !== 0 || position % DIRECT_ALIGN !== 0) return buffered(bytes, position, done);
        fs.write(direct.fd, bytes, 0, bytes.length, position, (err, written) => {
          if (!err && written === bytes.length) return done(null);
          // EINVAL: this memory or filesystem does not take direct writes; a short write: written
          // again whole. Either way the page cache takes this write and every later one.
          if (err && err.code !== 'EINVAL') return done(err);
          direct = undefined;
          buffered(bytes, position, done);
        });
      },
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
