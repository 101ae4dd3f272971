// A WebSocket server endpoint (RFC 6455) over an upgraded connection, as a byte stream: what is
// written goes out as binary messages (base64 text under the `base64` subprotocol), what is read is
// the payload of the peer's data messages. Pings are answered; a close is answered and ends both ways.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { BadRequestError } from '../errors.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** The largest frame a peer may send: a bound on what one message can make us hold. */
const MAX_FRAME_BYTES = 1 << 20;

const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** Whether the request asks for a WebSocket. */
export function isWebSocketRequest(request: IncomingMessage): boolean {
  return String(request.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/**
 * Completes the handshake on `socket` and answers the connection as a Duplex. Offered subprotocols
 * `binary` (preferred) and `base64` are understood; throws BadRequestError for a request that is
 * not a version-13 WebSocket handshake (nothing is written then).
 */
export function acceptWebSocket(request: IncomingMessage, socket: Duplex, head: Buffer): Duplex {
  const key = request.headers['sec-websocket-key'];
  if (!isWebSocketRequest(request) || typeof key !== 'string' || !/^[A-Za-z0-9+/]{22}==$/.test(key)) throw new BadRequestError('Not a WebSocket handshake.');
  if (request.headers['sec-websocket-version'] !== '13') throw new BadRequestError('Only WebSocket version 13 is spoken here.');
  const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const protocol = offered.includes('binary') ? 'binary' : offered.includes('base64') ? 'base64' : undefined;
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
      '\r\n',
  );
  const ws = new WebSocketStream(socket, protocol === 'base64');
  if (head.length > 0) ws.receive(head);
  return ws;
}

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const header = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (len < 126) header[1] = len;
  else if (len < 65536) {
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([header, payload]);
}

class WebSocketStream extends Duplex {
  private buffered: Buffer = Buffer.alloc(0);
  private closing = false;

  constructor(private readonly socket: Duplex, private readonly base64: boolean) {
    super();
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => {
      this.finishReading();
      // The peer's connection is gone (the server's sockets are half-open ones): close ours too, or it
      // stays open unseen, holding the server's close.
      this.closing = true;
      socket.end();
    });
    socket.on('close', () => {
      this.finishReading();
      if (!this.destroyed) this.destroy();
    });
    socket.on('error', (err) => this.destroy(err));
  }

  private finishReading(): void {
    if (!this.readableEnded) this.push(null);
  }

  /** Takes bytes from the connection and passes on the payloads of whole frames. */
  receive(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    for (;;) {
      const b = this.buffered;
      if (b.length < 2) return;
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(MAX_FRAME_BYTES)) return this.fail(1009);
        len = Number(big);
        at = 10;
      }
      if (len > MAX_FRAME_BYTES) return this.fail(1009);
      // Clients must mask their frames (RFC 6455 5.1).
      if (!masked) return this.fail(1002);
      if (b.length < at + 4 + len) return;
      const mask = b.subarray(at, at + 4);
      const payload = Buffer.allocUnsafe(len);
      for (let i = 0; i < len; i++) payload[i] = b[at + 4 + i]! ^ mask[i & 3]!;
      this.buffered = b.subarray(at + 4 + len);
      this.onFrame(opcode, payload);
      if (this.destroyed) return;
    }
  }

  private onFrame(opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OP.text:
      case OP.binary:
      case OP.continuation: {
        const data = this.base64 && opcode !== OP.binary ? Buffer.from(payload.toString('ascii'), 'base64') : payload;
        if (data.length > 0 && !this.push(data)) this.socket.pause();
        return;
      }
      case OP.ping:
        this.socket.write(frame(OP.pong, payload));
        return;
      case OP.pong:
        return;
      case OP.close:
        if (!this.closing) {
          this.closing = true;
          this.socket.end(frame(OP.close, payload.subarray(0, 2)));
        }
        this.finishReading();
        return;
      default:
        this.fail(1002);
    }
  }

  private fail(code: number): void {
    const reason = Buffer.alloc(2);
    reason.writeUInt16BE(code);
    this.closing = true;
    this.socket.end(frame(OP.close, reason));
    this.destroy();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.closing) return done();
    const out = this.base64 ? frame(OP.text, Buffer.from(chunk.toString('base64'), 'ascii')) : frame(OP.binary, chunk);
    if (this.socket.write(out)) done();
    else this.socket.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.closing) {
      this.closing = true;
      const reason = Buffer.alloc(2);
      reason.writeUInt16BE(1000);
      this.socket.end(frame(OP.close, reason));
    }
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}
