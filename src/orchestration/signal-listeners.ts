// The wait-condition signal endpoint where servers can reach it: one small listener per tenant
// network gateway that this host carries (the bridges of its own engines), serving only
// POST /orchestration/v1/signal/{handle} by handing the request to the main application.
import http from 'node:http';
import os from 'node:os';

export interface SignalListenerOptions {
  port: number;
  /** Gateway addresses of the cloud's subnets. */
  gateways(): Promise<string[]>;
  /** Passes a signal on to the API (app.inject), answering with its status and body. */
  forward(path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }>;
  intervalMs?: number;
}

/** How often the listeners are checked against this host's interfaces. */
const INTERFACE_RECHECK_MS = 30_000;

/** The IPv4 addresses on this host's interfaces. */
function localAddresses(): Set<string> {
  return new Set(Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address)));
}

const SIGNAL_PATH = /^\/orchestration\/v1\/signal\/[0-9a-f-]{36}$/;
const MAX_BODY = 64 * 1024;

export class SignalListeners {
  private readonly servers = new Map<string, http.Server>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  /** When the listeners were last checked against this host's interfaces. */
  private lookedAt = 0;
  /** Gateways bound but not on this host, left alone until the next look at the interfaces. */
  private readonly notHere = new Set<string>();

  constructor(private readonly options: SignalListenerOptions) {}

  start(): void {
    const tick = () => {
      this.syncing = this.sync().catch(() => undefined);
    };
    tick();
    this.timer = setInterval(tick, this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Listens on the gateways present on this host's interfaces, and on no others. */
  async sync(): Promise<void> {
    const wanted = new Set((await this.options.gateways()).filter((ip) => !ip.startsWith('127.')));
    // Reading every interface costs ~10 ms of CPU on a host with many bridges and veths (73 here),
    // which every second was most of an idle controller's CPU: the listeners are checked against
    // the interfaces only now and then (a gateway gone from the host), and a gateway not listened
    // on yet is simply tried: a bind to an address this host does not carry fails at once.
    const look = Date.now() - this.lookedAt >= INTERFACE_RECHECK_MS;
    let local: Set<string> | undefined;
    if (look) {
      local = localAddresses();
      this.lookedAt = Date.now();
      this.notHere.clear();
    }
    for (const [ip, server] of this.servers) {
      if (!wanted.has(ip) || (local && !local.has(ip))) {
        this.servers.delete(ip);
        server.close();
      }
    }
    for (const ip of wanted) {
      if (this.servers.has(ip) || this.notHere.has(ip)) continue;
      const server = http.createServer((req, res) => void this.handle(req, res));
      this.servers.set(ip, server);
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => {
          this.servers.delete(ip);
          resolve(false);
        });
        server.listen(this.options.port, ip, () => resolve(true));
      });
      // A host that lets any address be bound (ip_nonlocal_bind): only the ones it carries are kept.
      if (bound && !(local ??= localAddresses()).has(ip)) {
        this.servers.delete(ip);
        this.notHere.add(ip);
        server.close();
      }
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method !== 'POST' || !SIGNAL_PATH.test(path)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 404, title: 'Not Found', explanation: 'Only wait-condition signals are answered here.', error: { type: 'NotFound', message: 'Only wait-condition signals are answered here.', traceback: null } }));
      return;
    }
    let body = '';
    for await (const chunk of req) {
      body += String(chunk);
      if (body.length > MAX_BODY) {
        res.writeHead(413).end();
        return;
      }
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = req.headers['x-auth-token'];
    if (typeof token === 'string') headers['x-auth-token'] = token;
    const answer = await this.options.forward(path, headers, body || '{}');
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing;
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.clear();
  }
}
