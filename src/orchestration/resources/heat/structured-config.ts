// OS::Heat::StructuredConfig: a software config whose config is a map (kept by the software
// configuration API as its JSON text), for tools that read structured data; its deployments
// (OS::Heat::StructuredDeployment) replace `{get_input: name}` in it with the inputs' values.
import type { ResourceType } from '../types.ts';
import { heatSoftwareConfig } from './software-config.ts';

export const heatStructuredConfig: ResourceType = {
  ...heatSoftwareConfig,
  type: 'OS::Heat::StructuredConfig',
  description: 'A resource which has same logic with OS::Heat::SoftwareConfig, but whose config is a map.',
  properties: { ...heatSoftwareConfig.properties, config: { type: 'map', description: 'Map representing the configuration data structure which will be serialized to JSON format.' } },
  create: (h, props) => heatSoftwareConfig.create(h, { ...props, config: JSON.stringify(props.config ?? {}) }),
  async attribute(h, id, name) {
    const v = await heatSoftwareConfig.attribute!(h, id, name);
    if (name !== 'config' || typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  },
};
