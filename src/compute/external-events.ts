// os-server-external-events (admins): the network or volume service tells compute that something
// happened to a server's port or disk. hafen's servers read their addresses live from the network
// service, so an accepted event needs no further work; each is answered as Nova answers it.
import type { RequestContext } from '../platform/auth/context.ts';
import { NotFoundError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';

export interface ExternalEvent {
  name: string;
  server_uuid: string;
  status?: string;
  tag?: string;
}

export interface ExternalEventResult extends ExternalEvent {
  status: string;
  /** 200 accepted, 404 no such server, 422 the server is on no host yet. */
  code: number;
}

export class ExternalEvents {
  constructor(private readonly core: ComputeCore) {}

  /** Answers each event with its code, and 207 when some were refused (404 when none was taken). */
  async deliver(ctx: RequestContext, events: ExternalEvent[]): Promise<{ status: 200 | 207; events: ExternalEventResult[] }> {
    this.core.enforce(ctx, 'external_events');
    const out: ExternalEventResult[] = [];
    const rows = new Map<string, Awaited<ReturnType<typeof this.core.store.server>>>();
    for (const e of events) {
      if (!rows.has(e.server_uuid)) rows.set(e.server_uuid, await this.core.store.server(e.server_uuid));
      const row = rows.get(e.server_uuid);
      const code = !row ? 404 : row.host_id ? 200 : 422;
      out.push({ name: e.name, server_uuid: e.server_uuid, status: e.status ?? 'completed', ...(e.tag !== undefined ? { tag: e.tag } : {}), code });
    }
    if (!out.some((e) => e.code === 200)) throw new NotFoundError('No instances found for any event');
    return { status: out.every((e) => e.code === 200) ? 200 : 207, events: out };
  }
}
