// OS::Heat::SoftwareConfig: a stored piece of configuration (a script, cloud-config ...) that other
// resources take by reference; hafen keeps it with the resource (there is no software-config API).
import { randomUUID } from 'node:crypto';
import type { ResourceType } from '../types.ts';

export const heatSoftwareConfig: ResourceType = {
  type: 'OS::Heat::SoftwareConfig',
  description: 'A resource for describing and storing software configuration.',
  properties: {
    group: { type: 'string', default: 'Heat::Ungrouped', description: 'Namespace to group this software config by when delivered to a server.' },
    config: { type: 'string', description: 'Configuration script or manifest which specifies what actual configuration is performed.' },
    options: { type: 'map', description: 'Map containing options specific to the configuration management tool used by this resource.' },
    inputs: { type: 'list', description: 'Schema representing the inputs that this software config is expecting.' },
    outputs: { type: 'list', description: 'Schema representing the outputs that this software config will produce.' },
  },
  attributes: { config: { description: 'The config value of the software config.', type: 'string' } },
  async create(h, props) {
    h.data.config = props;
    return randomUUID();
  },
  async attribute(h, _id, name) {
    return name === 'config' ? ((h.data.config as Record<string, unknown> | undefined)?.config ?? null) : null;
  },
};
