// The file backend's writes: whole aligned blocks from page-aligned memory go to disk with
// O_DIRECT, anything else (a tail, memory O_DIRECT refuses) through the page cache; either way the
// committed file holds exactly the bytes written, and an aborted one leaves nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { FileBackend } from './backend.ts';

const write = (incoming: { write(b: Buffer, p: number, d: (e: Error | null) => void): void }, bytes: Buffer, position: number) =>
  new Promise<void>((resolve, reject) => incoming.write(bytes, position, (err) => (err ? reject(err) : resolve())));

describe('image file backend', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-backend-'));
  const backend = new FileBackend(dir);
  const slot = 1 << 20;

  for (const [label, memory] of [
    ['page-aligned shared memory (direct writes where the filesystem has them)', () => new WebAssembly.Memory({ initial: 32, maximum: 32, shared: true }).buffer as unknown as SharedArrayBuffer],
    ['a SharedArrayBuffer that is not page-aligned (the page cache takes over)', () => new SharedArrayBuffer(2 * slot + 16)],
  ] as const) {
    it(`stores exactly the bytes written from ${label}`, async () => {
      const id = randomUUID();
      const mem = memory();
      const bytes = Buffer.from(mem);
      const base = mem instanceof SharedArrayBuffer && bytes.length === 2 * slot + 16 ? 16 : 0;
      const expected: Buffer[] = [];
      const incoming = await backend.incoming(id);
      for (let i = 0; i < 3; i++) {
        const view = Buffer.from(mem, base + (i % 2) * slot, slot);
        view.fill(i + 1);
        view.writeUInt32LE(i, 100);
        expected.push(Buffer.from(view));
        await write(incoming, view, i * slot);
      }
      const tail = Buffer.from(mem, base, 1000).fill(9);
      expected.push(Buffer.from(tail));
      await write(incoming, tail, 3 * slot);
      await incoming.commit();
      assert.deepEqual(fs.readFileSync(path.join(dir, id)), Buffer.concat(expected));
      await backend.remove(id);
    });
  }

  it('leaves nothing behind when aborted', async () => {
    const incoming = await backend.incoming(randomUUID());
    await write(incoming, Buffer.alloc(8192, 1), 0);
    await incoming.abort();
    assert.deepEqual(fs.readdirSync(path.join(dir, '.incoming')), []);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
