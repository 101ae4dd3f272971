// The Docker API of a cluster: a TLS listener per cluster on its own address that accepts only
// client certificates of the cluster's CA, checks every request against the tenant confinement
// rules, loads the project's images into the nodes when a service or container names one, and
// forwards to a manager's engine (failing over to the next), streams and hijacked connections
// included. It also answers the services' published ports on the cluster's address.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import type { ClusterTls } from './nodes.ts';
import {
  PUBLISH_LABEL,
  Refused,
  checkBuild,
  checkContainerCreate,
  checkExecCreate,
  checkNetworkCreate,
  checkNodeUpdate,
  checkServiceSpec,
  checkVolumeCreate,
  refusedRoute,
  rewriteServiceEndpoint,
  type Published,
} from './confinement.ts';
import { newCertificate } from './x509.ts';

const MAX_JSON_BODY = 4 * 2 ** 20;

export interface Manager {
  /** The node's address on the node network. */
  address: string;
}

export interface FrontDeps {
  /** Ready managers, in the order to try them. */
  managers(): Promise<Manager[]>;
  /** Swarm node id -> node address, for the published ports. */
  nodeAddresses(): Promise<Map<string, string>>;
  /** Makes the image `ref` present on every ready node from the project's images; false when the project has none of that name. */
  ensureImage(ref: string): Promise<boolean>;
  /** Loads the project's image `ref` for `docker pull` (progress lines as the engine writes them). */
  pull(ref: string): Promise<boolean>;
  log(msg: string): void;
}

interface Upstream {
  address: string;
  agent: https.Agent;
}

export class ClusterFront {
  private server: https.Server | undefined;
  private material: ClusterTls;
  private agents = new Map<string, https.Agent>();
  private readonly ports = new Map<string, net.Server>();
  private published = new Map<string, { nodes: { address: string; port: number }[]; next: number }>();
  private timer: NodeJS.Timeout | undefined;
  /** Managers that refused a connection lately, skipped for a while. */
  private readonly down = new Map<string, number>();

  constructor(
    readonly clusterId: string,
    readonly address: string,
    readonly port: number,
    material: ClusterTls,
    private readonly deps: FrontDeps,
  ) {
    this.material = material;
  }

