// HTTP upgrades (WebSockets, agents' raw call sockets), which Fastify does not route: services
// register a handler for a path prefix; one listener on the server hands each upgrade to the
// handler of the longest matching prefix and answers the others 404.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { HafenError } from '../errors.ts';
import { reasonPhrase } from './envelopes.ts';
import type { HttpServer } from './server.ts';

/** Takes the upgrade over: answers 101 and uses the socket, or throws (answered with the error's status). */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void> | void;

const routes = new WeakMap<Server, { prefix: string; handler: UpgradeHandler }[]>();

export function handleUpgrades(app: HttpServer, prefix: string, handler: UpgradeHandler): void {
  const server = app.server;
  let list = routes.get(server);
  if (!list) {
    routes.set(server, (list = []));
    const own = list;
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      const path = (request.url ?? '/').split('?')[0]!;
      const route = own.filter((r) => path === r.prefix || path.startsWith(`${r.prefix.replace(/\/+$/, '')}/`)).sort((a, b) => b.prefix.length - a.prefix.length)[0];
      if (!route) return refuseUpgrade(socket, 404, 'No upgrade is served here.');
      Promise.resolve()
        .then(() => route.handler(request, socket, head))
        .catch((err: unknown) => refuseUpgrade(socket, err instanceof HafenError ? err.status : 500, err instanceof HafenError ? err.message : 'The upgrade failed.'));
    });
  }
  list.push({ prefix, handler });
}

/** Answers an upgrade request with an HTTP error (JSON) and closes the connection. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code: status, title: reasonPhrase(status), message } });
  socket.end(`HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  // An upgraded socket nobody reads never sees the peer's close: it would stay half-open (and keep
  // the server from closing) without holding the event loop. Read to the end, and give up after a while.
  socket.on('data', () => undefined);
  socket.resume();
  setTimeout(() => socket.destroy(), 5000).unref();
}

/** Completes a raw upgrade (not a WebSocket): 101 with the protocol named, then bytes both ways. */
export function acceptRawUpgrade(socket: Duplex, protocol: string): void {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`);
}
