// The network service as the API, orchestration and compute use it: one entry per operation, each
// delegating to the module of its concern (networks, subnets, subnet pools, ports, security groups,
// routers, floating IPs and port forwardings, quotas, bindings) and answering in Neutron's wire shape.
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PortBinding } from '../agent/net/contract.ts';
import { bindingsOf, bindPorts, serverRunning, serversAddresses, unbindPorts } from './bindings.ts';
import type { BindOptions, NetworkClient, NicRequest, NovaAddress } from './client.ts';
import { DEFAULT_QUOTAS, NetworkCore, now, type WriteOptions } from './core.ts';
import { dataplaneFeed } from './dataplane-feed.ts';
import { InvalidInput, NeutronNotFound } from './errors.ts';
import * as fips from './floating-ips.ts';
import * as networks from './networks.ts';
import * as ports from './ports.ts';
import * as quotas from './quotas.ts';
import * as routers from './routers.ts';
import * as groups from './security-groups.ts';
import type { ListQuery, ResourceKind, TaggedKind } from './store/index.ts';
import * as pools from './subnet-pools.ts';
import * as subnets from './subnets.ts';
import { forwardingView, viewOf, viewsOf, type ResourceDoc } from './views.ts';

export { DEFAULT_QUOTAS };
export { engineNetworkName } from './bindings.ts';
export type { ResourceDoc };
type Body = Record<string, unknown>;

export class NetworkService implements NetworkClient {
  /** The dataplanes' (and agents' endpoint's) view of the network. */
  readonly feed;

  constructor(private readonly core: NetworkCore) {
    this.feed = dataplaneFeed(core);
  }

  get events() {
    return this.core.events;
  }

  // ----- any kind ------------------------------------------------------------------------------

  async find(ctx: RequestContext, kind: ResourceKind, id: string): Promise<ResourceDoc> {
    return viewOf(this.core.store, kind, await this.core.find(ctx, kind, id));
  }

  /** One page of a kind as the caller sees it, filtered, sorted and paged in SQL. */
  async listPage(ctx: RequestContext, kind: ResourceKind, q: ListQuery = {}): Promise<{ items: ResourceDoc[]; more: boolean }> {
    if (kind === 'security_group' && ctx.scope.kind === 'project') await groups.defaultSecurityGroup(this.core, ctx.scope.projectId);
    const { rows, more } = await this.core.store.list(kind, this.core.scope(ctx), q);
    return { items: await viewsOf(this.core.store, kind, rows), more };
  }

  async list(ctx: RequestContext, kind: ResourceKind, q: ListQuery = {}): Promise<ResourceDoc[]> {
    return (await this.listPage(ctx, kind, q)).items;
  }

  async listSecurityGroups(ctx: RequestContext): Promise<ResourceDoc[]> {
    return this.list(ctx, 'security_group');
  }

  async tags(ctx: RequestContext, kind: TaggedKind, id: string): Promise<string[]> {
    const row = await this.core.find(ctx, kind, id);
    return (await this.core.store.tagsOf([row.id])).get(row.id) ?? [];
  }

  async setTags(ctx: RequestContext, kind: TaggedKind, id: string, tags: string[]): Promise<string[]> {
    const row = await this.core.findOwned(ctx, kind, id);
    for (const t of tags) if (typeof t !== 'string' || t.length === 0 || t.length > 255 || t.includes(',')) throw new InvalidInput(`'${String(t)}' is not a valid tag.`);
    const unique = [...new Set(tags)];
    await this.core.store.transaction(async (tx) => {
      await this.core.save(tx, kind, row, {});
      await tx.setTags(kind, row.id, unique);
    });
    return unique.sort();
  }

  async addTag(ctx: RequestContext, kind: TaggedKind, id: string, tag: string): Promise<void> {
    const row = await this.core.findOwned(ctx, kind, id);
    if (tag.length === 0 || tag.length > 255 || tag.includes(',')) throw new InvalidInput(`'${tag}' is not a valid tag.`);
    await this.core.store.transaction(async (tx) => {
      await this.core.save(tx, kind, row, {});
      await tx.addTag(kind, row.id, tag);
    });
  }

  async removeTag(ctx: RequestContext, kind: TaggedKind, id: string, tag: string): Promise<void> {
    const row = await this.core.findOwned(ctx, kind, id);
    await this.core.store.transaction(async (tx) => {
      if (!(await tx.removeTag(row.id, tag))) throw new NeutronNotFound('Tag', `${tag} for ${kind} ${row.id}`);
      await this.core.save(tx, kind, row, {});
    });
  }

  // ----- networks, subnets, subnet pools -------------------------------------------------------

