// Zun's logs answer as one JSON string, streamed: whatever the chunks, the answer parses back to the
// text (UTF-8 cut anywhere, quotes, backslashes, control characters; bad bytes as U+FFFD), and the
// many small reads of an engine go on gathered, not one write each.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { JsonStringStream } from './verbs.ts';

async function collect(chunks: Buffer[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of Readable.from(chunks).pipe(new JsonStringStream())) out.push(c as Buffer);
  return out;
}

describe('JsonStringStream', () => {
  const text = 'héllo "wörld" \\ back\n\ttab \u0001 ✓ 😀 end\r\n'.repeat(2000);
  const bytes = Buffer.from(text);

  it('answers a JSON string of the text wherever the chunks are cut', async () => {
    for (const size of [1, 2, 3, 5, 64, 4096, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      assert.equal(JSON.parse(Buffer.concat(await collect(chunks)).toString()), text, `chunks of ${size}`);
    }
  });

  it('answers "" for nothing, and bytes that are not UTF-8 as U+FFFD', async () => {
    assert.equal(Buffer.concat(await collect([])).toString(), '""');
    assert.equal(JSON.parse(Buffer.concat(await collect([Buffer.from([0xff, 0x41, 0xe2, 0x9c])])).toString()), '\ufffdA\ufffd');
  });

  it('gathers small reads into few writes and still streams before the end', async () => {
    const line = Buffer.from('a log line of some sixty bytes, as the engine sends them\n');
    const out = await collect(Array.from({ length: 5000 }, () => line));
    assert.ok(out.length <= 10, `${out.length} writes for 5,000 reads`);
    // A source that stops for a while: what came so far goes on within the batch time, before the end.
    const source = new PassThrough();
    const stream = source.pipe(new JsonStringStream());
    source.write(line);
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    assert.equal(first.toString(), `"${JSON.stringify(line.toString()).slice(1, -1)}`);
    source.end();
    stream.resume();
    await new Promise((resolve) => stream.on('end', resolve));
  });
});
