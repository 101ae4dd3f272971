// The WebSocket endpoint against a client written from the RFC: handshake, masked frames both
// sizes, ping, base64 subprotocol, close; and Python's websocket-client (what zunclient uses).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Duplex } from 'node:stream';
import { acceptWebSocket } from './websocket.ts';

const run = promisify(execFile);

function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 126]), Buffer.from([len >> 8, len & 255])]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([head, mask, body]);
}

describe('websocket endpoint', () => {
  let server: http.Server;
  let port: number;
  before(async () => {
    server = http.createServer();
    // An echo service in upper case: what comes in goes back changed, so an echo of the raw frame would not pass.
    server.on('upgrade', (req, socket: Duplex, head) => {
      const ws = acceptWebSocket(req, socket, head);
      ws.on('data', (d: Buffer) => ws.write(Buffer.from(d.toString().toUpperCase())));
      ws.on('end', () => ws.end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => server.close());

  it('shakes hands, carries masked frames both ways, answers pings and closes', async () => {
    const sock = net.connect(port, '127.0.0.1');
    const key = randomBytes(16).toString('base64');
    sock.write(`GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary, base64\r\n\r\n`);
    let got = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 1000 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(pred(), got.toString('latin1'));
    };
    await until(() => got.includes('\r\n\r\n'));
    const text = got.toString('latin1');
    assert.match(text, /^HTTP\/1.1 101/);
    assert.match(text, new RegExp(`Sec-WebSocket-Accept: ${createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64').replace(/[+/]/g, '\\$&')}`));
    assert.match(text, /Sec-WebSocket-Protocol: binary/);
    got = got.subarray(got.indexOf('\r\n\r\n') + 4);
    sock.write(clientFrame(2, Buffer.from('hello')));
    await until(() => got.length >= 7);
    assert.deepEqual([...got.subarray(0, 2)], [0x82, 5]);
    assert.equal(got.subarray(2, 7).toString(), 'HELLO');
    got = Buffer.alloc(0);
    const big = Buffer.alloc(300, 'a');
    sock.write(clientFrame(2, big));
    await until(() => got.length >= 304);
    assert.equal(got[1], 126);
    assert.equal(got.readUInt16BE(2), 300);
    got = Buffer.alloc(0);
    sock.write(clientFrame(9, Buffer.from('p')));
    await until(() => got.length >= 3);
    assert.deepEqual([...got.subarray(0, 3)], [0x8a, 1, 'p'.charCodeAt(0)]);
    got = Buffer.alloc(0);
    sock.write(clientFrame(8, Buffer.from([0x03, 0xe8])));
    await until(() => got.length >= 2 && got[0] === 0x88);
    sock.destroy();
  });

  it('refuses unmasked client frames with a protocol error', async () => {
    const sock = net.connect(port, '127.0.0.1');
    sock.write(`GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let got = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
    // The handshake's answer first (on a loaded machine it can take longer than any fixed pause).
    for (let i = 0; i < 1000 && !got.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(got.toString('latin1'), /^HTTP\/1.1 101/);
    got = got.subarray(got.indexOf('\r\n\r\n') + 4);
    sock.write(Buffer.from([0x82, 0x01, 0x41]));
    const closed = new Promise((r) => sock.on('close', r));
    await closed;
    assert.equal(got[0], 0x88);
    assert.equal(got.readUInt16BE(2), 1002);
  });

  it('closes its side when the peer goes away without a close frame (a killed client)', async () => {
    // A server whose sessions outlive their reader: nothing but the endpoint itself ends the socket.
    const quiet = http.createServer();
    const upgraded: Duplex[] = [];
    quiet.on('upgrade', (req, socket: Duplex, head) => {
      upgraded.push(socket);
      acceptWebSocket(req, socket, head).resume();
    });
    await new Promise<void>((r) => quiet.listen(0, '127.0.0.1', () => r()));
    const sock = net.connect((quiet.address() as net.AddressInfo).port, '127.0.0.1');
    sock.write(`GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    sock.on('data', () => undefined);
    for (let i = 0; i < 1000 && upgraded.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(upgraded.length, 1);
    const serverSide = upgraded[0]!;
    const closed = new Promise((r) => serverSide.on('close', r));
    sock.end(clientFrame(2, Buffer.from('bye')));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((_r, j) => (timer = setTimeout(() => j(new Error('the server side stayed open after the peer left')), 10_000)));
    await Promise.race([closed, late]).finally(() => clearTimeout(timer));
    // and the server closes, not held by a half-open connection
    await new Promise<void>((r, j) => quiet.close((err) => (err ? j(err) : r())));
  });

  it("speaks with Python's websocket-client as zunclient opens it", async () => {
    const script = [
      'import websocket, sys',
      `ws = websocket.create_connection("ws://127.0.0.1:${port}/x", subprotocols=["binary", "base64"], skip_utf8_validation=True)`,
      'ws.send_binary(b"from python")',
      'sys.stdout.write(ws.recv().decode())',
      'ws.close()',
    ].join('\n');
    const { stdout } = await run('/usr/bin/python3', ['-c', script], { timeout: 60_000 });
    assert.equal(stdout, 'FROM PYTHON');
  });
});
