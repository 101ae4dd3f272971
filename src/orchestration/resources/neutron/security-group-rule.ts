// OS::Neutron::SecurityGroupRule: one rule added to a security group (by name or id), removed with
// the resource.
import type { ResourceType } from '../types.ts';
import { TemplateError } from '../../template/model.ts';
import { gone, neutronId } from '../lookup.ts';

export const neutronSecurityGroupRule: ResourceType = {
  type: 'OS::Neutron::SecurityGroupRule',
  description: 'A resource for managing Neutron security group rules.',
  properties: {
    security_group: { type: 'string', required: true, description: 'Security group name or ID to add rule.', constraints: [{ custom_constraint: 'neutron.security_group' }] },
    description: { type: 'string', description: 'Description of the security group rule.' },
    remote_group: { type: 'string', description: 'The remote group name or ID to be associated with this security group rule.', constraints: [{ custom_constraint: 'neutron.security_group' }] },
    remote_ip_prefix: { type: 'string', description: 'The remote IP prefix (CIDR) to be associated with this security group rule.' },
    direction: { type: 'string', default: 'ingress', description: 'The direction in which the security group rule is applied.', constraints: [{ allowed_values: ['ingress', 'egress'] }] },
    ethertype: { type: 'string', default: 'IPv4', description: 'Ethertype of the traffic.', constraints: [{ allowed_values: ['IPv4', 'IPv6'] }] },
    port_range_min: { type: 'integer', description: 'The minimum port number in the range that is matched by the security group rule.', constraints: [{ range: { min: 0, max: 65535 } }] },
    port_range_max: { type: 'integer', description: 'The maximum port number in the range that is matched by the security group rule.', constraints: [{ range: { min: 0, max: 65535 } }] },
    protocol: { type: 'string', description: 'The protocol that is matched by the security group rule (a name or a number 0-255).' },
  },
  attributes: {},
  validate(props, _ctx, at) {
    if (props.remote_group !== undefined && props.remote_ip_prefix !== undefined) throw new TemplateError(`${at}: Cannot define the following properties at the same time: remote_group, remote_ip_prefix`);
  },
  async create(h, props) {
    const groupId = await neutronId(h.clients, h.ctx, 'security_group', String(props.security_group));
    const body: Record<string, unknown> = { security_group_id: groupId, direction: props.direction, ethertype: props.ethertype };
    for (const k of ['description', 'remote_ip_prefix', 'port_range_min', 'port_range_max', 'protocol']) if (props[k] !== undefined) body[k] = props[k];
    if (props.remote_group !== undefined) body.remote_group_id = await neutronId(h.clients, h.ctx, 'security_group', String(props.remote_group));
    return (await h.clients.network.createSecurityGroupRule(h.ctx, body)).id;
  },
  async delete(h, id) {
    await gone(() => h.clients.network.deleteSecurityGroupRule(h.ctx, id));
  },
  async check(h, id) {
    await h.clients.network.find(h.ctx, 'security_group_rule', id);
  },
  async attribute(h, id, name) {
    if (!id || name !== 'show') return null;
    return h.clients.network.find(h.ctx, 'security_group_rule', id);
  },
};
