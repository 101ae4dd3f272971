// What the network service hands the agent layer, and the dataplane reads: engine networks of port
// bindings, compiled per-port firewalls, floating-IP mappings. Both sides import this module; the agent
// layer never imports from src/network/.
import type { EventEmitter } from 'node:events';

/** How the agent realises a Neutron network on the engine that runs a server. */
export interface EngineNetwork {
  /** Name of the engine network (carries no tenant data). */
  name: string;
  /** CIDR and gateway of the IPv4 subnet. */
  subnet: string;
  gateway: string;
  /** True when no router with an external gateway joins it: no way out. */
  internal: boolean;
  mtu: number;
}

/** One port bound to a server: what compute passes to the agent that plugs the container in. */
export interface PortBinding {
  portId: string;
  networkId: string;
  macAddress: string;
  fixedIps: { subnetId: string; ipAddress: string }[];
  engineNetwork: EngineNetwork;
  portSecurityEnabled: boolean;
  securityGroupIds: string[];
}

export interface FirewallRule {
  direction: 'ingress' | 'egress';
  protocol: string | null;
  portMin: number | null;
  portMax: number | null;
  /** Allowed peers as IPv4 CIDRs; ['0.0.0.0/0'] for any. */
  remoteCidrs: string[];
}

/** A port's compiled firewall: what the agent installs in the namespace of the container that holds it. */
export interface PortFirewall {
  portId: string;
  portSecurityEnabled: boolean;
  rules: FirewallRule[];
  /**
   * The IPv4 addresses (or CIDRs) the port may use: its fixed IPs and allowed address pairs. Its rules
   * match traffic to and from these; with port security on, nothing leaves from another source
   * (anti-spoofing). Absent from older controllers: the rules then match any address of the container.
   */
  addresses?: string[];
}

export interface FloatingIpMapping {
  floatingIpId: string;
  floatingIpAddress: string;
  fixedIpAddress: string;
  portId: string;
}

/** A port bound to a server by compute (the only kind of binding the dataplane acts on). */
export interface BoundPort {
  portId: string;
  serverId: string;
}

/** A floating IP associated with a port bound to a server. */
export interface ServerFloatingIp extends FloatingIpMapping {
  serverId: string;
}

/** A port forwarding of a floating IP to a port bound to a server: external port -> address and port. */
export interface ServerPortForwarding {
  floatingIpAddress: string;
  protocol: 'tcp' | 'udp';
  externalPort: number;
  internalIpAddress: string;
  internalPort: number;
  portId: string;
  serverId: string;
}

/**
 * The network as a dataplane reads it, asked only for what changed. Events: 'firewall' (port ids whose
 * own firewall inputs changed), 'groups' (security group ids whose rules or members changed: every
 * server whose firewall names them may change), 'floatingip' (floating IPs or forwardings changed),
 * 'port-deleted'.
 */
export interface DataplaneSource {
  events: EventEmitter;
  /** The servers holding these ports. */
  serversOfPorts(portIds: string[]): Promise<string[]>;
  /** The firewalls of each server's bound ports, in binding order (servers without ports are absent). */
  serverFirewalls(serverIds: string[]): Promise<Map<string, PortFirewall[]>>;
  /** Floating IPs associated with ports bound to servers. */
  serverFloatingIps(): Promise<ServerFloatingIp[]>;
  /** Port forwardings to ports bound to servers (absent: none). */
  serverPortForwardings?(): Promise<ServerPortForwarding[]>;
}

/** What the controller's network offers agents' endpoints besides: per-port reads. */
export interface NetworkView extends DataplaneSource {
  /** Ports bound to servers (all, or those of these servers), with the server each belongs to. */
  boundPorts(serverIds?: string[]): Promise<BoundPort[]>;
  portFirewall(portId: string): Promise<PortFirewall | undefined>;
  floatingIpMappings(): Promise<FloatingIpMapping[]>;
}
