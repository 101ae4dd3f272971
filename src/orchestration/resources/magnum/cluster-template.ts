// OS::Magnum::ClusterTemplate: a cluster template of the clusters service (Magnum), made through
// that service's client as the stack's caller. Heat's properties; `public` changes in place (a JSON
// patch), anything else replaces the template. Delete refuses while clusters use it, as Magnum does.
import type { ClustersClient } from '../../../clusters/client.ts';
import { TemplateError } from '../../template/model.ts';
import { gone } from '../lookup.ts';
import { isDeferred, type ResourceHandle, type ResourceType } from '../types.ts';

const SUPPORTED_VOLUME_DRIVER: Record<string, string[]> = { kubernetes: ['cinder'], swarm: ['rexray'], 'swarm-mode': ['rexray'], mesos: ['rexray'] };

export function magnum(h: ResourceHandle): ClustersClient {
  if (!h.clients.magnum) throw new Error('The clusters service (Magnum) is not available.');
  return h.clients.magnum;
}

/** A name Magnum takes (`^[a-zA-Z][a-zA-Z0-9_.-]*$`) from the resource's physical name. */
export function magnumName(h: ResourceHandle): string {
  const name = h.physicalName.replace(/[^a-zA-Z0-9_.-]/g, '-');
  return /^[a-zA-Z]/.test(name) ? name : `h${name}`;
}

export const magnumClusterTemplate: ResourceType = {
  type: 'OS::Magnum::ClusterTemplate',
  description: 'A cluster template of the clusters service (Magnum): how clusters made from it are built.',
  properties: {
    name: { type: 'string', description: 'The cluster template name.' },
    image: { type: 'string', required: true, description: 'The image name or UUID to use as a base image for cluster.', constraints: [{ custom_constraint: 'glance.image' }] },
    flavor: { type: 'string', description: 'The nova flavor name or UUID to use when launching the cluster.', constraints: [{ custom_constraint: 'nova.flavor' }] },
    master_flavor: { type: 'string', description: 'The nova flavor name or UUID to use when launching the master node of the cluster.', constraints: [{ custom_constraint: 'nova.flavor' }] },
    keypair: { type: 'string', description: 'The name of the SSH keypair to load into the cluster nodes.', constraints: [{ custom_constraint: 'nova.keypair' }] },
    external_network: { type: 'string', required: true, description: 'The external neutron network name or UUID to attach the Cluster.', constraints: [{ custom_constraint: 'neutron.network' }] },
    fixed_network: { type: 'string', description: 'The fixed neutron network name or UUID to attach the Cluster.', constraints: [{ custom_constraint: 'neutron.network' }] },
    fixed_subnet: { type: 'string', description: 'The fixed neutron subnet name or UUID to attach the Cluster.', constraints: [{ custom_constraint: 'neutron.subnet' }] },
    dns_nameserver: { type: 'string', description: 'The DNS nameserver address.' },
    docker_volume_size: { type: 'integer', description: 'The size in GB of the docker volume.', constraints: [{ range: { min: 1 } }] },
    docker_storage_driver: { type: 'string', default: 'devicemapper', description: 'Select a docker storage driver.', constraints: [{ allowed_values: ['devicemapper', 'overlay', 'overlay2'] }] },
    coe: { type: 'string', required: true, description: 'The Container Orchestration Engine for cluster.', constraints: [{ allowed_values: ['kubernetes', 'swarm', 'swarm-mode', 'mesos'] }] },
    network_driver: { type: 'string', description: 'The name of the driver used for instantiating container networks. By default, Magnum will choose the pre-configured network driver based on COE type.' },
    volume_driver: { type: 'string', description: 'The volume driver name for instantiating container volume.', constraints: [{ allowed_values: ['cinder', 'rexray'] }] },
    http_proxy: { type: 'string', description: 'The http_proxy address to use for nodes in cluster.' },
    https_proxy: { type: 'string', description: 'The https_proxy address to use for nodes in cluster.' },
    no_proxy: { type: 'string', description: 'A comma separated list of addresses for which proxies should not be used in the cluster.' },
    labels: { type: 'map', description: 'Arbitrary labels in the form of key=value pairs to associate with cluster.' },
    tls_disabled: { type: 'boolean', default: false, description: 'Disable TLS in the cluster.' },
    public: { type: 'boolean', default: false, update_allowed: true, description: 'Make the cluster template public. To enable this option, you must own the right to publish in magnum. Which default set to admin only.' },
    registry_enabled: { type: 'boolean', default: false, description: 'Enable the docker registry in the cluster.' },
    server_type: { type: 'string', default: 'vm', description: 'Specify the server type to be used.', constraints: [{ allowed_values: ['vm', 'bm'] }] },
    master_lb_enabled: { type: 'boolean', default: true, description: 'Indicates whether created clusters should have a load balancer for master nodes or not.' },
    floating_ip_enabled: { type: 'boolean', default: true, description: 'Indicates whether created clusters should have a floating ip or not.' },
  },
  attributes: {},
  validate(props, _ctx, at) {
    const coe = props.coe;
    const driver = props.volume_driver;
    if (typeof coe !== 'string' || isDeferred(coe) || driver === undefined || driver === null || isDeferred(driver)) return;
    const supported = SUPPORTED_VOLUME_DRIVER[coe] ?? [];
    if (!supported.includes(String(driver))) throw new TemplateError(`${at}.volume_driver: Volume driver type ${String(driver)} is not supported by COE:${coe}, expecting a ${JSON.stringify(supported)} volume driver.`);
  },
  async create(h, props) {
    const body: Record<string, unknown> = { name: props.name ?? magnumName(h) };
    for (const key of ['image', 'flavor', 'master_flavor', 'keypair', 'external_network'] as const) if (props[key] !== undefined && props[key] !== null) body[`${key}_id`] = props[key];
    for (const key of [
      'fixed_network', 'fixed_subnet', 'dns_nameserver', 'docker_volume_size', 'docker_storage_driver', 'coe', 'network_driver', 'volume_driver', 'http_proxy',
      'https_proxy', 'no_proxy', 'labels', 'tls_disabled', 'public', 'registry_enabled', 'server_type', 'master_lb_enabled', 'floating_ip_enabled',
    ] as const) {
      if (props[key] !== undefined && props[key] !== null) body[key] = props[key];
    }
    const created = await magnum(h).createTemplate(h.ctx, body);
    await h.setPhysicalId(created.uuid);
    return created.uuid;
  },
  async update(h, id, props, _old, changed) {
    const patch = changed.map((k) => ({ op: 'replace' as const, path: `/${k}`, value: props[k] }));
    if (patch.length) await magnum(h).updateTemplate(h.ctx, id, patch);
  },
  async delete(h, id) {
    await gone(() => magnum(h).deleteTemplate(h.ctx, id));
  },
  async check(h, id) {
    await magnum(h).showTemplate(h.ctx, id);
  },
  async attribute(h, id, name) {
    if (!id || name !== 'show') return null;
    return magnum(h).showTemplate(h.ctx, id);
  },
};
