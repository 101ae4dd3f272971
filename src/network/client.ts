// What compute may ask of the network service when it builds, moves or deletes a server, always on
// behalf of the caller. The network service owns ports, addresses and security groups; compute
// only passes what a port binding says on to the agent that plugs the container in.
import type { RequestContext } from '../platform/auth/context.ts';
import type { PortBinding } from '../agent/net/contract.ts';
import type { ListQuery } from './store/index.ts';

/** A Neutron resource as Neutron's API shows it (wire names). */
export type NeutronDoc = Record<string, unknown> & { id: string; project_id: string };
/** What Nova's proxy APIs (os-networks, os-security-groups, os-floating-ips) read and change. */
export type ProxiedKind = 'network' | 'port' | 'security_group' | 'security_group_rule' | 'floatingip';
export type { ListQuery };

/** One NIC a server asks for: a network (address from its pool, or a given one) or an existing port. */
export type NicRequest = { networkId: string; fixedIp?: string } | { portId: string };

export type { PortBinding };

/** The server a binding is for, beyond its id. */
export interface BindOptions {
  /** The server's project (default: the caller's): ports are made in it, and given ports must be its own. */
  projectId?: string;
  /** The ports' device_owner (default compute:nova; Zun's containers: compute:zun). */
  deviceOwner?: string;
  /** Security groups of the ports made for the server (its project's ids); default: the project's default group. */
  securityGroupIds?: string[];
  /**
   * Security groups (ids, or names in the server's project, as Nova's server create gives them) for the
   * ports made for the server; absent: the project's default group. Given ports keep their own.
   */
  securityGroups?: string[];
}

export interface NetworkClient {
  /**
   * Creates ports (or claims the given ones) for a server on a host. All-or-nothing: if one NIC
   * fails, the ports made by this call are deleted before the error is thrown. Only these bindings make
   * a port a server's (in addresses, interfaces and the dataplane); a given port must be of the
   * server's project and bound to nothing else.
   */
  bindPorts(ctx: RequestContext, serverId: string, hostId: string, nics: NicRequest[], options?: BindOptions): Promise<PortBinding[]>;
  /** Deletes the ports compute created for the server and releases the ones it was given. Idempotent. */
  unbindPorts(ctx: RequestContext, serverId: string): Promise<void>;
  /** Interface detach: like unbindPorts for one port of the server (deleted if made for it, else released). */
  unbindPort(ctx: RequestContext, serverId: string, portId: string): Promise<void>;
  /** The server's current bindings (os-interface list, rebuilding a container). */
  bindingsOf(serverId: string): Promise<PortBinding[]>;
  /** The project's network servers get when they ask for none (created on first use). */
  defaultNetworkId(ctx: RequestContext): Promise<string>;
  /** The server's addresses as Nova shows them: network name -> fixed and floating IPv4 addresses. */
  serverAddresses(serverId: string): Promise<Record<string, NovaAddress[]>>;
  /** serverAddresses for many servers at once (server lists): one read of the ports and floating IPs. */
  serversAddresses(serverIds: string[]): Promise<Map<string, Record<string, NovaAddress[]>>>;
  /**
   * A count of the changes of what servers' addresses are made of: while it reads the same, addresses
   * read before still hold. Undefined where changes are not counted (PostgreSQL): read them again.
   */
  addressesGeneration(): Promise<number | undefined>;
  /**
   * Tells the network side the server's container now runs: its ports' firewalls are applied at once.
   * Answers the server's addresses (serverAddresses), read with its ports.
   */
  serverRunning(serverId: string): Promise<Record<string, NovaAddress[]>>;

  // ---- Nova's proxy APIs: Neutron's own calls, with the caller's context (its policy and tenancy).
  /** One resource the caller may see; NotFoundError (Neutron's message) otherwise. */
  find(ctx: RequestContext, kind: ProxiedKind, id: string): Promise<NeutronDoc>;
  /** What the caller may see of a kind, filtered in SQL. */
  list(ctx: RequestContext, kind: ProxiedKind, q?: ListQuery): Promise<NeutronDoc[]>;
  createSecurityGroup(ctx: RequestContext, body: Record<string, unknown>): Promise<NeutronDoc>;
  updateSecurityGroup(ctx: RequestContext, id: string, body: Record<string, unknown>): Promise<NeutronDoc>;
  deleteSecurityGroup(ctx: RequestContext, id: string): Promise<void>;
  createSecurityGroupRule(ctx: RequestContext, body: Record<string, unknown>): Promise<NeutronDoc>;
  deleteSecurityGroupRule(ctx: RequestContext, id: string): Promise<void>;
  createFloatingIp(ctx: RequestContext, body: Record<string, unknown>): Promise<NeutronDoc>;
  updateFloatingIp(ctx: RequestContext, id: string, body: Record<string, unknown>): Promise<NeutronDoc>;
  /** Neutron's port update, as the caller (Nova's addSecurityGroup/removeSecurityGroup change `security_groups`). */
  updatePort(ctx: RequestContext, id: string, body: Record<string, unknown>): Promise<NeutronDoc>;
  deleteFloatingIp(ctx: RequestContext, id: string): Promise<void>;
}

export interface NovaAddress {
  version: 4;
  addr: string;
  'OS-EXT-IPS:type': 'fixed' | 'floating';
  'OS-EXT-IPS-MAC:mac_addr': string;
}
