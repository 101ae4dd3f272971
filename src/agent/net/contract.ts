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

/**
 * The network as a dataplane reads it. Events: 'firewall' (port ids whose firewall may have changed),
 * 'floatingip' (a mapping added or removed), 'port-deleted'.
 */
export interface DataplaneSource {
  events: EventEmitter;
  portFirewall(portId: string): Promise<PortFirewall | undefined>;
  floatingIpMappings(): Promise<FloatingIpMapping[]>;
  /** Ports bound to servers, with the server each belongs to. */
  boundPorts(): Promise<BoundPort[]>;
}
