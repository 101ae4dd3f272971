// Nova's network proxy APIs (os-networks, os-tenant-networks, os-security-groups and their rules, a
// server's groups, os-floating-ips, the floating IP server actions): Neutron's calls made through the
// network client with the caller's context, and Neutron's answers turned into Nova's errors.
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, ForbiddenError, HafenError, NotFoundError, OverQuotaError } from '../platform/errors.ts';
import type { NeutronDoc } from '../network/client.ts';
import type { ComputeCore } from './core.ts';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
/** Nova's default_floating_pool for a cloud whose external network is `public`. */
export const DEFAULT_FLOATING_POOL = 'public';

/** A security group rule as Nova's security_group_api converts Neutron's (ingress only). */
export interface NovaRule {
  id: string;
  parent_group_id: string;
  protocol: string | null;
  from_port: number | null;
  to_port: number | null;
  group_id: string | null;
  cidr: string;
}

/** A rule body of `POST /os-security-group-rules`: Nova never checked these fields' types. */
export interface RuleRequest {
  parent_group_id: string;
  group_id?: string | null;
  ip_protocol?: unknown;
  from_port?: unknown;
  to_port?: unknown;
  cidr?: unknown;
}

const statusOf = (err: unknown) => (err instanceof HafenError ? err.status : undefined);

/** Neutron's 404 as Nova answers it (Nova passes Neutron's message on unless it has its own). */
async function notFoundAs<T>(p: Promise<T>, message?: string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (statusOf(err) === 404) throw new NotFoundError(message ?? (err as Error).message);
    throw err;
  }
}

function isIpv4(a: string): boolean {
  return /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(a);
}

