// Heat's implicit dependencies between networking resources of one stack: what must exist before a
// resource can work although its properties do not name it (a port needs its network's subnets; a
// floating IP needs the router interface that makes its port reachable).
import type { ResourceDefinition } from '../template/model.ts';
import type { ResourceType } from './types.ts';

export type Siblings = ReadonlyMap<string, { definition: ResourceDefinition; type: ResourceType }>;

/** The resource a `{get_resource: X}` value names, if it is one. */
function resourceNamed(v: unknown): string | undefined {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'get_resource' && typeof (v as Record<string, unknown>).get_resource === 'string') return (v as Record<string, string>).get_resource;
  }
  return undefined;
}

/** The stack's subnets on the network resource a property value names. */
export function subnetsOfNetwork(network: unknown, others: Siblings): string[] {
  const net = resourceNamed(network);
  if (!net) return [];
  return [...others]
    .filter(([, r]) => r.type.type === 'OS::Neutron::Subnet' && resourceNamed(r.definition.properties.network ?? r.definition.properties.network_id) === net)
    .map(([n]) => n);
}

/** Every router interface and gateway-bearing router of the stack. */
export function routesOf(others: Siblings): string[] {
  return [...others]
    .filter(([, r]) => r.type.type === 'OS::Neutron::RouterInterface' || (r.type.type === 'OS::Neutron::Router' && r.definition.properties.external_gateway_info !== undefined))
    .map(([n]) => n);
}

/** For a resource with a `networks` list (servers, containers): the subnets of each network it joins. */
export function subnetsOfNics(networks: unknown, others: Siblings): string[] {
  if (!Array.isArray(networks)) return [];
  return networks.flatMap((n) => (n && typeof n === 'object' ? subnetsOfNetwork((n as Record<string, unknown>).network ?? (n as Record<string, unknown>).uuid, others) : []));
}
