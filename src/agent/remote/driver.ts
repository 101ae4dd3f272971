// The controller's side of a remote agent: a ComputeDriver that forwards every call to the agent
// connected for its host, and the session that queues those calls until the agent polls for them.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BadRequestError, ConflictError, NotFoundError } from '../../platform/errors.ts';
import type { ComputeDriver, DriverCapabilities, HostCapacity, InterfaceSpec, PowerState, ServerSpec, ServerState } from '../driver.ts';
import { asWireSpec, checked, ResultValueSchemas, type Call, type CallMethod, type Result } from './protocol.ts';

/**
 * The host's agent is not connected, or went away before answering: the call's outcome is unknown.
 * A conflict with the host's state, as the API answers it (409), like an action on a host that is down.
 */
export class AgentUnavailableError extends ConflictError {
  override readonly name = 'AgentUnavailableError';
}

interface Pending {
  call: Call;
  /** Handed to the agent in a poll answer (it may have acted on it). */
  delivered: boolean;
  resolve(value: unknown): void;
  reject(err: Error): void;
  /** Snapshots only: the archive the agent streams back. */
  stream?: (data: Readable) => void;
}

/** One connection of an agent process (from its registration until it is lost or replaced). */
export class AgentSession {
  readonly id = randomBytes(24).toString('base64url');
  lastSeen = Date.now();
  readonly queue: Call[] = [];
  readonly pending = new Map<string, Pending>();
  /** The poll waiting for calls: woken with the queue, or dismissed empty. */
  private waiter: { wake(): void; dismiss(): void } | undefined;
  closed = false;

  constructor(readonly hostId: string, readonly userId: string) {}

  seen(): void {
    this.lastSeen = Date.now();
  }

  send(p: Pending): void {
    this.pending.set(p.call.id, p);
    this.queue.push(p.call);
    this.waiter?.wake();
  }

  /** The calls waiting for the agent, at once or as soon as one comes (empty after `waitMs`). */
  take(waitMs: number, gone: () => boolean): Promise<Call[]> {
    this.seen();
    // One poll at a time: a newer poll answers the older one empty.
    this.waiter?.dismiss();
    if (this.queue.length > 0 || this.closed) return Promise.resolve(this.drain());
    return new Promise((resolve) => {
      const finish = (calls: () => Call[]) => {
        clearTimeout(timer);
        if (this.waiter === waiter) this.waiter = undefined;
        resolve(calls());
      };
      // A poll whose connection is gone takes nothing: the calls stay for the next one.
      const waiter = { wake: () => finish(() => (gone() ? [] : this.drain())), dismiss: () => finish(() => []) };
      const timer = setTimeout(waiter.dismiss, waitMs);
      this.waiter = waiter;
    });
  }

  private drain(): Call[] {
    const calls = this.queue.splice(0);
    for (const c of calls) this.pending.get(c.id)!.delivered = true;
    return calls;
  }

  /** Ends the session: every call not answered fails; returns the calls that had reached the agent. */
  close(reason: string): Pending[] {
    this.closed = true;
    this.waiter?.dismiss();
    const open = [...this.pending.values()];
    this.pending.clear();
    this.queue.length = 0;
    for (const p of open) p.reject(new AgentUnavailableError(`The agent of host ${this.hostId} ${reason}; the outcome of ${p.call.method} is unknown.`));
    return open;
  }
}

export class RemoteDriver implements ComputeDriver {
  readonly capabilities: DriverCapabilities;
  private session: AgentSession | undefined;
  /** Servers whose spawn was cut off by a lost agent: destroyed as soon as an agent is back. */
  private readonly orphans = new Set<string>();

  constructor(readonly hostId: string, capabilities: DriverCapabilities) {
    this.capabilities = { ...capabilities };
  }

  get current(): AgentSession | undefined {
    return this.session;
  }

  /** A newly registered agent takes over the host; the previous session's open calls fail. */
  attach(session: AgentSession, capabilities: DriverCapabilities): void {
    this.lose('was replaced by a new agent connection');
    Object.assign(this.capabilities, capabilities);
    this.session = session;
    for (const serverId of [...this.orphans]) {
      this.call('destroy', { serverId }).then(() => this.orphans.delete(serverId), () => undefined);
    }
  }

  /** The agent is gone: calls fail at once until one registers again. */
  lose(reason: string): void {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    for (const p of s.close(reason)) {
      if (p.delivered && p.call.method === 'spawn') this.orphans.add(p.call.args.spec.serverId);
    }
  }

