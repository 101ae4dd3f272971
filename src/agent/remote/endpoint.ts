// The controller's agent endpoint (/agent/v1): remote agents register their host, heartbeat, poll
// for driver calls, send back results and snapshot archives, and read their ports' firewalls and floating IPs
// (which the controller routes to the agent's host). Every request carries a Keystone token with the
// admin role (policy `compute:agent`); a session belongs to the user who opened it.
import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { authenticate, contextOf, type RequestContext, type TokenValidator } from '../../platform/auth/context.ts';
import type { ComputeDriver, HostCapacity } from '../driver.ts';
import { ConflictError, NotFoundError } from '../../platform/errors.ts';
import { plainError } from '../../platform/http/envelopes.ts';
import type { HttpServer, ServiceMount } from '../../platform/http/server.ts';
import { AgentSession, callInput, completeCall, RemoteDriver, socketCall, streamCall } from './driver.ts';
import { AGENT_API, AGENT_PREFIX, checked, ProtocolError, RegistrationSchema, ResultSchema, SOCKET_PROTOCOL, STREAM_META_HEADER, type HostFirewalls, type HostFloatingIps, type Session } from './protocol.ts';
import { acceptRawUpgrade, handleUpgrades } from '../../platform/http/upgrade.ts';
import { AgentFloatingIpRoutes, routableHostAddress } from './floating-ip-routes.ts';
import { floatingIpChains } from '../net/floating-ip.ts';
import { cloudTag } from '../docker/host-guard.ts';
import type { NetworkView } from '../net/contract.ts';
import { BadRequestError } from '../../platform/errors.ts';
import type { TSchema, Static } from '@sinclair/typebox';

/** A message from an agent, checked: one that does not match its schema is a 400 naming the field. */
function received<T extends TSchema>(schema: T, body: unknown, what: string): Static<T> {
  try {
    return checked(schema, body, what);
  } catch (err) {
    if (err instanceof ProtocolError) throw new BadRequestError(err.message);
    throw err;
  }
}

/** The largest result an agent may send (a console log, a list of servers). */
export const MAX_RESULT_BYTES = 64 << 20;

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: unknown }>;

/** What the hub asks of compute: its hosts (registration, heartbeats, placements) and the policy. */
export interface AgentHubCompute {
  enforce(ctx: RequestContext, action: string): void;
  hosts: {
    readonly cloudId: string;
    driver(hostId: string): ComputeDriver | undefined;
    register(hostId: string, driver: ComputeDriver, endpoint: string, availabilityZone?: string, capacity?: HostCapacity): Promise<unknown>;
    heartbeat(hostId: string): Promise<void>;
    /** Which host each live server is placed on. */
    placements(): Promise<Map<string, string>>;
  };
}

export interface AgentHubOptions {
  /** An agent not heard from for this long is lost (its open calls fail); its host goes down by the same rule. */
  lostAfterMs: number;
  /** The network service's view for dataplanes: agents enforce the security groups of their host's ports. */
  network?: NetworkView;
  /** Route the floating IPs of agents' servers to their hosts from this machine (default: with `network`). */
  floatingIpRoutes?: boolean;
}

/** The remote drivers by host, and the live sessions by id. */
export class AgentHub {
  private readonly drivers = new Map<string, RemoteDriver>();
  private readonly sessions = new Map<string, AgentSession>();
  private readonly timer: NodeJS.Timeout;
  readonly heartbeatIntervalMs: number;
  readonly pollTimeoutMs: number;
  /** Routes on this machine for the floating IPs of servers on agents' hosts. */
  readonly routes: AgentFloatingIpRoutes | undefined;

