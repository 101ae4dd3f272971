// OS::Neutron::SecurityGroup: a group and its rules. The rules are kept equal to the template's
// list in place: missing ones are added first, then the ones no longer listed are removed (so an
// update never opens a gap). Without an egress rule in the list, Neutron's "all egress" rules stay.
import type { NeutronResource } from '../../clients.ts';
import { TemplateError } from '../../template/model.ts';
import type { ResourceHandle, ResourceType } from '../types.ts';
import { ConflictError } from '../../../platform/errors.ts';
import { deleteRetryingConflict, gone, neutronId } from '../lookup.ts';

export interface RuleProps {
  direction: string;
  ethertype: string;
  port_range_min?: number;
  port_range_max?: number;
  protocol?: string;
  remote_mode?: string;
  remote_group_id?: string;
  remote_ip_prefix?: string;
  description?: string;
}

export const ruleSchema = {
  direction: { type: 'string' as const, default: 'ingress', description: 'The direction in which the security group rule is applied.', constraints: [{ allowed_values: ['ingress', 'egress'] }] },
  ethertype: { type: 'string' as const, default: 'IPv4', description: 'Ethertype of the traffic.', constraints: [{ allowed_values: ['IPv4', 'IPv6'] }] },
  port_range_min: { type: 'integer' as const, description: 'The minimum port number in the range that is matched by the security group rule.', constraints: [{ range: { min: 0, max: 65535 } }] },
  port_range_max: { type: 'integer' as const, description: 'The maximum port number in the range that is matched by the security group rule.', constraints: [{ range: { min: 0, max: 65535 } }] },
  protocol: { type: 'string' as const, description: 'The protocol that is matched by the security group rule (a name or a number 0-255).' },
  remote_mode: { type: 'string' as const, default: 'remote_ip_prefix', description: 'Whether to specify a remote group or a remote IP prefix.', constraints: [{ allowed_values: ['remote_ip_prefix', 'remote_group_id'] }] },
  remote_group_id: { type: 'string' as const, description: 'The remote group ID to be associated with this security group rule. If no value is specified then this rule will use this security group for the remote_group_id.' },
  remote_ip_prefix: { type: 'string' as const, description: 'The remote IP prefix (CIDR) to be associated with this security group rule.' },
};

const PORTED = new Set(['tcp', 'udp', 'sctp', 'udplite', 'dccp', '6', '17', '132', '136', '33']);

/** A rule as Neutron stores it, for comparing what is there with what the template lists. */
function normalised(r: Record<string, unknown>): string {
  const protocol = r.protocol === undefined || r.protocol === null || r.protocol === '' || r.protocol === 'any' ? null : String(r.protocol).toLowerCase();
  let min = r.port_range_min === undefined || r.port_range_min === null ? null : Number(r.port_range_min);
  let max = r.port_range_max === undefined || r.port_range_max === null ? null : Number(r.port_range_max);
  if (protocol && PORTED.has(protocol)) {
    if (min !== null && max === null) max = min;
    if (max !== null && min === null) min = max;
  }
  let prefix = r.remote_ip_prefix === undefined || r.remote_ip_prefix === null ? null : String(r.remote_ip_prefix);
  if (prefix && !prefix.includes('/')) prefix = `${prefix}/${prefix.includes(':') ? 128 : 32}`;
  return JSON.stringify([r.direction, r.ethertype, protocol, min, max, prefix, r.remote_group_id ?? null]);
}

/** The Neutron body of a template rule of group `groupId`. */
async function ruleBody(h: ResourceHandle, groupId: string, r: RuleProps): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = { security_group_id: groupId, direction: r.direction, ethertype: r.ethertype };
  if (r.protocol !== undefined) body.protocol = r.protocol;
  if (r.port_range_min !== undefined) body.port_range_min = r.port_range_min;
  if (r.port_range_max !== undefined) body.port_range_max = r.port_range_max;
  if (r.description !== undefined) body.description = r.description;
  if (r.remote_mode === 'remote_group_id') body.remote_group_id = r.remote_group_id ? await neutronId(h.clients, h.ctx, 'security_group', r.remote_group_id) : groupId;
  else if (r.remote_ip_prefix !== undefined) body.remote_ip_prefix = r.remote_ip_prefix;
  return body;
}