  async start(): Promise<void> {
    // Half-open connections stay open: a client without input half-closes a hijacked stream and still reads it.
    const server = https.createServer({ ...(await this.serverContext()), requestCert: true, rejectUnauthorized: true, allowHalfOpen: true });
    server.on('request', (req, res) => void this.handle(req, res));
    server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket as net.Socket, head));
    server.on('tlsClientError', () => undefined);
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.timer = setInterval(() => void this.syncPublished().catch((e: Error) => this.deps.log(`clusters: front ${this.address}: published ports: ${e.message}`)), 2000);
    this.timer.unref();
  }

  /** A new CA (rotation): the listener takes only certificates of the new one from now on. */
  async rotate(material: ClusterTls): Promise<void> {
    this.material = material;
    this.server?.setSecureContext(await this.serverContext());
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const s of this.ports.values()) s.close();
    this.ports.clear();
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  private async serverContext(): Promise<tls.SecureContextOptions> {
    const cert = await newCertificate(this.material.ca, `cluster ${this.clusterId}`, 'server', { ips: [this.address] });
    return { ca: this.material.ca.cert, cert: cert.cert, key: cert.key };
  }

  private agentFor(address: string): https.Agent {
    let a = this.agents.get(address);
    if (!a) {
      a = new https.Agent({ keepAlive: true, maxSockets: 64, ca: this.material.infraCa.cert, cert: this.material.infraClient.cert, key: this.material.infraClient.key });
      this.agents.set(address, a);
    }
    return a;
  }

  private async upstreams(): Promise<Upstream[]> {
    const all = await this.deps.managers();
    const now = Date.now();
    const fresh = all.filter((m) => (this.down.get(m.address) ?? 0) < now);
    return (fresh.length ? fresh : all).map((m) => ({ address: m.address, agent: this.agentFor(m.address) }));
  }

  // ---- requests

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://front');
      const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
      const method = req.method ?? 'GET';
      const refused = refusedRoute(method, path);
      if (refused) throw new Refused(`hafen refuses this in a cluster: ${refused}`);
      let body: Buffer | undefined;
      if (method === 'POST' && /^\/(containers\/create|containers\/[^/]+\/exec|services\/create|services\/[^/]+\/update|volumes\/create|networks\/create|nodes\/[^/]+\/update)$/.test(path)) {
        const raw = await readBody(req, MAX_JSON_BODY);
        const json = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
        let out: Record<string, unknown> = json;
        if (path === '/containers/create') {
          checkContainerCreate(json);
          if (typeof json.Image === 'string') await this.deps.ensureImage(json.Image);
        } else if (path.endsWith('/exec')) checkExecCreate(json);
        else if (path === '/services/create' || path.endsWith('/update') && path.startsWith('/services/')) {
          checkServiceSpec(json);
          await this.refuseHostNetworks(json);
          out = rewriteServiceEndpoint(json);
          const image = (((json.TaskTemplate as Record<string, unknown> | undefined)?.ContainerSpec as Record<string, unknown> | undefined)?.Image);
          if (typeof image === 'string') await this.deps.ensureImage(image.replace(/@sha256:[0-9a-f]{64}$/, ''));
        } else if (path === '/volumes/create') checkVolumeCreate(json);
        else if (path === '/networks/create') checkNetworkCreate(json);
        else if (path.startsWith('/nodes/')) checkNodeUpdate(json, await this.nodeRole(path.split('/')[2]!));
        body = Buffer.from(JSON.stringify(out));
      } else if (method === 'POST' && path === '/build') {
        checkBuild(url.searchParams);
      } else if (method === 'POST' && path === '/images/create' && url.searchParams.get('fromImage')) {
        const ref = `${url.searchParams.get('fromImage')}:${url.searchParams.get('tag') || 'latest'}`.replace(/:([^:/]+):([^:/]+)$/, ':$1');
        if (await this.deps.pull(ref)) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(`${JSON.stringify({ status: `Loaded ${ref} from the project's images into every node` })}\n${JSON.stringify({ status: `Status: Image is up to date for ${ref}` })}\n`);
          return;
        }
      }
      await this.forward(req, res, body);
      if (body && /^\/services\//.test(path)) void this.syncPublished().catch(() => undefined);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e = err as Error;
      const status = e instanceof Refused ? 403 : e instanceof SyntaxError ? 400 : e instanceof TooLarge ? 413 : 502;
      if (status === 502) this.deps.log(`clusters: front ${this.address}: ${e.message}`);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ message: status === 502 ? `the cluster's managers do not answer: ${e.message}` : e.message })}\n`);
    }
  }

  /** The CLI names networks by id: a service attached to the node's `host` network is refused by what the id is. */
  private async refuseHostNetworks(spec: Record<string, unknown>): Promise<void> {
    const task = (spec.TaskTemplate ?? {}) as { Networks?: { Target?: string }[] };
    for (const n of [...(task.Networks ?? []), ...((spec.Networks as { Target?: string }[] | undefined) ?? [])]) {
      if (!n?.Target) continue;
      const body = await this.call('GET', `/v1.41/networks/${encodeURIComponent(n.Target)}`).catch(() => undefined);
      const net = body ? (JSON.parse(body) as { Name?: string; Driver?: string }) : undefined;
      if (net && (net.Name === 'host' || net.Driver === 'host')) throw new Refused('hafen refuses this in a cluster: the node\'s network');
    }
  }

  private async nodeRole(id: string): Promise<string | undefined> {
    const body = await this.call('GET', `/v1.41/nodes/${encodeURIComponent(id)}`).catch(() => undefined);
    return body ? ((JSON.parse(body) as { Spec?: { Role?: string } }).Spec?.Role ?? undefined) : undefined;
  }

  /** Sends the request to a manager, the next one when one does not answer; the answer streams back. */
  private async forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined): Promise<void> {
    const ups = await this.upstreams();
    if (ups.length === 0) throw new Error('no manager is ready yet');
    const headers = { ...req.headers };
    delete headers.host;
    if (body) headers['content-length'] = String(body.length);
    let lastError: Error | undefined;
    for (const [i, up] of ups.entries()) {
      // A streamed body can be sent once: only the first manager gets it; buffered bodies may be retried.
      const replayable = body !== undefined || !hasBody(req);
      if (i > 0 && !replayable) break;
      try {
        await new Promise<void>((resolve, reject) => {
          const out = https.request({ host: up.address, port: 2376, method: req.method, path: req.url, headers, agent: up.agent, servername: undefined }, (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.flushHeaders();
            answer.pipe(res);
            answer.on('end', resolve);
            answer.on('error', resolve);
            res.on('close', () => answer.destroy());
          });
          out.on('error', (err) => {
            if (res.headersSent) {
              res.destroy();
              resolve();
            } else reject(err);
          });
          req.on('aborted', () => out.destroy());
          if (body) out.end(body);
          else req.pipe(out);
        });
        return;
      } catch (err) {
        lastError = err as Error;
        this.down.set(up.address, Date.now() + 5000);
      }
    }
    throw lastError ?? new Error('no manager answered');
  }

  /** A bodyless call to a manager from the front itself; the answer's body as text. */
  private async call(method: string, path: string): Promise<string> {
    for (const up of await this.upstreams()) {
      try {
        return await new Promise<string>((resolve, reject) => {
          const r = https.request({ host: up.address, port: 2376, method, path, agent: up.agent, timeout: 10_000 }, (answer) => {
            const chunks: Buffer[] = [];
            answer.on('data', (c: Buffer) => chunks.push(c));
            answer.on('end', () => ((answer.statusCode ?? 500) < 300 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`${method} ${path}: ${answer.statusCode}`))));
          });
          r.on('error', reject);
          r.on('timeout', () => r.destroy(new Error('timeout')));
          r.end();
        });
      } catch (err) {
        if (/: \d{3}$/.test((err as Error).message)) throw err;
        this.down.set(up.address, Date.now() + 5000);
      }
    }
    throw new Error('no manager answered');
  }

  /** attach, exec start and other hijacked connections: the request goes to a manager, then bytes both ways. */
  private async upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    socket.allowHalfOpen = true;
    try {
      const url = new URL(req.url ?? '/', 'http://front');
      const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
      const refused = refusedRoute(req.method ?? 'GET', path);
      if (refused) throw new Refused(refused);
      if (!/^\/(containers\/[^/]+\/attach|exec\/[^/]+\/start)$/.test(path)) throw new Refused('only attach and exec connections are upgraded');
      const up = (await this.upstreams())[0];
      if (!up) throw new Error('no manager is ready yet');
      const upstream = tls.connect({ host: up.address, port: 2376, ca: this.material.infraCa.cert, cert: this.material.infraClient.cert, key: this.material.infraClient.key });
      upstream.allowHalfOpen = true;
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      await new Promise<void>((resolve, reject) => {
        upstream.once('secureConnect', resolve);
        upstream.once('error', reject);
      });
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if (req.rawHeaders[i]!.toLowerCase() === 'host') continue;
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      }
      lines.push(`Host: ${up.address}:2376`, '', '');
      upstream.write(lines.join('\r\n'));
      if (head.length) upstream.write(head);
      // The client half-closes when it has no input to send (docker run without -i): that must not
      // end the engine's side, which still streams the output.
      upstream.pipe(socket);
      socket.pipe(upstream, { end: false });
    } catch (err) {
      const status = err instanceof Refused ? '403 Forbidden' : '502 Bad Gateway';
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ message: (err as Error).message })}\n`);
    }
  }

  // ---- published ports

  /** Listens on the cluster's address for every port its services asked to publish; connects to a running task. */
  async syncPublished(): Promise<void> {
    if (!this.server || (await this.deps.managers()).length === 0) return;
    const services = JSON.parse(await this.call('GET', `/v1.41/services?filters=${encodeURIComponent(JSON.stringify({ label: [PUBLISH_LABEL] }))}`)) as { ID: string; Spec: { Labels?: Record<string, string> } }[];
    const wanted = new Map<string, { serviceId: string; p: Published }>();
    for (const s of services) {
      for (const p of JSON.parse(s.Spec.Labels?.[PUBLISH_LABEL] ?? '[]') as Published[]) if (p.protocol === 'tcp') wanted.set(String(p.published), { serviceId: s.ID, p });
    }
    const tasks = wanted.size
      ? (JSON.parse(await this.call('GET', `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ 'desired-state': ['running'] }))}`)) as { ServiceID: string; NodeID: string; Status: { State: string; PortStatus?: { Ports?: { TargetPort: number; PublishedPort: number; Protocol: string }[] } } }[])
      : [];
    const addresses = wanted.size ? await this.deps.nodeAddresses() : new Map<string, string>();
    const next = new Map<string, { nodes: { address: string; port: number }[]; next: number }>();
    for (const [key, w] of wanted) {
      const nodes: { address: string; port: number }[] = [];
      for (const t of tasks) {
        if (t.ServiceID !== w.serviceId || t.Status.State !== 'running') continue;
        const port = t.Status.PortStatus?.Ports?.find((x) => x.TargetPort === w.p.target && (x.Protocol ?? 'tcp') === 'tcp');
        const address = addresses.get(t.NodeID);
        if (port && address) nodes.push({ address, port: port.PublishedPort });
      }
      next.set(key, { nodes, next: this.published.get(key)?.next ?? 0 });
    }
    this.published = next;
    for (const [key, server] of this.ports) {
      if (!next.has(key)) {
        server.close();
        this.ports.delete(key);
      }
    }
    for (const key of next.keys()) {
      if (this.ports.has(key)) continue;
      const server = net.createServer((client) => this.relay(key, client));
      server.on('error', (e) => this.deps.log(`clusters: front ${this.address}:${key}: ${e.message}`));
      server.listen(Number(key), this.address);
      this.ports.set(key, server);
    }
  }

  private relay(key: string, client: net.Socket): void {
    client.on('error', () => undefined);
    const entry = this.published.get(key);
    if (!entry || entry.nodes.length === 0) {
      client.destroy();
      return;
    }
    const attempt = (tries: number) => {
      const target = entry.nodes[entry.next++ % entry.nodes.length]!;
      const upstream = net.connect(target.port, target.address);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => {
        // A node that refuses is skipped: the next task's node gets the connection.
        if (!connected && tries + 1 < entry.nodes.length) attempt(tries + 1);
        else client.destroy();
      });
      client.on('close', () => upstream.destroy());
    };
    attempt(0);
  }
}

class TooLarge extends Error {}

function hasBody(req: http.IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

function readBody(req: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new TooLarge(`the request body is larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
