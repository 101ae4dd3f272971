// OS::Neutron::Net: a tenant network; name, admin state, sharing and port security change in place.
import type { ResourceType } from '../types.ts';
import { compact, deleteRetryingConflict } from '../lookup.ts';

const UPDATABLE: Record<string, string> = { name: 'name', admin_state_up: 'admin_state_up', shared: 'shared', port_security_enabled: 'port_security_enabled', dns_domain: 'dns_domain' };

export const neutronNet: ResourceType = {
  type: 'OS::Neutron::Net',
  description: 'A resource for managing Neutron net.',
  properties: {
    name: { type: 'string', update_allowed: true, description: 'A string specifying a symbolic name for the network, which is not required to be unique.' },
    value_specs: { type: 'map', default: {}, update_allowed: true, description: 'Extra parameters to include in the request.' },
    admin_state_up: { type: 'boolean', default: true, update_allowed: true, description: 'A boolean value specifying the administrative status of the network.' },
    tenant_id: { type: 'string', description: 'The ID of the tenant which will own the network. Only administrative users can set the tenant identifier.' },
    shared: { type: 'boolean', default: false, update_allowed: true, description: 'Whether this network should be shared across all tenants.' },
    port_security_enabled: { type: 'boolean', update_allowed: true, description: 'Flag to enable/disable port security on the network.' },
    dns_domain: { type: 'string', update_allowed: true, description: 'DNS domain associated with this network.' },
    tags: { type: 'list', update_allowed: true, items: { type: 'string' }, description: 'The tags to be added to the network.' },
  },
  attributes: {
    status: { description: 'The status of the network.', type: 'string' },
    name: { description: 'The name of the network.', type: 'string' },
    subnets: { description: 'Subnets of this network.', type: 'list' },
    admin_state_up: { description: 'The administrative status of the network.', type: 'string' },
    tenant_id: { description: 'The tenant owning this network.', type: 'string' },
    port_security_enabled: { description: 'Port security enabled of the network.', type: 'boolean' },
    mtu: { description: 'The maximum transmission unit size(in bytes) for the network.', type: 'integer' },
  },
  async create(h, props) {
    const net = await h.clients.network.createNetwork(h.ctx, compact({
      name: props.name ?? h.physicalName,
      admin_state_up: props.admin_state_up,
      shared: props.shared || undefined,
      port_security_enabled: props.port_security_enabled,
      dns_domain: props.dns_domain,
      tenant_id: props.tenant_id,
      tags: props.tags,
      ...(props.value_specs as Record<string, unknown>),
    }));
    return net.id;
  },
  async update(h, id, props, _old, changed) {
    const body: Record<string, unknown> = {};
    for (const k of changed) {
      if (k === 'name') body.name = props.name ?? h.physicalName;
      else if (k === 'value_specs') Object.assign(body, props.value_specs);
      else if (UPDATABLE[k] && props[k] !== undefined) body[UPDATABLE[k]] = props[k];
    }
    if (Object.keys(body).length) await h.clients.network.updateNetwork(h.ctx, id, body);
  },
  async delete() {
    // The delete itself runs in checkDeleteComplete, retried while ports of siblings go away.
  },
  async checkDeleteComplete(h, id) {
    return deleteRetryingConflict(h, () => h.clients.network.deleteNetwork(h.ctx, id));
  },
  async check(h, id) {
    await h.clients.network.find(h.ctx, 'network', id);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    const net = await h.clients.network.find(h.ctx, 'network', id);
    if (name === 'show') return net;
    if (name === 'tenant_id') return net.project_id;
    if (name === 'status') return net.status ?? 'ACTIVE';
    return net[name] ?? null;
  },
};
