// OS::Heat::SoftwareDeploymentGroup (and StructuredDeploymentGroup): one deployment of a config to
// each server of a map, in a nested stack of SoftwareDeployments named by the map's keys; its
// attributes are maps from those names to each deployment's deploy_stdout, deploy_stderr,
// deploy_status_code (or any declared output).
import type { StackSpec } from '../../engine/model.ts';
import { MAX_RESOURCES_PER_STACK, TemplateError } from '../../template/model.ts';
import { nestedStackHooks, type ResourceType } from '../types.ts';
import { heatSoftwareDeployment } from './software-deployment.ts';
import { heatStructuredDeployment } from './structured-deployment.ts';

const PLURAL: Record<string, string> = { deploy_stdouts: 'deploy_stdout', deploy_stderrs: 'deploy_stderr', deploy_status_codes: 'deploy_status_code' };

function groupType(type: string, member: ResourceType, description: string): ResourceType {
  const { server: _server, ...memberProperties } = member.properties;
  const childSpec = (props: Record<string, unknown>, parent: StackSpec): StackSpec => {
    const servers = (props.servers as Record<string, unknown> | undefined) ?? {};
    const names = Object.keys(servers);
    if (names.length > MAX_RESOURCES_PER_STACK) throw new TemplateError(`The group would have ${names.length} deployments, more than the maximum of ${MAX_RESOURCES_PER_STACK}.`);
    const { servers: _s, ...shared } = props;
    const properties = Object.fromEntries(Object.entries(shared).filter(([, v]) => v !== undefined && v !== null));
    const resources = Object.fromEntries(names.map((name) => [name, { type: member.type, properties: { ...properties, server: String(servers[name]) } }]));
    return { template: { heat_template_version: '2021-04-16', resources }, environment: parent.environment, files: parent.files, parameters: {} };
  };
  return {
    type,
    description,
    properties: {
      ...memberProperties,
      servers: { type: 'map', required: true, update_allowed: true, description: 'A map of names and server IDs to apply configuration to. The name is arbitrary and is used as the Heat resource name for the corresponding deployment.' },
    },
    attributes: {
      deploy_stdouts: { description: 'A map of Nova names and captured stdouts from the configuration execution to each server.', type: 'map' },
      deploy_stderrs: { description: 'A map of Nova names and captured stderrs from the configuration execution to each server.', type: 'map' },
      deploy_status_codes: { description: 'A map of Nova names and returned status code from the configuration execution.', type: 'map' },
    },
    dynamicAttributes: true,
    ...nestedStackHooks(childSpec),
    async attribute(h, id, name) {
      if (!id) return null;
      const names = Object.keys(await h.nested.references(id)).sort();
      const values = await Promise.all(names.map((n) => h.nested.attribute(id, n, PLURAL[name] ?? name)));
      return Object.fromEntries(names.map((n, i) => [n, values[i]]));
    },
  };
}

export const heatSoftwareDeploymentGroup = groupType('OS::Heat::SoftwareDeploymentGroup', heatSoftwareDeployment, 'This resource associates a group of servers with some configuration.');
export const heatStructuredDeploymentGroup = groupType('OS::Heat::StructuredDeploymentGroup', heatStructuredDeployment, 'This resource associates a group of servers with some configuration, its inputs substituted as a StructuredDeployment does.');
