// OS::Heat::None: a placeholder that makes nothing; any properties are accepted and ignored.
import type { ResourceType } from '../types.ts';

export const heatNone: ResourceType = {
  type: 'OS::Heat::None',
  description: 'Enables easily disabling certain resources via the resource_registry. It does nothing, but can effectively stub out any other resource.',
  properties: {},
  attributes: {},
  dynamicAttributes: true,
  async create() {
    return null;
  },
};
