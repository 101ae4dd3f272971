// The orchestration template a cluster is: its private network, subnet and router (unless it uses a
// fixed network), and one OS::Magnum::NodeGroup per node group, masters before workers.
import { createHash } from 'node:crypto';
import type { ClusterRow, NodegroupRow } from './store.ts';

export const NODEGROUP_RESOURCE_TYPE = 'OS::Magnum::NodeGroup';

export interface StackTemplateInput {
  cluster: ClusterRow;
  template: Record<string, unknown>;
  groups: NodegroupRow[];
  /** Nodes whose engine stopped answering, by group: naming them makes the update replace them (managers while the swarm keeps quorum). */
  unhealthy: Map<string, string[]>;
  externalNetworkId: string | undefined;
}

/**
 * A /24 for a cluster's private network, away from the ranges the network service picks for defaults;
 * derived from the cluster's id so that every version of its stack template names the same one.
 */
export function clusterSubnetCidr(clusterId: string): string {
  const i = createHash('sha256').update(clusterId).digest().readUInt16BE(0) % 8192;
  return `10.${160 + (i >> 8)}.${i & 255}.0/24`;
}

/** The resource name of a node group in the cluster's stack. */
export function groupResourceName(group: Pick<NodegroupRow, 'uuid' | 'name' | 'is_default' | 'role'>): string {
  return group.is_default === 1 ? `${group.role}s` : `nodegroup-${group.uuid.slice(0, 8)}`;
}

export function clusterStackTemplate(input: StackTemplateInput): Record<string, unknown> {
  const { cluster, template, groups } = input;
  const labels = JSON.parse(cluster.labels) as Record<string, unknown>;
  const resources: Record<string, unknown> = {};
  let network: unknown;
  let after: string[] = [];
  if (cluster.fixed_network) {
    network = cluster.fixed_network;
  } else {
    const dns = typeof template.dns_nameserver === 'string' ? template.dns_nameserver.split(',') : [];
    resources.network = { type: 'OS::Neutron::Net', properties: { name: `${cluster.name}-network` } };
    resources.subnet = {
      type: 'OS::Neutron::Subnet',
      properties: {
        name: `${cluster.name}-subnet`,
        network: { get_resource: 'network' },
        cidr: typeof labels.fixed_subnet_cidr === 'string' ? labels.fixed_subnet_cidr : clusterSubnetCidr(cluster.uuid),
        ...(dns.length ? { dns_nameservers: dns } : {}),
      },
    };
    after = ['subnet'];
    const external = (template.external_network_id as string | null) ?? input.externalNetworkId;
    if (external) {
      resources.router = { type: 'OS::Neutron::Router', properties: { name: `${cluster.name}-router`, external_gateway_info: { network: external } } };
      resources.router_interface = { type: 'OS::Neutron::RouterInterface', properties: { router: { get_resource: 'router' }, subnet: { get_resource: 'subnet' } } };
      after = ['router_interface'];
    }
    network = { get_resource: 'network' };
  }
  // A group being deleted leaves the stack: its resource's delete removes its nodes.
  const live = groups.filter((g) => !g.status.startsWith('DELETE_'));
  const masters = live.filter((g) => g.role === 'master');
  const workers = live.filter((g) => g.role !== 'master');
  for (const g of [...masters, ...workers]) {
    resources[groupResourceName(g)] = {
      type: NODEGROUP_RESOURCE_TYPE,
      properties: { cluster: cluster.uuid, nodegroup: g.uuid, node_count: g.node_count, network, ...(input.unhealthy.get(g.uuid)?.length ? { replace_nodes: input.unhealthy.get(g.uuid) } : {}) },
      depends_on: g.role === 'master' ? after : [...after, ...masters.map(groupResourceName)],
    };
  }
  return {
    heat_template_version: '2018-08-31',
    description: `hafen Magnum cluster ${cluster.name} (${cluster.uuid}): swarm-mode nodes on a network of the project`,
    resources,
    outputs: {
      api_address: { description: 'Where the Docker API of the cluster answers (TLS).', value: { get_attr: [groupResourceName(masters[0] ?? { uuid: '', name: '', is_default: 1, role: 'master' }), 'api_address'] } },
    },
  };
}
