// Security groups and their rules: each project's "default" group (made on first use, Neutron's rules),
// groups with all-egress rules, rules checked with Neutron's errors and messages; every change announced
// as 'groups' so the dataplane recompiles what depends on them.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { bit, NetworkCore, now, toBool, toInt, type WriteOptions } from './core.ts';
import { InvalidInput, NeutronBadRequest, NeutronConflict, NeutronNotFound } from './errors.ts';
import { parseCidr } from './ipam.ts';
import type { NetworkStore, SecurityGroupRow, SecurityGroupRuleRow } from './store/index.ts';

export const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, sctp: 132, ah: 51, esp: 50, gre: 47, ipip: 4, ipv6_icmp: 58, 'ipv6-icmp': 58, icmpv6: 58, igmp: 2, dccp: 33, udplite: 136 };
const PORT_PROTOCOLS = new Set([6, 17, 132, 33, 136]);

export interface SecurityGroupBody {
  name?: string;
  description?: string;
  stateful?: unknown;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

export interface RuleBody {
  security_group_id?: string;
  direction?: string;
  ethertype?: string;
  protocol?: string | number | null;
  port_range_min?: unknown;
  port_range_max?: unknown;
  remote_ip_prefix?: string | null;
  remote_group_id?: string | null;
  description?: string;
  project_id?: string;
  tenant_id?: string;
}

function ruleRow(projectId: string, groupId: string, seq: number, r: Partial<SecurityGroupRuleRow>): SecurityGroupRuleRow {
  const t = now();
  return { id: randomUUID(), project_id: projectId, description: '', revision_number: 0, created_at: t, updated_at: t, seq, security_group_id: groupId, direction: 'egress', ethertype: 'IPv4', protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null, remote_group_id: null, belongs_to_default_sg: 0, ...r };
}

/** The project's "default" group, created with Neutron's default rules the first time it is needed. */
export async function defaultSecurityGroup(core: NetworkCore, projectId: string, store: NetworkStore = core.store): Promise<SecurityGroupRow> {
  const found = await store.groupNamed(projectId, 'default');
  if (found) return found;
  return store.transaction(async (tx) => {
    await tx.lockQuota(projectId, 'default-security-group');
    const again = await tx.groupNamed(projectId, 'default');
    if (again) return again;
    const t = now();
    const group: SecurityGroupRow = { id: randomUUID(), project_id: projectId, name: 'default', description: 'Default security group', revision_number: 0, created_at: t, updated_at: t, seq: tx.nextSeq(), stateful: 1 };
    await tx.insert('security_group', group);
    for (const ethertype of ['IPv4', 'IPv6']) {
      for (const direction of ['ingress', 'egress']) {
        await tx.insert('security_group_rule', ruleRow(projectId, group.id, tx.nextSeq(), { direction, ethertype, remote_group_id: direction === 'ingress' ? group.id : null, belongs_to_default_sg: 1 }));
      }
    }
    return group;
  });
}

export async function createSecurityGroup(core: NetworkCore, ctx: RequestContext, body: SecurityGroupBody): Promise<SecurityGroupRow> {
  const project = core.ownerFor(ctx, body);
  await defaultSecurityGroup(core, project);
  if (body.name === 'default') throw new NeutronConflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
  const t = now();
  const group: SecurityGroupRow = { id: randomUUID(), project_id: project, name: body.name ?? '', description: body.description ?? '', revision_number: 0, created_at: t, updated_at: t, seq: 0, stateful: bit(body.stateful === undefined ? true : toBool(body.stateful, 'stateful')) };
  await core.store.transaction(async (tx) => {
    await core.checkQuota(tx, 'security_group', project);
    group.seq = tx.nextSeq();
    await tx.insert('security_group', group);
    // Neutron gives every new group "all egress" rules.
    for (const ethertype of ['IPv4', 'IPv6']) await tx.insert('security_group_rule', ruleRow(project, group.id, tx.nextSeq(), { direction: 'egress', ethertype }));
    if (body.tags?.length) await tx.setTags('security_group', group.id, [...new Set(body.tags)]);
  });
  return group;
}

export async function updateSecurityGroup(core: NetworkCore, ctx: RequestContext, id: string, body: SecurityGroupBody, options: WriteOptions = {}): Promise<SecurityGroupRow> {
  const row = await core.findOwned(ctx, 'security_group', id);
  const changes: Partial<SecurityGroupRow> = {};
  if (body.name !== undefined && body.name !== row.name) {
    if (row.name === 'default') throw new NeutronConflict('SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
    if (body.name === 'default') throw new NeutronConflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
    changes.name = body.name;
  }
  if (body.description !== undefined) changes.description = body.description;
  if (body.stateful !== undefined) changes.stateful = bit(toBool(body.stateful, 'stateful'));
  return core.save(core.store, 'security_group', row, changes, options);
}

export async function deleteSecurityGroup(core: NetworkCore, ctx: RequestContext, id: string, options: WriteOptions = {}): Promise<void> {
  const row = await core.findOwned(ctx, 'security_group', id);
  if (row.name === 'default' && !core.may(ctx, 'delete_security_group:default')) throw new NeutronConflict('SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
  let referring: string[] = [];
  await core.store.transaction(async (tx) => {
    if (await tx.groupInUse(id)) throw new NeutronConflict('SecurityGroupInUse', `Security Group ${id} in use.`);
    referring = await tx.groupsReferring([id]);
    await core.save(tx, 'security_group', row, {}, options);
    // Its rules go by the foreign key, and so do other groups' rules that named it as remote group.
    await tx.remove('security_group', id);
  });
  if (referring.length) core.events.emit('groups', referring);
}

/** Validates a rule as Neutron does and normalises it (protocol names, port defaults, CIDR). */
async function checkedRule(core: NetworkCore, ctx: RequestContext, body: RuleBody): Promise<Omit<SecurityGroupRuleRow, 'id' | 'project_id' | 'revision_number' | 'created_at' | 'updated_at' | 'seq' | 'security_group_id' | 'belongs_to_default_sg' | 'description'>> {
  const direction = body.direction;
  if (direction !== 'ingress' && direction !== 'egress') throw new InvalidInput(`${String(direction)} is not in ['ingress', 'egress'].`);
  const ethertype = body.ethertype ?? 'IPv4';
  if (ethertype !== 'IPv4' && ethertype !== 'IPv6') throw new InvalidInput(`${String(ethertype)} is not in ['IPv4', 'IPv6'].`);
  let protocol: string | null = null;
  if (body.protocol !== undefined && body.protocol !== null && body.protocol !== 'any' && body.protocol !== '') {
    const p = String(body.protocol).toLowerCase();
    const supported = `Security group rule protocol ${p} not supported. Only protocol values [${Object.keys(PROTOCOLS).join(', ')}] and integer representations [0 to 255] are supported.`;
    if (/^\d+$/.test(p)) {
      if (Number(p) > 255) throw new NeutronBadRequest('SecurityGroupRuleInvalidProtocol', supported);
    } else if (!(p in PROTOCOLS)) throw new NeutronBadRequest('SecurityGroupRuleInvalidProtocol', supported);
    protocol = p;
  }
  const port = (v: unknown, name: string): number | null => {
    if (v === undefined || v === null) return null;
    const n = toInt(v, name);
    if (n < 0 || n > 65535) throw new NeutronBadRequest('SecurityGroupInvalidPortValue', `Invalid value for port ${String(v)}`);
    return n;
  };
  let min = port(body.port_range_min, 'port_range_min');
  let max = port(body.port_range_max, 'port_range_max');
  const proto = protocol === null ? null : (PROTOCOLS[protocol] ?? Number(protocol));
  if ((min !== null || max !== null) && proto === null) throw new NeutronBadRequest('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
  if (proto !== null && PORT_PROTOCOLS.has(proto)) {
    if (min !== null && max === null) max = min;
    if (min === null && max !== null) min = max;
    if (min === 0 || max === 0) throw new NeutronBadRequest('SecurityGroupInvalidPortValue', 'Invalid value for port 0');
    if (min !== null && max !== null && min > max) throw new NeutronBadRequest('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
  } else if (proto === 1 || proto === 58) {
    for (const [v, field, attr] of [[min, 'type', 'port_range_min'], [max, 'code', 'port_range_max']] as const) {
      if (v !== null && v > 255) throw new NeutronBadRequest('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP ${field} (${attr}): ${v}. It must be 0 to 255.`);
    }
    if (max !== null && min === null) throw new NeutronBadRequest('SecurityGroupMissingIcmpType', `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
  } else if (min !== null || max !== null) {
    throw new NeutronBadRequest('SecurityGroupInvalidProtocolForPort', `Invalid protocol ${String(protocol)} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.`);
  }
  let prefix: string | null = null;
  if (body.remote_ip_prefix !== undefined && body.remote_ip_prefix !== null) {
    if (body.remote_group_id) throw new NeutronBadRequest('SecurityGroupRemoteGroupAndRemoteIpPrefix', 'Only remote_ip_prefix or remote_group_id may be provided.');
    const text = String(body.remote_ip_prefix);
    if (text.includes(':')) {
      if (ethertype !== 'IPv6') throw new NeutronBadRequest('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${ethertype} for CIDR ${text}`);
      prefix = text;
    } else {
      const c = parseCidr(text.includes('/') ? text : `${text}/32`);
      if (!c) throw new InvalidInput(`'${text}' is not a valid IP subnet.`);
      if (ethertype !== 'IPv4') throw new NeutronBadRequest('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${ethertype} for CIDR ${text}`);
      prefix = c.text;
    }
  }
  let remoteGroup: string | null = null;
  if (body.remote_group_id) {
    const g = await core.store.get('security_group', body.remote_group_id);
    if (!g || !(await core.visible(ctx, 'security_group', g))) throw new NeutronNotFound('SecurityGroup', body.remote_group_id);
    remoteGroup = g.id;
  }
  return { direction, ethertype, protocol, port_range_min: min, port_range_max: max, remote_ip_prefix: prefix, remote_group_id: remoteGroup };
}

export async function createSecurityGroupRule(core: NetworkCore, ctx: RequestContext, body: RuleBody): Promise<SecurityGroupRuleRow> {
  if (typeof body.security_group_id !== 'string') throw new InvalidInput('security_group_id is required.');
  const group = await core.findOwned(ctx, 'security_group', body.security_group_id);
  const rule = await checkedRule(core, ctx, body);
  const row = ruleRow(group.project_id, group.id, 0, { ...rule, description: body.description ?? '', belongs_to_default_sg: bit(group.name === 'default') });
  await core.store.transaction(async (tx) => {
    const same = (await tx.rulesOf([group.id])).find((r) => r.direction === rule.direction && r.ethertype === rule.ethertype && r.protocol === rule.protocol && r.port_range_min === rule.port_range_min && r.port_range_max === rule.port_range_max && r.remote_ip_prefix === rule.remote_ip_prefix && r.remote_group_id === rule.remote_group_id);
    if (same) throw new NeutronConflict('SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${same.id}.`);
    await core.checkQuota(tx, 'security_group_rule', group.project_id);
    row.seq = tx.nextSeq();
    await tx.insert('security_group_rule', row);
    await core.save(tx, 'security_group', group, {});
  });
  core.events.emit('groups', [group.id]);
  return row;
}

export async function deleteSecurityGroupRule(core: NetworkCore, ctx: RequestContext, id: string): Promise<void> {
  const rule = await core.findOwned(ctx, 'security_group_rule', id);
  await core.store.remove('security_group_rule', id);
  core.events.emit('groups', [rule.security_group_id]);
}

/** The groups a port asks for (its project's or, for admins, any), default when none are given. */
export async function resolveGroups(core: NetworkCore, ctx: RequestContext, projectId: string, groups: string[] | undefined, store: NetworkStore = core.store): Promise<string[]> {
  if (groups === undefined) return [(await defaultSecurityGroup(core, projectId, store)).id];
  const out: string[] = [];
  for (const g of groups) {
    const row = await store.get('security_group', g);
    if (!row || (row.project_id !== projectId && !core.may(ctx, 'get:any_project'))) throw new NeutronNotFound('SecurityGroup', g);
    if (!out.includes(row.id)) out.push(row.id);
  }
  return out;
}
