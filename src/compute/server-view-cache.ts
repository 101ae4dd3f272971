// Detailed server views kept by row revision, for lists and show: a page (or a show) renders only the
// servers whose row changed since they were last rendered at that microversion; what changes without
// the row (addresses, tags, the host's zone and state) is filled in per answer, and a view filled with
// the same values as last time is answered as the bytes it was then.
import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { addressesLive } from './listing.ts';
import type { ComputeService } from './service.ts';
import type { HostRow, ServerRevision, ServerRow } from './tables.ts';
import { hostStatus, serverView, type At } from './views.ts';

/** The parts of a view that do not come from the server's row. */
type Slot = 'addresses' | 'tags' | 'hostZone' | 'hostStatus';

/**
 * A slot is rendered as this string and then cut out of the JSON text. The nonce is random per
 * process, so no name, metadata or other text a user gives can be taken for a slot.
 */
const NONCE = randomBytes(12).toString('hex');
const slotValue = (slot: Slot) => `${NONCE}:${slot}`;
const SLOT_PATTERN = new RegExp(`"${NONCE}:(addresses|tags|hostZone|hostStatus)"`);

/** A server's view as UTF-8 JSON: texts[0] slots[0] texts[1] ... texts[n]. */
interface Template {
  texts: Buffer[];
  slots: Slot[];
  /** The bytes of the texts. */
  size: number;
  /** Whether one of the slots is the addresses (live ones, filled in per answer). */
  liveAddresses: boolean;
  /** The view as last filled in: the slots' values (JSON texts, in slot order) and the whole view's bytes. */
  filled?: { values: string[]; bytes: Buffer };
}

/** The JSON texts a view's slots are filled with (the host's when the view was rendered knowing it), by slot. */
type SlotTexts = Record<Slot, string>;

const NOVA_ZONE = JSON.stringify('nova');
const STATUS_TEXTS = { UP: '"UP"', MAINTENANCE: '"MAINTENANCE"', DOWN: '"DOWN"' } as const;

/**
 * A page of views as the pieces of one JSON array (kept texts and the slots' values between them);
 * `bound` is at least its length in UTF-8 bytes. Written out into one buffer by writeTo().
 */
export interface PageText {
  pieces: (Buffer | string)[];
  bound: number;
}

/** Writes `text` into `out` at `offset`; answers the offset after it. */
export function writeTo(text: PageText, out: Buffer, offset: number): number {
  for (const p of text.pieces) offset += typeof p === 'string' ? out.write(p, offset) : (out.set(p, offset), p.length);
  return offset;
}

interface Kept {
  revision: number;
  hostId: string | null;
  /** The addresses are the network service's now (addressesLive()), not the row's. */
  live: boolean;
  /** The row's own addresses (JSON), which show answers for a live server the network has none of. */
  rowAddresses: string;
  /** By microversion, caller (admin or not) and whether the host is known. */
  templates: Map<string, Template>;
}

/** How many servers' views are kept (the oldest kept go first), and how many variants of each. */
const MAX_SERVERS = 20_000;
const MAX_VARIANTS = 8;

export class ServerViewCache {
  private readonly kept = new Map<string, Kept>();

  constructor(
    private readonly compute: ComputeService,
    private readonly base: string,
  ) {}

