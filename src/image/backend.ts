// Where image data lives. A backend stores whole objects only: data is written to a temporary name
// and becomes visible under the image id only once complete, so a failed upload leaves nothing.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface ImageBackend {
  /** Streams `data` into storage under `id`; on any error nothing is kept. Resolves with the byte count. */
  write(id: string, data: Readable): Promise<number>;
  /** Opens stored data, optionally a byte range (inclusive end). */
  open(id: string, range?: { start: number; end: number }): Readable;
  size(id: string): Promise<number | undefined>;
  /** Removes stored data; succeeds when it is already gone. */
  remove(id: string): Promise<void>;
  /** Removes leftovers of uploads that never finished (after a crash). */
  sweepIncomplete(): Promise<number>;
}

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

  async write(id: string, data: Readable): Promise<number> {
    const final = this.file(id);
    const tmp = path.join(this.tmpDir, `${id}.${randomUUID()}`);
    const out = fs.createWriteStream(tmp, { flags: 'wx', highWaterMark: 1 << 20 });
    try {
      await pipeline(data, out);
      await new Promise<void>((resolve, reject) => fs.open(tmp, 'r', (err, fd) => (err ? reject(err) : fs.fsync(fd, (e) => fs.close(fd, () => (e ? reject(e) : resolve()))))));
      await fs.promises.rename(tmp, final);
      return out.bytesWritten;
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
  }

  open(id: string, range?: { start: number; end: number }): Readable {
    return fs.createReadStream(this.file(id), { highWaterMark: 1 << 20, ...(range ?? {}) });
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
