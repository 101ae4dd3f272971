// OS::Glance::WebImage: an image fetched by the image service from an http(s) URL (web-download
// import; loopback only in this cloud). Creation waits until the image is active.
import type { ResourceType } from '../types.ts';
import { isNotFound } from '../../../platform/errors.ts';
import { deleteRetryingConflict } from '../lookup.ts';

/** Glance's formats, as Heat's resource declares them (the image service checks them again). */
const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];
const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];

class ImageImportFailed extends Error {
  override readonly name = 'ImageImportFailed';
}

export const glanceWebImage: ResourceType = {
  type: 'OS::Glance::WebImage',
  description: 'A resource managing images in Glance using web-download import.',
  properties: {
    name: { type: 'string', description: 'Name for the image. The name of an image is not unique to a Image Service node.' },
    id: { type: 'string', description: 'The image ID. Glance will generate a UUID if not specified.' },
    location: { type: 'string', required: true, description: 'URL where the data for this image already resides (http or https, on this machine).' },
    min_disk: { type: 'integer', default: 0, description: 'Amount of disk space (in GB) required to boot image.', constraints: [{ range: { min: 0 } }] },
    min_ram: { type: 'integer', default: 0, description: 'Amount of ram (in MB) required to boot image.', constraints: [{ range: { min: 0 } }] },
    protected: { type: 'boolean', default: false, description: 'Whether the image can be deleted. If the value is True, the image is protected and cannot be deleted.' },
    disk_format: { type: 'string', required: true, description: 'Disk format of image.', constraints: [{ allowed_values: DISK_FORMATS }] },
    container_format: { type: 'string', required: true, description: 'Container format of image (servers here boot docker images).', constraints: [{ allowed_values: CONTAINER_FORMATS }] },
    visibility: { type: 'string', default: 'private', description: 'Scope of image accessibility.', constraints: [{ allowed_values: ['public', 'private', 'community', 'shared'] }] },
    tags: { type: 'list', default: [], items: { type: 'string' }, description: 'List of image tags.' },
    architecture: { type: 'string', description: 'Operating system architecture.' },
    os_distro: { type: 'string', description: 'The common name of the operating system distribution in lowercase.' },
    os_version: { type: 'string', description: 'Operating system version as specified by the distributor.' },
    owner: { type: 'string', description: 'Owner of the image (not settable here: images belong to the stack\'s project).' },
    extra_properties: { type: 'map', default: {}, description: 'Arbitrary properties to associate with the image (string values).' },
  },
  attributes: {},
  async create(h, props) {
    const body: Record<string, unknown> = {
      name: props.name ?? h.physicalName,
      container_format: props.container_format,
      disk_format: props.disk_format,
      min_disk: props.min_disk,
      min_ram: props.min_ram,
      protected: props.protected,
      visibility: props.visibility,
      tags: props.tags,
      ...(props.id !== undefined ? { id: props.id } : {}),
      ...Object.fromEntries(['architecture', 'os_distro', 'os_version'].filter((k) => props[k] !== undefined).map((k) => [k, String(props[k])])),
      ...Object.fromEntries(Object.entries((props.extra_properties as Record<string, unknown>) ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
    };
    const image = await h.clients.image.create(h.ctx, body);
    // The row exists from here on: a failed import leaves an image the delete takes away.
    await h.setPhysicalId(image.id);
    const task = await h.clients.image.importer.start(h.ctx, image.id, { method: { name: 'web-download', uri: props.location } });
    h.data.task = task.id;
    return image.id;
  },
  async checkCreateComplete(h, id) {
    const image = await h.clients.image.find(h.ctx, id);
    if (image.status === 'active') return true;
    if (image.status === 'killed' || image.status === 'deleted' || image.status === 'deactivated') throw new ImageImportFailed(`Image ${id} went to status ${image.status}`);
    try {
      const task = h.clients.image.importer.task(h.ctx, String(h.data.task));
      if (task.status === 'failure') throw new ImageImportFailed(`Image import failed: ${task.message}`);
    } catch (err) {
      // Tasks live in memory: after a restart only the image's status tells.
      if (!isNotFound(err)) throw err;
      if (image.status === 'queued') throw new ImageImportFailed(`Image ${id} import was lost (status queued)`);
    }
    return false;
  },
  async delete() {
    // Deleted in checkDeleteComplete: an image still being saved refuses deletion for a moment.
  },
  async checkDeleteComplete(h, id) {
    return deleteRetryingConflict(h, () => h.clients.image.delete(h.ctx, id));
  },
  async check(h, id) {
    const image = await h.clients.image.find(h.ctx, id);
    if (image.status !== 'active') throw new Error(`Image ${id} is ${image.status}`);
  },
  async attribute(h, id, name) {
    if (!id || name !== 'show') return null;
    return h.clients.image.get(h.ctx, id);
  },
};