  constructor(private readonly compute: AgentHubCompute, private readonly options: AgentHubOptions) {
    this.heartbeatIntervalMs = Math.max(250, Math.floor(options.lostAfterMs / 4));
    this.pollTimeoutMs = Math.min(25_000, Math.max(250, Math.floor(options.lostAfterMs / 2)));
    this.timer = setInterval(() => this.sweep(), Math.min(1000, this.heartbeatIntervalMs));
    this.timer.unref();
    const network = options.network;
    if (network && options.floatingIpRoutes !== false) {
      this.routes = new AgentFloatingIpRoutes({ network, serverHosts: () => this.serverHosts(), chains: floatingIpChains(cloudTag(compute.hosts.cloudId)) });
      this.routes.start();
    }
    network?.events.on('firewall', this.onFirewall);
    network?.events.on('floatingip', this.onFloatingIps);
    network?.events.on('port-deleted', this.onFloatingIps);
  }

  private readonly onFirewall = (portIds: string[]) => void this.firewallsChanged(portIds).catch(() => undefined);
  /** A floating IP moved (or its port went): routes here follow, and every agent re-reads its host's. */
  private readonly onFloatingIps = () => {
    this.routes?.sync();
    for (const s of this.sessions.values()) void this.drivers.get(s.hostId)?.floatingIpsChanged().catch(() => undefined);
  };

  private async serversOf(hostId: string): Promise<Set<string>> {
    return new Set([...(await this.serverHosts())].filter(([, h]) => h === hostId).map(([id]) => id));
  }

  private async serverHosts(): Promise<Map<string, string>> {
    return this.compute.hosts.placements();
  }

  /** The floating IPs of ports bound to servers of the session's host (and no others). */
  async floatingIps(s: AgentSession): Promise<HostFloatingIps> {
    const network = this.options.network;
    if (!network) return { floatingIps: [] };
    const servers = await this.serversOf(s.hostId);
    const serverOf = new Map((await network.boundPorts()).filter((p) => servers.has(p.serverId)).map((p) => [p.portId, p.serverId]));
    const floatingIps: HostFloatingIps['floatingIps'] = [];
    for (const m of await network.floatingIpMappings()) {
      const serverId = serverOf.get(m.portId);
      if (serverId) floatingIps.push({ ...m, serverId });
    }
    return { floatingIps };
  }

  /** Each connected agent hears of the changed ports of its own host's servers. */
  private async firewallsChanged(portIds: string[]): Promise<void> {
    const network = this.options.network;
    if (!network || this.sessions.size === 0) return;
    const serverOf = new Map((await network.boundPorts()).map((p) => [p.portId, p.serverId]));
    const hostOf = await this.serverHosts();
    const byHost = new Map<string, string[]>();
    for (const portId of new Set(portIds)) {
      const serverId = serverOf.get(portId);
      const hostId = serverId ? hostOf.get(serverId) : undefined;
      if (!hostId) continue;
      let list = byHost.get(hostId);
      if (!list) byHost.set(hostId, (list = []));
      list.push(portId);
    }
    // A lost agent misses nothing: its dataplane re-reads every firewall when it starts and every few seconds.
    for (const [hostId, ids] of byHost) void this.drivers.get(hostId)?.firewallsChanged(ids).catch(() => undefined);
  }

  /** The ports bound to servers of the session's host, each with its compiled firewall. */
  async firewalls(s: AgentSession): Promise<HostFirewalls> {
    const network = this.options.network;
    if (!network) return { ports: [] };
    const servers = await this.serversOf(s.hostId);
    const ports = (await network.boundPorts()).filter((p) => servers.has(p.serverId));
    return { ports: await Promise.all(ports.map(async (p) => ({ ...p, firewall: (await network.portFirewall(p.portId)) ?? null }))) };
  }

  private sweep(): void {
    const now = Date.now();
    for (const s of this.sessions.values()) {
      if (now - s.lastSeen > this.options.lostAfterMs) this.end(s, 'stopped answering');
    }
  }

  private end(s: AgentSession, reason: string): void {
    this.sessions.delete(s.id);
    const driver = this.drivers.get(s.hostId);
    if (driver?.current === s) {
      driver.lose(reason);
      this.routes?.hostGone(s.hostId);
    } else s.close(reason);
  }

