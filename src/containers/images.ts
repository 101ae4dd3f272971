// Which image a container runs: Zun's image name (repo[:tag], or an image id) found among the docker
// images the project sees in the image service, the way Zun's glance and docker drivers find them.
import type { RequestContext } from '../platform/auth/context.ts';
import { ConflictError } from '../platform/errors.ts';
import type { DockerImage, ImageLookup } from './clients.ts';
import { ImageNotFound } from './errors.ts';
import { isUuid } from './core.ts';

/** `repo[:tag]`, where a colon before the last slash is a registry's port, not a tag. */
export function parseImageName(image: string): { repo: string; tag: string | null } {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) || null };
  return { repo: name, tag: null };
}

/** Zun's find_images: exact name, then the tag decides between same-named ones. */
function byNameAndTag(images: DockerImage[], repo: string, tag: string | null): DockerImage[] {
  let found = images.filter((i) => i.name === repo);
  if (tag && found.length === 1 && found[0]!.tags.length > 0 && !found[0]!.tags.includes(tag)) found = [];
  else if (tag && found.length > 1) found = found.filter((i) => i.tags.includes(tag));
  // An image named with its tag (`nginx:latest`) is the same image to a docker user.
  if (found.length === 0 && tag) found = images.filter((i) => i.name === `${repo}:${tag}`);
  return found;
}

export async function resolveImage(images: ImageLookup, ctx: RequestContext, image: string, driver: 'glance' | 'docker'): Promise<DockerImage> {
  let found: DockerImage[];
  if (isUuid(image)) {
    const one = await images.dockerImage(ctx, image.toLowerCase());
    found = one ? [one] : [];
  } else {
    const { repo, tag } = parseImageName(image);
    found = byNameAndTag(await images.dockerImages(ctx), repo, driver === 'docker' ? (tag ?? 'latest') : tag);
  }
  if (found.length === 0) throw new ImageNotFound(image);
  if (found.length > 1) {
    // The caller's own image wins over others of the same name and tag (as a local image over a registry's).
    const own = found.filter((i) => ctx.scope.kind === 'project' && i.owner === ctx.scope.projectId);
    if (own.length !== 1) throw new ConflictError(`Multiple images exist with same name ${image}. Please use the image id instead.`);
    found = own;
  }
  const img = found[0]!;
  if (img.status !== 'active') throw new ImageNotFound(image);
  return img;
}