  /**
   * The JSON text of a page's detailed views (an array), as serverDetails() renders them at `at`
   * (`version` names that microversion). A server deleted after the page was read is left out.
   */
  async page(ctx: RequestContext, page: (ServerRevision | ServerRow)[], at: At, version: string): Promise<PageText> {
    const admin = this.compute.isAdmin(ctx);
    const hosts = this.hostsById(await this.compute.hosts.recent());
    const variant = this.variants(version, admin, hosts, false);

    // One look-up per server; what is not kept at this revision and variant is rendered from the rows as they are now.
    const entries: { id: string; kept: Kept | undefined; template: Template | undefined }[] = new Array(page.length);
    const missing: (ServerRevision | ServerRow)[] = [];
    for (let i = 0; i < page.length; i++) {
      const p = page[i]!;
      const kept = this.kept.get(p.id);
      const template = kept && kept.revision === p.revision ? kept.templates.get(variant(kept)) : undefined;
      if (!template) missing.push(p);
      entries[i] = { id: p.id, kept, template };
    }
    if (missing.length) {
      const whole = missing.filter((p): p is ServerRow => 'flavor' in p);
      const rows = whole.length === missing.length ? whole : [...whole, ...(await this.compute.listing.byIds(missing.filter((p) => !('flavor' in p)).map((p) => p.id)))];
      for (const row of rows) this.render(row, admin, at, hosts, variant, false);
      for (const e of entries) {
        if (e.template) continue;
        e.kept = this.kept.get(e.id);
        e.template = e.kept?.templates.get(variant(e.kept));
      }
    }
    // An entry without a template: the server was deleted (or the cache was cut) between the page's read and now.
    const liveIds: string[] = [];
    const ids: string[] = [];
    for (const e of entries) {
      if (!e.template) continue;
      ids.push(e.id);
      if (e.kept!.live && e.template.liveAddresses) liveIds.push(e.id);
    }
    const addresses = await this.compute.listing.liveAddressTexts(liveIds);
    const tags = at('2.26') ? await this.compute.tags.of(ids) : undefined;
    const now = Date.now();

    // Pieces rather than one string: a page is a megabyte or more, and every string or buffer made
    // of it whole costs as much again as writing it out (fresh memory, touched once).
    const out: PageText = { pieces: ['['], bound: 2 };
    const texts: SlotTexts = { addresses: EMPTY_OBJECT, tags: EMPTY_ARRAY, hostZone: NOVA_ZONE, hostStatus: 'null' };
    for (const { id, kept, template } of entries) {
      if (!template) continue;
      const host = kept!.hostId !== null ? hosts.get(kept!.hostId) : undefined;
      if (out.pieces.length > 1) out.pieces.push(',');
      texts.addresses = addresses.get(id) ?? EMPTY_OBJECT;
      texts.tags = tagsText(tags?.get(id));
      this.hostTexts(texts, host, now);
      fill(out, template, texts);
    }
    out.pieces.push(']');
    return out;
  }

  /**
   * The JSON text of one server's detailed view (an object), as show answers it: serverDetails() at
   * `at` with the server's groups when `withGroups` (from 2.71). Reads the row's revision and owner
   * (404 as compute.server() answers), and the whole row only when its view is not kept at that revision.
   */
  async show(ctx: RequestContext, id: string, at: At, version: string, withGroups: boolean): Promise<PageText> {
    const ref = await this.compute.serverRevision(ctx, id);
    const admin = this.compute.isAdmin(ctx);
    const hosts = this.hostsById(await this.compute.hosts.recent());
    const groups = withGroups && at('2.71');
    const variant = this.variants(version, admin, hosts, groups);
    let kept = this.kept.get(id);
    let template = kept && kept.revision === (ref.revision ?? 0) ? kept.templates.get(variant(kept)) : undefined;
    if (!kept || !template) {
      // The row as it is now (a later revision than the one just read, if it changed since).
      kept = this.render(await this.compute.server(ctx, id), admin, at, hosts, variant, groups);
      template = kept.templates.get(variant(kept))!;
    }
    const live = kept.live && template.liveAddresses;
    const addresses = live ? ((await this.compute.listing.liveAddressTexts([id], false)).get(id) ?? JSON.stringify(JSON.parse(kept.rowAddresses))) : EMPTY_OBJECT;
    const tags = at('2.26') ? tagsText((await this.compute.tags.of([id])).get(id)) : EMPTY_ARRAY;
    const host = kept.hostId !== null ? hosts.get(kept.hostId) : undefined;
    const out: PageText = { pieces: [], bound: 0 };
    const texts: SlotTexts = { addresses, tags, hostZone: NOVA_ZONE, hostStatus: 'null' };
    this.hostTexts(texts, host, Date.now());
    fill(out, template, texts);
    return out;
  }

  /**
   * Sets the host's zone and Nova's host_status of it at `now` as JSON texts (a host row's zone text is
   * kept with the row read); without a host, Nova's default zone and no status.
   */
  private hostTexts(texts: SlotTexts, host: HostRow | undefined, now: number): void {
    if (!host) {
      texts.hostZone = NOVA_ZONE;
      texts.hostStatus = 'null';
      return;
    }
    let zone = this.zoneTexts.get(host);
    if (zone === undefined) this.zoneTexts.set(host, (zone = JSON.stringify(host.availability_zone ?? 'nova')));
    texts.hostZone = zone;
    texts.hostStatus = STATUS_TEXTS[hostStatus(host, this.compute.hosts.isUp(host, now))];
  }
  private readonly zoneTexts = new WeakMap<HostRow, string>();

