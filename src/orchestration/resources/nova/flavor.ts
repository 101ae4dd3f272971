// OS::Nova::Flavor: a flavor (cloud admins only, as Nova's policy says); extra specs change in
// place.
import type { ResourceType } from '../types.ts';
import { isNotFound } from '../../../platform/errors.ts';
import { gone } from '../lookup.ts';

export const novaFlavor: ResourceType = {
  type: 'OS::Nova::Flavor',
  description: 'A resource for creating OpenStack virtual hardware templates (admin only).',
  properties: {
    name: { type: 'string', description: 'Name of the flavor.' },
    flavorid: { type: 'string', description: 'Unique ID of the flavor. If not specified, an UUID will be auto generated and used.' },
    ram: { type: 'integer', required: true, description: 'Memory in MB for the flavor.', constraints: [{ range: { min: 1 } }] },
    vcpus: { type: 'integer', required: true, description: 'Number of VCPUs for the flavor.', constraints: [{ range: { min: 1 } }] },
    disk: { type: 'integer', default: 0, description: 'Size of local disk in GB.', constraints: [{ range: { min: 0 } }] },
    swap: { type: 'integer', default: 0, description: 'Swap space in MB.', constraints: [{ range: { min: 0 } }] },
    ephemeral: { type: 'integer', default: 0, description: 'Size of a secondary ephemeral data disk in GB.', constraints: [{ range: { min: 0 } }] },
    rxtx_factor: { type: 'number', default: 1.0, description: 'RX/TX factor.' },
    is_public: { type: 'boolean', default: true, description: 'Scope of flavor accessibility. Public or private.' },
    extra_specs: { type: 'map', update_allowed: true, description: 'Key/Value pairs to extend the capabilities of the flavor.' },
    description: { type: 'string', description: 'A description of the flavor.' },
  },
  attributes: {
    is_public: { description: 'Whether the flavor is shared across all projects.', type: 'boolean' },
    extra_specs: { description: 'Extra specs of the flavor in key-value pairs.', type: 'map' },
  },
  async create(h, props) {
    const f = await h.clients.compute.createFlavor(h.ctx, {
      flavor: {
        name: props.name ?? h.physicalName,
        id: props.flavorid ?? 'auto',
        ram: props.ram,
        vcpus: props.vcpus,
        disk: props.disk,
        swap: props.swap === 0 ? '' : props.swap,
        'OS-FLV-EXT-DATA:ephemeral': props.ephemeral,
        'os-flavor-access:is_public': props.is_public,
        ...(props.description !== undefined ? { description: props.description } : {}),
      },
    });
    await h.setPhysicalId(f.id);
    if (props.extra_specs && Object.keys(props.extra_specs).length) await h.clients.compute.setExtraSpecs(h.ctx, f.id, props.extra_specs as Record<string, unknown>, true);
    return f.id;
  },
  async update(h, id, props) {
    await h.clients.compute.setExtraSpecs(h.ctx, id, (props.extra_specs ?? {}) as Record<string, unknown>, true);
  },
  async delete(h, id) {
    await gone(() => h.clients.compute.deleteFlavor(h.ctx, id));
  },
  async check(h, id) {
    await h.clients.compute.flavor(h.ctx, id);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    try {
      const f = await h.clients.compute.flavor(h.ctx, id);
      if (name === 'is_public') return f.isPublic;
      if (name === 'extra_specs') return f.extraSpecs;
      if (name === 'show') return { id: f.id, name: f.name, ram: f.ram, vcpus: f.vcpus, disk: f.disk, swap: f.swap === 0 ? '' : f.swap, 'OS-FLV-EXT-DATA:ephemeral': f.ephemeral, 'os-flavor-access:is_public': f.isPublic, extra_specs: f.extraSpecs };
      return null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  },
};