  private call<M extends CallMethod>(method: M, args: Extract<Call, { method: M }>['args'], stream?: (data: Readable) => void): Promise<unknown> {
    const s = this.session;
    if (!s || s.closed) return Promise.reject(new AgentUnavailableError(`The agent of host ${this.hostId} is not connected.`));
    return new Promise((resolve, reject) => {
      s.send({ call: { id: randomUUID(), method, args } as Call, delivered: false, resolve, reject, ...(stream ? { stream } : {}) });
    });
  }

  capacity(): Promise<HostCapacity> {
    return this.call('capacity', {}) as Promise<HostCapacity>;
  }

  async ensureImage(imageId: string, digest: string, _data: () => Promise<Readable>): Promise<void> {
    // The agent reads the image data from the image API itself, with its own credentials.
    await this.call('ensureImage', { imageId, digest });
  }

  /** A spawn the agent was lost in the middle of is destroyed once the host's agent is back (see attach). */
  spawn(spec: ServerSpec): Promise<ServerState> {
    // Cluster nodes need a nested engine's rights, which hafen grants on the engines it drives itself only.
    if (spec.infrastructure) return Promise.reject(new Error('infrastructure workloads (cluster nodes) run on the engines the controller drives, not on agents\' hosts'));
    const { infrastructure: _none, ...wire } = spec;
    return this.call('spawn', { spec: asWireSpec(wire) }) as Promise<ServerState>;
  }

  async destroy(serverId: string): Promise<void> {
    await this.call('destroy', { serverId });
    this.orphans.delete(serverId);
  }

  power(serverId: string, action: 'start' | 'stop' | 'reboot' | 'hard-reboot' | 'pause' | 'unpause'): Promise<ServerState> {
    return this.call('power', { serverId, action }) as Promise<ServerState>;
  }

  state(serverId: string): Promise<ServerState> {
    return this.call('state', { serverId }) as Promise<ServerState>;
  }

  async resize(serverId: string, limits: { memoryMiB: number; vcpus: number; pidsLimit: number }): Promise<void> {
    await this.call('resize', { serverId, limits });
  }

  consoleLog(serverId: string, tailLines: number | null): Promise<string> {
    return this.call('consoleLog', { serverId, tailLines }) as Promise<string>;
  }

  snapshot(serverId: string, name: string): Promise<Readable> {
    return new Promise((resolve, reject) => {
      this.call('snapshot', { serverId, name }, resolve).then(
        () => reject(new Error('the agent answered a snapshot without its archive')),
        reject,
      );
    });
  }

  async attachInterface(serverId: string, nic: InterfaceSpec): Promise<void> {
    await this.call('attachInterface', { serverId, nic });
  }

  async detachInterface(serverId: string, networkName: string): Promise<void> {
    await this.call('detachInterface', { serverId, networkName });
  }

  listServers(): Promise<{ serverId: string; power: PowerState }[]> {
    return this.call('listServers', {}) as Promise<{ serverId: string; power: PowerState }[]>;
  }

  /** Not a driver call: tells the agent's dataplane that these ports' firewalls changed. */
  async firewallsChanged(portIds: string[]): Promise<void> {
    await this.call('firewallsChanged', { portIds });
  }

  /** Not a driver call: tells the agent's dataplane that floating IPs changed (it re-reads its host's). */
  async floatingIpsChanged(): Promise<void> {
    await this.call('floatingIpsChanged', {});
  }
}

/** Settles a call with the agent's result (schema-checked); false when the call is unknown. */
export function completeCall(session: AgentSession, callId: string, result: Result): boolean {
  const p = session.pending.get(callId);
  if (!p) return false;
  session.pending.delete(callId);
  if (!result.ok) {
    p.reject(errorFromAgent(result.error));
    return true;
  }
  try {
    p.resolve(checked(ResultValueSchemas[p.call.method], result.value ?? null, `result of ${p.call.method}`));
  } catch (err) {
    p.reject(err as Error);
  }
  return true;
}

/** Hands the archive of a snapshot call to its caller; false when no snapshot call has that id. */
export function streamCall(session: AgentSession, callId: string, data: Readable): boolean {
  const p = session.pending.get(callId);
  if (!p?.stream) return false;
  session.pending.delete(callId);
  p.stream(data);
  return true;
}

/** The agent's error with the meaning it had there: the domain errors the service tells apart keep their class. */
function errorFromAgent(e: { name: string; message: string; statusCode?: number }): Error {
  switch (e.name) {
    case 'ConflictError':
      return new ConflictError(e.message);
    case 'NotFoundError':
      return new NotFoundError(e.message);
    case 'BadRequestError':
      return new BadRequestError(e.message);
    default:
      return Object.assign(new Error(e.message), { name: e.name, ...(e.statusCode !== undefined ? { statusCode: e.statusCode } : {}) });
  }
}