const ALL_EGRESS: RuleProps[] = [
  { direction: 'egress', ethertype: 'IPv4' },
  { direction: 'egress', ethertype: 'IPv6' },
];

async function syncRules(h: ResourceHandle, groupId: string, rules: RuleProps[]): Promise<void> {
  const wanted = rules.some((r) => r.direction === 'egress') ? rules : [...rules, ...ALL_EGRESS];
  const existing = (await h.clients.network.list(h.ctx, 'security_group_rule')).filter((r) => r.security_group_id === groupId);
  const keep = new Set<string>();
  for (const r of wanted) {
    const body = await ruleBody(h, groupId, r);
    const key = normalised(body);
    const there = existing.find((e) => !keep.has(e.id) && normalised(e) === key);
    if (there) {
      keep.add(there.id);
      continue;
    }
    try {
      keep.add((await h.clients.network.createSecurityGroupRule(h.ctx, body)).id);
    } catch (err) {
      // Two template rules that Neutron sees as one (a port range given two ways): keep the one.
      const id = err instanceof ConflictError ? /Rule id is ([\w-]+)/.exec(err.message)?.[1] : undefined;
      if (!id) throw err;
      keep.add(id);
    }
  }
  for (const e of existing as NeutronResource[]) if (!keep.has(e.id)) await gone(() => h.clients.network.deleteSecurityGroupRule(h.ctx, e.id));
}

export const neutronSecurityGroup: ResourceType = {
  type: 'OS::Neutron::SecurityGroup',
  description: 'A resource for managing Neutron security groups.',
  properties: {
    name: { type: 'string', update_allowed: true, description: 'A string specifying a symbolic name for the security group, which is not required to be unique.' },
    description: { type: 'string', update_allowed: true, description: 'Description of the security group.' },
    rules: { type: 'list', update_allowed: true, schema: ruleSchema, description: 'List of security group rules.' },
  },
  attributes: {},
  validate(props, _ctx, at) {
    if (props.name === 'default') throw new TemplateError(`${at}.name: Security groups cannot be assigned the name "default".`);
  },
  async create(h, props) {
    const group = await h.clients.network.createSecurityGroup(h.ctx, { name: props.name ?? h.physicalName, ...(props.description !== undefined ? { description: props.description } : {}) });
    await h.setPhysicalId(group.id);
    await syncRules(h, group.id, (props.rules as RuleProps[] | undefined) ?? []);
    return group.id;
  },
  async update(h, id, props, _old, changed) {
    const body: Record<string, unknown> = {};
    if (changed.includes('name')) body.name = props.name ?? h.physicalName;
    if (changed.includes('description')) body.description = props.description ?? '';
    if (Object.keys(body).length) await h.clients.network.updateSecurityGroup(h.ctx, id, body);
    if (changed.includes('rules')) await syncRules(h, id, (props.rules as RuleProps[] | undefined) ?? []);
  },
  async delete() {
    // Deleted in checkDeleteComplete, retried while the ports of servers being deleted still use it.
  },
  async checkDeleteComplete(h, id) {
    return deleteRetryingConflict(h, () => h.clients.network.deleteSecurityGroup(h.ctx, id));
  },
  async check(h, id) {
    await h.clients.network.find(h.ctx, 'security_group', id);
  },
  async attribute(h, id, name) {
    if (!id || name !== 'show') return null;
    const g = await h.clients.network.find(h.ctx, 'security_group', id);
    const rules = (await h.clients.network.list(h.ctx, 'security_group_rule')).filter((r) => r.security_group_id === id);
    return { ...g, security_group_rules: rules };
  },
};
