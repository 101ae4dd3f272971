// The Engine API's multiplexed stream (attach, exec and logs of a container without a tty): frames
// of an 8-byte header (stream 0 stdin, 1 stdout, 2 stderr; big-endian length) and a payload. This
// turns it into plain bytes as it arrives, chunk boundaries anywhere, without copying payloads.
import { Duplex, Transform, type TransformCallback } from 'node:stream';

export class Demultiplexer extends Transform {
  /** Bytes of a header cut by a chunk boundary. */
  private header: Buffer = Buffer.alloc(0);
  /** Payload bytes still to come in the current frame. */
  private remaining = 0;
  /** Whether the current frame's payload is passed on. */
  private keep = true;

  /** `streams`: which of stdout (1) and stderr (2) to keep; both by default. */
  constructor(private readonly streams: ReadonlySet<number> = new Set([1, 2])) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    // The payloads of one chunk go out as one buffer: a log is a frame per line, and a push per
    // line made every stage after this one (and the HTTP answer) pay per line.
    const out: Buffer[] = [];
    const flush = () => {
      if (out.length === 1) this.push(out[0]);
      else if (out.length > 1) this.push(Buffer.concat(out));
    };
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        if (this.keep) out.push(chunk.subarray(i, i + n));
        this.remaining -= n;
        i += n;
        continue;
      }
      const need = 8 - this.header.length;
      const part = chunk.subarray(i, i + need);
      this.header = this.header.length === 0 && part.length === 8 ? part : Buffer.concat([this.header, part]);
      i += part.length;
      if (this.header.length < 8) break;
      const kind = this.header[0]!;
      if (kind > 2 || this.header[1] !== 0 || this.header[2] !== 0 || this.header[3] !== 0) {
        flush();
        done(new Error('the engine sent a stream that is not multiplexed'));
        return;
      }
      this.keep = this.streams.has(kind);
      this.remaining = this.header.readUInt32BE(4);
      this.header = Buffer.alloc(0);
    }
    flush();
    done();
  }

  override _flush(done: TransformCallback): void {
    done(this.header.length > 0 || this.remaining > 0 ? new Error('the engine stream ended inside a frame') : null);
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