  async register(userId: string, body: unknown): Promise<Session> {
    const reg = received(RegistrationSchema, body, 'registration');
    if (reg.address !== undefined && !routableHostAddress(reg.address)) throw new BadRequestError(`registration: address ${reg.address} cannot carry floating IPs (a unicast IPv4 address of the host is needed).`);
    let driver = this.drivers.get(reg.hostId);
    if (!driver) {
      if (this.compute.hosts.driver(reg.hostId)) throw new ConflictError(`Host ${reg.hostId} is driven by the controller itself; an agent cannot take it over.`);
      driver = new RemoteDriver(reg.hostId, reg.capabilities);
      this.drivers.set(reg.hostId, driver);
    }
    const session = new AgentSession(reg.hostId, userId);
    const previous = driver.current;
    if (previous) this.sessions.delete(previous.id);
    driver.connect(session, reg.capabilities);
    this.sessions.set(session.id, session);
    await this.compute.hosts.register(reg.hostId, driver, reg.endpoint, reg.availabilityZone ?? 'nova', reg.capacity);
    this.routes?.hostConnected(reg.hostId, reg.address);
    return { sessionId: session.id, hostId: reg.hostId, cloudId: this.compute.hosts.cloudId, heartbeatIntervalMs: this.heartbeatIntervalMs, pollTimeoutMs: this.pollTimeoutMs };
  }

  session(userId: string, id: string): AgentSession {
    const s = this.sessions.get(id);
    // Another user's session is as unknown as a lost one: the agent registers again.
    if (!s || s.userId !== userId) throw new NotFoundError('No such agent session (lost or replaced): register again.');
    s.seen();
    return s;
  }

  async heartbeat(s: AgentSession): Promise<void> {
    await this.compute.hosts.heartbeat(s.hostId);
  }

  leave(s: AgentSession): void {
    this.end(s, 'disconnected');
  }

