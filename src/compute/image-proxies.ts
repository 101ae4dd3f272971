// Nova's image proxy API (`/images` until 2.36, their metadata until 2.39): Glance's images read,
// deleted and given properties through the image client with the caller's context, in Nova's words.
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ForbiddenError, HafenError, NotFoundError } from '../platform/errors.ts';
import type { ImageRecord } from '../image/client.ts';
import type { ComputeCore } from './core.ts';
import { MAX_LIMIT } from './listing.ts';
import type { Quotas } from './quotas.ts';

/** The filters of Nova's image list, as its API names them (`property-*` for additional properties). */
export interface ImageFilters {
  name?: string;
  status?: string;
  server?: string;
  type?: string;
  minRam?: number;
  minDisk?: number;
  properties?: Record<string, string>;
  limit?: number;
  marker?: string;
}

const statusOf = (err: unknown) => (err instanceof HafenError ? err.status : undefined);

export class ImageProxies {
  constructor(
    private readonly core: ComputeCore,
    private readonly quotas: Quotas,
  ) {}

  private async image(ctx: RequestContext, id: string): Promise<ImageRecord> {
    try {
      return await this.core.images.get(ctx, id);
    } catch (err) {
      if (statusOf(err) === 404) throw new NotFoundError('Image not found.');
      throw err;
    }
  }

  /** Glance's list for the caller, filtered as Nova maps its filters, newest first, one page. */
  async list(ctx: RequestContext, f: ImageFilters): Promise<ImageRecord[]> {
    // Nova sends the instance's uuid of a `server` filter that is a URL, and status in lower case.
    const server = f.server?.includes('/') ? f.server.slice(f.server.lastIndexOf('/') + 1) : f.server;
    const props: Record<string, string> = { ...f.properties };
    if (server !== undefined) props.instance_uuid = server;
    if (f.type !== undefined) props.image_type = f.type;
    let rows = await this.core.images.listImages(ctx, { ...(f.name !== undefined ? { name: f.name } : {}), ...(f.status !== undefined ? { status: f.status.toLowerCase() } : {}) });
    rows = rows.filter(
      (r) => Object.entries(props).every(([k, v]) => r.properties[k] === v) && (f.minRam === undefined || r.min_ram >= f.minRam) && (f.minDisk === undefined || r.min_disk >= f.minDisk),
    );
    rows.sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1));
    if (f.marker !== undefined) {
      const at = rows.findIndex((r) => r.id === f.marker);
      if (at < 0) throw new BadRequestError(`marker [${f.marker}] not found`);
      rows = rows.slice(at + 1);
    }
    return rows.slice(0, Math.min(f.limit ?? MAX_LIMIT, MAX_LIMIT));
  }

  show(ctx: RequestContext, id: string): Promise<ImageRecord> {
    return this.image(ctx, id);
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    try {
      await this.core.images.delete(ctx, id);
    } catch (err) {
      if (statusOf(err) === 404) throw new NotFoundError('Image not found.');
      if (statusOf(err) === 403) throw new ForbiddenError('You are not allowed to delete the image.');
      throw err;
    }
  }

  async metadata(ctx: RequestContext, id: string): Promise<Record<string, string>> {
    return (await this.image(ctx, id)).properties;
  }

  async metadataItem(ctx: RequestContext, id: string, key: string): Promise<string> {
    const props = await this.metadata(ctx, id);
    if (!Object.hasOwn(props, key)) throw new NotFoundError('The resource could not be found.');
    return props[key]!;
  }

  /** Sets the image's properties: merged with `metadata`, or replaced by it; at most metadata_items of them. */
  async setMetadata(ctx: RequestContext, id: string, metadata: Record<string, string>, replace: boolean): Promise<Record<string, string>> {
    const image = await this.image(ctx, id);
    const next = replace ? { ...metadata } : { ...image.properties, ...metadata };
    return (await this.store(ctx, image, next)).properties;
  }

  async setMetadataItem(ctx: RequestContext, id: string, key: string, value: string): Promise<void> {
    const image = await this.image(ctx, id);
    await this.store(ctx, image, { ...image.properties, [key]: value });
  }

  async deleteMetadataItem(ctx: RequestContext, id: string, key: string): Promise<void> {
    const image = await this.image(ctx, id);
    if (!Object.hasOwn(image.properties, key)) throw new NotFoundError('Invalid metadata key');
    const next = { ...image.properties };
    delete next[key];
    await this.store(ctx, image, next);
  }

  private async store(ctx: RequestContext, image: ImageRecord, properties: Record<string, string>): Promise<ImageRecord> {
    const limit = (await this.quotas.of(this.core.projectOf(ctx))).metadata_items ?? -1;
    if (limit >= 0 && Object.keys(properties).length > limit) throw new ForbiddenError('Image metadata limit exceeded');
    try {
      return await this.core.images.replaceProperties(ctx, image.id, properties);
    } catch (err) {
      if (statusOf(err) === 404) throw new NotFoundError('Image not found.');
      throw err;
    }
  }
}
