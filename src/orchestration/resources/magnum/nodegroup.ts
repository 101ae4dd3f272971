// OS::Magnum::NodeGroup: the nodes of one node group of a Magnum cluster, as the cluster's own stack
// holds them. The clusters service boots, joins and removes them for the stack's owner; a stack of
// another project cannot name the cluster (404), and node_count is bounded there.
import { randomUUID } from 'node:crypto';
import type { ResourceHandle, ResourceType } from '../types.ts';

function nodes(h: ResourceHandle) {
  if (!h.clients.clusters) throw new Error('The clusters service is not available.');
  return h.clients.clusters;
}

export const magnumNodeGroup: ResourceType = {
  type: 'OS::Magnum::NodeGroup',
  description: 'The nodes of one node group of a Magnum cluster (Docker engines in swarm mode); part of the stack the cluster is.',
  properties: {
    cluster: { type: 'string', required: true, description: 'UUID of the cluster.' },
    nodegroup: { type: 'string', required: true, description: 'UUID of the node group.' },
    node_count: { type: 'integer', required: true, update_allowed: true, constraints: [{ range: { min: 0, max: 50 } }], description: 'How many nodes the group has.' },
    network: { type: 'string', required: true, description: 'The Neutron network the nodes are on.', constraints: [{ custom_constraint: 'neutron.network' }] },
    replace_nodes: { type: 'list', required: false, update_allowed: true, items: { type: 'string' }, description: 'Nodes whose engine stopped answering: the update replaces them.' },
  },
  attributes: {
    api_address: { description: 'Where the Docker API of the cluster answers.', type: 'string' },
    node_addresses: { description: 'The addresses of the group\'s nodes.', type: 'list' },
  },
  async create(h, props) {
    await h.setPhysicalId(String(props.nodegroup));
    // Which resource row made the group's nodes: a row that an update replaced (a create or update
    // that failed or that a restart cut short is made anew) shares the group's id with its successor.
    h.data.generation = randomUUID();
    await nodes(h).realise(h.ctx, { clusterId: String(props.cluster), nodegroupId: String(props.nodegroup), count: Number(props.node_count), networkId: String(props.network), stackProjectId: h.stack.projectId }, h.signal);
    return String(props.nodegroup);
  },
  async update(h, _id, props) {
    await nodes(h).realise(h.ctx, { clusterId: String(props.cluster), nodegroupId: String(props.nodegroup), count: Number(props.node_count), networkId: String(props.network), stackProjectId: h.stack.projectId }, h.signal);
  },
  async delete(h, id) {
    // A row replaced by an update leaves the nodes to the row that took its place (and its name).
    const successor = await h.sibling(h.name);
    if (successor && successor.data.generation !== undefined && successor.data.generation !== h.data.generation) return;
    await nodes(h).removeGroupOf(h.ctx, id, h.stack.projectId);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    if (name === 'api_address') return nodes(h).apiAddressOf(id);
    if (name === 'node_addresses') return nodes(h).addressesOf(id);
    return null;
  },
};