  /** The variant of a kept view an answer needs: by microversion, caller, whether the host is known, and groups. */
  private variants(version: string, admin: boolean, hosts: Map<string, HostRow>, groups: boolean): (k: Pick<Kept, 'hostId'>) => string {
    const prefix = `${version}${admin ? '|admin' : ''}`;
    const suffix = groups ? '|groups' : '';
    // Two keys made once (a string made anew for each server would be hashed anew for each look-up).
    const [withHost, withoutHost] = [`${prefix}|host${suffix}`, `${prefix}${suffix}`];
    return (k) => (k.hostId !== null && hosts.has(k.hostId) ? withHost : withoutHost);
  }

  /** The hosts by id, made once for each list of hosts read (hosts.recent() answers the same list for a while). */
  private hostsById(rows: HostRow[]): Map<string, HostRow> {
    if (this.hostsOf !== rows) {
      this.hostsOf = rows;
      this.hostMap = new Map(rows.map((h) => [h.id, h]));
    }
    return this.hostMap;
  }
  private hostsOf: HostRow[] | undefined;
  private hostMap = new Map<string, HostRow>();

  /** Renders `row` at this variant with its slots cut out, and keeps it. */
  private render(row: ServerRow, admin: boolean, at: At, hosts: Map<string, HostRow>, variant: (k: Pick<Kept, 'hostId'>) => string, groups: boolean): Kept {
    const revision = row.revision ?? 0;
    let kept = this.kept.get(row.id);
    if (!kept || kept.revision !== revision) {
      if (kept) this.kept.delete(row.id);
      else if (this.kept.size >= MAX_SERVERS) this.kept.delete(this.kept.keys().next().value!);
      kept = { revision, hostId: row.host_id, live: addressesLive(row), rowAddresses: row.addresses, templates: new Map() };
      this.kept.set(row.id, kept);
    }
    const key = variant(kept);
    const host = row.host_id !== null && hosts.has(row.host_id);
    const view = serverView(row, this.base, {
      admin,
      detail: true,
      at,
      // The row's own addresses are part of its view; the network service's are filled in per page.
      addresses: kept.live ? slotValue('addresses') : JSON.parse(row.addresses),
      tags: slotValue('tags') as unknown as string[],
      hostZone: slotValue('hostZone'),
      ...(host ? { hostStatus: slotValue('hostStatus') } : {}),
      ...(groups ? { groups: row.server_group_id ? [row.server_group_id] : [] } : {}),
    });
    const pieces = JSON.stringify(view).split(SLOT_PATTERN);
    const template: Template = { texts: [], slots: [], size: 0, liveAddresses: false };
    for (let i = 0; i < pieces.length; i++) {
      if (i % 2 === 1) {
        template.slots.push(pieces[i] as Slot);
        if (pieces[i] === 'addresses') template.liveAddresses = true;
      }
      else {
        const text = Buffer.from(pieces[i]!);
        template.texts.push(text);
        template.size += text.length;
      }
    }
    if (kept.templates.size >= MAX_VARIANTS) kept.templates.clear();
    kept.templates.set(key, template);
    return kept;
  }
}

const EMPTY_OBJECT = '{}';
const EMPTY_ARRAY = '[]';
const tagsText = (tags: string[] | undefined) => (tags?.length ? JSON.stringify(tags) : EMPTY_ARRAY);

/**
 * Appends a kept view to `out` with its slots filled in: the bytes it was last filled as when every
 * slot's value is the same as then, else the view made anew (and kept for the next answer).
 */
function fill(out: PageText, template: Template, texts: SlotTexts): void {
  const slots = template.slots;
  let filled = template.filled;
  let same = filled !== undefined;
  for (let i = 0; same && i < slots.length; i++) same = filled!.values[i] === texts[slots[i]!];
  if (!same) {
    const values = slots.map((slot) => texts[slot]);
    let size = template.size;
    for (const v of values) size += Buffer.byteLength(v);
    const bytes = Buffer.allocUnsafe(size);
    bytes.set(template.texts[0]!, 0);
    let n = template.texts[0]!.length;
    for (let i = 0; i < values.length; i++) {
      n += bytes.write(values[i]!, n);
      const text = template.texts[i + 1]!;
      bytes.set(text, n);
      n += text.length;
    }
    template.filled = filled = { values, bytes };
  }
  out.pieces.push(filled!.bytes);
  out.bound += filled!.bytes.length + 1;
}