/** Nova's parse_cidr: none is 0.0.0.0/0; anything but an IPv4 or IPv6 network is 400. */
export function parseCidr(cidr: unknown): string {
  if (cidr === undefined || cidr === null || cidr === '') return '0.0.0.0/0';
  const text = typeof cidr === 'string' ? decodeURIComponentSafe(cidr) : String(cidr);
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const ok = m && ((isIpv4(m[1]!) && Number(m[2]) <= 32) || (/^[0-9a-fA-F:.]+$/.test(m[1]!) && m[1]!.includes(':') && Number(m[2]) <= 128));
  if (!ok) throw new BadRequestError(`${text} is not a valid IP network.`);
  return text;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Neutron's rule in Nova's terms (security_group_api's rule conversion). */
export function novaRule(r: NeutronDoc): NovaRule {
  const protocol = (r.protocol as string | null) ?? null;
  let from = (r.port_range_min as number | null) ?? null;
  let to = (r.port_range_max as number | null) ?? null;
  if (protocol && from === null && to === null) {
    [from, to] = ['tcp', 'udp'].includes(protocol.toLowerCase()) ? [1, 65535] : [-1, -1];
  }
  return { id: r.id, parent_group_id: r.security_group_id as string, protocol, from_port: from, to_port: to, group_id: (r.remote_group_id as string | null) ?? null, cidr: parseCidr(r.remote_ip_prefix) };
}

/** Nova's _new_ingress_rule: the rule a request asks for, checked as Nova checks it; undefined when too little was given. */
function ingressRule(req: RuleRequest): { group_id?: string; cidr?: string; protocol?: string; from_port?: number; to_port?: number } | undefined {
  const values: { group_id?: string; cidr?: string; protocol?: string; from_port?: number; to_port?: number } = {};
  let from = req.from_port ?? null;
  let to = req.to_port ?? null;
  const proto = req.ip_protocol === undefined || req.ip_protocol === null || req.ip_protocol === '' ? '' : String(req.ip_protocol);
  let cidr: string | undefined;
  if (req.group_id) {
    values.group_id = req.group_id;
    if (proto.toUpperCase() === 'ICMP' && from === null && to === null) [from, to] = [-1, -1];
    else if (['TCP', 'UDP'].includes(proto.toUpperCase()) && from === null && to === null) [from, to] = [1, 65535];
  } else {
    cidr = parseCidr(req.cidr);
    values.cidr = cidr;
  }
  if (proto && from !== null && to !== null) {
    const f = typeof from === 'number' ? from : /^\s*[-+]?\d{1,9}\s*$/.test(String(from)) ? Number(from) : NaN;
    const t = typeof to === 'number' ? to : /^\s*[-+]?\d{1,9}\s*$/.test(String(to)) ? Number(to) : NaN;
    const upper = proto.toUpperCase();
    if (!Number.isInteger(f) || !Number.isInteger(t)) {
      throw new BadRequestError(`Invalid input received: ${upper === 'ICMP' ? 'Type and Code must be integers for ICMP protocol type' : 'To and From ports must be integers'}`);
    }
    if (!['TCP', 'UDP', 'ICMP'].includes(upper)) throw new BadRequestError(`Invalid IP protocol ${proto}.`);
    if (upper !== 'ICMP' && f > t) throw new BadRequestError(`Invalid port range ${f}:${t}. Former value cannot be greater than the later`);
    if (upper !== 'ICMP' && (f < 1 || t > 65535)) throw new BadRequestError(`Invalid port range ${f}:${t}. Valid ${upper} ports should be between 1-65535`);
    if (upper === 'ICMP' && (f < -1 || f > 255 || t < -1 || t > 255)) throw new BadRequestError(`Invalid port range ${f}:${t}. For ICMP, the type:code must be valid`);
    Object.assign(values, { protocol: proto, from_port: f, to_port: t });
  } else if (cidr) {
    return undefined;
  }
  return values;
}

export class NetworkProxies {
  constructor(private readonly core: ComputeCore) {}

  private get net() {
    return this.core.network;
  }

  // ---- networks ------------------------------------------------------------------------------

  /** Every network the caller sees in Neutron (its own, shared and external ones). */
  networks(ctx: RequestContext): Promise<NeutronDoc[]> {
    return this.net.list(ctx, 'network');
  }

  network(ctx: RequestContext, id: string): Promise<NeutronDoc> {
    return notFoundAs(this.net.find(ctx, 'network', id), 'Network not found');
  }

  // ---- security groups -----------------------------------------------------------------------

  /** The caller's project's groups (Nova asks Neutron for tenant_id=project), every project's for admins with all_tenants. */
  async securityGroups(ctx: RequestContext, allTenants: boolean): Promise<NeutronDoc[]> {
    const all = allTenants && this.core.isAdmin(ctx);
    return this.net.list(ctx, 'security_group', all ? {} : { where: [{ kind: 'in', column: 'project_id', values: [this.core.projectOf(ctx)] }] });
  }

  async securityGroup(ctx: RequestContext, id: string): Promise<NeutronDoc> {
    if (!UUID.test(id)) throw new BadRequestError('Security group id should be uuid');
    return notFoundAs(this.net.find(ctx, 'security_group', id));
  }

  /** Groups by id as the caller may see them; the ones it may not are left out (Nova skips their rules). */
  async groupsById(ctx: RequestContext, ids: string[]): Promise<Map<string, NeutronDoc>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const found = await this.net.list(ctx, 'security_group', { where: [{ kind: 'in', column: 'id', values: unique }] });
    return new Map(found.map((g) => [g.id, g]));
  }

  async createSecurityGroup(ctx: RequestContext, name: string, description: string): Promise<NeutronDoc> {
    try {
      return await this.net.createSecurityGroup(ctx, { name, description });
    } catch (err) {
      if (err instanceof OverQuotaError || statusOf(err) === 409) throw new ForbiddenError((err as Error).message);
      throw err;
    }
  }

  async updateSecurityGroup(ctx: RequestContext, id: string, name: string, description: string): Promise<NeutronDoc> {
    const group = await this.securityGroup(ctx, id);
    return notFoundAs(this.net.updateSecurityGroup(ctx, group.id, { name, description }));
  }

  async deleteSecurityGroup(ctx: RequestContext, id: string): Promise<void> {
    const group = await this.securityGroup(ctx, id);
    try {
      await this.net.deleteSecurityGroup(ctx, group.id);
    } catch (err) {
      // Nova reads Neutron's 409 (in use, the default group) as invalid input.
      if (statusOf(err) === 409) throw new BadRequestError((err as Error).message);
      throw err;
    }
  }

  /** An ingress rule as Nova builds it, made in Neutron; answered with its source group's name and project when it has one. */
  async createRule(ctx: RequestContext, req: RuleRequest): Promise<{ rule: NovaRule; source?: NeutronDoc }> {
    const parent = await notFoundAs(this.net.find(ctx, 'security_group', req.parent_group_id));
    const source = req.group_id ? await notFoundAs(this.net.find(ctx, 'security_group', req.group_id)) : undefined;
    const wanted = ingressRule(req);
    if (!wanted) throw new BadRequestError('Not enough parameters to build a valid rule.');
    if (wanted.cidr) {
      const [net, prefix] = wanted.cidr.split('/') as [string, string];
      if (net !== '0.0.0.0' && net !== '::' && prefix === '0') throw new BadRequestError(`Bad prefix for network in cidr ${wanted.cidr}`);
    }
    const existing = ((parent.security_group_rules as NeutronDoc[] | undefined) ?? []).filter((r) => r.direction === 'ingress').map(novaRule);
    const same = existing.find((r) => (['group_id', 'cidr', 'from_port', 'to_port', 'protocol'] as const).every((k) => (r[k] ?? undefined) === (wanted[k] ?? undefined)));
    if (same) throw new BadRequestError(`This rule already exists in group ${parent.id}`);
    const body: Record<string, unknown> = {
      security_group_id: parent.id,
      direction: 'ingress',
      ethertype: wanted.cidr?.includes(':') ? 'IPv6' : 'IPv4',
      protocol: wanted.protocol ? wanted.protocol.toLowerCase() : null,
      remote_ip_prefix: wanted.cidr ?? null,
      remote_group_id: wanted.group_id ?? null,
      ...(wanted.from_port !== undefined && wanted.from_port !== -1 ? { port_range_min: wanted.from_port } : {}),
      ...(wanted.to_port !== undefined && wanted.to_port !== -1 ? { port_range_max: wanted.to_port } : {}),
    };
    try {
      return { rule: novaRule(await this.net.createSecurityGroupRule(ctx, body)), ...(source ? { source } : {}) };
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) throw new NotFoundError((err as Error).message);
      if (status === 409 || err instanceof OverQuotaError) throw new ForbiddenError((err as Error).message);
      throw err;
    }
  }

  async deleteRule(ctx: RequestContext, id: string): Promise<void> {
    if (!UUID.test(id)) throw new BadRequestError('Security group id should be uuid');
    const rule = await notFoundAs(this.net.find(ctx, 'security_group_rule', id));
    await notFoundAs(this.net.find(ctx, 'security_group', rule.security_group_id as string));
    await notFoundAs(this.net.deleteSecurityGroupRule(ctx, rule.id));
  }

  /** The groups of the server's ports (404 for a server the caller may not see). */
  async serverSecurityGroups(ctx: RequestContext, serverId: string): Promise<NeutronDoc[]> {
    const server = await this.core.server(ctx, serverId);
    const ports = await this.net.list(ctx, 'port', { where: [{ kind: 'in', column: 'device_id', values: [server.id] }] });
    const ids = ports.flatMap((p) => (p.security_groups as string[] | undefined) ?? []);
    return [...(await this.groupsById(ctx, ids)).values()];
  }

  /** A group by name or id among those the caller sees (Neutron's find by name or id, as Nova asks it). */
  private async groupNamed(ctx: RequestContext, name: string): Promise<NeutronDoc> {
    const column = UUID.test(name) ? 'id' : 'name';
    const found = await this.net.list(ctx, 'security_group', { where: [{ kind: 'in', column, values: [name] }, { kind: 'in', column: 'project_id', values: [this.core.projectOf(ctx)] }], limit: 2 });
    if (found.length === 0) throw new NotFoundError(`Security group ${name} not found.`);
    if (found.length > 1) throw new ConflictError(`Multiple security_group matches found for name '${name}', use an ID to be more specific.`);
    return found[0]!;
  }

  /** The server's ports (404 for a server the caller may not see; Nova's 404 when it has none). */
  private async serverPorts(ctx: RequestContext, serverId: string): Promise<NeutronDoc[]> {
    const server = await this.core.server(ctx, serverId);
    const ports = await this.net.list(ctx, 'port', { where: [{ kind: 'in', column: 'device_id', values: [server.id] }] });
    if (ports.length === 0) throw new NotFoundError(`instance_id ${server.id} could not be found as device id on any ports`);
    return ports;
  }

  /** addSecurityGroup (every version): the group on each of the server's ports. */
  async addSecurityGroup(ctx: RequestContext, serverId: string, name: string): Promise<void> {
    const ports = await this.serverPorts(ctx, serverId);
    const group = await this.groupNamed(ctx, name);
    const insecure = ports.find((p) => p.port_security_enabled === false);
    if (insecure) throw new BadRequestError(`Cannot add security group ${name} to ${serverId} since the port ${insecure.id} does not meet security requirements`);
    for (const p of ports) {
      const groups = (p.security_groups as string[] | undefined) ?? [];
      if (!groups.includes(group.id)) await this.net.updatePort(ctx, p.id, { security_groups: [...groups, group.id] });
    }
  }

  /** removeSecurityGroup (every version): the group off each port that has it; 400 when none has. */
  async removeSecurityGroup(ctx: RequestContext, serverId: string, name: string): Promise<void> {
    const ports = await this.serverPorts(ctx, serverId);
    const group = await this.groupNamed(ctx, name);
    const holding = ports.filter((p) => ((p.security_groups as string[] | undefined) ?? []).includes(group.id));
    if (holding.length === 0) throw new BadRequestError(`Security group ${name} not associated with the instance ${serverId}`);
    for (const p of holding) await this.net.updatePort(ctx, p.id, { security_groups: (p.security_groups as string[]).filter((g) => g !== group.id) });
  }

  // ---- floating IPs --------------------------------------------------------------------------

  /** The external networks (floating IP pools) the caller sees. */
  pools(ctx: RequestContext): Promise<NeutronDoc[]> {
    return this.net.list(ctx, 'network', { where: [{ kind: 'in', column: 'external', values: [1] }] });
  }

  /** Networks by id, to name each floating IP's pool. */
  async networksById(ctx: RequestContext, ids: string[]): Promise<Map<string, NeutronDoc>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    return new Map((await this.net.list(ctx, 'network', { where: [{ kind: 'in', column: 'id', values: unique }] })).map((n) => [n.id, n]));
  }

  /** The caller's project's floating IPs (Nova asks Neutron for tenant_id=project, admins too). */
  floatingIps(ctx: RequestContext): Promise<NeutronDoc[]> {
    return this.net.list(ctx, 'floatingip', { where: [{ kind: 'in', column: 'project_id', values: [this.core.projectOf(ctx)] }] });
  }

  floatingIp(ctx: RequestContext, id: string): Promise<NeutronDoc> {
    return notFoundAs(this.net.find(ctx, 'floatingip', id), `Floating IP not found for ID ${id}`);
  }

  /** Allocates an address from a pool named by name or id (the default pool when none is named). */
  async allocate(ctx: RequestContext, pool: string | null | undefined): Promise<NeutronDoc> {
    const wanted = pool || DEFAULT_FLOATING_POOL;
    const column = UUID.test(wanted) ? 'id' : 'name';
    const nets = await this.net.list(ctx, 'network', { where: [{ kind: 'in', column: 'external', values: [1] }, { kind: 'in', column, values: [wanted] }], limit: 2 });
    if (nets.length === 0) throw new NotFoundError('Floating IP pool not found.');
    if (nets.length > 1) throw new ConflictError(`Multiple floating IP pools matches found for name '${wanted}'`);
    try {
      return await this.net.createFloatingIp(ctx, { floating_network_id: nets[0]!.id });
    } catch (err) {
      const e = err as HafenError;
      if (e.name === 'ExternalIpAddressExhausted' || e.name === 'IpAddressGenerationFailure') throw new NotFoundError(pool ? `No more floating IPs in pool ${pool}.` : 'No more floating IPs available.');
      if (err instanceof OverQuotaError) throw new ForbiddenError(pool ? `IP allocation over quota in pool ${pool}.` : 'IP allocation over quota.');
      throw err;
    }
  }

  /** Releases a floating IP (disassociating it first, as Neutron's delete does). */
  async release(ctx: RequestContext, id: string): Promise<void> {
    const fip = await this.floatingIp(ctx, id);
    await notFoundAs(this.net.deleteFloatingIp(ctx, fip.id), `Floating IP not found for address ${String(fip.floating_ip_address)}.`);
  }

  private async byAddress(ctx: RequestContext, address: string, notFound: string): Promise<NeutronDoc> {
    const found = await this.net.list(ctx, 'floatingip', { where: [{ kind: 'in', column: 'floating_ip_address', values: [address] }], limit: 2 });
    if (found.length === 0) throw new NotFoundError(notFound);
    if (found.length > 1) throw new ConflictError(`Multiple floating IPs are found for address ${address}.`);
    return found[0]!;
  }

  /** addFloatingIp (until 2.44): the address goes to the given fixed address of the server, or its first IPv4 one. */
  async associate(ctx: RequestContext, serverId: string, address: string, fixedAddress: string | undefined): Promise<void> {
    const server = await this.core.server(ctx, serverId);
    const ports = await this.net.list(ctx, 'port', { where: [{ kind: 'in', column: 'device_id', values: [server.id] }] });
    if (ports.length === 0) throw new BadRequestError('Instance network is not ready yet');
    const fixed = ports.flatMap((p) => ((p.fixed_ips as { ip_address: string }[] | undefined) ?? []).map((f) => ({ port: p.id, address: f.ip_address })));
    if (fixed.length === 0) throw new BadRequestError('No fixed IPs associated to instance');
    let target: { port: string; address: string } | undefined;
    if (fixedAddress !== undefined) {
      target = fixed.find((f) => f.address === fixedAddress);
      if (!target) throw new BadRequestError('Specified fixed address not assigned to instance');
    } else {
      target = fixed.find((f) => isIpv4(f.address));
      if (!target) throw new BadRequestError(`Unable to associate floating IP ${address} to any fixed IPs for instance ${serverId}. Instance has no fixed IPv4 addresses to associate.`);
    }
    const fip = await this.byAddress(ctx, address, 'floating IP not found');
    try {
      await this.net.updateFloatingIp(ctx, fip.id, { port_id: target.port, fixed_ip_address: target.address });
    } catch (err) {
      const status = statusOf(err);
      if (status === 409) throw new BadRequestError(`Floating IP ${address} association has failed.`);
      if (status === 403) throw new ForbiddenError((err as Error).message);
      throw new BadRequestError(`Unable to associate floating IP ${address} to fixed IP ${target.address} for instance ${serverId}. Error: ${(err as Error).message}`);
    }
  }

  /** removeFloatingIp (until 2.44): only from the server it is associated with (409 otherwise). */
  async disassociate(ctx: RequestContext, serverId: string, address: string): Promise<void> {
    const server = await this.core.server(ctx, serverId);
    const fip = await this.byAddress(ctx, address, `Floating IP not found for address ${address}.`);
    const details = fip.port_details as { device_id?: string } | null | undefined;
    if (!fip.port_id || details?.device_id !== server.id) throw new ConflictError(`Floating IP ${address} is not associated with instance ${serverId}.`);
    await this.net.updateFloatingIp(ctx, fip.id, { port_id: null });
  }
}
