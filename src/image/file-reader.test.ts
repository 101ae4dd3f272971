// FileReader: stored data read whole or by range, as an ordinary stream and piped into a sink that
// holds on to chunks before taking them (as a socket does), so that a buffer reused too early shows.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { FileReader } from './file-reader.ts';

/** A sink that keeps each chunk by reference and copies it only when it calls back, a few ms later. */
class SlowSink extends EventEmitter {
  readonly parts: Buffer[] = [];
  ended = false;
  pending = 0;
  writableNeedDrain = false;
  write(chunk: Buffer, callback: (err?: Error | null) => void): boolean {
    this.pending++;
    this.writableNeedDrain = this.pending >= 2;
    setTimeout(() => {
      this.parts.push(Buffer.from(chunk));
      this.pending--;
      callback();
      if (this.ended && this.pending === 0) this.emit('finish');
      if (this.writableNeedDrain && this.pending < 2) {
        this.writableNeedDrain = false;
        this.emit('drain');
      }
    }, 2);
    return !this.writableNeedDrain;
  }
  /** Like a socket's end: what was written before is still taken, then 'finish'. */
  end(): void {
    this.ended = true;
    if (this.pending === 0) this.emit('finish');
  }
}

describe('image file reader', () => {
  let dir: string;
  let file: string;
  const data = randomBytes((5 << 20) + 12345);
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-file-reader-'));
    file = path.join(dir, 'data');
    fs.writeFileSync(file, data);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const drain = async (r: FileReader) => {
    const parts: Buffer[] = [];
    for await (const chunk of r) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  };
  const piped = async (r: FileReader) => {
    const sink = new SlowSink();
    const ended = new Promise<void>((resolve, reject) => {
      r.once('end', resolve);
      r.once('error', reject);
    });
    const finished = new Promise((resolve) => sink.once('finish', resolve));
    r.sendTo(sink);
    await ended;
    await finished;
    assert.equal(sink.ended, true);
    return Buffer.concat(sink.parts);
  };

  it('reads the whole file and byte ranges as an ordinary stream', async () => {
    assert.ok((await drain(new FileReader(file))).equals(data));
    assert.ok((await drain(new FileReader(file, { start: 100, end: 3 << 20 }))).equals(data.subarray(100, (3 << 20) + 1)));
    assert.ok((await drain(new FileReader(file, { start: 7, end: 7 }))).equals(data.subarray(7, 8)));
  });

  it('gives a stream that keeps its chunks (a PassThrough) buffers of their own', async () => {
    const through = new PassThrough({ highWaterMark: 64 << 20 });
    new FileReader(file).pipe(through);
    const parts: Buffer[] = [];
    // Read only after the whole file went through, so that chunks kept by reference would show reuse.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for await (const chunk of through) parts.push(chunk as Buffer);
    assert.ok(Buffer.concat(parts).equals(data));
  });

  it('sends the same bytes to a sink, reusing a buffer only once the sink has taken it', async () => {
    assert.ok((await piped(new FileReader(file))).equals(data), 'whole file');
    assert.ok((await piped(new FileReader(file, { start: 4095, end: (4 << 20) + 3 }))).equals(data.subarray(4095, (4 << 20) + 4)), 'a range');
  });

  it('fails on a missing file and closes its descriptor when destroyed part-way', async () => {
    await assert.rejects(drain(new FileReader(path.join(dir, 'missing'))), /ENOENT/);
    const r = new FileReader(file);
    const sink = new SlowSink();
    r.sendTo(sink);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const closed = new Promise((resolve) => r.once('close', resolve));
    r.destroy();
    await closed;
    assert.ok(sink.parts.length < 6, 'it stopped reading');
    assert.equal(sink.ended, false);
  });
});
