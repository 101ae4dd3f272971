// The network service's rules: tenancy, validation and lifecycles of networks, subnets, ports,
// security groups, routers, floating IPs and quotas, and the NetworkClient compute binds ports through.
import { EventEmitter } from 'node:events';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { requireProject, type RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import { ForbiddenError } from '../platform/errors.ts';
import type { BindOptions, NetworkClient, NicRequest, NovaAddress, PortBinding } from './client.ts';
import { InvalidInput, NeutronBadRequest, NeutronConflict, NeutronNotFound, NeutronOverQuota } from './errors.ts';
import { contains, freeAddresses, inPools, ipToInt, layoutSubnet, overlaps, parseCidr, type AllocationPool } from './ipam.ts';
import type { NetworkStore, PortBindingRow, ResourceDoc, ResourceKind } from './store.ts';
import { SERVICE_DEVICE_OWNER } from './policy.ts';
import type { FirewallRule, FloatingIpMapping, PortFirewall } from '../agent/net/contract.ts';

export const DEFAULT_QUOTAS: Record<string, number> = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
};

const KIND_LABEL: Record<ResourceKind, string> = {
  network: 'Network',
  subnet: 'Subnet',
  port: 'Port',
  security_group: 'SecurityGroup',
  security_group_rule: 'SecurityGroupRule',
  router: 'Router',
  floatingip: 'FloatingIP',
  quota: 'Quota',
};

type Body = Record<string, unknown>;

export type { FirewallRule, FloatingIpMapping, PortFirewall };

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const bool = (v: unknown, name: string): boolean => {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'True') return true;
  if (v === 'false' || v === 'False') return false;
  throw new InvalidInput(`'${String(v)}' is not a valid boolean value for ${name}.`);
};
const str = (v: unknown, name: string, max = 255): string => {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string' || v.length > max) throw new InvalidInput(`'${String(v)}' is not a valid string for ${name}.`);
  return v;
};
const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, sctp: 132, ah: 51, esp: 50, gre: 47, ipip: 4, ipv6_icmp: 58, 'ipv6-icmp': 58, icmpv6: 58, igmp: 2 };

export class NetworkService implements NetworkClient {
  /** 'firewall' (portIds whose firewall changed) and 'floatingip' (a mapping added or removed). */
  readonly events = new EventEmitter();

  constructor(
    private readonly store: NetworkStore,
    private readonly policy: PolicyEngine,
  ) {}

  /** Whether the caller's roles pass one of the network policy's rules (src/network/policy.ts). */
  private may(ctx: RequestContext, rule: string): boolean {
    return this.policy.authorize(`network:${rule}`, ctx);
  }

  private enforce(ctx: RequestContext, rule: string, what: string): void {
    if (!this.may(ctx, rule)) throw new ForbiddenError(`(${what}) is disallowed by policy`);
  }

  isAdmin(ctx: RequestContext): boolean {
    return this.may(ctx, 'context_is_admin');
  }

  // ----- tenancy ---------------------------------------------------------------------------

  private visible(ctx: RequestContext, kind: ResourceKind, doc: ResourceDoc): boolean {
    if (this.may(ctx, 'get:any_project')) return true;
    const project = ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
    if (doc.project_id === project) return true;
    if (kind === 'network') return Boolean(doc.shared) || Boolean(doc['router:external']);
    return false;
  }

  private async subnetVisible(ctx: RequestContext, doc: ResourceDoc): Promise<boolean> {
    if (this.visible(ctx, 'subnet', doc)) return true;
    const net = await this.store.get('network', doc.network_id as string);
    return Boolean(net && this.visible(ctx, 'network', net));
  }

  private ownerFor(ctx: RequestContext, body: Body): string {
    const asked = (body.project_id ?? body.tenant_id) as string | undefined;
    const own = requireProject(ctx);
    if (asked && asked !== own) {
      this.enforce(ctx, 'create:any_project', 'rule:create and project_id');
      return asked;
    }
    return own;
  }

  async find(ctx: RequestContext, kind: ResourceKind, id: string): Promise<ResourceDoc> {
    const doc = await this.store.get(kind, id);
    const ok = doc && (kind === 'subnet' ? await this.subnetVisible(ctx, doc) : this.visible(ctx, kind, doc));
    if (!doc || !ok) throw new NeutronNotFound(KIND_LABEL[kind], id);
    return doc;
  }

  private async findOwned(ctx: RequestContext, kind: ResourceKind, id: string): Promise<ResourceDoc> {
    const doc = await this.find(ctx, kind, id);
    if (!this.may(ctx, 'update:any_project') && doc.project_id !== requireProject(ctx)) throw new ForbiddenError(`The request you have made requires authentication or you are not permitted to modify ${kind} ${id}.`);
    return doc;
  }

  async list(ctx: RequestContext, kind: ResourceKind): Promise<ResourceDoc[]> {
    const all = await this.store.list(kind);
    const out: ResourceDoc[] = [];
    for (const d of all) if (kind === 'subnet' ? await this.subnetVisible(ctx, d) : this.visible(ctx, kind, d)) out.push(d);
    return out;
  }

  private base(projectId: string, body: Body): ResourceDoc {
    const t = now();
    return { id: randomUUID(), project_id: projectId, created_at: t, updated_at: t, revision_number: 0, tags: [], name: str(body.name, 'name'), description: str(body.description, 'description') };
  }

  private async checkQuota(kind: string, projectId: string): Promise<void> {
    const limit = (await this.quotaOf(projectId))[kind] ?? -1;
    if (limit >= 0 && (await this.store.count(kind as ResourceKind, projectId)) >= limit) throw new NeutronOverQuota(kind);
  }

  private async touch(doc: ResourceDoc): Promise<ResourceDoc> {
    doc.updated_at = now();
    doc.revision_number += 1;
    await this.store.update(doc);
    return doc;
  }

  private rejectUnknown(body: Body, allowed: string[], kind: string): void {
    for (const k of Object.keys(body)) {
      if (!allowed.includes(k)) throw new NeutronBadRequest('HTTPBadRequest', `Unrecognized attribute(s) '${k}'`);
    }
    void kind;
  }

  // ----- networks --------------------------------------------------------------------------

