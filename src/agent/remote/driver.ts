// The controller's side of a remote agent: a ComputeDriver that forwards every call to the agent
// connected for its host, and the session that queues those calls until the agent polls for them.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import { BadRequestError, ConflictError, NotFoundError } from '../../platform/errors.ts';
import type { ArchiveStat, ComputeDriver, DriverCapabilities, ExecResult, HostCapacity, InterfaceSpec, LogOptions, PowerState, ProcessStream, ProcessTable, ServerInspect, ServerSpec, ServerState, ServerStats, TtySize } from '../driver.ts';
import { ArchiveStatSchema, asWireSpec, checked, ResultValueSchemas, type Call, type CallMethod, type Result } from './protocol.ts';

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
  /** Calls answered by a stream (snapshot, commit, logs, archiveGet): the data the agent sends, with its meta header. */
  stream?: (data: Readable, meta: unknown) => void;
  /** Calls answered by a socket (startExec, attach): the agent's end of the session. */
  socket?: (socket: Duplex) => void;
  /**
   * The data the agent reads (once) from .../calls/{id}/input: archivePut's archive, or ensureImage's
   * image (opened only when the agent asks: a host that has the image never reads it).
   */
  input?: CallInput;
}

export type CallInput = Readable | (() => Promise<Readable>);

interface CallExtras {
  stream?: Pending['stream'];
  socket?: Pending['socket'];
  input?: CallInput;
}

const dropInput = (input: CallInput | undefined) => {
  if (input && typeof input !== 'function') input.destroy();
};

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
    for (const p of open) {
      dropInput(p.input);
      p.reject(new AgentUnavailableError(`The agent of host ${this.hostId} ${reason}; the outcome of ${p.call.method} is unknown.`));
    }
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
  connect(session: AgentSession, capabilities: DriverCapabilities): void {
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

  private call<M extends CallMethod>(method: M, args: Extract<Call, { method: M }>['args'], extras: CallExtras = {}): Promise<unknown> {
    return this.send(method, args, extras);
  }

  private send(method: CallMethod, args: unknown, extras: CallExtras): Promise<unknown> {
    const s = this.session;
    if (!s || s.closed) {
      dropInput(extras.input);
      return Promise.reject(new AgentUnavailableError(`The agent of host ${this.hostId} is not connected.`));
    }
    return new Promise((resolve, reject) => {
      s.send({ call: { id: randomUUID(), method, args } as Call, delivered: false, resolve, reject, ...extras });
    });
  }

  /** A call the agent answers with a stream (and its meta); a plain result instead is a failure. */
  private streamed<M extends CallMethod>(method: M, args: Extract<Call, { method: M }>['args']): Promise<{ data: Readable; meta: unknown }> {
    return new Promise((resolve, reject) => {
      this.send(method, args, { stream: (data, meta) => resolve({ data, meta }) }).then(
        () => reject(new Error(`the agent answered ${method} without its stream`)),
        reject,
      );
    });
  }

  /** A call the agent answers with a socket. */
  private socketed<M extends CallMethod>(method: M, args: Extract<Call, { method: M }>['args']): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      this.send(method, args, { socket: resolve }).then(() => reject(new Error(`the agent answered ${method} without its socket`)), reject);
    });
  }

  capacity(): Promise<HostCapacity> {
    return this.call('capacity', {}) as Promise<HostCapacity>;
  }

  async ensureImage(imageId: string, digest: string, data: () => Promise<Readable>): Promise<void> {
    // The agent reads the image's data as the call's input, when it lacks the image: its credential
    // needs no right on the image API (it reads only the images it is asked to load).
    await this.call('ensureImage', { imageId, digest }, { input: data });
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

  async snapshot(serverId: string, name: string): Promise<Readable> {
    return (await this.streamed('snapshot', { serverId, name })).data;
  }

  // ---- the container verbs: interactive sessions travel over the agent's call sockets, data over its call streams

  async signal(serverId: string, signal: string): Promise<void> {
    await this.call('signal', { serverId, signal });
  }

  async exec(serverId: string, command: string[], options: { maxOutputBytes: number }): Promise<ExecResult> {
    const r = (await this.call('exec', { serverId, command, maxOutputBytes: options.maxOutputBytes })) as { output: string; exitCode: number; truncated: boolean };
    return { output: Buffer.from(r.output, 'base64'), exitCode: r.exitCode, truncated: r.truncated };
  }

  createExec(serverId: string, command: string[], options: { tty: boolean }): Promise<string> {
    return this.call('createExec', { serverId, command, tty: options.tty }) as Promise<string>;
  }

  startExec(serverId: string, execId: string): Promise<ProcessStream> {
    return this.socketed('startExec', { serverId, execId });
  }

  async resizeExec(serverId: string, execId: string, size: TtySize): Promise<void> {
    await this.call('resizeExec', { serverId, execId, size });
  }

  attach(serverId: string): Promise<ProcessStream> {
    return this.socketed('attach', { serverId });
  }

  async resizeTty(serverId: string, size: TtySize): Promise<void> {
    await this.call('resizeTty', { serverId, size });
  }

  async logs(serverId: string, options: LogOptions): Promise<Readable> {
    return (await this.streamed('logs', { serverId, options })).data;
  }

  async archiveGet(serverId: string, path: string): Promise<{ stat: ArchiveStat; data: Readable }> {
    const { data, meta } = await this.streamed('archiveGet', { serverId, path });
    try {
      return { stat: checked(ArchiveStatSchema, meta, 'archive stat'), data };
    } catch (err) {
      data.destroy();
      throw err;
    }
  }

  async archivePut(serverId: string, path: string, data: Readable): Promise<void> {
    await this.call('archivePut', { serverId, path }, { input: data });
  }

  stats(serverId: string): Promise<ServerStats> {
    return this.call('stats', { serverId }) as Promise<ServerStats>;
  }

  top(serverId: string, psArgs: string | null): Promise<ProcessTable> {
    return this.call('top', { serverId, psArgs }) as Promise<ProcessTable>;
  }

  inspect(serverId: string): Promise<ServerInspect> {
    return this.call('inspect', { serverId }) as Promise<ServerInspect>;
  }

  async commit(serverId: string): Promise<Readable> {
    return (await this.streamed('commit', { serverId })).data;
  }

  async attachInterface(serverId: string, nic: InterfaceSpec): Promise<void> {
    await this.call('attachInterface', { serverId, nic });
  }

  async detachInterface(serverId: string, networkName: string, address?: string | null): Promise<void> {
    await this.call('detachInterface', { serverId, networkName, ...(address ? { address } : {}) });
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
  // An input the agent never read (it failed first) is released.
  dropInput(p.input);
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

/** Hands the data of a streamed call (and its meta) to its caller; false when no such call waits for a stream. */
export function streamCall(session: AgentSession, callId: string, data: Readable, meta: unknown = null): boolean {
  const p = session.pending.get(callId);
  if (!p?.stream) return false;
  session.pending.delete(callId);
  p.stream(data, meta);
  return true;
}

/** Hands the agent's socket to the caller of a socket call; false when no such call waits for one. */
export function socketCall(session: AgentSession, callId: string, socket: Duplex): boolean {
  const p = session.pending.get(callId);
  if (!p?.socket) return false;
  session.pending.delete(callId);
  p.socket(socket);
  return true;
}

/** The input of an archivePut or ensureImage call, once (the call stays open until the agent answers). */
export async function callInput(session: AgentSession, callId: string): Promise<Readable | undefined> {
  const p = session.pending.get(callId);
  const input = p?.input;
  if (p) delete p.input;
  return typeof input === 'function' ? input() : input;
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