  async createNetwork(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'network', await networks.createNetwork(this.core, ctx, body));
  }
  async updateNetwork(ctx: RequestContext, id: string, body: Body, options?: WriteOptions): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'network', await networks.updateNetwork(this.core, ctx, id, body, options));
  }
  async deleteNetwork(ctx: RequestContext, id: string, options?: WriteOptions): Promise<void> {
    await networks.deleteNetwork(this.core, ctx, id, options);
  }
  async createSubnet(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'subnet', await subnets.createSubnet(this.core, ctx, body));
  }
  async updateSubnet(ctx: RequestContext, id: string, body: Body, options?: WriteOptions): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'subnet', await subnets.updateSubnet(this.core, ctx, id, body, options));
  }
  async deleteSubnet(ctx: RequestContext, id: string, options?: WriteOptions): Promise<void> {
    await subnets.deleteSubnet(this.core, ctx, id, options);
  }
  async createSubnetPool(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'subnetpool', await pools.createSubnetPool(this.core, ctx, body));
  }
  async updateSubnetPool(ctx: RequestContext, id: string, body: Body, options?: WriteOptions): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'subnetpool', await pools.updateSubnetPool(this.core, ctx, id, body, options));
  }
  async deleteSubnetPool(ctx: RequestContext, id: string, options?: WriteOptions): Promise<void> {
    await pools.deleteSubnetPool(this.core, ctx, id, options);
  }

  // ----- ports and security groups -------------------------------------------------------------

  async createPort(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'port', await ports.createPort(this.core, ctx, body));
  }
  async updatePort(ctx: RequestContext, id: string, body: Body, options?: WriteOptions): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'port', await ports.updatePort(this.core, ctx, id, body, options));
  }
  async deletePort(ctx: RequestContext, id: string, options?: WriteOptions): Promise<void> {
    await ports.deletePort(this.core, ctx, id, options);
  }
  async createSecurityGroup(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'security_group', await groups.createSecurityGroup(this.core, ctx, body));
  }
  async updateSecurityGroup(ctx: RequestContext, id: string, body: Body, options?: WriteOptions): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'security_group', await groups.updateSecurityGroup(this.core, ctx, id, body, options));
  }
  async deleteSecurityGroup(ctx: RequestContext, id: string, options?: WriteOptions): Promise<void> {
    await groups.deleteSecurityGroup(this.core, ctx, id, options);
  }
  async createSecurityGroupRule(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'security_group_rule', await groups.createSecurityGroupRule(this.core, ctx, body as groups.RuleBody));
  }
  async deleteSecurityGroupRule(ctx: RequestContext, id: string): Promise<void> {
    await groups.deleteSecurityGroupRule(this.core, ctx, id);
  }

  // ----- routers, floating IPs, port forwardings -----------------------------------------------

  async createRouter(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'router', await routers.createRouter(this.core, ctx, body));
  }
  async updateRouter(ctx: RequestContext, id: string, body: Body, options?: WriteOptions): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'router', await routers.updateRouter(this.core, ctx, id, body, options));
  }
  async deleteRouter(ctx: RequestContext, id: string, options?: WriteOptions): Promise<void> {
    await routers.deleteRouter(this.core, ctx, id, options);
  }
  addRouterInterface(ctx: RequestContext, id: string, body: Body): Promise<Record<string, unknown>> {
    return routers.addRouterInterface(this.core, ctx, id, body as routers.InterfaceBody);
  }
  removeRouterInterface(ctx: RequestContext, id: string, body: Body): Promise<Record<string, unknown>> {
    return routers.removeRouterInterface(this.core, ctx, id, body as routers.InterfaceBody);
  }
  /** The ports of a router (its interfaces and gateway), as Neutron lists them by device_id. */
  async routerInterfaces(ctx: RequestContext, id: string): Promise<ResourceDoc[]> {
    await this.core.find(ctx, 'router', id);
    const links = await this.core.store.routerPorts([id], 'network:router_interface');
    return viewsOf(this.core.store, 'port', await this.core.store.getMany('port', links.map((l) => l.port_id)));
  }
  async createFloatingIp(ctx: RequestContext, body: Body): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'floatingip', await fips.createFloatingIp(this.core, ctx, body));
  }
  async updateFloatingIp(ctx: RequestContext, id: string, body: Body, options?: WriteOptions): Promise<ResourceDoc> {
    return viewOf(this.core.store, 'floatingip', await fips.updateFloatingIp(this.core, ctx, id, body, options));
  }
  async deleteFloatingIp(ctx: RequestContext, id: string, options?: WriteOptions): Promise<void> {
    await fips.deleteFloatingIp(this.core, ctx, id, options);
  }
  async listPortForwardings(ctx: RequestContext, fipId: string): Promise<ResourceDoc[]> {
    return (await fips.listForwardings(this.core, ctx, fipId)).map(forwardingView);
  }
  async findPortForwarding(ctx: RequestContext, fipId: string, id: string): Promise<ResourceDoc> {
    return forwardingView(await fips.findForwarding(this.core, ctx, fipId, id));
  }
  async createPortForwarding(ctx: RequestContext, fipId: string, body: Body): Promise<ResourceDoc> {
    return forwardingView(await fips.createForwarding(this.core, ctx, fipId, body));
  }
  async updatePortForwarding(ctx: RequestContext, fipId: string, id: string, body: Body): Promise<ResourceDoc> {
    return forwardingView(await fips.updateForwarding(this.core, ctx, fipId, id, body));
  }
  async deletePortForwarding(ctx: RequestContext, fipId: string, id: string): Promise<void> {
    await fips.deleteForwarding(this.core, ctx, fipId, id);
  }

  // ----- quotas --------------------------------------------------------------------------------

  quotaOf(projectId: string): Promise<Record<string, number>> {
    return this.core.quotaOf(projectId);
  }
  quotaUsage(projectId: string) {
    return quotas.quotaUsage(this.core, projectId);
  }
  checkQuotaAccess(ctx: RequestContext, projectId: string): void {
    quotas.checkQuotaAccess(this.core, ctx, projectId);
  }
  setQuota(ctx: RequestContext, projectId: string, body: Body): Promise<Record<string, number>> {
    return quotas.setQuota(this.core, ctx, projectId, body);
  }
  resetQuota(ctx: RequestContext, projectId: string): Promise<void> {
    return quotas.resetQuota(this.core, ctx, projectId);
  }
  listQuotas(ctx: RequestContext): Promise<Record<string, unknown>[]> {
    return quotas.listQuotas(this.core, ctx);
  }
  isAdmin(ctx: RequestContext): boolean {
    return this.core.isAdmin(ctx);
  }

  private readonly startedAt = now();

  /** Neutron's agents: the controller's dataplane, for admins (others see none, as Neutron's policy hides them). */
  agents(ctx: RequestContext): Record<string, unknown>[] {
    if (!this.core.may(ctx, 'get_agent')) return [];
    const host = os.hostname();
    const hex = createHash('sha256').update(`hafen-dataplane ${host}`).digest('hex');
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    return [
      {
        id,
        agent_type: 'hafen dataplane',
        binary: 'hafen',
        host,
        topic: 'N/A',
        alive: true,
        admin_state_up: true,
        availability_zone: null,
        configurations: { security_groups: 'iptables in each server\'s network namespace', floating_ips: 'NAT on the host' },
        created_at: this.startedAt.replace('T', ' ').replace('Z', ''),
        started_at: this.startedAt.replace('T', ' ').replace('Z', ''),
        heartbeat_timestamp: now().replace('T', ' ').replace('Z', ''),
        description: null,
        resources_synced: null,
      },
    ];
  }

  // ----- what compute asks (NetworkClient) -----------------------------------------------------

  bindPorts(ctx: RequestContext, serverId: string, hostId: string, nics: NicRequest[], options?: BindOptions): Promise<PortBinding[]> {
    return bindPorts(this.core, ctx, serverId, hostId, nics, options);
  }
  async unbindPorts(_ctx: RequestContext, serverId: string): Promise<void> {
    await unbindPorts(this.core, serverId);
  }
  async unbindPort(_ctx: RequestContext, serverId: string, portId: string): Promise<void> {
    await unbindPorts(this.core, serverId, portId);
  }
  bindingsOf(serverId: string): Promise<PortBinding[]> {
    return bindingsOf(this.core, serverId);
  }
  defaultNetworkId(ctx: RequestContext): Promise<string> {
    return networks.defaultNetworkId(this.core, ctx);
  }
  async serverAddresses(serverId: string): Promise<Record<string, NovaAddress[]>> {
    return (await serversAddresses(this.core, [serverId])).get(serverId)!;
  }
  serversAddresses(serverIds: string[]): Promise<Map<string, Record<string, NovaAddress[]>>> {
    return serversAddresses(this.core, serverIds);
  }
  addressesGeneration(): Promise<number | undefined> {
    return this.core.store.addressGeneration();
  }
  serverRunning(serverId: string): Promise<Record<string, NovaAddress[]>> {
    return serverRunning(this.core, serverId);
  }

  /** Every subnet's gateway address (where a host may answer its servers, e.g. wait-condition signals). */
  gatewayAddresses(): Promise<string[]> {
    return this.core.store.gatewayAddresses();
  }

  /** All-in-one: the operator's external network for floating IPs, created once. */
  ensureExternalNetwork(adminProjectId: string, name: string, cidr: string): Promise<string> {
    return networks.ensureExternalNetwork(this.core, adminProjectId, name, cidr);
  }
}
