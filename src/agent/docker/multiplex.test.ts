// The Engine API's multiplexed stream taken apart: frames cut anywhere, streams kept or dropped,
// one output buffer per input chunk, and a stream that is not multiplexed refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Demultiplexer } from './multiplex.ts';

const frame = (kind: number, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

async function collect(chunks: Buffer[], streams?: Set<number>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of Readable.from(chunks).pipe(new Demultiplexer(streams))) out.push(c as Buffer);
  return out;
}

describe('Demultiplexer', () => {
  const lines = Array.from({ length: 500 }, (_, i) => frame(i % 7 === 0 ? 2 : 1, `line ${i}\n`));
  const whole = Buffer.concat(lines);
  const expected = (keep: Set<number>) => lines.filter((_, i) => keep.has(i % 7 === 0 ? 2 : 1)).map((f) => f.subarray(8).toString()).join('');

  it('keeps the payloads in order wherever the chunks are cut', async () => {
    for (const size of [1, 3, 8, 9, 17, 4096, whole.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < whole.length; i += size) chunks.push(whole.subarray(i, i + size));
      assert.equal(Buffer.concat(await collect(chunks)).toString(), expected(new Set([1, 2])), `chunks of ${size}`);
      assert.equal(Buffer.concat(await collect(chunks, new Set([1]))).toString(), expected(new Set([1])), `stdout, chunks of ${size}`);
    }
  });

  it('passes one buffer on per chunk it takes, not one per frame', async () => {
    const out = await collect([whole]);
    assert.equal(out.length, 1);
  });

  it('refuses a stream that is not multiplexed', async () => {
    await assert.rejects(collect([Buffer.from('plain text, no frames')]), /not multiplexed/);
  });
});
