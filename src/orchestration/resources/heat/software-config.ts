// OS::Heat::SoftwareConfig: a software config of the software configuration API (a script, with
// the inputs it takes and the outputs it writes), made as the stack's user; deployments take it
// by reference (get_resource).
import type { ResourceHandle, ResourceType } from '../types.ts';
import { gone } from '../lookup.ts';
import { isConflict } from '../../../platform/errors.ts';

function software(h: ResourceHandle) {
  if (!h.clients.software) throw new Error('The software configuration service is not available.');
  return h.clients.software;
}

export const heatSoftwareConfig: ResourceType = {
  type: 'OS::Heat::SoftwareConfig',
  description: 'A resource for describing and storing software configuration.',
  properties: {
    group: { type: 'string', default: 'Heat::Ungrouped', description: 'Namespace to group this software config by when delivered to a server (script: run by hafen in the server\'s container).' },
    config: { type: 'string', description: 'Configuration script or manifest which specifies what actual configuration is performed.' },
    options: { type: 'map', description: 'Map containing options specific to the configuration management tool used by this resource.' },
    inputs: {
      type: 'list',
      description: 'Schema representing the inputs that this software config is expecting.',
      schema: {
        name: { type: 'string', required: true },
        description: { type: 'string' },
        type: { type: 'string', default: 'String', constraints: [{ allowed_values: ['String', 'Number', 'CommaDelimitedList', 'Json', 'Boolean'] }] },
        default: { type: 'any' },
        replace_on_change: { type: 'boolean', default: false },
      },
    },
    outputs: {
      type: 'list',
      description: 'Schema representing the outputs that this software config will produce.',
      schema: {
        name: { type: 'string', required: true },
        description: { type: 'string' },
        type: { type: 'string', default: 'String', constraints: [{ allowed_values: ['String', 'Number', 'CommaDelimitedList', 'Json', 'Boolean'] }] },
        error_output: { type: 'boolean', default: false },
      },
    },
  },
  attributes: { config: { description: 'The config value of the software config.', type: 'string' } },
  async create(h, props) {
    const made = await software(h).createConfig(h.ctx, {
      name: h.physicalName,
      group: String(props.group),
      config: props.config === undefined ? '' : String(props.config),
      inputs: (props.inputs as unknown[] | undefined) ?? [],
      outputs: (props.outputs as unknown[] | undefined) ?? [],
      options: (props.options as Record<string, unknown> | undefined) ?? {},
    });
    return String(made.id);
  },
  async delete(h, id) {
    // Configs made before the API existed were kept with the resource only.
    if (h.data.config) return;
    try {
      await gone(() => software(h).deleteConfig(h.ctx, id));
    } catch (err) {
      // Still deployed outside this stack (a deployment made through the API): the config stays.
      if (!isConflict(err)) throw err;
    }
  },
  async attribute(h, id, name) {
    if (h.data.config) return name === 'config' ? ((h.data.config as Record<string, unknown>).config ?? null) : null;
    if (!id) return null;
    const c = await software(h).showConfig(h.ctx, id);
    return name === 'show' ? c : name === 'config' ? c.config : null;
  },
};
