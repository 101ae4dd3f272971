// Reading servers: lists with Nova's filters (narrowed in SQL where a column serves, paged by
// keyset), and their addresses, read live from the network service (floating IPs come and go).
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError } from '../platform/errors.ts';
import { RE2JS } from 're2js';
import { AddressTexts } from './address-texts.ts';
import { yieldToIo, type ComputeCore } from './core.ts';
import type { ServerListQuery } from './schemas.ts';
import { LATEST, type At } from './views.ts';
import { novaStatus } from './states.ts';
import type { ServerFilter } from './store.ts';
import type { ServerRevision, ServerRow, WorkloadKind } from './tables.ts';
import { tagFilter } from './tags.ts';

/** The statuses Nova knows (a filter naming another is refused from 2.38). */
const STATUSES = new Set(['ACTIVE', 'BUILD', 'DELETED', 'ERROR', 'HARD_REBOOT', 'MIGRATING', 'PASSWORD', 'PAUSED', 'REBOOT', 'REBUILD', 'RESCUE', 'RESIZE', 'REVERT_RESIZE', 'SHELVED', 'SHELVED_OFFLOADED', 'SHUTOFF', 'SOFT_DELETED', 'SUSPENDED', 'UNKNOWN', 'VERIFY_RESIZE']);

/** Nova's server list parameters (those hafen does not filter on are accepted and ignored, as Nova's unused ones are). */
const KNOWN_FILTERS = new Set([
  'user_id', 'project_id', 'tenant_id', 'launch_index', 'image_ref', 'image', 'kernel_id', 'ramdisk_id', 'hostname', 'key_name', 'power_state', 'vm_state', 'task_state',
  'host', 'node', 'flavor', 'reservation_id', 'launched_at', 'terminated_at', 'availability_zone', 'name', 'display_name', 'description', 'display_description',
  'locked_by', 'uuid', 'root_device_name', 'config_drive', 'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'progress', 'sort_key', 'sort_dir', 'all_tenants',
  'soft_deleted', 'deleted', 'status', 'changes-since', 'ip', 'ip6', 'created_at', 'block_device_mapping', 'services', 'metadata', 'system_metadata', 'info_cache',
  'security_groups', 'pci_devices', 'limit', 'marker', 'tags', 'tags-any', 'not-tags', 'not-tags-any', 'changes-before', 'locked',
]);

/** A server's `networks` column when it was booted with `networks: none`. */
const NO_NETWORKS = JSON.stringify('none');

/** Nova's `max_limit`: the most servers one page holds. */
export const MAX_LIMIT = 1000;
/** Rows read and matched per turn of the event loop when a filter runs outside SQL. */
const SCAN_PAGE = 500;

/** Nova's tag filters (2.26), each a comma-separated list. */
function tagFilters(q: Record<string, unknown>) {
  const read = (k: string) => tagFilter(typeof q[k] === 'string' ? (q[k] as string) : undefined);
  const tags = read('tags');
  const tagsAny = read('tags-any');
  const notTags = read('not-tags');
  const notTagsAny = read('not-tags-any');
  return { ...(tags ? { tags } : {}), ...(tagsAny ? { tagsAny } : {}), ...(notTags ? { notTags } : {}), ...(notTagsAny ? { notTagsAny } : {}) };
}

export class ServerListing {
  private readonly addressTexts: AddressTexts;

  constructor(private readonly core: ComputeCore) {
    this.addressTexts = new AddressTexts(core.network);
  }

  async list(ctx: RequestContext, q: ServerListQuery, kind: WorkloadKind = 'server', at: At = LATEST): Promise<ServerRow[]> {
    return this.select(ctx, q, kind, at, (f) => this.core.store.serversPage(f));
  }

  /**
   * list() as ids and revisions, for views kept by revision: where the page is cut in SQL only those
   * two columns are read (a filter matched in JavaScript reads whole rows, which are answered whole).
   */
  async listRevisions(ctx: RequestContext, q: ServerListQuery, kind: WorkloadKind = 'server', at: At = LATEST): Promise<(ServerRevision | ServerRow)[]> {
    return this.select(ctx, q, kind, at, (f) => this.core.store.serverRevisionsPage(f));
  }

  /** Live servers by id (in no particular order): the rows behind views that are not kept yet. */
  byIds(ids: string[]): Promise<ServerRow[]> {
    return ids.length ? this.core.store.serversById(ids) : Promise.resolve([]);
  }

