// Server tags (Nova 2.26): short strings a project puts on its servers and lists them by. Kept in
// their own table, at most 50 per server, changed only while the server is in a settled state.
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, NotFoundError } from '../platform/errors.ts';
import type { ComputeCore } from './core.ts';
import type { ServerRow } from './tables.ts';

/** Nova's per-server limit. */
export const MAX_TAGS = 50;
/** Nova's tag: 1 to 60 characters, neither `,` (the filters' separator) nor `/` (the URL's). */
const TAG = /^[^,/]{1,60}$/;

/** The vm_states in which Nova lets a server's tags change. */
const SETTLED = new Set(['active', 'paused', 'suspended', 'stopped', 'shelved', 'shelved_offloaded']);

/** 400 unless every tag is one Nova accepts; answers them without duplicates, in order. */
export function checkTags(tags: string[]): string[] {
  for (const t of tags) if (!TAG.test(t)) throw new BadRequestError(`Invalid tag: '${t}'. Tags are 1 to 60 characters without ',' or '/'.`);
  const unique = [...new Set(tags)];
  if (unique.length > MAX_TAGS) throw new BadRequestError(`The number of tags exceeded the per-server limit ${MAX_TAGS}`);
  return unique;
}

/** Splits a tag filter (`tags=a,b`) into its tags; undefined when absent or empty. */
export function tagFilter(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const tags = value.split(',').filter((t) => t !== '');
  return tags.length ? tags : undefined;
}

export class ServerTags {
  constructor(private readonly core: ComputeCore) {}

  /** The tags of many servers at once (for lists), sorted. */
  of(ids: string[]): Promise<Map<string, string[]>> {
    return ids.length ? this.core.store.serverTags(ids) : Promise.resolve(new Map());
  }

  async list(ctx: RequestContext, id: string): Promise<string[]> {
    this.core.enforce(ctx, 'server_tags:index');
    await this.core.server(ctx, id);
    return (await this.core.store.serverTags([id])).get(id) ?? [];
  }

  async has(ctx: RequestContext, id: string, tag: string): Promise<boolean> {
    this.core.enforce(ctx, 'server_tags:show');
    await this.core.server(ctx, id);
    return ((await this.core.store.serverTags([id])).get(id) ?? []).includes(tag);
  }

  async replace(ctx: RequestContext, id: string, tags: string[]): Promise<string[]> {
    this.core.enforce(ctx, 'server_tags:update_all');
    const unique = checkTags(tags);
    await this.settled(ctx, id, 'update tags');
    await this.core.store.replaceServerTags(id, unique);
    return [...unique].sort();
  }

  /** Adds a tag: true when it was new, false when the server had it already. */
  async add(ctx: RequestContext, id: string, tag: string): Promise<boolean> {
    this.core.enforce(ctx, 'server_tags:update');
    checkTags([tag]);
    await this.settled(ctx, id, 'update tag');
    const r = await this.core.store.addServerTag(id, tag, MAX_TAGS);
    if (r === 'full') throw new BadRequestError(`The number of tags exceeded the per-server limit ${MAX_TAGS}`);
    return r === 'added';
  }

  async remove(ctx: RequestContext, id: string, tag: string): Promise<void> {
    this.core.enforce(ctx, 'server_tags:delete');
    await this.settled(ctx, id, 'delete tag');
    if (!(await this.core.store.deleteServerTag(id, tag))) throw new NotFoundError(`Tag ${tag} could not be found.`);
  }

  async clear(ctx: RequestContext, id: string): Promise<void> {
    this.core.enforce(ctx, 'server_tags:delete_all');
    await this.settled(ctx, id, 'delete tags');
    await this.core.store.replaceServerTags(id, []);
  }

  /** The server, if its tags may change now (409 while it builds, resizes or is deleted). */
  private async settled(ctx: RequestContext, id: string, what: string): Promise<ServerRow> {
    const row = await this.core.server(ctx, id);
    if (!SETTLED.has(row.vm_state) || row.task_state) {
      throw new ConflictError(`Cannot '${what}' instance ${id} while it is in ${row.task_state ? `task_state ${row.task_state}` : `vm_state ${row.vm_state}`}`);
    }
    return row;
  }
}
