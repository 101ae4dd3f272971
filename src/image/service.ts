// The image service's rules: who sees which image (visibility and members), the status machine
// queued -> saving -> active|killed, deactivation, quotas, and streaming data in and out.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../config.ts';
import { internalContext, type RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  HafenError,
  NotFoundError,
  OverQuotaError,
} from '../platform/errors.ts';
import type { ImageBackend, IncomingData } from './backend.ts';
import { ImageIngest } from './ingest.ts';
import { ByteLedgers } from './quota.ts';
import type { ImageClient, ImageRecord, NewImage } from './client.ts';
import { DockerArchiveValidator, dockerProperties } from './docker-archive.ts';
import type { ImageRow, ImageStore, MemberRow } from './store.ts';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { CONTAINER_FORMATS as CONTAINER_FORMAT_VALUES, DISK_FORMATS as DISK_FORMAT_VALUES, ImageChanges, ImageCreateBody, PatchOperation, READ_ONLY, VISIBILITIES, queryBoolean, type ImageCreateBodyT, type ImageListQueryT } from './schemas.ts';

/** The formats and visibilities of the image schema, as lists for other services' checks. */
export const CONTAINER_FORMATS: string[] = [...CONTAINER_FORMAT_VALUES];
export const DISK_FORMATS: string[] = [...DISK_FORMAT_VALUES];
export { READ_ONLY, VISIBILITIES };
const CORE = ['name', 'container_format', 'disk_format', 'visibility', 'protected', 'os_hidden', 'min_ram', 'min_disk', 'tags'];

type Body = Record<string, unknown>;

const createBody = TypeCompiler.Compile(ImageCreateBody);
const imageChanges = TypeCompiler.Compile(ImageChanges);
const patchOperation = TypeCompiler.Compile(PatchOperation);

