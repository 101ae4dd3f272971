// OS::Magnum::Cluster: a cluster of the clusters service (Magnum), made through that service's
// client as the stack's caller: its nodes, network and TLS front are the clusters service's work
// (the cluster is itself a stack of the project). Creation waits for CREATE_COMPLETE, an update
// (node_count) for UPDATE_COMPLETE, delete until Magnum no longer shows the cluster.
import { isNotFound } from '../../../platform/errors.ts';
import type { ResourceType } from '../types.ts';
import { magnum, magnumName } from './cluster-template.ts';

/** Heat acts at the newest microversion the clusters service speaks (node_count 0 from 1.10). */
const MICROVERSION = 11;

class ResourceInError extends Error {
  override readonly name = 'ResourceInErrorError';
}

class ResourceUnknownStatus extends Error {
  override readonly name = 'ResourceUnknownStatus';
}

const ATTRIBUTES = [
  'api_address', 'stack_id', 'coe_version', 'master_addresses', 'status', 'master_count', 'node_addresses', 'status_reason', 'node_count', 'name',
  'container_version', 'discovery_url', 'cluster_template_id', 'keypair', 'create_timeout',
] as const;

export const magnumCluster: ResourceType = {
  type: 'OS::Magnum::Cluster',
  description: 'A cluster of the clusters service (Magnum): a swarm-mode cluster of Docker engines with its TLS Docker endpoint.',
  properties: {
    name: { type: 'string', description: 'The cluster name.' },
    cluster_template: { type: 'string', required: true, description: 'The name or ID of the cluster template.', constraints: [{ custom_constraint: 'magnum.cluster_template' }] },
    keypair: { type: 'string', description: 'The name of the keypair. If not presented, use keypair in cluster template.', constraints: [{ custom_constraint: 'nova.keypair' }] },
    node_count: { type: 'integer', default: 1, update_allowed: true, description: 'The node count for this cluster.', constraints: [{ range: { min: 1 } }] },
    master_count: { type: 'integer', default: 1, update_allowed: true, description: 'The number of master nodes for this cluster.', constraints: [{ range: { min: 1 } }] },
    discovery_url: { type: 'string', update_allowed: true, description: 'Specifies a custom discovery url for node discovery.' },
    create_timeout: { type: 'integer', default: 60, update_allowed: true, description: 'Timeout for creating the cluster in minutes. Set to 0 for no timeout.', constraints: [{ range: { min: 0 } }] },
  },
  attributes: {
    api_address: { description: 'The endpoint URL of COE API exposed to end-users.', type: 'string' },
    stack_id: { description: 'The reference UUID of orchestration stack for this COE cluster.', type: 'string' },
    coe_version: { description: 'Version info of chosen COE in cluster for helping client in picking the right version of client.', type: 'string' },
    master_addresses: { description: 'List of floating IP of all master nodes.', type: 'list' },
    status: { description: 'The status for this COE cluster.', type: 'string' },
    master_count: { description: 'The number of servers that will serve as master for the cluster.', type: 'integer' },
    node_addresses: { description: 'List of floating IP of all servers that serve as node.', type: 'list' },
    status_reason: { description: 'The reason of cluster current status.', type: 'string' },
    node_count: { description: 'The number of servers that will serve as node in the cluster.', type: 'integer' },
    name: { description: 'Name of the resource.', type: 'string' },
    container_version: { description: 'Version info of constainer engine in the chosen COE in cluster for helping client in picking the right version of client.', type: 'string' },
    discovery_url: { description: 'The custom discovery url for node discovery.', type: 'string' },
    cluster_template_id: { description: 'The UUID of the cluster template.', type: 'string' },
    keypair: { description: 'The name of the keypair.', type: 'string' },
    create_timeout: { description: 'The timeout for cluster creation in minutes.', type: 'integer' },
  },
  async create(h, props) {
    const body: Record<string, unknown> = { name: props.name ?? magnumName(h), cluster_template_id: props.cluster_template };
    for (const key of ['keypair', 'node_count', 'master_count', 'discovery_url', 'create_timeout'] as const) if (props[key] !== undefined && props[key] !== null) body[key] = props[key];
    const { uuid } = await magnum(h).createCluster(h.ctx, body, MICROVERSION);
    await h.setPhysicalId(uuid);
    return uuid;
  },
  async adopt(h) {
    // A create cut short before its id was recorded made a cluster of the resource's generated name.
    try {
      return (await magnum(h).showCluster(h.ctx, magnumName(h))).uuid;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  },
  async checkCreateComplete(h, id) {
    const c = await magnum(h).showCluster(h.ctx, id);
    if (c.status === 'CREATE_IN_PROGRESS') return false;
    if (c.status === 'CREATE_COMPLETE') return true;
    if (c.status === 'CREATE_FAILED') throw new ResourceInError(`Failed to create Cluster '${h.name}' - ${c.status_reason ?? ''}`);
    throw new ResourceUnknownStatus(`Unknown status creating Cluster '${h.name}' - ${c.status_reason ?? c.status}`);
  },
  async update(h, id, props, _old, changed) {
    const patch = changed.map((k) => ({ op: 'replace' as const, path: `/${k}`, value: props[k] }));
    if (patch.length === 0) return;
    await magnum(h).updateCluster(h.ctx, id, patch, MICROVERSION);
    h.data.updating = true;
  },
  async checkUpdateComplete(h, id) {
    if (!h.data.updating) return true;
    const c = await magnum(h).showCluster(h.ctx, id);
    if (c.status === 'UPDATE_IN_PROGRESS') return false;
    if (c.status === 'UPDATE_COMPLETE') {
      h.data.updating = false;
      return true;
    }
    if (c.status === 'UPDATE_FAILED') throw new ResourceInError(`Failed to update Cluster '${h.name}' - ${c.status_reason ?? ''}`);
    throw new ResourceUnknownStatus(`Unknown status updating Cluster '${h.name}' - ${c.status_reason ?? c.status}`);
  },
  async delete(h, id) {
    try {
      await magnum(h).deleteCluster(h.ctx, id);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
  async checkDeleteComplete(h, id) {
    try {
      const c = await magnum(h).showCluster(h.ctx, id);
      if (c.status === 'DELETE_FAILED') throw new ResourceInError(`Failed to delete Cluster '${h.name}' - ${c.status_reason ?? ''}`);
      return false;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  },
  async check(h, id) {
    const c = await magnum(h).showCluster(h.ctx, id);
    if (String(c.status).endsWith('_FAILED')) throw new ResourceInError(`Cluster '${h.name}' is ${c.status}: ${c.status_reason ?? ''}`);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    const c = await magnum(h).showCluster(h.ctx, id);
    if (name === 'show') return c;
    return (ATTRIBUTES as readonly string[]).includes(name) ? (c[name] ?? null) : null;
  },
};
