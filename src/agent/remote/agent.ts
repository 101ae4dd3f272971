// A remote agent: the one process that talks to its Docker engine. It logs in to the controller's
// identity service, registers its host, heart-beats, runs the controller's driver calls on the
// local Docker driver (long-polling /agent/v1 for them, streaming images in and snapshots out), and
// enforces the security groups of its host's ports and the host's side of their floating IPs (NAT to
// the server; the controller routes the addresses to the host) with the dataplane.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Readable, type Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { DockerDriver } from '../docker/driver.ts';
import { cloudTag } from '../docker/host-guard.ts';
import { Dataplane, type DataplaneSource } from '../net/dataplane.ts';
import { engineClient, engineEndpointLabel } from '../../host/engine-client.ts';
import type { FloatingIpMapping, PortFirewall, ServerFloatingIp } from '../net/contract.ts';
import { AGENT_API, asDriverSpec, CallSchema, checked, HostFirewallsSchema, HostFloatingIpsSchema, SessionSchema, SOCKET_PROTOCOL, STREAM_META_HEADER, type Call, type HostFirewalls, type Registration, type Result, type Session } from './protocol.ts';

/** Calls answered with a stream, a socket, or after reading an input: not a plain result. */
type StreamCall = Extract<Call, { method: 'snapshot' | 'commit' | 'logs' | 'archiveGet' }>;
type SocketCall = Extract<Call, { method: 'startExec' | 'attach' }>;
type InputCall = Extract<Call, { method: 'archivePut' }>;
type PlainCall = Exclude<Call, StreamCall | SocketCall | InputCall>;

export type AgentCredential =
  | { kind: 'application_credential'; id: string; secret: string }
  | { kind: 'password'; username: string; password: string; userDomainName: string; projectName: string; projectDomainName: string };

export interface AgentOptions {
  /** The controller's base URL (http(s)://host:port). */
  controller: string;
  /** The engine this agent drives: unix:///path or tcp://host:port?cert_dir=/dir (TLS with a client certificate). */
  docker: string;
  credential: AgentCredential;
  /** Keystone's URL; by default the controller's /identity/v3. */
  authUrl?: string;
  /** By default derived from the engine's own id, so that it is stable across restarts and unique per engine. */
  hostId?: string;
  availabilityZone?: string;
  /**
   * The host's IPv4 address as the controller reaches it, where the controller routes the floating
   * IPs of the host's servers; by default the host of a tcp:// engine URL given as an address.
   */
  address?: string;
  log?: (line: string) => void;
}

/** An HTTP failure of the controller, with its status. */
class ControllerError extends Error {
  override readonly name = 'ControllerError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function defaultHostId(docker: string): Promise<string> {
  const info = await engineClient(docker).info();
  return `host-${createHash('sha256').update(`engine:${info.ID}`).digest('hex').slice(0, 8)}`;
}

