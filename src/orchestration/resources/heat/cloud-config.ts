// OS::Heat::CloudConfig: a software config whose config is cloud-init's `#cloud-config` document,
// written from a map; servers take it as user_data (SOFTWARE_CONFIG) or a MultipartMime takes it as a part.
import { stringify } from 'yaml';
import type { ResourceType } from '../types.ts';
import { heatSoftwareConfig } from './software-config.ts';

/** cloud-init's document for a map: the `#cloud-config` line, then the map as YAML. */
export function cloudConfigText(cloudConfig: unknown): string {
  return `#cloud-config\n${stringify(cloudConfig ?? {})}`;
}

export const heatCloudConfig: ResourceType = {
  type: 'OS::Heat::CloudConfig',
  description: 'A configuration resource for representing cloud-init cloud-config.',
  properties: {
    cloud_config: { type: 'map', default: {}, description: 'Map representing the cloud-config data structure which will be formatted as YAML.' },
  },
  attributes: heatSoftwareConfig.attributes,
  create: (h, props) => heatSoftwareConfig.create(h, { group: 'Heat::Ungrouped', config: cloudConfigText(props.cloud_config) }),
  delete: heatSoftwareConfig.delete,
  attribute: heatSoftwareConfig.attribute,
};