  async createNetwork(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['name', 'description', 'admin_state_up', 'shared', 'router:external', 'mtu', 'port_security_enabled', 'project_id', 'tenant_id', 'tags', 'availability_zone_hints', 'is_default', 'dns_domain', 'qos_policy_id', 'provider:network_type', 'provider:physical_network', 'provider:segmentation_id'], 'network');
    const project = this.ownerFor(ctx, body);
    for (const k of ['shared', 'router:external'] as const) {
      if (body[k] !== undefined && body[k] !== false && body[k] !== 'false' && body[k] !== 'False') this.enforce(ctx, `create_network:${k}`, `rule:create_network and rule:create_network:${k}`);
    }
    await this.checkQuota('network', project);
    const mtu = body.mtu === undefined ? 1500 : Number(body.mtu);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 9000) throw new InvalidInput(`'${String(body.mtu)}' is not a valid MTU (68-9000).`);
    const doc: ResourceDoc = {
      ...this.base(project, body),
      admin_state_up: body.admin_state_up === undefined ? true : bool(body.admin_state_up, 'admin_state_up'),
      shared: body.shared === undefined ? false : bool(body.shared, 'shared'),
      'router:external': body['router:external'] === undefined ? false : bool(body['router:external'], 'router:external'),
      mtu,
      port_security_enabled: body.port_security_enabled === undefined ? true : bool(body.port_security_enabled, 'port_security_enabled'),
      subnets: [],
      is_default: body.is_default === true,
      tags: Array.isArray(body.tags) ? (body.tags as string[]) : [],
    };
    await this.store.insert('network', doc);
    return doc;
  }

  async updateNetwork(ctx: RequestContext, id: string, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['name', 'description', 'admin_state_up', 'shared', 'router:external', 'mtu', 'port_security_enabled', 'is_default', 'dns_domain', 'qos_policy_id'], 'network');
    const doc = await this.findOwned(ctx, 'network', id);
    for (const k of ['shared', 'router:external'] as const) if (body[k] !== undefined) this.enforce(ctx, `update_network:${k}`, `rule:update_network and rule:update_network:${k}`);
    if (body.name !== undefined) doc.name = str(body.name, 'name');
    if (body.description !== undefined) doc.description = str(body.description, 'description');
    for (const k of ['admin_state_up', 'shared', 'router:external', 'port_security_enabled', 'is_default']) if (body[k] !== undefined) doc[k] = bool(body[k], k);
    if (body.mtu !== undefined) {
      const mtu = Number(body.mtu);
      if (!Number.isInteger(mtu) || mtu < 68 || mtu > 9000) throw new InvalidInput(`'${String(body.mtu)}' is not a valid MTU (68-9000).`);
      doc.mtu = mtu;
    }
    return this.touch(doc);
  }

  async deleteNetwork(ctx: RequestContext, id: string): Promise<void> {
    const doc = await this.findOwned(ctx, 'network', id);
    const ports = (await this.store.list('port')).filter((p) => p.network_id === id);
    if (ports.length > 0) throw new NeutronConflict('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`);
    const fips = (await this.store.list('floatingip')).filter((f) => f.floating_network_id === id);
    if (fips.length > 0) throw new NeutronConflict('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more floating IPs still in use on the network.`);
    const gateways = (await this.store.list('router')).filter((r) => (r.external_gateway_info as { network_id?: string } | null)?.network_id === id);
    if (gateways.length > 0) throw new NeutronConflict('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more routers using it as their gateway.`);
    for (const s of doc.subnets as string[]) {
      await this.store.releaseAddresses(s);
      await this.store.remove(s);
    }
    await this.store.remove(id);
  }

  // ----- subnets ---------------------------------------------------------------------------

  async createSubnet(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['name', 'description', 'network_id', 'ip_version', 'cidr', 'gateway_ip', 'allocation_pools', 'dns_nameservers', 'host_routes', 'enable_dhcp', 'project_id', 'tenant_id', 'tags', 'ipv6_ra_mode', 'ipv6_address_mode', 'subnetpool_id', 'prefixlen', 'service_types', 'use_default_subnetpool', 'segment_id', 'dns_publish_fixed_ip'], 'subnet');
    if (typeof body.network_id !== 'string') throw new InvalidInput("network_id is required.");
    const net = await this.find(ctx, 'network', body.network_id);
    const project = this.ownerFor(ctx, body);
    if (net.project_id !== project && !this.may(ctx, 'update:any_project')) throw new ForbiddenError(`(rule:create_subnet and rule:create_subnet:network_owner) is disallowed by policy`);
    const ipVersion = Number(body.ip_version ?? 4);
    if (ipVersion === 6 || (typeof body.cidr === 'string' && body.cidr.includes(':'))) throw new InvalidInput('IPv6 subnets are not supported by this cloud (the engines run IPv4 networks only).');
    if (ipVersion !== 4) throw new InvalidInput(`${String(body.ip_version)} is not in [4, 6].`);
    if (body.cidr === undefined) throw new NeutronBadRequest('BadRequest', 'Bad subnets request: a cidr must be specified in the absence of a subnet pool.');
    await this.checkQuota('subnet', project);
    const layout = layoutSubnet(body.cidr, body.gateway_ip, body.allocation_pools);
    const mine = parseCidr(layout.cidr)!;
    for (const sid of net.subnets as string[]) {
      const other = await this.store.get('subnet', sid);
      if (other && overlaps(parseCidr(other.cidr as string)!, mine)) {
        throw new InvalidInput(`Requested subnet with cidr: ${layout.cidr} for network: ${net.id} overlaps with another subnet.`);
      }
    }
    const dns = body.dns_nameservers ?? [];
    if (!Array.isArray(dns) || dns.some((d) => typeof d !== 'string' || ipToInt(d) === undefined)) throw new InvalidInput(`'${JSON.stringify(dns)}' is not a valid list of nameservers.`);
    if (new Set(dns).size !== dns.length) throw new InvalidInput(`Duplicate nameserver in ${JSON.stringify(dns)}.`);
    const routes = body.host_routes ?? [];
    if (!Array.isArray(routes) || routes.some((r: { destination?: unknown; nexthop?: unknown }) => !parseCidr(String(r?.destination)) || ipToInt(String(r?.nexthop)) === undefined)) {
      throw new InvalidInput(`'${JSON.stringify(routes)}' is not a valid list of host routes.`);
    }
    const doc: ResourceDoc = {
      ...this.base(project, body),
      network_id: net.id,
      ip_version: 4,
      cidr: layout.cidr,
      gateway_ip: layout.gateway_ip,
      allocation_pools: layout.allocation_pools,
      dns_nameservers: dns,
      host_routes: routes,
      enable_dhcp: body.enable_dhcp === undefined ? true : bool(body.enable_dhcp, 'enable_dhcp'),
      ipv6_ra_mode: null,
      ipv6_address_mode: null,
      subnetpool_id: null,
      service_types: [],
      tags: Array.isArray(body.tags) ? (body.tags as string[]) : [],
    };
    await this.store.insert('subnet', doc);
    (net.subnets as string[]).push(doc.id);
    await this.touch(net);
    return doc;
  }

  async updateSubnet(ctx: RequestContext, id: string, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['name', 'description', 'gateway_ip', 'allocation_pools', 'dns_nameservers', 'host_routes', 'enable_dhcp', 'service_types', 'dns_publish_fixed_ip'], 'subnet');
    const doc = await this.findOwned(ctx, 'subnet', id);
    if (body.gateway_ip !== undefined || body.allocation_pools !== undefined) {
      const layout = layoutSubnet(doc.cidr, body.gateway_ip !== undefined ? body.gateway_ip : doc.gateway_ip, body.allocation_pools ?? doc.allocation_pools);
      doc.gateway_ip = layout.gateway_ip;
      doc.allocation_pools = layout.allocation_pools;
    }
    if (body.name !== undefined) doc.name = str(body.name, 'name');
    if (body.description !== undefined) doc.description = str(body.description, 'description');
    if (body.dns_nameservers !== undefined) {
      const dns = body.dns_nameservers;
      if (!Array.isArray(dns) || dns.some((d) => typeof d !== 'string' || ipToInt(d) === undefined)) throw new InvalidInput(`'${JSON.stringify(dns)}' is not a valid list of nameservers.`);
      doc.dns_nameservers = dns;
    }
    if (body.host_routes !== undefined) {
      const routes = body.host_routes;
      if (!Array.isArray(routes) || routes.some((r: { destination?: unknown; nexthop?: unknown }) => !parseCidr(String(r?.destination)) || ipToInt(String(r?.nexthop)) === undefined)) {
        throw new InvalidInput(`'${JSON.stringify(routes)}' is not a valid list of host routes.`);
      }
      doc.host_routes = routes;
    }
    if (body.enable_dhcp !== undefined) doc.enable_dhcp = bool(body.enable_dhcp, 'enable_dhcp');
    return this.touch(doc);
  }

  async deleteSubnet(ctx: RequestContext, id: string): Promise<void> {
    const doc = await this.findOwned(ctx, 'subnet', id);
    const used = await this.store.addressesIn(id);
    if (used.size > 0) throw new NeutronConflict('SubnetInUse', `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`);
    const net = await this.store.get('network', doc.network_id as string);
    if (net) {
      net.subnets = (net.subnets as string[]).filter((s) => s !== id);
      await this.touch(net);
    }
    await this.store.remove(id);
  }

  // ----- addresses -------------------------------------------------------------------------

  private async subnetsOf(networkId: string): Promise<ResourceDoc[]> {
    const net = await this.store.get('network', networkId);
    const out: ResourceDoc[] = [];
    for (const sid of (net?.subnets as string[] | undefined) ?? []) {
      const s = await this.store.get('subnet', sid);
      if (s) out.push(s);
    }
    return out;
  }

  /** Claims the requested or the next free address; the ledger's key settles races, losers try the next one. */
  private async allocate(subnet: ResourceDoc, ownerId: string, wanted?: string): Promise<string> {
    if (wanted !== undefined) {
      const n = ipToInt(wanted);
      const cidr = parseCidr(subnet.cidr as string)!;
      if (n === undefined || !contains(cidr, n) || n === cidr.first || n === cidr.last) {
        throw new NeutronBadRequest('InvalidIpForSubnet', `IP address ${wanted} is not a valid IP for the specified subnet.`);
      }
      if (wanted === subnet.gateway_ip || !(await this.store.claimAddress(subnet.id, wanted, ownerId))) {
        throw new NeutronConflict('IpAddressInUse', `Unable to complete operation for network ${subnet.network_id as string}. The IP address ${wanted} is in use.`);
      }
      return wanted;
    }
    // A lost race moves on to the next candidate; a fresh read only when a whole pass was lost
    // (addresses may have been freed meanwhile).
    for (let pass = 0; pass < 3; pass++) {
      const taken = await this.store.addressesIn(subnet.id);
      if (subnet.gateway_ip) taken.add(subnet.gateway_ip as string);
      let candidates = 0;
      for (const ip of freeAddresses(subnet.allocation_pools as AllocationPool[], taken)) {
        candidates++;
        if (await this.store.claimAddress(subnet.id, ip, ownerId)) return ip;
      }
      if (candidates === 0) break;
    }
    throw new NeutronConflict('IpAddressGenerationFailure', `No more IP addresses available on network ${subnet.network_id as string}.`);
  }

  // ----- security groups -------------------------------------------------------------------

  /** The project's "default" group, created with Neutron's default rules the first time it is needed. */
  async defaultSecurityGroup(projectId: string): Promise<ResourceDoc> {
    const found = (await this.store.list('security_group')).find((g) => g.project_id === projectId && g.name === 'default');
    if (found) return found;
    const group: ResourceDoc = { ...this.base(projectId, { name: 'default', description: 'Default security group' }), stateful: true };
    await this.store.insert('security_group', group);
    for (const ethertype of ['IPv4', 'IPv6']) {
      for (const direction of ['ingress', 'egress']) {
        await this.store.insert('security_group_rule', {
          ...this.base(projectId, {}),
          security_group_id: group.id,
          direction,
          ethertype,
          protocol: null,
          port_range_min: null,
          port_range_max: null,
          remote_ip_prefix: null,
          remote_group_id: direction === 'ingress' ? group.id : null,
          remote_address_group_id: null,
          normalized_cidr: null,
          belongs_to_default_sg: true,
        });
      }
    }
    return group;
  }

  async listSecurityGroups(ctx: RequestContext): Promise<ResourceDoc[]> {
    if (ctx.scope.kind === 'project') await this.defaultSecurityGroup(ctx.scope.projectId);
    return this.list(ctx, 'security_group');
  }

  async rulesOf(groupId: string): Promise<ResourceDoc[]> {
    return (await this.store.list('security_group_rule')).filter((r) => r.security_group_id === groupId);
  }

  async createSecurityGroup(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['name', 'description', 'project_id', 'tenant_id', 'stateful', 'tags'], 'security_group');
    const project = this.ownerFor(ctx, body);
    await this.defaultSecurityGroup(project);
    if (body.name === 'default') throw new NeutronConflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
    await this.checkQuota('security_group', project);
    const group: ResourceDoc = { ...this.base(project, body), stateful: true, tags: Array.isArray(body.tags) ? (body.tags as string[]) : [] };
    await this.store.insert('security_group', group);
    // Neutron gives every new group "all egress" rules.
    for (const ethertype of ['IPv4', 'IPv6']) {
      await this.store.insert('security_group_rule', {
        ...this.base(project, {}), security_group_id: group.id, direction: 'egress', ethertype, protocol: null, port_range_min: null, port_range_max: null,
        remote_ip_prefix: null, remote_group_id: null, remote_address_group_id: null, normalized_cidr: null, belongs_to_default_sg: false,
      });
    }
    return group;
  }

  async updateSecurityGroup(ctx: RequestContext, id: string, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['name', 'description', 'stateful'], 'security_group');
    const doc = await this.findOwned(ctx, 'security_group', id);
    if (body.name !== undefined) {
      if (doc.name === 'default' && body.name !== 'default') throw new NeutronConflict('SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
      doc.name = str(body.name, 'name');
    }
    if (body.description !== undefined) doc.description = str(body.description, 'description');
    return this.touch(doc);
  }

  async deleteSecurityGroup(ctx: RequestContext, id: string): Promise<void> {
    const doc = await this.findOwned(ctx, 'security_group', id);
    if (doc.name === 'default' && !this.may(ctx, 'delete_security_group:default')) throw new NeutronConflict('SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
    const users = (await this.store.list('port')).filter((p) => (p.security_groups as string[]).includes(id));
    if (users.length > 0) throw new NeutronConflict('SecurityGroupInUse', `Security Group ${id} in use.`);
    for (const r of await this.rulesOf(id)) await this.store.remove(r.id);
    await this.store.remove(id);
  }

  async createSecurityGroupRule(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['security_group_id', 'direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max', 'remote_ip_prefix', 'remote_group_id', 'remote_address_group_id', 'description', 'project_id', 'tenant_id'], 'security_group_rule');
    if (typeof body.security_group_id !== 'string') throw new InvalidInput('security_group_id is required.');
    const group = await this.findOwned(ctx, 'security_group', body.security_group_id);
    const direction = body.direction;
    if (direction !== 'ingress' && direction !== 'egress') throw new InvalidInput(`${String(direction)} is not in ['ingress', 'egress'].`);
    const ethertype = body.ethertype ?? 'IPv4';
    if (ethertype !== 'IPv4' && ethertype !== 'IPv6') throw new InvalidInput(`${String(ethertype)} is not in ['IPv4', 'IPv6'].`);
    let protocol: string | null = null;
    if (body.protocol !== undefined && body.protocol !== null && body.protocol !== 'any' && body.protocol !== '') {
      const p = String(body.protocol).toLowerCase();
      if (/^\d+$/.test(p)) {
        if (Number(p) > 255) throw new NeutronBadRequest('SecurityGroupRuleInvalidProtocol', `Security group rule protocol ${p} not supported. Only protocol values [${Object.keys(PROTOCOLS).join(', ')}] and integer representations [0 to 255] are supported.`);
      } else if (!(p in PROTOCOLS)) {
        throw new NeutronBadRequest('SecurityGroupRuleInvalidProtocol', `Security group rule protocol ${p} not supported. Only protocol values [${Object.keys(PROTOCOLS).join(', ')}] and integer representations [0 to 255] are supported.`);
      }
      protocol = p;
    }
    const num = (v: unknown, name: string): number | null => {
      if (v === undefined || v === null) return null;
      const n = Number(v);
      if (!Number.isInteger(n)) throw new InvalidInput(`'${String(v)}' is not an integer for ${name}.`);
      return n;
    };
    let min = num(body.port_range_min, 'port_range_min');
    let max = num(body.port_range_max, 'port_range_max');
    const proto = protocol === null ? null : (PROTOCOLS[protocol] ?? Number(protocol));
    if ((min !== null || max !== null) && proto === null) throw new NeutronBadRequest('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
    if (proto === 6 || proto === 17 || proto === 132) {
      if (min !== null && max === null) max = min;
      if (min === null && max !== null) min = max;
      if (min !== null && max !== null) {
        if (min < 1 || max > 65535 || min > max || min === 0) {
          throw new NeutronBadRequest('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
        }
      }
    } else if (proto === 1 || proto === 58) {
      if ((min !== null && (min < 0 || min > 255)) || (max !== null && (max < 0 || max > 255))) {
        throw new NeutronBadRequest('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP field (port_range_min): ${String(min)}. It must be 0 to 255.`);
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
      remoteGroup = (await this.find(ctx, 'security_group', String(body.remote_group_id))).id;
    }
    const existing = await this.rulesOf(group.id);
    const same = existing.find((r) => r.direction === direction && r.ethertype === ethertype && r.protocol === protocol && r.port_range_min === min && r.port_range_max === max && r.remote_ip_prefix === prefix && r.remote_group_id === remoteGroup);
    if (same) throw new NeutronConflict('SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${same.id}.`);
    await this.checkQuota('security_group_rule', group.project_id);
    const rule: ResourceDoc = {
      ...this.base(group.project_id, body),
      security_group_id: group.id,
      direction,
      ethertype,
      protocol,
      port_range_min: min,
      port_range_max: max,
      remote_ip_prefix: prefix,
      remote_group_id: remoteGroup,
      remote_address_group_id: null,
      normalized_cidr: prefix,
      belongs_to_default_sg: group.name === 'default',
    };
    delete rule.name;
    await this.store.insert('security_group_rule', rule);
    await this.touch(group);
    await this.announceGroups([group.id]);
    return rule;
  }

  async deleteSecurityGroupRule(ctx: RequestContext, id: string): Promise<void> {
    const rule = await this.findOwned(ctx, 'security_group_rule', id);
    await this.store.remove(id);
    await this.announceGroups([rule.security_group_id as string]);
  }

  // ----- ports -----------------------------------------------------------------------------

  private async resolveGroups(ctx: RequestContext, projectId: string, groups: unknown): Promise<string[]> {
    if (groups === undefined) return [(await this.defaultSecurityGroup(projectId)).id];
    if (!Array.isArray(groups)) throw new InvalidInput('security_groups must be a list.');
    const out: string[] = [];
    for (const g of groups) {
      const doc = await this.store.get('security_group', String(g));
      if (!doc || (doc.project_id !== projectId && !this.may(ctx, 'get:any_project'))) throw new NeutronNotFound('SecurityGroup', String(g));
      if (!out.includes(doc.id)) out.push(doc.id);
    }
    return out;
  }

  /**
   * The fields that wire a port into a server or a router are the services' (and admins'): a tenant who
   * could write them would make a port look like another project's server's. Checked on create and update.
   */
  private checkDeviceFields(ctx: RequestContext, body: Body, current?: ResourceDoc): void {
    const verb = current ? 'update_port' : 'create_port';
    const owner = body.device_owner;
    const ownerBefore = (current?.device_owner as string | undefined) ?? '';
    if (owner !== undefined && owner !== ownerBefore && (SERVICE_DEVICE_OWNER.test(String(owner)) || SERVICE_DEVICE_OWNER.test(ownerBefore))) {
      this.enforce(ctx, 'port:device_owner:service', `rule:${verb} and rule:${verb}:device_owner`);
    }
    const deviceBefore = (current?.device_id as string | undefined) ?? '';
    if (body.device_id !== undefined && body.device_id !== deviceBefore && (body.device_id !== '' || SERVICE_DEVICE_OWNER.test(ownerBefore))) {
      this.enforce(ctx, 'port:device_id', `rule:${verb} and rule:${verb}:device_id`);
    }
    for (const [k, v] of Object.entries(body)) {
      if (!k.startsWith('binding:')) continue;
      const harmless = v === null || v === '' || (k === 'binding:vnic_type' && v === 'normal') || (k === 'binding:profile' && typeof v === 'object' && Object.keys(v as object).length === 0);
      if (!harmless) this.enforce(ctx, 'port:binding', `rule:${verb} and rule:${verb}:${k}`);
    }
  }

  async createPort(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['name', 'description', 'network_id', 'admin_state_up', 'mac_address', 'fixed_ips', 'device_id', 'device_owner', 'security_groups', 'port_security_enabled', 'project_id', 'tenant_id', 'tags', 'allowed_address_pairs', 'binding:host_id', 'binding:vnic_type', 'binding:profile', 'extra_dhcp_opts', 'dns_name', 'qos_policy_id', 'propagate_uplink_status'], 'port');
    this.checkDeviceFields(ctx, body);
    return this.makePort(ctx, body, this.ownerFor(ctx, body));
  }

  /** A port for `project` (checked by the caller): on its own or a shared network. */
  private async makePort(ctx: RequestContext, body: Body, project: string, extra: Partial<ResourceDoc> = {}): Promise<ResourceDoc> {
    if (typeof body.network_id !== 'string') throw new InvalidInput('network_id is required.');
    const net = await this.find(ctx, 'network', body.network_id);
    const internalOwner = typeof body.device_owner === 'string' && body.device_owner.startsWith('network:');
    if (net.project_id !== project && !net.shared && !this.may(ctx, 'update:any_project')) throw new NeutronNotFound('Network', net.id);
    await this.checkQuota('port', project);
    const portSecurity = body.port_security_enabled === undefined ? Boolean(net.port_security_enabled) : bool(body.port_security_enabled, 'port_security_enabled');
    let groups: string[] = [];
    if (portSecurity && !internalOwner) groups = await this.resolveGroups(ctx, project, body.security_groups);
    else if (Array.isArray(body.security_groups) && body.security_groups.length > 0) {
      throw new NeutronConflict('PortSecurityAndIPRequiredForSecurityGroups', 'Port security must be enabled and port must have an IP address in order to use security groups.');
    }
    let mac = body.mac_address as string | undefined;
    if (mac !== undefined) {
      if (typeof mac !== 'string' || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new InvalidInput(`'${String(mac)}' is not a valid MAC address.`);
      mac = mac.toLowerCase();
      const clash = (await this.store.list('port')).find((p) => p.network_id === net.id && p.mac_address === mac);
      if (clash) throw new NeutronConflict('MacAddressInUse', `Unable to complete operation for network ${net.id}. The mac address ${mac} is in use.`);
    } else mac = `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
    const doc: ResourceDoc = {
      ...this.base(project, body),
      network_id: net.id,
      admin_state_up: body.admin_state_up === undefined ? true : bool(body.admin_state_up, 'admin_state_up'),
      mac_address: mac,
      fixed_ips: [],
      device_id: str(body.device_id, 'device_id'),
      device_owner: str(body.device_owner, 'device_owner'),
      security_groups: groups,
      port_security_enabled: portSecurity,
      status: 'DOWN',
      allowed_address_pairs: [],
      extra_dhcp_opts: [],
      'binding:host_id': str(body['binding:host_id'], 'binding:host_id'),
      'binding:vnic_type': 'normal',
      'binding:vif_type': 'unbound',
      'binding:vif_details': {},
      'binding:profile': {},
      tags: Array.isArray(body.tags) ? (body.tags as string[]) : [],
      ...extra,
    };
    doc.fixed_ips = await this.allocateFixedIps(net, doc.id, body.fixed_ips);
    try {
      await this.store.insert('port', doc);
    } catch (err) {
      await this.store.releaseAddresses(doc.id);
      throw err;
    }
    await this.announcePort(doc);
    return doc;
  }

  private async allocateFixedIps(net: ResourceDoc, portId: string, requested: unknown): Promise<{ subnet_id: string; ip_address: string }[]> {
    const subnets = await this.subnetsOf(net.id);
    const out: { subnet_id: string; ip_address: string }[] = [];
    try {
      if (requested === undefined) {
        const first = subnets[0];
        if (first) out.push({ subnet_id: first.id, ip_address: await this.allocate(first, portId) });
        return out;
      }
      if (!Array.isArray(requested)) throw new InvalidInput('fixed_ips must be a list.');
      for (const r of requested as { subnet_id?: string; ip_address?: string }[]) {
        let subnet: ResourceDoc | undefined;
        if (r.subnet_id) {
          subnet = subnets.find((s) => s.id === r.subnet_id);
          if (!subnet) throw new NeutronBadRequest('InvalidInput', `Invalid input for operation: Failed to create port on network ${net.id}, because fixed_ips included invalid subnet ${r.subnet_id}.`);
        } else if (r.ip_address) {
          const n = ipToInt(r.ip_address);
          subnet = subnets.find((s) => n !== undefined && contains(parseCidr(s.cidr as string)!, n));
          if (!subnet) throw new NeutronBadRequest('InvalidIpForNetwork', `IP address ${r.ip_address} is not a valid IP for any of the subnets on the specified network.`);
        } else throw new InvalidInput('fixed_ips entries need a subnet_id or an ip_address.');
        out.push({ subnet_id: subnet.id, ip_address: await this.allocate(subnet, portId, r.ip_address) });
      }
      return out;
    } catch (err) {
      await this.store.releaseAddresses(portId);
      throw err;
    }
  }

  async updatePort(ctx: RequestContext, id: string, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['name', 'description', 'admin_state_up', 'mac_address', 'fixed_ips', 'device_id', 'device_owner', 'security_groups', 'port_security_enabled', 'allowed_address_pairs', 'binding:host_id', 'binding:vnic_type', 'binding:profile', 'extra_dhcp_opts', 'dns_name', 'qos_policy_id'], 'port');
    const doc = await this.findOwned(ctx, 'port', id);
    this.checkDeviceFields(ctx, body, doc);
    if (['device_id', 'device_owner', 'binding:host_id'].some((k) => body[k] !== undefined && body[k] !== doc[k]) && (await this.store.bindingOfPort(id))) {
      throw new NeutronConflict('PortBound', `Unable to complete operation on port ${id}, port is already bound.`);
    }
    for (const k of ['name', 'description', 'device_id', 'device_owner', 'binding:host_id']) if (body[k] !== undefined) doc[k] = str(body[k], k);
    if (body.admin_state_up !== undefined) doc.admin_state_up = bool(body.admin_state_up, 'admin_state_up');
    if (body.mac_address !== undefined && body.mac_address !== doc.mac_address) {
      if (doc.device_owner) throw new NeutronConflict('PortBound', `Unable to complete operation on port ${id}, port is already bound.`);
      throw new InvalidInput('mac_address cannot be changed.');
    }
    const portSecurity = body.port_security_enabled === undefined ? (doc.port_security_enabled as boolean) : bool(body.port_security_enabled, 'port_security_enabled');
    let groups = doc.security_groups as string[];
    if (body.security_groups !== undefined) groups = await this.resolveGroups(ctx, doc.project_id, body.security_groups);
    if (!portSecurity && groups.length > 0) {
      if (body.port_security_enabled !== undefined && body.security_groups === undefined) {
        throw new NeutronConflict('PortSecurityPortHasSecurityGroup', 'Port has security group associated. Cannot disable port security or ip address until security group is removed');
      }
      if (body.security_groups !== undefined) throw new NeutronConflict('PortSecurityAndIPRequiredForSecurityGroups', 'Port security must be enabled and port must have an IP address in order to use security groups.');
    }
    doc.port_security_enabled = portSecurity;
    doc.security_groups = groups;
    if (body.fixed_ips !== undefined) {
      const net = (await this.store.get('network', doc.network_id as string))!;
      const old = doc.fixed_ips as { subnet_id: string; ip_address: string }[];
      const wanted = body.fixed_ips as { subnet_id?: string; ip_address?: string }[];
      if (!Array.isArray(wanted)) throw new InvalidInput('fixed_ips must be a list.');
      const keep = old.filter((o) => wanted.some((w) => w.ip_address === o.ip_address && (!w.subnet_id || w.subnet_id === o.subnet_id)));
      const fresh = wanted.filter((w) => !keep.some((k) => k.ip_address === w.ip_address));
      const tmpOwner = `${id}`;
      const added = fresh.length ? await this.allocateFixedIpsKeeping(net, tmpOwner, fresh, keep) : [];
      for (const o of old) if (!keep.includes(o)) await this.store.releaseAddresses(id, o.subnet_id, o.ip_address);
      doc.fixed_ips = [...keep, ...added];
    }
    await this.touch(doc);
    await this.announcePort(doc);
    return doc;
  }

  private async allocateFixedIpsKeeping(net: ResourceDoc, portId: string, wanted: { subnet_id?: string; ip_address?: string }[], _keep: unknown[]): Promise<{ subnet_id: string; ip_address: string }[]> {
    const subnets = await this.subnetsOf(net.id);
    const out: { subnet_id: string; ip_address: string }[] = [];
    try {
      for (const r of wanted) {
        const n = r.ip_address ? ipToInt(r.ip_address) : undefined;
        const subnet = r.subnet_id ? subnets.find((s) => s.id === r.subnet_id) : subnets.find((s) => n !== undefined && contains(parseCidr(s.cidr as string)!, n));
        if (!subnet) throw new NeutronBadRequest('InvalidIpForNetwork', `IP address ${String(r.ip_address)} is not a valid IP for any of the subnets on the specified network.`);
        out.push({ subnet_id: subnet.id, ip_address: await this.allocate(subnet, portId, r.ip_address) });
      }
      return out;
    } catch (err) {
      for (const o of out) await this.store.releaseAddresses(portId, o.subnet_id, o.ip_address);
      throw err;
    }
  }

  async deletePort(ctx: RequestContext, id: string, internal = false): Promise<void> {
    const doc = await this.findOwned(ctx, 'port', id);
    if (!internal && doc.device_owner === 'network:router_interface') {
      throw new NeutronConflict('L3PortInUse', `Port ${id} cannot be deleted directly via the port API: has device owner network:router_interface.`);
    }
    for (const f of (await this.store.list('floatingip')).filter((f) => f.port_id === id)) await this.setFloatingPort(f, null, null, null);
    await this.store.remove(id);
    await this.store.releaseAddresses(id);
    await this.store.unbind(id);
    this.events.emit('firewall', [id]);
    this.events.emit('port-deleted', doc);
    await this.announceGroups(doc.security_groups as string[]);
  }

  // ----- routers ---------------------------------------------------------------------------

  private async gatewayInfo(ctx: RequestContext, routerId: string, info: unknown, old: ResourceDoc['external_gateway_info']): Promise<unknown> {
    const prev = old as { network_id: string } | null;
    if (prev) await this.store.releaseAddresses(routerId);
    if (info === null || info === undefined || (typeof info === 'object' && Object.keys(info as object).length === 0)) return null;
    const i = info as { network_id?: string; enable_snat?: boolean; external_fixed_ips?: { subnet_id?: string; ip_address?: string }[] };
    if (typeof i.network_id !== 'string') throw new InvalidInput('external_gateway_info needs a network_id.');
    const net = await this.find(ctx, 'network', i.network_id);
    if (!net['router:external']) throw new NeutronBadRequest('BadRequest', `Bad router request: Network ${net.id} is not an external network.`);
    const subnets = await this.subnetsOf(net.id);
    const ips: { subnet_id: string; ip_address: string }[] = [];
    const wanted = i.external_fixed_ips?.length ? i.external_fixed_ips : subnets[0] ? [{ subnet_id: subnets[0].id }] : [];
    for (const w of wanted) {
      const s = subnets.find((x) => x.id === w.subnet_id) ?? subnets.find((x) => w.ip_address && contains(parseCidr(x.cidr as string)!, ipToInt(w.ip_address) ?? -1));
      if (!s) throw new NeutronBadRequest('BadRequest', `Bad router request: no subnet of network ${net.id} for ${JSON.stringify(w)}.`);
      ips.push({ subnet_id: s.id, ip_address: await this.allocate(s, routerId, w.ip_address) });
    }
    return { network_id: net.id, enable_snat: i.enable_snat === undefined ? true : Boolean(i.enable_snat), external_fixed_ips: ips };
  }

  async createRouter(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['name', 'description', 'admin_state_up', 'external_gateway_info', 'project_id', 'tenant_id', 'distributed', 'ha', 'availability_zone_hints', 'tags', 'flavor_id', 'enable_ndp_proxy'], 'router');
    const project = this.ownerFor(ctx, body);
    await this.checkQuota('router', project);
    const doc: ResourceDoc = {
      ...this.base(project, body),
      admin_state_up: body.admin_state_up === undefined ? true : bool(body.admin_state_up, 'admin_state_up'),
      status: 'ACTIVE',
      external_gateway_info: null,
      routes: [],
      distributed: false,
      ha: false,
      interfaces: [],
      availability_zones: [],
      availability_zone_hints: [],
      tags: Array.isArray(body.tags) ? (body.tags as string[]) : [],
    };
    doc.external_gateway_info = await this.gatewayInfo(ctx, doc.id, body.external_gateway_info, null);
    await this.store.insert('router', doc);
    return doc;
  }

  async updateRouter(ctx: RequestContext, id: string, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['name', 'description', 'admin_state_up', 'external_gateway_info', 'routes', 'distributed', 'ha'], 'router');
    const doc = await this.findOwned(ctx, 'router', id);
    if (body.name !== undefined) doc.name = str(body.name, 'name');
    if (body.description !== undefined) doc.description = str(body.description, 'description');
    if (body.admin_state_up !== undefined) doc.admin_state_up = bool(body.admin_state_up, 'admin_state_up');
    if (body.routes !== undefined) {
      if (!Array.isArray(body.routes) || body.routes.some((r: { destination?: unknown; nexthop?: unknown }) => !parseCidr(String(r?.destination)) || ipToInt(String(r?.nexthop)) === undefined)) throw new InvalidInput('routes must be a list of {destination, nexthop}.');
      doc.routes = body.routes;
    }
    if (body.external_gateway_info !== undefined) {
      const before = doc.external_gateway_info;
      doc.external_gateway_info = await this.gatewayInfo(ctx, doc.id, body.external_gateway_info, before);
      if (!doc.external_gateway_info) {
        const fips = (await this.store.list('floatingip')).filter((f) => f.router_id === id);
        if (fips.length) throw new NeutronConflict('RouterExternalGatewayInUseByFloatingIp', `Gateway cannot be updated for router ${id}, since a gateway to external network is required by one or more floating IPs.`);
      }
      this.events.emit('topology');
    }
    return this.touch(doc);
  }

  async deleteRouter(ctx: RequestContext, id: string): Promise<void> {
    const doc = await this.findOwned(ctx, 'router', id);
    if ((doc.interfaces as string[]).length > 0) throw new NeutronConflict('RouterInUse', `Router ${id} still has ports`);
    const fips = (await this.store.list('floatingip')).filter((f) => f.router_id === id);
    if (fips.length) throw new NeutronConflict('RouterInUse', `Router ${id} still has floating IPs associated.`);
    await this.store.releaseAddresses(id);
    await this.store.remove(id);
  }

  async addRouterInterface(ctx: RequestContext, id: string, body: Body): Promise<Record<string, unknown>> {
    const router = await this.findOwned(ctx, 'router', id);
    let port: ResourceDoc;
    if (body.subnet_id && body.port_id) throw new NeutronBadRequest('BadRequest', 'Bad router request: Cannot specify both subnet-id and port-id.');
    if (typeof body.subnet_id === 'string') {
      const subnet = await this.find(ctx, 'subnet', body.subnet_id);
      if (!subnet.gateway_ip) throw new NeutronBadRequest('BadRequest', `Bad router request: Subnet ${subnet.id} does not have a gateway IP.`);
      for (const pid of router.interfaces as string[]) {
        const p = await this.store.get('port', pid);
        if (p && (p.fixed_ips as { subnet_id: string }[]).some((f) => f.subnet_id === subnet.id)) {
          throw new NeutronBadRequest('BadRequest', `Bad router request: Router already has a port on subnet ${subnet.id}.`);
        }
      }
      const taken = await this.store.addressesIn(subnet.id);
      if (taken.has(subnet.gateway_ip as string)) throw new NeutronConflict('IpAddressInUse', `Unable to complete operation for network ${subnet.network_id as string}. The IP address ${subnet.gateway_ip as string} is in use.`);
      port = await this.createPortRaw(router.project_id, subnet, id);
    } else if (typeof body.port_id === 'string') {
      port = await this.findOwned(ctx, 'port', body.port_id);
      if (port.device_id) throw new NeutronConflict('PortInUse', `Unable to complete operation on port ${port.id} for network ${port.network_id as string}. Port already has an attached device ${port.device_id as string}.`);
      port.device_id = id;
      port.device_owner = 'network:router_interface';
      await this.touch(port);
    } else throw new NeutronBadRequest('BadRequest', 'Bad router request: Either subnet_id or port_id must be specified.');
    (router.interfaces as string[]).push(port.id);
    await this.touch(router);
    this.events.emit('topology');
    const fixed = port.fixed_ips as { subnet_id: string }[];
    return { id, tenant_id: router.project_id, project_id: router.project_id, port_id: port.id, network_id: port.network_id, subnet_id: fixed[0]?.subnet_id, subnet_ids: fixed.map((f) => f.subnet_id) };
  }

  /** The router's own port on a subnet: holds the gateway address, no security groups. */
  private async createPortRaw(projectId: string, subnet: ResourceDoc, routerId: string): Promise<ResourceDoc> {
    const t = now();
    const doc: ResourceDoc = {
      id: randomUUID(), project_id: projectId, created_at: t, updated_at: t, revision_number: 0, tags: [], name: '', description: '',
      network_id: subnet.network_id, admin_state_up: true, mac_address: `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`,
      fixed_ips: [], device_id: routerId, device_owner: 'network:router_interface', security_groups: [], port_security_enabled: false, status: 'ACTIVE',
      allowed_address_pairs: [], extra_dhcp_opts: [], 'binding:host_id': '', 'binding:vnic_type': 'normal', 'binding:vif_type': 'unbound', 'binding:vif_details': {}, 'binding:profile': {},
    };
    if (!(await this.store.claimAddress(subnet.id, subnet.gateway_ip as string, doc.id))) {
      throw new NeutronConflict('IpAddressInUse', `Unable to complete operation for network ${subnet.network_id as string}. The IP address ${subnet.gateway_ip as string} is in use.`);
    }
    doc.fixed_ips = [{ subnet_id: subnet.id, ip_address: subnet.gateway_ip as string }];
    await this.store.insert('port', doc);
    return doc;
  }

  async removeRouterInterface(ctx: RequestContext, id: string, body: Body): Promise<Record<string, unknown>> {
    const router = await this.findOwned(ctx, 'router', id);
    let port: ResourceDoc | undefined;
    for (const pid of router.interfaces as string[]) {
      const p = await this.store.get('port', pid);
      if (!p) continue;
      if (body.port_id ? p.id === body.port_id : (p.fixed_ips as { subnet_id: string }[]).some((f) => f.subnet_id === body.subnet_id)) port = p;
    }
    if (!port) {
      if (body.port_id) throw new NeutronNotFound('RouterInterface', `for router ${id} on port ${String(body.port_id)}`);
      throw new NeutronNotFound('RouterInterface', `for router ${id} on subnet ${String(body.subnet_id)}`);
    }
    const fixed = port.fixed_ips as { subnet_id: string }[];
    const netFips = (await this.store.list('floatingip')).filter((f) => f.router_id === id && f.port_id);
    for (const f of netFips) {
      const p = await this.store.get('port', f.port_id as string);
      if (p && p.network_id === port.network_id) throw new NeutronConflict('RouterInterfaceInUseByFloatingIP', `Router interface for subnet ${fixed[0]?.subnet_id} on router ${id} cannot be deleted, as it is required by one or more floating IPs.`);
    }
    router.interfaces = (router.interfaces as string[]).filter((p) => p !== port!.id);
    await this.touch(router);
    await this.store.remove(port.id);
    await this.store.releaseAddresses(port.id);
    this.events.emit('topology');
    return { id, tenant_id: router.project_id, project_id: router.project_id, port_id: port.id, network_id: port.network_id, subnet_id: fixed[0]?.subnet_id, subnet_ids: fixed.map((f) => f.subnet_id) };
  }

  // ----- floating IPs ----------------------------------------------------------------------

  async createFloatingIp(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['floating_network_id', 'floating_ip_address', 'subnet_id', 'port_id', 'fixed_ip_address', 'description', 'project_id', 'tenant_id', 'dns_name', 'dns_domain', 'qos_policy_id', 'tags'], 'floatingip');
    if (typeof body.floating_network_id !== 'string') throw new InvalidInput('floating_network_id is required.');
    const net = await this.find(ctx, 'network', body.floating_network_id);
    if (!net['router:external']) throw new NeutronBadRequest('BadRequest', `Bad floatingip request: Network ${net.id} is not a valid external network.`);
    const project = this.ownerFor(ctx, body);
    await this.checkQuota('floatingip', project);
    const subnets = await this.subnetsOf(net.id);
    const subnet = body.subnet_id ? subnets.find((s) => s.id === body.subnet_id) : body.floating_ip_address ? subnets.find((s) => contains(parseCidr(s.cidr as string)!, ipToInt(String(body.floating_ip_address)) ?? -1)) : subnets[0];
    if (!subnet) throw new NeutronConflict('ExternalIpAddressExhausted', `Unable to find any IP address on external network ${net.id}.`);
    const doc: ResourceDoc = { ...this.base(project, body), floating_network_id: net.id, router_id: null, port_id: null, fixed_ip_address: null, status: 'DOWN', port_details: null, port_forwardings: [], tags: [] };
    delete doc.name;
    doc.floating_ip_address = await this.allocate(subnet, doc.id, body.floating_ip_address as string | undefined);
    try {
      await this.store.insert('floatingip', doc);
      if (body.port_id) await this.associate(ctx, doc, body.port_id, body.fixed_ip_address);
    } catch (err) {
      await this.store.remove(doc.id);
      await this.store.releaseAddresses(doc.id);
      throw err;
    }
    return doc;
  }

  private async associate(ctx: RequestContext, fip: ResourceDoc, portId: unknown, fixedIp: unknown): Promise<void> {
    if (portId === null) return this.setFloatingPort(fip, null, null, null);
    const port = await this.find(ctx, 'port', String(portId));
    if (port.project_id !== fip.project_id && !this.may(ctx, 'update:any_project')) throw new NeutronNotFound('Port', String(portId));
    const ips = port.fixed_ips as { subnet_id: string; ip_address: string }[];
    const ip = fixedIp ? ips.find((i) => i.ip_address === fixedIp) : ips[0];
    if (!ip) throw new NeutronBadRequest('BadRequest', `Bad floatingip request: Port ${port.id} does not have fixed ip ${String(fixedIp ?? '')}.`);
    const routerId = await this.routerBetween(fip.floating_network_id as string, ip.subnet_id);
    if (!routerId) throw new NeutronNotFound('ExternalGatewayForFloatingIP', `${ip.subnet_id}: External network ${fip.floating_network_id as string} is not reachable from subnet ${ip.subnet_id}. Therefore, cannot associate Port ${port.id} with a Floating IP`);
    const taken = (await this.store.list('floatingip')).find((f) => f.id !== fip.id && f.port_id === port.id && f.fixed_ip_address === ip.ip_address);
    if (taken) throw new NeutronConflict('FloatingIPPortAlreadyAssociated', `Cannot associate floating IP ${fip.floating_ip_address as string} (${fip.id}) with port ${port.id} using fixed IP ${ip.ip_address}, as that fixed IP already has a floating IP on external network ${fip.floating_network_id as string}.`);
    await this.setFloatingPort(fip, port.id, ip.ip_address, routerId);
  }

  private async routerBetween(externalNetworkId: string, subnetId: string): Promise<string | undefined> {
    for (const r of await this.store.list('router')) {
      if ((r.external_gateway_info as { network_id?: string } | null)?.network_id !== externalNetworkId) continue;
      for (const pid of r.interfaces as string[]) {
        const p = await this.store.get('port', pid);
        if (p && (p.fixed_ips as { subnet_id: string }[]).some((f) => f.subnet_id === subnetId)) return r.id;
      }
    }
    return undefined;
  }

  private async setFloatingPort(fip: ResourceDoc, portId: string | null, fixedIp: string | null, routerId: string | null): Promise<void> {
    const before = fip.port_id ? { floatingIpId: fip.id, floatingIpAddress: fip.floating_ip_address as string, fixedIpAddress: fip.fixed_ip_address as string, portId: fip.port_id as string } : null;
    fip.port_id = portId;
    fip.fixed_ip_address = fixedIp;
    fip.router_id = routerId;
    fip.status = portId ? 'ACTIVE' : 'DOWN';
    await this.touch(fip);
    if (before) this.events.emit('floatingip', { removed: before });
    if (portId) this.events.emit('floatingip', { added: { floatingIpId: fip.id, floatingIpAddress: fip.floating_ip_address as string, fixedIpAddress: fixedIp!, portId } });
  }

  async updateFloatingIp(ctx: RequestContext, id: string, body: Body): Promise<ResourceDoc> {
    this.rejectUnknown(body, ['port_id', 'fixed_ip_address', 'description', 'qos_policy_id'], 'floatingip');
    const fip = await this.findOwned(ctx, 'floatingip', id);
    if (body.description !== undefined) fip.description = str(body.description, 'description');
    if (body.port_id !== undefined) await this.associate(ctx, fip, body.port_id, body.fixed_ip_address);
    else await this.touch(fip);
    return fip;
  }

  async deleteFloatingIp(ctx: RequestContext, id: string): Promise<void> {
    const fip = await this.findOwned(ctx, 'floatingip', id);
    if (fip.port_id) await this.setFloatingPort(fip, null, null, null);
    await this.store.remove(id);
    await this.store.releaseAddresses(id);
  }

  /** Every subnet's gateway address (where a host may answer its servers, e.g. wait-condition signals). */
  async gatewayAddresses(): Promise<string[]> {
    return (await this.store.list('subnet')).map((s) => s.gateway_ip).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  }

  /** Ports bound to servers by compute (their bindings, not their device fields). */
  async boundPorts(): Promise<{ portId: string; serverId: string }[]> {
    const ports = new Map((await this.store.list('port')).map((p) => [p.id, p]));
    return (await this.store.bindings()).filter((b) => ports.get(b.port_id)?.project_id === b.project_id).map((b) => ({ portId: b.port_id, serverId: b.server_id }));
  }

  async floatingIpMappings(): Promise<FloatingIpMapping[]> {
    return (await this.store.list('floatingip'))
      .filter((f) => f.port_id)
      .map((f) => ({ floatingIpId: f.id, floatingIpAddress: f.floating_ip_address as string, fixedIpAddress: f.fixed_ip_address as string, portId: f.port_id as string }));
  }

  // ----- quotas and tags -------------------------------------------------------------------

  async quotaOf(projectId: string): Promise<Record<string, number>> {
    const doc = await this.store.get('quota', `quota-${projectId}`);
    return { ...DEFAULT_QUOTAS, ...((doc?.limits as Record<string, number> | undefined) ?? {}) };
  }

  async quotaUsage(projectId: string): Promise<Record<string, { limit: number; used: number; reserved: number }>> {
    const limits = await this.quotaOf(projectId);
    const out: Record<string, { limit: number; used: number; reserved: number }> = {};
    for (const [k, limit] of Object.entries(limits)) out[k] = { limit, used: await this.store.count(k as ResourceKind, projectId), reserved: 0 };
    return out;
  }

  checkQuotaAccess(ctx: RequestContext, projectId: string): void {
    if (!this.may(ctx, 'get_quota:any_project') && (ctx.scope.kind !== 'project' || ctx.scope.projectId !== projectId)) throw new ForbiddenError('Only admins may see or change the quotas of another project.');
  }

  async setQuota(ctx: RequestContext, projectId: string, body: Body): Promise<Record<string, number>> {
    this.enforce(ctx, 'update_quota', 'rule:update_quota');
    const limits: Record<string, number> = {};
    for (const [k, v] of Object.entries(body)) {
      if (!(k in DEFAULT_QUOTAS)) throw new NeutronBadRequest('HTTPBadRequest', `Unrecognized attribute(s) '${k}'`);
      const n = Number(v);
      if (!Number.isInteger(n) || n < -1) throw new InvalidInput(`'${String(v)}' is not a valid quota for ${k}.`);
      limits[k] = n;
    }
    const existing = await this.store.get('quota', `quota-${projectId}`);
    if (existing) {
      existing.limits = { ...(existing.limits as object), ...limits };
      await this.touch(existing);
    } else {
      const t = now();
      await this.store.insert('quota', { id: `quota-${projectId}`, project_id: projectId, created_at: t, updated_at: t, revision_number: 0, tags: [], limits });
    }
    return this.quotaOf(projectId);
  }

  async resetQuota(ctx: RequestContext, projectId: string): Promise<void> {
    this.enforce(ctx, 'update_quota', 'rule:update_quota');
    await this.store.remove(`quota-${projectId}`);
  }

  async setTags(ctx: RequestContext, kind: ResourceKind, id: string, tags: string[]): Promise<ResourceDoc> {
    const doc = await this.findOwned(ctx, kind, id);
    for (const t of tags) if (typeof t !== 'string' || t.length === 0 || t.length > 255 || t.includes(',')) throw new InvalidInput(`'${String(t)}' is not a valid tag.`);
    doc.tags = [...new Set(tags)];
    return this.touch(doc);
  }

  // ----- firewall compilation (what the agent enforces) ------------------------------------

  async portFirewall(portId: string): Promise<PortFirewall | undefined> {
    const port = await this.store.get('port', portId);
    if (!port) return undefined;
    const rules: FirewallRule[] = [];
    if (port.port_security_enabled) {
      const ports = await this.store.list('port');
      for (const gid of port.security_groups as string[]) {
        for (const r of await this.rulesOf(gid)) {
          if (r.ethertype !== 'IPv4') continue;
          let remote: string[] = [r.remote_ip_prefix ? (r.remote_ip_prefix as string) : '0.0.0.0/0'];
          if (r.remote_group_id) {
            remote = ports
              .filter((p) => (p.security_groups as string[]).includes(r.remote_group_id as string))
              .flatMap((p) => (p.fixed_ips as { ip_address: string }[]).map((f) => `${f.ip_address}/32`));
          }
          rules.push({ direction: r.direction as 'ingress' | 'egress', protocol: r.protocol as string | null, portMin: r.port_range_min as number | null, portMax: r.port_range_max as number | null, remoteCidrs: remote });
        }
      }
    }
    const addresses = [
      ...(port.fixed_ips as { ip_address: string }[]).map((f) => f.ip_address),
      ...((port.allowed_address_pairs as { ip_address: string }[] | undefined) ?? []).map((a) => a.ip_address),
    ];
    return { portId, portSecurityEnabled: Boolean(port.port_security_enabled), rules, addresses };
  }

  /** Every port whose firewall depends on these groups (members, and members of groups naming them as remote). */
  private async announceGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length === 0) return;
    const ports = await this.store.list('port');
    const rules = await this.store.list('security_group_rule');
    const affected = new Set(groupIds);
    for (const r of rules) if (r.remote_group_id && affected.has(r.remote_group_id as string)) affected.add(r.security_group_id as string);
    const ids = ports.filter((p) => (p.security_groups as string[]).some((g) => affected.has(g))).map((p) => p.id);
    if (ids.length) this.events.emit('firewall', ids);
  }

  private async announcePort(port: ResourceDoc): Promise<void> {
    this.events.emit('firewall', [port.id]);
    await this.announceGroups(port.security_groups as string[]);
  }

  // ----- what compute asks (NetworkClient) -------------------------------------------------

  /**
   * The one way a port becomes a server's: compute binds it (a port of the server's project, made here
   * or given, not bound or owned by a device already) and the binding row says so. Views and the
   * dataplane read the bindings, never device_id/device_owner, which only reflect them.
   */
  async bindPorts(ctx: RequestContext, serverId: string, hostId: string, nics: NicRequest[], options: BindOptions = {}): Promise<PortBinding[]> {
    const project = options.projectId ?? requireProject(ctx);
    const made: string[] = [];
    const claimed: string[] = [];
    try {
      const bindings: PortBinding[] = [];
      for (const nic of nics) {
        let port: ResourceDoc;
        if ('portId' in nic) {
          port = await this.find(ctx, 'port', nic.portId);
          // Nova's rule: the port must be the instance's project's.
          if (port.project_id !== project) throw new NeutronNotFound('Port', nic.portId);
          const bound = await this.store.bindingOfPort(port.id);
          const device = bound?.server_id ?? (port.device_id as string);
          if (device && device !== serverId) throw new NeutronConflict('PortInUse', `Unable to complete operation on port ${port.id} for network ${port.network_id as string}. Port already has an attached device ${device}.`);
          if (!bound) {
            if (!(await this.store.bind({ port_id: port.id, server_id: serverId, project_id: project, host_id: hostId, created_for_server: 0 }))) {
              throw new NeutronConflict('PortInUse', `Unable to complete operation on port ${port.id} for network ${port.network_id as string}. Port already has an attached device.`);
            }
            claimed.push(port.id);
          }
          port.device_id = serverId;
          port.device_owner = options.deviceOwner ?? 'compute:nova';
          port['binding:host_id'] = hostId;
          port.status = 'ACTIVE';
          await this.touch(port);
        } else {
          port = await this.makePort(ctx, { network_id: nic.networkId, device_id: serverId, device_owner: options.deviceOwner ?? 'compute:nova', 'binding:host_id': hostId, ...(nic.fixedIp ? { fixed_ips: [{ ip_address: nic.fixedIp }] } : {}), ...(options.securityGroupIds?.length ? { security_groups: options.securityGroupIds } : {}) }, project, { created_for_server: true, status: 'ACTIVE' });
          made.push(port.id);
          await this.store.bind({ port_id: port.id, server_id: serverId, project_id: project, host_id: hostId, created_for_server: 1 });
        }
        bindings.push(await this.bindingOf(port));
      }
      if (made.length || claimed.length) this.events.emit('firewall', [...made, ...claimed]);
      return bindings;
    } catch (err) {
      for (const id of made) await this.removeServerPort(id).catch(() => {});
      for (const id of claimed) await this.releasePort(id).catch(() => {});
      throw err;
    }
  }

  private async releasePort(id: string): Promise<void> {
    await this.store.unbind(id);
    const port = await this.store.get('port', id);
    if (!port) return;
    port.device_id = '';
    port.device_owner = '';
    port['binding:host_id'] = '';
    port.status = 'DOWN';
    await this.touch(port);
    this.events.emit('firewall', [id]);
  }

  /** Deletes a port compute made for a server, with its addresses and floating-IP associations. */
  private async removeServerPort(id: string): Promise<void> {
    const port = await this.store.get('port', id);
    for (const f of (await this.store.list('floatingip')).filter((f) => f.port_id === id)) await this.setFloatingPort(f, null, null, null);
    await this.store.remove(id);
    await this.store.releaseAddresses(id);
    await this.store.unbind(id);
    this.events.emit('firewall', [id]);
    if (port) {
      this.events.emit('port-deleted', port);
      await this.announceGroups(port.security_groups as string[]);
    }
  }

  async unbindPort(ctx: RequestContext, serverId: string, portId: string): Promise<void> {
    await this.unbindWhere(ctx, serverId, portId);
  }

  /** The server's ports as compute bound them, in binding order; each port of the binding's project. */
  private async boundPortsOf(serverIds: string[]): Promise<{ binding: PortBindingRow; port: ResourceDoc }[]> {
    const out: { binding: PortBindingRow; port: ResourceDoc }[] = [];
    for (const binding of await this.store.bindings(serverIds)) {
      const port = await this.store.get('port', binding.port_id);
      if (port && port.project_id === binding.project_id) out.push({ binding, port });
    }
    return out;
  }

  async bindingsOf(serverId: string): Promise<PortBinding[]> {
    return Promise.all((await this.boundPortsOf([serverId])).map(({ port }) => this.bindingOf(port)));
  }

  async unbindPorts(ctx: RequestContext, serverId: string): Promise<void> {
    await this.unbindWhere(ctx, serverId);
  }

  private async unbindWhere(ctx: RequestContext, serverId: string, onlyPort?: string): Promise<void> {
    for (const b of await this.store.bindings([serverId])) {
      if (onlyPort && b.port_id !== onlyPort) continue;
      if (b.created_for_server) await this.removeServerPort(b.port_id);
      else await this.releasePort(b.port_id);
    }
    void ctx;
  }

  async serverAddresses(serverId: string): Promise<Record<string, NovaAddress[]>> {
    return (await this.serversAddresses([serverId])).get(serverId)!;
  }

  async serversAddresses(serverIds: string[]): Promise<Map<string, Record<string, NovaAddress[]>>> {
    const out = new Map<string, Record<string, NovaAddress[]>>(serverIds.map((id) => [id, {}]));
    const bound = await this.boundPortsOf(serverIds);
    if (bound.length === 0) return out;
    const fips = await this.store.list('floatingip');
    const names = new Map<string, string>();
    for (const { binding, port } of bound) {
      const netId = port.network_id as string;
      if (!names.has(netId)) names.set(netId, ((await this.store.get('network', netId))?.name as string) || netId);
      const addresses = out.get(binding.server_id)!;
      const list = (addresses[names.get(netId)!] ??= []);
      for (const f of port.fixed_ips as { ip_address: string }[]) {
        list.push({ version: 4, addr: f.ip_address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': port.mac_address as string });
        for (const fip of fips.filter((x) => x.port_id === port.id && x.fixed_ip_address === f.ip_address)) {
          list.push({ version: 4, addr: fip.floating_ip_address as string, 'OS-EXT-IPS:type': 'floating', 'OS-EXT-IPS-MAC:mac_addr': port.mac_address as string });
        }
      }
    }
    return out;
  }

  async serverRunning(serverId: string): Promise<void> {
    const ids = (await this.store.bindings([serverId])).map((b) => b.port_id);
    if (ids.length) this.events.emit('firewall', ids);
    this.events.emit('floatingip');
  }

  async bindingOf(port: ResourceDoc): Promise<PortBinding> {
    const net = (await this.store.get('network', port.network_id as string))!;
    const subnet = (await this.subnetsOf(net.id))[0];
    if (!subnet) throw new NeutronBadRequest('BadRequest', `Network ${net.id} has no subnet to address a server from.`);
    return {
      portId: port.id,
      networkId: net.id,
      macAddress: port.mac_address as string,
      fixedIps: (port.fixed_ips as { subnet_id: string; ip_address: string }[]).map((f) => ({ subnetId: f.subnet_id, ipAddress: f.ip_address })),
      engineNetwork: {
        name: engineNetworkName(net.id),
        subnet: subnet.cidr as string,
        gateway: (subnet.gateway_ip as string | null) ?? '',
        internal: !(await this.hasExternalRoute(net.id)),
        mtu: net.mtu as number,
      },
      portSecurityEnabled: Boolean(port.port_security_enabled),
      securityGroupIds: port.security_groups as string[],
    };
  }

  async hasExternalRoute(networkId: string): Promise<boolean> {
    for (const r of await this.store.list('router')) {
      if (!r.external_gateway_info) continue;
      for (const pid of r.interfaces as string[]) {
        const p = await this.store.get('port', pid);
        if (p?.network_id === networkId) return true;
      }
    }
    return false;
  }

  async defaultNetworkId(ctx: RequestContext): Promise<string> {
    const project = requireProject(ctx);
    const existing = (await this.store.list('network')).find((n) => n.project_id === project && n.name === 'default' && !n['router:external']);
    if (existing) return existing.id;
    const net = await this.createNetwork(ctx, { name: 'default' });
    // A /24 no other subnet uses: engine bridge networks on one engine may not overlap. The search
    // starts at a random /24 so that clouds sharing an engine (tests, benches) rarely pick the same.
    const used = (await this.store.list('subnet')).map((s) => parseCidr(s.cidr as string)!);
    const start = randomInt(4096);
    for (let n = 0; n < 4096; n++) {
      const i = (start + n) % 4096;
      const cidr = parseCidr(`10.${96 + (i >> 8)}.${i & 255}.0/24`)!;
      if (!used.some((u) => overlaps(u, cidr))) {
        await this.createSubnet(ctx, { network_id: net.id, name: 'default', cidr: cidr.text, ip_version: 4 });
        return net.id;
      }
    }
    throw new NeutronConflict('IpAddressGenerationFailure', 'No free /24 left for a default network.');
  }

  /** All-in-one: the operator's external network for floating IPs, created once. */
  async ensureExternalNetwork(adminProjectId: string, name: string, cidr: string): Promise<string> {
    const found = (await this.store.list('network')).find((n) => n.name === name && n['router:external']);
    if (found) return found.id;
    const t = now();
    const net: ResourceDoc = { id: randomUUID(), project_id: adminProjectId, created_at: t, updated_at: t, revision_number: 0, tags: [], name, description: 'Floating IPs on the host loopback', admin_state_up: true, shared: true, 'router:external': true, mtu: 1500, port_security_enabled: true, is_default: true, subnets: [] };
    const layout = layoutSubnet(cidr, undefined, undefined);
    const subnet: ResourceDoc = { id: randomUUID(), project_id: adminProjectId, created_at: t, updated_at: t, revision_number: 0, tags: [], name: `${name}-subnet`, description: '', network_id: net.id, ip_version: 4, cidr: layout.cidr, gateway_ip: layout.gateway_ip, allocation_pools: layout.allocation_pools, dns_nameservers: [], host_routes: [], enable_dhcp: false, ipv6_ra_mode: null, ipv6_address_mode: null, subnetpool_id: null, service_types: [] };
    net.subnets = [subnet.id];
    await this.store.insert('network', net);
    await this.store.insert('subnet', subnet);
    return net.id;
  }

  inPools = inPools;
}

/** Engine network names carry no tenant data: a prefix and the Neutron network id. */
export function engineNetworkName(networkId: string): string {
  return `hafen-net-${networkId}`;
}
