// Reading servers: lists with Nova's filters (narrowed in SQL where a column serves, paged by
// keyset), and their addresses, read live from the network service (floating IPs come and go).
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import type { ServerListQuery } from './schemas.ts';
import { novaStatus } from './states.ts';
import type { ServerRow, WorkloadKind } from './tables.ts';

export class ServerListing {
  constructor(private readonly core: ComputeCore) {}

  async list(ctx: RequestContext, q: ServerListQuery, kind: WorkloadKind = 'server'): Promise<ServerRow[]> {
    this.core.enforce(ctx, 'servers:index');
    const admin = this.core.isAdmin(ctx);
    const all = admin && (q.all_tenants === '1' || q.all_tenants === 'true' || q.all_tenants === 'True' || q.all_tenants === '');
    const projectId = all ? q.project_id || undefined : q.project_id && admin ? q.project_id : this.core.projectOf(ctx);
    let changesSince: string | undefined;
    if (q['changes-since']) {
      const t = new Date(q['changes-since']);
      if (Number.isNaN(t.getTime())) throw new BadRequestError(`Invalid changes-since value: ${q['changes-since']}`);
      changesSince = t.toISOString();
    }
    const limit = q.limit;
    let after: ServerRow | undefined;
    if (q.marker) {
      after = await this.core.store.server(q.marker);
      if (!after || after.kind !== kind || (projectId !== undefined && after.project_id !== projectId)) throw new BadRequestError(`marker [${q.marker}] not found`);
    }
    const sqlFilter = {
      kind,
      ...(projectId !== undefined ? { projectId } : {}),
      ...(q.image ? { imageId: q.image } : {}),
      ...(q.flavor ? { flavorId: q.flavor } : {}),
      ...(q.host && admin ? { hostId: q.host } : {}),
      ...(changesSince ? { changesSince } : {}),
      ...(after ? { after } : {}),
    };
    // Name (a regex) and status are matched here; without them the page is cut in SQL.
    if (!q.name && !q.status) return this.core.store.serversPage({ ...sqlFilter, ...(limit !== undefined ? { limit } : {}) });
    let rows = await this.core.store.serversPage(sqlFilter);
    if (q.name) {
      let re: RegExp;
      try {
        re = new RegExp(q.name);
      } catch {
        throw new BadRequestError(`Invalid name filter: ${q.name}`);
      }
      rows = rows.filter((r) => re.test(r.name));
    }
    if (q.status) rows = rows.filter((r) => novaStatus(r) === q.status!.toUpperCase());
    return limit !== undefined ? rows.slice(0, limit) : rows;
  }

  /** The server's addresses now, as Nova shows them. */
  async addresses(row: ServerRow): Promise<unknown> {
    return (await this.addressesOf([row])).get(row.id);
  }

  /** addresses() for many servers: one read of the network service for all. */
  async addressesOf(rows: ServerRow[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    const live = rows.filter((r) => r.vm_state !== 'building' && r.vm_state !== 'error');
    const fromNetwork = live.length ? await this.core.network.serversAddresses(live.map((r) => r.id)) : new Map();
    for (const r of rows) out.set(r.id, fromNetwork.get(r.id) ?? JSON.parse(r.addresses));
    return out;
  }
}
