// What dataplanes read: the compiled firewalls of servers' bound ports (groups' rules with remote groups
// resolved to member addresses, the ports' own addresses and address pairs), and the floating IPs and
// port forwardings of bound ports. Read in batches, for the servers asked about only.
import type { BoundPort, FirewallRule, FloatingIpMapping, NetworkView, PortFirewall, ServerFloatingIp, ServerPortForwarding } from '../agent/net/contract.ts';
import { NetworkCore, parseJson } from './core.ts';
import type { PortRow } from './store/index.ts';

async function firewallsOf(core: NetworkCore, ports: PortRow[]): Promise<Map<string, PortFirewall>> {
  const store = core.store;
  const ids = ports.map((p) => p.id);
  const [fixed, groups] = await Promise.all([store.fixedIpsOf(ids), store.groupsOf(ids)]);
  const groupIds = [...new Set([...groups.values()].flat())];
  const rules = await store.rulesOf(groupIds);
  const remotes = [...new Set(rules.map((r) => r.remote_group_id).filter((g): g is string => Boolean(g)))];
  const members = await store.memberAddresses(remotes);
  const out = new Map<string, PortFirewall>();
  for (const port of ports) {
    const compiled: FirewallRule[] = [];
    if (port.port_security_enabled) {
      for (const gid of groups.get(port.id) ?? []) {
        for (const r of rules) {
          if (r.security_group_id !== gid || r.ethertype !== 'IPv4') continue;
          const remoteCidrs = r.remote_group_id ? (members.get(r.remote_group_id) ?? []).map((ip) => `${ip}/32`) : [r.remote_ip_prefix ?? '0.0.0.0/0'];
          compiled.push({ direction: r.direction as 'ingress' | 'egress', protocol: r.protocol, portMin: r.port_range_min, portMax: r.port_range_max, remoteCidrs });
        }
      }
    }
    const addresses = [...(fixed.get(port.id) ?? []).map((a) => a.ip_address), ...parseJson<{ ip_address: string }[]>(port.allowed_address_pairs).map((p) => p.ip_address)];
    out.set(port.id, { portId: port.id, portSecurityEnabled: Boolean(port.port_security_enabled), rules: compiled, addresses });
  }
  return out;
}

export function dataplaneFeed(core: NetworkCore): NetworkView {
  const store = core.store;
  return {
    events: core.events,
    async serversOfPorts(portIds) {
      return [...new Set([...(await store.bindingsOfPorts(portIds)).values()].map((b) => b.server_id))];
    },
    async serverFirewalls(serverIds) {
      const bound = await store.boundPorts(serverIds);
      const compiled = await firewallsOf(core, bound.map((b) => b.port));
      const out = new Map<string, PortFirewall[]>();
      for (const { binding, port } of bound) (out.get(binding.server_id) ?? out.set(binding.server_id, []).get(binding.server_id)!).push(compiled.get(port.id)!);
      return out;
    },
    async serverFloatingIps(): Promise<ServerFloatingIp[]> {
      return (await store.boundFloatingIps()).map((f) => ({ floatingIpId: f.id, floatingIpAddress: f.floating_ip_address, fixedIpAddress: f.fixed_ip_address!, portId: f.port_id!, serverId: f.server_id }));
    },
    async serverPortForwardings(): Promise<ServerPortForwarding[]> {
      return (await store.boundForwardings()).map((f) => ({ floatingIpAddress: f.floating_ip_address, protocol: f.protocol as 'tcp' | 'udp', externalPort: f.external_port, internalIpAddress: f.internal_ip_address, internalPort: f.internal_port, portId: f.internal_port_id, serverId: f.server_id }));
    },
    async boundPorts(serverIds?: string[]): Promise<BoundPort[]> {
      return (await store.boundPorts(serverIds)).map((b) => ({ portId: b.port.id, serverId: b.binding.server_id }));
    },
    async portFirewall(portId) {
      const port = await store.get('port', portId);
      return port ? (await firewallsOf(core, [port])).get(portId) : undefined;
    },
    async floatingIpMappings(): Promise<FloatingIpMapping[]> {
      return (await store.boundFloatingIps()).map((f) => ({ floatingIpId: f.id, floatingIpAddress: f.floating_ip_address, fixedIpAddress: f.fixed_ip_address!, portId: f.port_id! }));
    },
  };
}
