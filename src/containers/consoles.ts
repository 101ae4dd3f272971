// Interactive sessions over websockets (Zun's websocket proxy): attach and interactive execute hand
// out a URL with a one-time token; the client's websocket there is joined to the process's session
// through compute's verbs (and a remote host's agent), bytes both ways. A token is good once, for a
// few minutes, for the container (and exec) it was issued for, with the rights of whom it was issued to.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestContext } from '../platform/auth/context.ts';
import { ForbiddenError, NotFoundError } from '../platform/errors.ts';
import { acceptWebSocket, isWebSocketRequest } from '../platform/http/websocket.ts';
import { BadRequestError } from '../platform/errors.ts';
import type { ZunCore } from './core.ts';
import type { ContainerRow } from './store.ts';

const TOKEN_TTL_MS = 5 * 60_000;
/** Tokens outstanding at once (a bound on what callers can pile up). */
const MAX_TOKENS = 10_000;

interface Grant {
  ctx: RequestContext;
  containerUuid: string;
  containerName: string;
  execId: string | null;
  expiresAt: number;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

export class Consoles {
  /** Grants by the hash of their token. */
  private readonly grants = new Map<string, Grant>();

  constructor(private readonly core: ZunCore, private readonly wsBase: string) {}

  /** A one-time URL for a session with the container's main process, or with a prepared exec. */
  issue(ctx: RequestContext, row: ContainerRow, execId: string | null): string {
    this.sweep();
    if (this.grants.size >= MAX_TOKENS) throw new ForbiddenError('Too many interactive sessions are waiting to be opened; try again shortly.');
    const token = randomBytes(32).toString('hex');
    this.grants.set(digest(token).toString('hex'), { ctx, containerUuid: row.uuid, containerName: row.name, execId, expiresAt: Date.now() + TOKEN_TTL_MS });
    const q = new URLSearchParams({ token, uuid: row.uuid, ...(execId ? { exec_id: execId } : {}) });
    return `${this.wsBase}?${q.toString()}`;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, g] of this.grants) if (g.expiresAt < now) this.grants.delete(k);
  }

  /** Takes a websocket upgrade: checks its token (once), opens the session, joins the two. */
  async open(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!isWebSocketRequest(request)) throw new BadRequestError('This URL takes websocket connections only.');
    const q = new URL(request.url ?? '/', 'http://x').searchParams;
    const token = q.get('token') ?? '';
    const key = digest(token).toString('hex');
    const grant = this.grants.get(key);
    this.grants.delete(key);
    // One answer for every token that does not open this session: unknown, used, expired or another's.
    const invalid = () => new ForbiddenError(`Invalid websocket token ${token.slice(0, 8)}...`);
    if (!grant || grant.expiresAt < Date.now()) throw invalid();
    const uuid = q.get('uuid') ?? '';
    if (uuid !== grant.containerUuid && uuid !== grant.containerName) throw invalid();
    if ((q.get('exec_id') ?? null) !== grant.execId) throw invalid();
    const row = await this.core.store.container(grant.containerUuid);
    if (!row) throw new NotFoundError(`Container ${uuid} could not be found.`);
    const verbs = await this.core.clients.compute.verbs(grant.ctx, grant.containerUuid);
    const session = grant.execId ? await verbs.startExec(grant.execId) : await verbs.attach();
    const ws = acceptWebSocket(request, socket, head);
    // The client going away detaches (the process keeps its stdin); it does not end the process's input.
    ws.pipe(session, { end: false });
    ws.on('end', () => session.destroy());
    session.pipe(ws);
    const close = () => {
      ws.destroy();
      session.destroy();
    };
    ws.on('close', close);
    ws.on('error', close);
    session.on('error', close);
    // The process ended: the client hears the close once the output before it has gone out.
    session.on('end', () => ws.end());
  }
}
