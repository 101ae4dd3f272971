// First start of the all-in-one cloud: the busybox image, public, so every project can boot from it.
import { Readable } from 'node:stream';
import { busyboxDockerArchive } from '../host/busybox-image.ts';
import type { ImageService } from './service.ts';

export const DEMO_IMAGE_NAME = 'busybox';

export async function seedDemoImage(images: ImageService, ownerProjectId: string): Promise<string> {
  const row = await images.seedPublicImage(ownerProjectId, DEMO_IMAGE_NAME, () => Readable.from([busyboxDockerArchive()]));
  return row.id;
}
