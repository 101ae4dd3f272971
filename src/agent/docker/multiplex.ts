// The Engine API's multiplexed stream (attach, exec and logs of a container without a tty): frames
// of an 8-byte header (stream 0 stdin, 1 stdout, 2 stderr; big-endian length) and a payload. This
// turns it into plain bytes as it arrives, chunk boundaries anywhere, without copying payloads.
import { Duplex, Transform, type TransformCallback } from 'node:stream';

export class Demultiplexer extends Transform {
  /** A header cut by a chunk boundary: its first `headerFill` bytes. */
  private readonly header = Buffer.alloc(8);
  private headerFill = 0;
  /** Payload bytes still to come in the current frame. */
  private remaining = 0;
  /** Whether the current frame's payload is passed on. */
  private keep = true;
  /** The kept payloads' ranges in the chunk at hand (start, end, start, end, ...), reused from chunk to chunk. */
  private ranges: number[] = [];

  /** `streams`: which of stdout (1) and stderr (2) to keep; both by default. */
  constructor(private readonly streams: ReadonlySet<number> = new Set([1, 2])) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    // The payloads of one chunk go out as one buffer: a log is a frame per line, and a push per line
    // made every stage after this one (and the HTTP answer) pay per line. Nothing is allocated per
    // frame: headers are read in place and payloads noted as ranges, copied once at the end.
    const ranges = this.ranges;
    ranges.length = 0;
    let kept = 0;
    let i = 0;
    let failed = false;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        if (this.keep) {
          ranges.push(i, i + n);
          kept += n;
        }
        this.remaining -= n;
        i += n;
        continue;
      }
      let kind: number;
      let length: number;
      if (this.headerFill === 0 && chunk.length - i >= 8) {
        if (chunk[i + 1] !== 0 || chunk[i + 2] !== 0 || chunk[i + 3] !== 0) {
          failed = true;
          break;
        }
        kind = chunk[i]!;
        length = chunk.readUInt32BE(i + 4);
        i += 8;
      } else {
        const n = Math.min(8 - this.headerFill, chunk.length - i);
        chunk.copy(this.header, this.headerFill, i, i + n);
        this.headerFill += n;
        i += n;
        if (this.headerFill < 8) break;
        this.headerFill = 0;
        if (this.header[1] !== 0 || this.header[2] !== 0 || this.header[3] !== 0) {
          failed = true;
          break;
        }
        kind = this.header[0]!;
        length = this.header.readUInt32BE(4);
      }
      if (kind > 2) {
        failed = true;
        break;
      }
      this.keep = this.streams.has(kind);
      this.remaining = length;
    }
    if (kept > 0) {
      if (ranges.length === 2) this.push(chunk.subarray(ranges[0], ranges[1]));
      else {
        const out = Buffer.allocUnsafe(kept);
        let at = 0;
        for (let r = 0; r < ranges.length; r += 2) {
          const from = ranges[r]!;
          const to = ranges[r + 1]!;
          // A line is shorter than a native copy's call costs: short payloads are copied here.
          if (to - from > 256) at += chunk.copy(out, at, from, to);
          else for (let b = from; b < to; b++) out[at++] = chunk[b]!;
        }
        this.push(out);
      }
    }
    done(failed ? new Error('the engine sent a stream that is not multiplexed') : null);
  }

  override _flush(done: TransformCallback): void {
    done(this.headerFill > 0 || this.remaining > 0 ? new Error('the engine stream ended inside a frame') : null);
  }
}

/**
 * A process session over a hijacked engine connection: writes go to the process's stdin as they
 * are; reads are its output, demultiplexed when the process has no tty. `end()` half-closes the
 * connection (stdin EOF); `destroy()` closes it.
 */
export function processSession(socket: Duplex, multiplexed: boolean): Duplex {
  const output = multiplexed ? socket.pipe(new Demultiplexer()) : socket;
  const session = new Duplex({
    read() {
      output.resume();
    },
    write(chunk: Buffer, _enc, done) {
      if (socket.write(chunk)) done();
      else socket.once('drain', () => done());
    },
    final(done) {
      socket.end();
      done();
    },
    destroy(err, done) {
      socket.destroy();
      done(err);
    },
  });
  output.on('data', (chunk: Buffer) => {
    if (!session.push(chunk)) output.pause();
  });
  output.on('end', () => session.push(null));
  output.on('error', (err) => session.destroy(err));
  socket.on('error', (err) => session.destroy(err));
  // A connection cut without an end of stream ends the output too (the end of stream, when it
  // comes, is passed on by 'end' above once the output before it has been read).
  let ended = false;
  socket.on('end', () => (ended = true));
  socket.on('close', () => {
    if (!ended && !session.readableEnded) session.push(null);
  });
  return session;
}