/** The address the controller routes this host's floating IPs to: `address`, else a tcp:// engine's IPv4 host. */
export function hostAddress(docker: string, address?: string): string | undefined {
  if (address) return address;
  const m = /^tcp:\/\/(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(engineEndpointLabel(docker));
  return m?.[1];
}

/**
 * The dataplane's view of the network, read from the controller: the ports of this host's servers
 * with their firewalls (one request serves a whole sync) and the floating IPs of those ports,
 * changes announced by the controller.
 */
class ControllerFirewalls implements DataplaneSource {
  readonly events = new EventEmitter();
  private cache: { at: number; ports: Map<string, HostFirewalls['ports'][number]> } | undefined;

  constructor(private readonly fetchAll: () => Promise<unknown>, private readonly fetchFloatingIps: () => Promise<unknown>) {}

  /** A change was announced: the next read asks the controller again. */
  invalidate(): void {
    this.cache = undefined;
  }

  private async read(maxAgeMs: number): Promise<Map<string, HostFirewalls['ports'][number]>> {
    if (this.cache && Date.now() - this.cache.at <= maxAgeMs) return this.cache.ports;
    const at = Date.now();
    const answer = checked(HostFirewallsSchema, await this.fetchAll(), 'firewalls');
    this.cache = { at, ports: new Map(answer.ports.map((p) => [p.portId, p])) };
    return this.cache.ports;
  }

  async boundPorts(): Promise<{ portId: string; serverId: string }[]> {
    return [...(await this.read(200)).values()].map((p) => ({ portId: p.portId, serverId: p.serverId }));
  }

  async portFirewall(portId: string): Promise<PortFirewall | undefined> {
    return (await this.read(2000)).get(portId)?.firewall ?? undefined;
  }

  async floatingIpMappings(): Promise<FloatingIpMapping[]> {
    return (await this.serverFloatingIps()).map(({ floatingIpId, floatingIpAddress, fixedIpAddress, portId }) => ({ floatingIpId, floatingIpAddress, fixedIpAddress, portId }));
  }

  async serversOfPorts(portIds: string[]): Promise<string[]> {
    const ports = await this.read(200);
    return [...new Set(portIds.map((id) => ports.get(id)?.serverId).filter((s): s is string => Boolean(s)))];
  }

  async serverFirewalls(serverIds: string[]): Promise<Map<string, PortFirewall[]>> {
    const wanted = new Set(serverIds);
    const out = new Map<string, PortFirewall[]>();
    for (const p of (await this.read(2000)).values()) {
      if (!wanted.has(p.serverId) || !p.firewall) continue;
      (out.get(p.serverId) ?? out.set(p.serverId, []).get(p.serverId)!).push(p.firewall);
    }
    return out;
  }

  async serverFloatingIps(): Promise<ServerFloatingIp[]> {
    return checked(HostFloatingIpsSchema, await this.fetchFloatingIps(), 'floating IPs').floatingIps;
  }
}

export class Agent {
  private readonly controller: string;
  private token: { value: string; expiresAt: number } | undefined;
  private session: Session | undefined;
  private driver: DockerDriver | undefined;
  private cloudId: string | undefined;
  private connecting: Promise<Session> | undefined;
  private stopping = false;
  private readonly polling = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private loops: Promise<void>[] = [];
  private readonly log: (line: string) => void;
  /** Enforces the security groups of this host's ports (rules read from the controller). */
  private readonly firewalls = new ControllerFirewalls(
    () => this.request('GET', `${AGENT_API}/sessions/${this.session?.sessionId ?? '-'}/network/firewalls`),
    () => this.request('GET', `${AGENT_API}/sessions/${this.session?.sessionId ?? '-'}/network/floating-ips`),
  );
  private dataplane: Dataplane | undefined;
  private readonly engine: ReturnType<typeof engineClient>;

  constructor(private readonly options: AgentOptions) {
    this.controller = options.controller.replace(/\/+$/, '');
    this.engine = engineClient(options.docker);
    this.log = options.log ?? ((line) => process.stderr.write(`hafen agent: ${line}\n`));
  }

  get hostId(): string | undefined {
    return this.session?.hostId;
  }

  /** Logs in and registers; resolves once the host is registered, then serves calls until stop(). */
  async start(): Promise<Session> {
    let session: Session;
    for (;;) {
      try {
        session = await this.connect();
        break;
      } catch (err) {
        // A controller that is not up yet is waited for; refused credentials or a dead engine end the start.
        if (!(err instanceof TypeError) || this.stopping) throw err;
        this.log(`controller ${this.controller} unreachable (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); retrying`);
        await sleep(2000);
      }
    }
    this.loops = [this.pollLoop(), this.heartbeatLoop()];
    // Engines on this machine get rules through nsenter; others through a helper container they run.
    // The floating IPs of the host's servers get their NAT on the host (no route: the controller's).
    this.dataplane = new Dataplane(this.firewalls, [{ docker: this.engine, local: this.options.docker.startsWith('unix://'), floatingIps: 'host' }], (msg) => this.log(msg));
    // Its host's floating-IP chains carry the controller's cloud tag, as the controller's own do.
    this.dataplane.setCloudTag(cloudTag(session.cloudId), session.cloudId);
    this.dataplane.start();
    return session;
  }

  /**
   * Stops taking calls, lets the running ones finish (up to 10 s) and leaves the controller; the
   * host's floating-IP NAT goes (the controller drops its routes to the host when the agent leaves).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.polling.abort();
    await this.dataplane?.stop();
    await this.dataplane?.removeAllFloatingIps().catch((err: Error) => this.log(`removing the floating IPs' NAT: ${err.message}`));
    await Promise.race([Promise.allSettled([...this.running]), sleep(10_000)]);
    const s = this.session;
    if (s) await this.request('DELETE', `${AGENT_API}/sessions/${s.sessionId}`, undefined, AbortSignal.timeout(2000)).catch(() => undefined);
    await Promise.allSettled(this.loops);
  }

  // ---- identity

  private async login(): Promise<string> {
    if (this.token && this.token.expiresAt - Date.now() > 60_000) return this.token.value;
    const authUrl = (this.options.authUrl ?? `${this.controller}/identity/v3`).replace(/\/+$/, '');
    const c = this.options.credential;
    const identity =
      c.kind === 'application_credential'
        ? { methods: ['application_credential'], application_credential: { id: c.id, secret: c.secret } }
        : { methods: ['password'], password: { user: { name: c.username, domain: { name: c.userDomainName }, password: c.password } } };
    const scope = c.kind === 'password' ? { scope: { project: { name: c.projectName, domain: { name: c.projectDomainName } } } } : {};
    const res = await fetch(`${authUrl}/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth: { identity, ...scope } }) });
    if (res.status !== 201) throw new ControllerError(res.status, `the controller refused the agent's credentials: ${res.status} ${(await res.text()).slice(0, 300)}`);
    const body = (await res.json()) as { token: { expires_at: string } };
    this.token = { value: res.headers.get('x-subject-token')!, expiresAt: Date.parse(body.token.expires_at) };
    return this.token.value;
  }

  /** A JSON request to the controller with the agent's token (logging in again once on 401). */
  private async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.login();
      const res = await fetch(`${this.controller}${path}`, {
        method,
        headers: { 'x-auth-token': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
      });
      if (res.status === 401 && attempt === 0) {
        this.token = undefined;
        continue;
      }
      const text = await res.text();
      if (res.status >= 400) throw new ControllerError(res.status, `${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
      return text ? JSON.parse(text) : undefined;
    }
  }

  // ---- registration

  /** Registers the host (again, after the session was lost); one attempt at a time. */
  private connect(): Promise<Session> {
    if (!this.connecting) {
      this.connecting = this.register().finally(() => (this.connecting = undefined));
    }
    return this.connecting;
  }

  private async register(): Promise<Session> {
    const local = this.driver ?? new DockerDriver(this.options.docker);
    const registration: Registration = {
      hostId: this.options.hostId ?? (await defaultHostId(this.options.docker)),
      // Without the local certificate directory: the controller has no use for this machine's paths.
      endpoint: engineEndpointLabel(this.options.docker),
      capacity: await local.capacity(),
      capabilities: local.capabilities,
      ...(this.options.availabilityZone ? { availabilityZone: this.options.availabilityZone } : {}),
    };
    const address = hostAddress(this.options.docker, this.options.address);
    if (address) registration.address = address;
    const session = checked(SessionSchema, await this.request('POST', `${AGENT_API}/sessions`, registration), 'session');
    // The driver marks containers with the controller's cloud id (the same after a reconnect; kept with its image loads).
    if (!this.driver || this.cloudId !== session.cloudId) this.driver = new DockerDriver(this.options.docker, { cloudId: session.cloudId });
    this.cloudId = session.cloudId;
    this.session = session;
    this.log(`registered ${session.hostId} (${engineEndpointLabel(this.options.docker)}: ${registration.capacity.vcpus} vCPUs, ${registration.capacity.memoryMiB} MiB) with ${this.controller}`);
    return session;
  }

  /** After a failure: the session is registered again if the controller no longer knows it. */
  private async recover(err: unknown, session: Session): Promise<void> {
    if (this.stopping) return;
    if (err instanceof ControllerError && err.status === 404 && this.session === session) {
      this.log(`session lost; registering ${session.hostId} again`);
      this.session = undefined;
    } else {
      this.log(`controller unreachable (${(err as Error).message}); retrying`);
      await sleep(1000);
    }
    if (!this.session) {
      try {
        await this.connect();
      } catch (e) {
        this.log(`registration failed: ${(e as Error).message}`);
        await sleep(1000);
      }
    }
  }

  private async pollLoop(): Promise<void> {
    while (!this.stopping) {
      const session = this.session ?? (await this.connect().catch(() => undefined));
      if (!session) {
        await sleep(1000);
        continue;
      }
      try {
        const answer = (await this.request('GET', `${AGENT_API}/sessions/${session.sessionId}/calls?wait_ms=${session.pollTimeoutMs}`, undefined, this.polling.signal)) as { calls?: unknown[] };
        for (const raw of answer.calls ?? []) this.track(this.serve(session, raw));
      } catch (err) {
        await this.recover(err, session);
      }
    }
  }

  /** Whether the engine answers a ping in time: a host whose engine is dead is not kept up by its agent. */
  private async engineAnswers(ms: number): Promise<boolean> {
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref());
    return Promise.race([this.engine.ping().then(() => true, () => false), timeout]);
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.stopping) {
      const session = this.session;
      if (session && !(await this.engineAnswers(session.heartbeatIntervalMs))) {
        this.log(`engine ${this.options.docker} does not answer; no heartbeat`);
      } else if (session) {
        await this.request('POST', `${AGENT_API}/sessions/${session.sessionId}/heartbeat`, undefined, AbortSignal.timeout(session.heartbeatIntervalMs * 2)).catch((err: unknown) => {
          if (err instanceof ControllerError && err.status === 404 && this.session === session) this.session = undefined;
        });
      }
      await sleep(session?.heartbeatIntervalMs ?? 1000);
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  // ---- calls

  private async serve(session: Session, raw: unknown): Promise<void> {
    const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : undefined;
    let result: Result;
    try {
      const call = checked(CallSchema, raw, 'call');
      switch (call.method) {
        case 'snapshot':
        case 'commit':
        case 'logs':
        case 'archiveGet':
          await this.streamOut(session, call);
          return;
        case 'startExec':
        case 'attach':
          await this.socketOut(session, call);
          return;
        case 'archivePut':
          await this.driver!.archivePut(call.args.serverId, call.args.path, await this.callInput(session, call.id));
          result = { ok: true, value: null };
          break;
        default:
          result = { ok: true, value: (await this.run(call, session)) ?? null };
      }
    } catch (err) {
      const e = err as Error & { statusCode?: unknown };
      result = { ok: false, error: { name: e.name || 'Error', message: e.message || String(err), ...(typeof e.statusCode === 'number' ? { statusCode: e.statusCode } : {}) } };
    }
    if (!id || (await this.answer(session, id, result))) return;
    // A server made for a controller that gave up on the call (the session was lost meanwhile) is
    // undone here: the controller counts it as failed, and spawn leaves nothing behind when it fails.
    const call = raw as Call;
    if (call.method === 'spawn' && result.ok) {
      this.log(`spawn of ${call.args.spec.serverId} finished after its session was lost; removing it`);
      await this.driver!.destroy(call.args.spec.serverId).catch((err: Error) => this.log(`removing ${call.args.spec.serverId}: ${err.message}`));
    }
  }

  /** Sends a call's result; false when the controller no longer waits for it. */
  private async answer(session: Session, id: string, answer: Result): Promise<boolean> {
    let result = answer;
    for (let attempt = 0; attempt < 5 && this.session === session; attempt++) {
      try {
        await this.request('POST', `${AGENT_API}/sessions/${session.sessionId}/calls/${id}/result`, result);
        return true;
      } catch (err) {
        // A result the controller cannot take fails the call rather than leaving it open.
        if (err instanceof ControllerError && (err.status === 413 || err.status === 400) && result.ok) {
          result = { ok: false, error: { name: 'Error', message: `the agent's answer was refused: ${err.message}` } };
          continue;
        }
        // Otherwise a 4xx means the controller no longer waits for this call (lost session, or already failed).
        if (err instanceof ControllerError && err.status < 500) return false;
        await sleep(500);
      }
    }
    return false;
  }

  private async run(call: PlainCall, session: Session): Promise<unknown> {
    const d = this.driver!;
    switch (call.method) {
      case 'exec': {
        const r = await d.exec(call.args.serverId, call.args.command, { maxOutputBytes: call.args.maxOutputBytes });
        return { output: r.output.toString('base64'), exitCode: r.exitCode, truncated: r.truncated };
      }
      case 'signal':
        return d.signal(call.args.serverId, call.args.signal);
      case 'createExec':
        return d.createExec(call.args.serverId, call.args.command, { tty: call.args.tty });
      case 'resizeExec':
        return d.resizeExec(call.args.serverId, call.args.execId, call.args.size);
      case 'resizeTty':
        return d.resizeTty(call.args.serverId, call.args.size);
      case 'stats':
        return d.stats(call.args.serverId);
      case 'top':
        return d.top(call.args.serverId, call.args.psArgs);
      case 'inspect':
        return d.inspect(call.args.serverId);
      case 'capacity':
        return d.capacity();
      case 'ensureImage':
        return d.ensureImage(call.args.imageId, call.args.digest, () => this.callInput(session, call.id));
      case 'spawn':
        return d.spawn(asDriverSpec(call.args.spec));
      case 'destroy':
        return d.destroy(call.args.serverId);
      case 'power':
        return d.power(call.args.serverId, call.args.action);
      case 'state':
        return d.state(call.args.serverId);
      case 'resize':
        return d.resize(call.args.serverId, call.args.limits);
      case 'consoleLog':
        return d.consoleLog(call.args.serverId, call.args.tailLines);
      case 'attachInterface':
        return d.attachInterface(call.args.serverId, call.args.nic);
      case 'detachInterface':
        return d.detachInterface(call.args.serverId, call.args.networkName, call.args.address ?? null);
      case 'listServers':
        return d.listServers();
      case 'firewallsChanged':
        this.firewalls.invalidate();
        this.firewalls.events.emit('firewall', call.args.portIds);
        return null;
      case 'floatingIpsChanged':
        this.firewalls.invalidate();
        this.firewalls.events.emit('floatingip');
        return null;
      default: {
        const never: never = call;
        throw new Error(`unknown call ${String((never as { method: string }).method)}`);
      }
    }
  }

  /** The data a streamed call answers with, from the driver. */
  private async openStream(call: StreamCall): Promise<{ data: Readable; meta?: unknown }> {
    const d = this.driver!;
    switch (call.method) {
      case 'snapshot':
        return { data: await d.snapshot(call.args.serverId, call.args.name) };
      case 'commit':
        return { data: await d.commit(call.args.serverId) };
      case 'logs':
        return { data: await d.logs(call.args.serverId, call.args.options) };
      case 'archiveGet': {
        const { stat, data } = await d.archiveGet(call.args.serverId, call.args.path);
        return { data, meta: stat };
      }
      default: {
        const never: never = call;
        throw new Error(`unknown stream call ${String((never as { method: string }).method)}`);
      }
    }
  }

  /** Runs a streamed call and sends its data to the controller as the call's answer (a failure as its result). */
  private async streamOut(session: Session, call: StreamCall): Promise<void> {
    let opened: { data: Readable; meta?: unknown };
    try {
      opened = await this.openStream(call);
    } catch (err) {
      const e = err as Error;
      await this.answer(session, call.id, { ok: false, error: { name: e.name || 'Error', message: e.message } });
      return;
    }
    const { data, meta } = opened;
    const token = await this.login();
    const url = new URL(`${this.controller}${AGENT_API}/sessions/${session.sessionId}/calls/${call.id}/stream`);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'x-auth-token': token };
    if (meta !== undefined) headers[STREAM_META_HEADER] = Buffer.from(JSON.stringify(meta)).toString('base64');
    await new Promise<void>((resolve) => {
      const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'PUT', headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 400) this.log(`${call.method} of ${call.args.serverId}: the controller answered ${res.statusCode}`);
          resolve();
        });
      });
      req.on('error', (err) => {
        this.log(`${call.method} of ${call.args.serverId} not delivered: ${err.message}`);
        data.destroy();
        // Fails the call if the controller never got the data (a 404 when it did: ignored).
        void this.answer(session, call.id, { ok: false, error: { name: 'Error', message: `the ${call.method} stream was cut off: ${err.message}` } }).finally(resolve);
      });
      data.on('error', (err) => req.destroy(err));
      data.pipe(req);
    });
  }

  /**
   * Opens the process session a socket call asks for and joins it to a raw upgraded connection to
   * the controller (GET .../calls/{id}/socket): the session travels over the agent's own connection.
   */
  private async socketOut(session: Session, call: SocketCall): Promise<void> {
    let stream: Duplex;
    try {
      stream = call.method === 'startExec' ? await this.driver!.startExec(call.args.serverId, call.args.execId) : await this.driver!.attach(call.args.serverId);
    } catch (err) {
      const e = err as Error;
      await this.answer(session, call.id, { ok: false, error: { name: e.name || 'Error', message: e.message } });
      return;
    }
    const token = await this.login();
    const url = new URL(`${this.controller}${AGENT_API}/sessions/${session.sessionId}/calls/${call.id}/socket`);
    await new Promise<void>((resolve) => {
      const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'GET', headers: { connection: 'Upgrade', upgrade: SOCKET_PROTOCOL, 'x-auth-token': token } });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        socket.pipe(stream);
        stream.pipe(socket);
        const close = () => {
          socket.destroy();
          stream.destroy();
          resolve();
        };
        socket.on('close', close);
        stream.on('close', close);
        socket.on('error', close);
        stream.on('error', close);
      });
      req.on('response', (res) => {
        res.resume();
        stream.destroy();
        this.log(`${call.method} of ${call.args.serverId}: the controller refused the socket (${res.statusCode})`);
        void this.answer(session, call.id, { ok: false, error: { name: 'Error', message: `the controller refused the session's socket (${res.statusCode})` } }).finally(resolve);
      });
      req.on('error', (err) => {
        stream.destroy();
        void this.answer(session, call.id, { ok: false, error: { name: 'Error', message: `the session's socket failed: ${err.message}` } }).finally(resolve);
      });
      req.end();
    });
  }

  /** The input of a call (archivePut's archive, ensureImage's image), streamed from the controller. */
  private async callInput(session: Session, callId: string): Promise<Readable> {
    const token = await this.login();
    const res = await fetch(`${this.controller}${AGENT_API}/sessions/${session.sessionId}/calls/${callId}/input`, { headers: { 'x-auth-token': token } });
    if (res.status !== 200 || !res.body) throw new Error(`the controller gave no input for call ${callId}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  }
}