/** Checks a value against a compiled route schema; the first violation becomes a 400 in the API's words. */
function checked<T extends TSchema>(check: TypeCheck<T>, value: unknown): asserts value is Static<T> {
  if (check.Check(value)) return;
  const first = check.Errors(value).First();
  const field = first?.path.replace(/^\//, '') || 'body';
  throw new BadRequestError(`Invalid input for field/attribute ${field}: ${first?.message ?? 'not valid'}.`);
}

export class ImageService implements ImageClient {
  constructor(
    private readonly store: ImageStore,
    private readonly backend: ImageBackend,
    private readonly policy: PolicyEngine,
    private readonly config: Config,
  ) {
    this.ledgers = new ByteLedgers(async (project) => (await this.store.usage(project)).bytes, config.imageQuotaBytes);
  }

  /** The image data quota: stored bytes plus what is arriving, per project (see quota.ts). */
  readonly ledgers: ByteLedgers;
  private readonly deletedListeners: ((id: string) => Promise<void>)[] = [];

  /** Called once an image is marked deleted (the importer drops its staged data). */
  onDeleted(listener: (id: string) => Promise<void>): void {
    this.deletedListeners.push(listener);
  }

  /** After a crash: uploads that were under way are gone; their images go back to queued. */
  async recover(): Promise<void> {
    await this.backend.sweepIncomplete();
    await this.store.resetSaving();
    for (const id of await this.store.deletedWithData()) {
      await this.backend.remove(id);
      await this.store.update(id, { size: null });
    }
  }

  private isAdmin(ctx: RequestContext): boolean {
    return this.policy.authorize('image:admin', ctx);
  }

  private projectOf(ctx: RequestContext): string {
    if (ctx.scope.kind !== 'project') {
      if (this.isAdmin(ctx)) return '';
      throw new ForbiddenError('The image service requires a project-scoped token.');
    }
    return ctx.scope.projectId;
  }

  enforce(ctx: RequestContext, action: string, target: Record<string, unknown> = {}): void {
    this.policy.enforce(`image:${action}`, ctx, target);
  }

  // ---- visibility

  private async canSee(ctx: RequestContext, row: ImageRow): Promise<boolean> {
    if (row.status === 'deleted') return false;
    if (this.isAdmin(ctx)) return true;
    const project = ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
    if (row.owner === project || row.visibility === 'public' || row.visibility === 'community') return true;
    if (row.visibility === 'shared' && project) return (await this.store.member(row.id, project)) !== undefined;
    return false;
  }

  /** The image if the caller may see it; otherwise 404, exactly as if it did not exist. */
  async find(ctx: RequestContext, id: string): Promise<ImageRow> {
    const row = await this.store.get(id);
    if (!row || !(await this.canSee(ctx, row))) throw new NotFoundError(`No image found with ID ${id}`);
    return row;
  }

  /** The image if the caller may see it (404 otherwise) and change it (403 otherwise). */
  async owned(ctx: RequestContext, id: string): Promise<ImageRow> {
    const row = await this.find(ctx, id);
    this.assertOwner(ctx, row);
    return row;
  }

  /** Only the owning project (or an admin) changes an image it can see. */
  assertOwner(ctx: RequestContext, row: ImageRow): void {
    if (!this.isAdmin(ctx) && row.owner !== this.projectOf(ctx)) {
      throw new ForbiddenError(`You are not permitted to modify image ${row.id}.`);
    }
  }

  async list(ctx: RequestContext, q: ImageListQueryT): Promise<ImageRow[]> {
    this.enforce(ctx, 'get_images');
    const project = ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
    let rows = await this.store.visibleTo(project, this.isAdmin(ctx) && q.visibility === 'all');
    if (this.isAdmin(ctx) && q.visibility !== 'all') rows = await this.store.visibleTo(project, false);
    // Community images are listed only when asked for (or owned), as Glance does.
    if (!q.visibility) rows = rows.filter((r) => r.visibility !== 'community' || r.owner === project);
    else if (q.visibility !== 'all') rows = rows.filter((r) => r.visibility === q.visibility);
    if (q.member_status === 'all') {
      // Every shared image the project is a member of, whatever its status.
    } else if (q.member_status) {
      const keep: ImageRow[] = [];
      for (const r of rows) if (r.visibility !== 'shared' || r.owner === project || (await this.store.member(r.id, project ?? ''))?.status === q.member_status) keep.push(r);
      rows = keep;
    } else if (project) {
      // Shared images show up once the member accepted them.
      const keep: ImageRow[] = [];
      for (const r of rows) {
        if (r.visibility === 'shared' && r.owner !== project && (await this.store.member(r.id, project))?.status !== 'accepted') continue;
        keep.push(r);
      }
      rows = keep;
    }
    for (const f of ['name', 'status', 'container_format', 'disk_format', 'owner', 'id'] as const) {
      if (q[f] !== undefined) {
        const wanted = q[f].startsWith('in:') ? q[f].slice(3).split(',') : [q[f]];
        rows = rows.filter((r) => wanted.includes(String(r[f])));
      }
    }
    const prot = queryBoolean(q.protected);
    if (prot !== undefined) rows = rows.filter((r) => Boolean(r.protected) === prot);
    // Hidden images are left out, and with os_hidden=true they are all that is listed (Glance's api-ref).
    const hidden = queryBoolean(q.os_hidden) ?? false;
    rows = rows.filter((r) => Boolean(r.os_hidden) === hidden);
    const tag = q.tag;
    if (tag) rows = rows.filter((r) => (JSON.parse(r.tags) as string[]).includes(tag));
    if (q.size_min) rows = rows.filter((r) => (r.size ?? 0) >= Number(q.size_min));
    if (q.size_max) rows = rows.filter((r) => (r.size ?? 0) <= Number(q.size_max));
    return rows;
  }

  // ---- create / update / delete

  /** `body` as the create route's schema types it; bodies from other callers are checked against that schema here. */
  async create(ctx: RequestContext, body: ImageCreateBodyT): Promise<ImageRow> {
    this.enforce(ctx, 'add_image');
    for (const f of READ_ONLY) {
      if (f !== 'id' && f !== 'owner' && (body as Body)[f] !== undefined) throw new ForbiddenError(`Attribute '${f}' is read-only.`);
    }
    checked(createBody, body);
    let owner = this.projectOf(ctx);
    // An admin may create an image for another project (Glance's `owner` on create); anyone may name their own.
    if (body.owner !== undefined && body.owner !== null) {
      if (body.owner !== owner && !this.isAdmin(ctx)) throw new ForbiddenError(`You are not permitted to create images owned by '${body.owner}'.`);
      owner = body.owner;
    }
    const id = body.id ?? randomUUID();
    const usage = await this.store.usage(owner);
    if (usage.count + 1 > this.config.imageQuotaCount) {
      throw new OverQuotaError(`Maximum number of images exceeded: the quota is ${this.config.imageQuotaCount}.`, 'images', 413);
    }
    const now = new Date().toISOString();
    const row: ImageRow = {
      id,
      name: null,
      status: 'queued',
      container_format: null,
      disk_format: null,
      owner,
      visibility: 'shared',
      protected: 0,
      os_hidden: 0,
      size: null,
      checksum: null,
      os_hash_algo: null,
      os_hash_value: null,
      min_ram: 0,
      min_disk: 0,
      properties: '{}',
      tags: '[]',
      docker_image_id: null,
      created_at: now,
      updated_at: now,
    };
    this.apply(ctx, row, body, true);
    await this.store.insert(row);
    return row;
  }

  /** Applies core fields and additional properties from a create body or a patch result. */
  /** Applies checked attributes (a create body or a patch's changes) to a row; read-only ones are refused. */
  private apply(ctx: RequestContext, row: ImageRow, body: Body, creating: boolean): void {
    const props = JSON.parse(row.properties) as Record<string, string>;
    for (const [k, v] of Object.entries(body)) {
      if (k === 'id' || (creating && k === 'owner')) continue;
      if ((READ_ONLY as readonly string[]).includes(k)) throw new ForbiddenError(`Attribute '${k}' is read-only.`);
      switch (k) {
        case 'name':
          row.name = v as string | null;
          break;
        case 'container_format':
        case 'disk_format':
          if (!creating && row.status !== 'queued' && row[k] !== v) throw new ForbiddenError(`Attribute ${k} can be only replaced for a queued image.`);
          row[k] = v as string | null;
          break;
        case 'visibility':
          if (v === 'public') this.enforce(ctx, 'publicize_image');
          if (v === 'community') this.enforce(ctx, 'communitize_image');
          row.visibility = v as ImageRow['visibility'];
          break;
        case 'protected':
        case 'os_hidden':
          row[k] = v ? 1 : 0;
          break;
        case 'min_ram':
        case 'min_disk':
          row[k] = v as number;
          break;
        case 'tags':
          row.tags = JSON.stringify([...new Set(v as string[])]);
          break;
        default:
          if (v === null || v === undefined) delete props[k];
          else props[k] = v as string;
      }
    }
    row.properties = JSON.stringify(props);
  }

  /** Glance's JSON-patch (application/openstack-images-v2.1-json-patch). */
  async patch(ctx: RequestContext, id: string, ops: unknown[]): Promise<ImageRow> {
    this.enforce(ctx, 'modify_image');
    const row = await this.owned(ctx, id);
    const view: Body = {
      name: row.name,
      container_format: row.container_format,
      disk_format: row.disk_format,
      visibility: row.visibility,
      protected: Boolean(row.protected),
      os_hidden: Boolean(row.os_hidden),
      min_ram: row.min_ram,
      min_disk: row.min_disk,
      tags: JSON.parse(row.tags),
      ...JSON.parse(row.properties),
    };
    const changes: Body = {};
    for (const raw of ops) {
      if (!patchOperation.Check(raw)) {
        throw new BadRequestError(`Unable to find '${String((raw as { op?: unknown })?.op)}' in JSON Schema change: operations must be add, replace or remove with a path.`);
      }
      const op = raw;
      const key = op.path.replace(/^\//, '').replace(/~1/g, '/').replace(/~0/g, '~');
      if (!key || key.includes('/')) throw new BadRequestError(`Invalid JSON pointer for this resource: '${op.path}'`);
      if (key === 'owner' && op.op === 'replace' && typeof op.value === 'string' && (op.value === row.owner || this.isAdmin(ctx))) {
        // Admins may hand an image to another project, as in Glance.
        row.owner = op.value;
        continue;
      }
      if ((READ_ONLY as readonly string[]).includes(key)) throw new ForbiddenError(`Attribute '${key}' is read-only.`);
      if (op.op === 'remove') {
        if (CORE.includes(key)) throw new ForbiddenError(`Attribute '${key}' is reserved.`);
        if (!(key in view)) throw new ConflictError(`Property ${key} does not exist.`);
        changes[key] = null;
        delete view[key];
      } else {
        if (op.op === 'replace' && !(key in view)) throw new ConflictError(`Property ${key} does not exist.`);
        changes[key] = op.value;
        view[key] = op.value;
      }
    }
    // The patched image must still satisfy the image schema.
    checked(imageChanges, changes);
    this.apply(ctx, row, changes, false);
    await this.store.update(id, {
      owner: row.owner,
      name: row.name,
      container_format: row.container_format,
      disk_format: row.disk_format,
      visibility: row.visibility,
      protected: row.protected,
      os_hidden: row.os_hidden,
      min_ram: row.min_ram,
      min_disk: row.min_disk,
      tags: row.tags,
      properties: row.properties,
    });
    return (await this.store.get(id))!;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'delete_image');
    const row = await this.owned(ctx, id);
    if (row.protected) throw new ForbiddenError(`Image ${id} is protected and cannot be deleted.`);
    if (row.status === 'saving') throw new ConflictError(`Image ${id} is being uploaded and cannot be deleted now.`);
    await this.store.markDeleted(id);
    for (const listener of this.deletedListeners) await listener(id);
    if (row.size) await this.ledgers.forget(row.owner, row.size);
    await this.backend.remove(id);
    await this.store.update(id, { size: null });
  }

  async setTag(ctx: RequestContext, id: string, tag: string, add: boolean): Promise<void> {
    this.enforce(ctx, 'modify_image');
    const row = await this.owned(ctx, id);
    const tags = new Set(JSON.parse(row.tags) as string[]);
    if (add) {
      tags.add(tag);
    } else if (!tags.delete(tag)) {
      throw new NotFoundError(`Tag ${tag} not found.`);
    }
    await this.store.update(id, { tags: JSON.stringify([...tags]) });
  }

  async setActive(ctx: RequestContext, id: string, active: boolean): Promise<void> {
    const row = await this.find(ctx, id);
    this.enforce(ctx, active ? 'reactivate' : 'deactivate', { project_id: row.owner });
    this.assertOwner(ctx, row);
    if (row.status === (active ? 'active' : 'deactivated')) return;
    if (!(await this.store.transition(id, [active ? 'deactivated' : 'active'], active ? 'active' : 'deactivated'))) {
      throw new ForbiddenError(`Not allowed to ${active ? 'reactivate' : 'deactivate'} an image in status '${row.status}'.`);
    }
  }

  // ---- data

  async upload(ctx: RequestContext, id: string, data: Readable, contentLength?: number): Promise<ImageRow> {
    this.enforce(ctx, 'upload_image');
    const row = await this.owned(ctx, id);
    if (row.status !== 'queued') throw new ConflictError(`Image status transition from ${row.status} to saving is not allowed`);
    return this.receive(row, data, contentLength, 'queued');
  }

  /**
   * Stores an image's data (an upload, or an import's result) while the image is in status `from`:
   * counted against the quota as it arrives, hashed, checked, kept only when whole. On failure the
   * image goes back to `from` (queued, or importing for the importer to settle) with nothing kept.
   */
  async receive(row: ImageRow, data: Readable, contentLength: number | undefined, from: 'queued' | 'importing'): Promise<ImageRow> {
    const id = row.id;
    if (!row.container_format || !row.disk_format) {
      throw new BadRequestError('Properties container_format and disk_format must be set prior to uploading image data.');
    }
    // Reserve what the client announced before reading anything; the meter grows it as data comes.
    const reservation = await this.ledgers.reserve(row.owner, contentLength ?? 0);
    if (!(await this.store.transition(id, [from], 'saving'))) {
      reservation.release();
      throw new ConflictError(`Image status transition from ${row.status} to saving is not allowed`);
    }
    let incoming: IncomingData | undefined;
    let ingest: ImageIngest | undefined;
    try {
      incoming = await this.backend.incoming(id);
      ingest = new ImageIngest(incoming, reservation, this.config.imageQuotaBytes, row.container_format === 'docker' ? (hashing) => new DockerArchiveValidator(hashing) : undefined);
      await pipeline(data, ingest);
      const facts = ingest.validator?.facts();
      const { bytes, md5, sha512 } = ingest.result!;
      await incoming.commit();
      const props = { ...(JSON.parse(row.properties) as Record<string, string>), ...(facts ? dockerProperties(facts) : {}) };
      const ok = await this.store.transition(id, ['saving'], 'active', {
        size: bytes,
        checksum: md5,
        os_hash_algo: 'sha512',
        os_hash_value: sha512,
        properties: JSON.stringify(props),
        docker_image_id: facts?.configDigest ?? null,
      });
      if (!ok) {
        // Deleted while uploading: drop the data.
        await this.backend.remove(id);
        throw new ConflictError(`Image ${id} was deleted while its data was being uploaded.`);
      }
      // Keep only what was stored in the ledger.
      reservation.settle(bytes);
      return (await this.store.get(id))!;
    } catch (err) {
      reservation.release();
      // Nothing may still write to the incoming file when it is thrown away.
      await ingest?.idle();
      await incoming?.abort();
      await this.backend.remove(id);
      await this.store.transition(id, ['saving'], from);
      if (err instanceof HafenError && (err instanceof BadRequestError || err instanceof ConflictError || err instanceof OverQuotaError)) throw err;
      throw new BadRequestError(`The image data could not be stored: ${(err as Error).message}`);
    }
  }

  async download(ctx: RequestContext, id: string, range?: { start: number; end?: number }): Promise<{ row: ImageRow; stream: Readable; start: number; end: number; total: number } | { row: ImageRow; stream: undefined }> {
    this.enforce(ctx, 'download_image');
    const row = await this.find(ctx, id);
    if (row.status === 'deactivated' && !this.isAdmin(ctx)) throw new ForbiddenError('The requested image has been deactivated. Image data download is forbidden.');
    if (row.status !== 'active' && row.status !== 'deactivated') return { row, stream: undefined };
    const total = row.size ?? (await this.backend.size(id)) ?? 0;
    if (range) {
      const end = Math.min(range.end ?? total - 1, total - 1);
      if (range.start >= total || range.start > end) throw new RangeNotSatisfiable(total);
      return { row, stream: this.backend.open(id, { start: range.start, end }), start: range.start, end, total };
    }
    return { row, stream: this.backend.open(id), start: 0, end: total - 1, total };
  }

  // ---- members

  private async sharedImage(ctx: RequestContext, id: string): Promise<ImageRow> {
    const row = await this.find(ctx, id);
    if (row.visibility !== 'shared') throw new ForbiddenError(`Only shared images have members.`);
    return row;
  }

  async addMember(ctx: RequestContext, id: string, memberId: string): Promise<MemberRow> {
    this.enforce(ctx, 'add_member');
    const row = await this.owned(ctx, id);
    if (row.visibility !== 'shared') throw new ForbiddenError(`Only shared images have members.`);
    const now = new Date().toISOString();
    const m: MemberRow = { image_id: id, member_id: memberId, status: 'pending', created_at: now, updated_at: now };
    await this.store.addMember(m);
    return m;
  }

  async members(ctx: RequestContext, id: string): Promise<MemberRow[]> {
    this.enforce(ctx, 'get_members');
    const row = await this.sharedImage(ctx, id);
    const all = await this.store.members(id);
    if (this.isAdmin(ctx) || row.owner === this.projectOf(ctx)) return all;
    return all.filter((m) => m.member_id === this.projectOf(ctx));
  }

  async member(ctx: RequestContext, id: string, memberId: string): Promise<MemberRow> {
    const visible = await this.members(ctx, id);
    const m = visible.find((x) => x.member_id === memberId);
    if (!m) throw new NotFoundError(`Member ${memberId} not found for image ${id}.`);
    return m;
  }

  async updateMember(ctx: RequestContext, id: string, memberId: string, status: MemberRow['status']): Promise<MemberRow> {
    this.enforce(ctx, 'modify_member');
    await this.sharedImage(ctx, id);
    if (memberId !== this.projectOf(ctx)) throw new ForbiddenError('Only the member itself can change its membership status.');
    if (!(await this.store.member(id, memberId))) throw new NotFoundError(`Member ${memberId} not found for image ${id}.`);
    await this.store.setMemberStatus(id, memberId, status);
    return (await this.store.member(id, memberId))!;
  }

  async removeMember(ctx: RequestContext, id: string, memberId: string): Promise<void> {
    this.enforce(ctx, 'delete_member');
    await this.owned(ctx, id);
    if (!(await this.store.removeMember(id, memberId))) throw new NotFoundError(`Member ${memberId} not found for image ${id}.`);
  }

  /**
   * Registers a public image owned by `ownerProject` once (by name), on behalf of the cloud itself
   * rather than a caller: used at first start to make the demo image available to every project.
   */
  async seedPublicImage(ownerProject: string, name: string, data: () => Readable): Promise<ImageRow> {
    const existing = (await this.store.visibleTo(ownerProject, false)).find((r) => r.name === name && r.owner === ownerProject && r.visibility === 'public');
    if (existing && existing.status === 'active') return existing;
    const system = internalContext({ userId: 'hafen', userName: 'hafen', projectId: ownerProject, projectName: 'admin', roles: ['admin', 'member', 'reader'], auditId: 'seed' });
    const row = existing ?? (await this.create(system, { name, container_format: 'docker', disk_format: 'raw', visibility: 'public' }));
    return this.upload(system, row.id, data());
  }

  // ---- ImageClient, for other services

  async get(ctx: RequestContext, id: string): Promise<ImageRecord> {
    return toRecord(await this.withDockerImageId(await this.find(ctx, id)));
  }

  /**
   * Images uploaded before the digest was recorded get it on first use, read from their data (the
   * same check an upload makes), so that hosts know every docker image by its content.
   */
  private async withDockerImageId(row: ImageRow): Promise<ImageRow> {
    if (row.docker_image_id || row.container_format !== 'docker' || (row.status !== 'active' && row.status !== 'deactivated')) return row;
    const validator = new DockerArchiveValidator();
    for await (const chunk of this.backend.open(row.id)) validator.scan(chunk as Buffer);
    const digest = validator.facts().configDigest;
    await this.store.update(row.id, { docker_image_id: digest });
    return { ...row, docker_image_id: digest };
  }

  async listImages(ctx: RequestContext, filters: { name?: string; status?: string } = {}): Promise<ImageRecord[]> {
    return (await this.list(ctx, { ...(filters.name !== undefined ? { name: filters.name } : {}), ...(filters.status !== undefined ? { status: filters.status } : {}) })).map(toRecord);
  }

  async replaceProperties(ctx: RequestContext, id: string, properties: Record<string, string>): Promise<ImageRecord> {
    const current = toRecord(await this.owned(ctx, id)).properties;
    const ops: unknown[] = [
      ...Object.keys(current).filter((k) => !Object.hasOwn(properties, k)).map((k) => ({ op: 'remove', path: `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}` })),
      ...Object.entries(properties).map(([k, v]) => ({ op: 'add', path: `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, value: v })),
    ];
    return toRecord(await this.patch(ctx, id, ops));
  }

  async openData(ctx: RequestContext, id: string): Promise<Readable> {
    const r = await this.download(ctx, id);
    if (!r.stream) throw new ConflictError(`Image ${id} has no data (status ${r.row.status}).`);
    return r.stream;
  }

  async createFromStream(ctx: RequestContext, image: NewImage, data: Readable): Promise<ImageRecord> {
    const row = await this.create(ctx, { ...image.properties, name: image.name, container_format: image.container_format, disk_format: image.disk_format, visibility: image.visibility ?? 'private' });
    try {
      return toRecord(await this.upload(ctx, row.id, data));
    } catch (err) {
      await this.store.update(row.id, { status: 'killed' });
      throw err;
    }
  }
}

export class RangeNotSatisfiable extends HafenError {
  override readonly name = 'RangeNotSatisfiableError';
  readonly status = 416;
  constructor(readonly total: number) {
    super('Requested range not satisfiable');
    this.headers = { 'content-range': `bytes */${total}` };
  }
}

export function toRecord(r: ImageRow): ImageRecord {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    container_format: r.container_format,
    disk_format: r.disk_format,
    owner: r.owner,
    visibility: r.visibility,
    size: r.size,
    checksum: r.checksum,
    os_hash_algo: r.os_hash_algo,
    os_hash_value: r.os_hash_value,
    min_ram: r.min_ram,
    min_disk: r.min_disk,
    properties: JSON.parse(r.properties),
    docker_image_id: r.docker_image_id,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}
