// What other services may ask of the image service, always on behalf of a caller (its context
// decides visibility). Compute boots from and snapshots into images through this interface only.
import type { Readable } from 'node:stream';
import type { RequestContext } from '../platform/auth/context.ts';

export type ImageStatus = 'queued' | 'saving' | 'active' | 'killed' | 'deleted' | 'pending_delete' | 'deactivated' | 'uploading' | 'importing';

export interface ImageRecord {
  id: string;
  name: string | null;
  status: ImageStatus;
  container_format: string | null;
  disk_format: string | null;
  owner: string;
  visibility: 'private' | 'shared' | 'community' | 'public';
  size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_ram: number;
  min_disk: number;
  /** Additional properties, including what the docker archive's config recorded (architecture, os, docker_* …). */
  properties: Record<string, string>;
  /**
   * `sha256:<digest of the image config>` for an active docker image: the id an engine gives it
   * when loaded, recorded by the image service from the data (never set by a user).
   */
  docker_image_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface NewImage {
  name: string;
  container_format: 'docker';
  disk_format: 'raw';
  visibility?: 'private' | 'shared' | 'community' | 'public';
  properties?: Record<string, string>;
}

export interface ImageClient {
  /** The image as the caller may see it; NotFoundError if it does not exist or is not visible. */
  get(ctx: RequestContext, id: string): Promise<ImageRecord>;
  /** The image's data (a `docker save` archive for container_format=docker); NotFoundError as above. */
  openData(ctx: RequestContext, id: string): Promise<Readable>;
  /**
   * The images Glance's default list shows the caller (its own, public ones, shared ones it accepted;
   * no community or hidden ones), optionally of one name and status (Nova's image proxy).
   */
  listImages(ctx: RequestContext, filters?: { name?: string; status?: string }): Promise<ImageRecord[]>;
  /** Deletes the image as Glance's DELETE does (404 unseen, 403 not the owner's or protected). */
  delete(ctx: RequestContext, id: string): Promise<void>;
  /** Makes the image's additional properties exactly `properties`, as a Glance JSON patch would (owner or admin). */
  replaceProperties(ctx: RequestContext, id: string, properties: Record<string, string>): Promise<ImageRecord>;
  /** Creates an image owned by the caller's project from a stream (used by snapshots); returns it active. */
  createFromStream(ctx: RequestContext, image: NewImage, data: Readable): Promise<ImageRecord>;
}