  /** Ends every session (the controller stops): waiting polls are answered, open calls fail, routes go. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.options.network?.events.off('firewall', this.onFirewall);
    this.options.network?.events.off('floatingip', this.onFloatingIps);
    this.options.network?.events.off('port-deleted', this.onFloatingIps);
    for (const s of [...this.sessions.values()]) this.end(s, 'was cut off by the controller stopping');
    await this.routes?.stop();
  }
}

export function agentMount(hub: AgentHub, compute: AgentHubCompute, validator: TokenValidator): ServiceMount {
  return {
    prefix: AGENT_PREFIX,
    renderError: plainError,
    register: async (app: HttpServer) => {
      app.addHook('preHandler', authenticate(validator));
      app.addHook('preHandler', async (request) => {
        if (request.is404) return;
        compute.enforce(contextOf(request), 'agent');
      });
      // Snapshot archives arrive as a raw stream, consumed by the image service as it comes.
      app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
      const sessionOf = (request: Req) => hub.session(contextOf(request).userId, request.params.session!);

      app.post('/v1/sessions', async (request: Req, reply) => {
        reply.code(201).send(await hub.register(contextOf(request).userId, request.body));
      });
      app.delete('/v1/sessions/:session', async (request: Req, reply) => {
        hub.leave(sessionOf(request));
        reply.code(204).send();
      });
      app.post('/v1/sessions/:session/heartbeat', async (request: Req, reply) => {
        await hub.heartbeat(sessionOf(request));
        reply.code(204).send();
      });
      app.get('/v1/sessions/:session/network/firewalls', async (request: Req) => hub.firewalls(sessionOf(request)));
      app.get('/v1/sessions/:session/network/floating-ips', async (request: Req) => hub.floatingIps(sessionOf(request)));
      app.get('/v1/sessions/:session/calls', async (request: Req, reply) => {
        const s = sessionOf(request);
        const wait = request.query.wait_ms === undefined ? hub.pollTimeoutMs : Math.min(hub.pollTimeoutMs, Math.max(0, Number(request.query.wait_ms) || 0));
        const calls = await s.take(wait, () => reply.raw.destroyed || request.raw.socket.destroyed);
        if (s.closed && calls.length === 0) throw new NotFoundError('The agent session ended: register again.');
        return { calls };
      });
      // Results can be larger than API bodies (a whole console log).
      app.post('/v1/sessions/:session/calls/:call/result', { bodyLimit: MAX_RESULT_BYTES }, async (request: Req, reply) => {
        const s = sessionOf(request);
        if (!completeCall(s, request.params.call!, received(ResultSchema, request.body, 'result'))) throw new NotFoundError(`No open call ${request.params.call}.`);
        reply.code(204).send();
      });
      app.put('/v1/sessions/:session/calls/:call/stream', async (request: Req, reply) => {
        const s = sessionOf(request);
        const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim();
        if (type !== 'application/octet-stream') throw new BadRequestError('A call stream is application/octet-stream.');
        const data = request.body as Readable;
        const done = new Promise<void>((resolve) => data.once('close', () => resolve()));
        let meta: unknown = null;
        const metaHeader = request.headers[STREAM_META_HEADER];
        if (typeof metaHeader === 'string') {
          try {
            meta = JSON.parse(Buffer.from(metaHeader, 'base64').toString('utf8'));
          } catch {
            throw new BadRequestError(`${STREAM_META_HEADER} is not base64 JSON.`);
          }
        }
        // The caller checks the meta against its call's schema (see RemoteDriver.archiveGet).
        if (!streamCall(s, request.params.call!, data, meta)) throw new NotFoundError(`No open streamed call ${request.params.call}.`);
        // Answered once the consumer has read (or dropped) the archive, while the agent keeps heart-beating.
        // A consumer that gave up without destroying the stream (it failed before reading) must not
        // hold the request forever: no progress for a minute ends it.
        let last = -1;
        const watchdog = setInterval(() => {
          const read = request.raw.socket?.bytesRead ?? 0;
          if (read === last) data.destroy(new Error('the snapshot archive was not read for 60 s'));
          last = read;
        }, 60_000);
        await done.finally(() => clearInterval(watchdog));
        reply.code(204).send();
      });
      // The archive of an archivePut call or the image of an ensureImage call, read once by the agent.
      app.get('/v1/sessions/:session/calls/:call/input', async (request: Req, reply) => {
        const input = await callInput(sessionOf(request), request.params.call!);
        if (!input) throw new NotFoundError(`No input waits for call ${request.params.call}.`);
        reply.header('content-type', 'application/octet-stream');
        return reply.send(input);
      });
      // The agent's end of a process session (startExec, attach): a raw upgraded connection, bytes both ways.
      handleUpgrades(app, `${AGENT_API}/sessions`, async (request, socket, head) => {
        const m = /^\/agent\/v1\/sessions\/([^/]+)\/calls\/([^/]+)\/socket$/.exec((request.url ?? '').split('?')[0]!);
        if (!m) throw new NotFoundError('No such agent socket.');
        if (String(request.headers.upgrade ?? '').toLowerCase() !== SOCKET_PROTOCOL) throw new BadRequestError(`An agent socket upgrades to ${SOCKET_PROTOCOL}.`);
        const header = request.headers['x-auth-token'];
        const ctx = await validator.validate((Array.isArray(header) ? header[0] : header) ?? '');
        compute.enforce(ctx, 'agent');
        const s = hub.session(ctx.userId, decodeURIComponent(m[1]!));
        const callId = decodeURIComponent(m[2]!);
        if (!s.pending.get(callId)?.socket) throw new NotFoundError(`No open socket call ${callId}.`);
        acceptRawUpgrade(socket, SOCKET_PROTOCOL);
        if (head.length > 0) socket.unshift(head);
        socketCall(s, callId, socket);
      });
    },
  };
}