  private async select<T extends { id: string }>(ctx: RequestContext, q: ServerListQuery, kind: WorkloadKind, at: At, readPage: (filter: ServerFilter) => Promise<T[]>): Promise<(T | ServerRow)[]> {
    this.core.enforce(ctx, 'servers:index');
    // 2.75: an unknown filter is an error instead of being ignored.
    if (at('2.75')) for (const k of Object.keys(q)) if (!KNOWN_FILTERS.has(k)) throw new BadRequestError(`Invalid input for query parameters ${k}. Additional properties are not allowed ('${k}' was unexpected)`);
    // 2.38: a status Nova does not have is an error instead of an empty list.
    if (at('2.38') && q.status !== undefined && !STATUSES.has(q.status.toUpperCase())) throw new BadRequestError(`Invalid status value: ${q.status}`);
    const admin = this.core.isAdmin(ctx);
    const all = admin && (q.all_tenants === '1' || q.all_tenants === 'true' || q.all_tenants === 'True' || q.all_tenants === '');
    const projectId = all ? q.project_id || undefined : q.project_id && admin ? q.project_id : this.core.projectOf(ctx);
    let changesSince: string | undefined;
    if (q['changes-since']) {
      const t = new Date(q['changes-since']);
      if (Number.isNaN(t.getTime())) throw new BadRequestError(`Invalid changes-since value: ${q['changes-since']}`);
      changesSince = t.toISOString();
    }
    // Nova's max_limit: a page is at most 1,000 servers, and that is the page when none is asked for.
    const limit = Math.min(q.limit ?? MAX_LIMIT, MAX_LIMIT);
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
      ...(at('2.26') ? tagFilters(q as Record<string, unknown>) : {}),
    };
    // Without name (a pattern) or status the page is cut in SQL.
    if (!q.name && !q.status) return readPage({ ...sqlFilter, ...(after ? { after } : {}), limit });
    let name: RE2JS | undefined;
    if (q.name) {
      try {
        // RE2's semantics: matched in time linear in the name, whatever the pattern.
        name = RE2JS.compile(q.name);
      } catch {
        throw new BadRequestError(`Invalid name filter: ${q.name}`);
      }
    }
    const status = q.status?.toUpperCase();
    // Matched a page of rows at a time, yielding in between, until the page of answers is full.
    const out: ServerRow[] = [];
    for (;;) {
      const rows = await this.core.store.serversPage({ ...sqlFilter, ...(after ? { after } : {}), limit: SCAN_PAGE });
      for (const r of rows) {
        if (name && !name.matcher(r.name).find()) continue;
        if (status && novaStatus(r) !== status) continue;
        out.push(r);
        if (out.length >= limit) return out;
      }
      if (rows.length < SCAN_PAGE) return out;
      after = rows[rows.length - 1];
      await yieldToIo();
    }
  }

  /** Every live workload placed on a host (any kind), oldest last, a page at a time (admin views). */
  onHost(hostId: string, limit: number, after?: { created_at: string; id: string }): Promise<ServerRow[]> {
    return this.core.store.serversPage({ hostId, limit, ...(after ? { after } : {}) });
  }

  /** The server's addresses now, as Nova shows them. */
  async addresses(row: ServerRow): Promise<unknown> {
    return (await this.addressesOf([row])).get(row.id);
  }

  /**
   * addresses() for many servers: one read of the network service for all. A server booted without
   * networking (`networks: none`) never takes a port (its container has none to plug one into), so
   * the network service is not asked about it: a poll of such a server reads one row.
   */
  async addressesOf(rows: ServerRow[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    const fromNetwork = await this.liveAddresses(rows.filter(addressesLive).map((r) => r.id));
    for (const r of rows) out.set(r.id, fromNetwork.get(r.id) ?? JSON.parse(r.addresses));
    return out;
  }

  /** The network service's addresses of servers whose addresses are live (addressesLive()). */
  async liveAddresses(serverIds: string[]): Promise<Map<string, unknown>> {
    return serverIds.length ? this.core.network.serversAddresses(serverIds) : new Map();
  }

  /**
   * liveAddresses() as JSON texts (views kept as text). With `kept`, texts read before are answered
   * while the network counts no change of addresses since (lists); without, all are read now (a show).
   */
  liveAddressTexts(serverIds: string[], kept = true): Promise<Map<string, string>> {
    return this.addressTexts.of(serverIds, kept);
  }
}

/**
 * Whether a server's addresses are read live from the network service, or are the ones its row
 * recorded (while it builds, after it failed, or without networking).
 */
export function addressesLive(r: Pick<ServerRow, 'vm_state' | 'networks'>): boolean {
  return r.vm_state !== 'building' && r.vm_state !== 'error' && r.networks !== NO_NETWORKS;
}
