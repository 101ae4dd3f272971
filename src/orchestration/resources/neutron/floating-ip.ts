// OS::Neutron::FloatingIP: an address on an external network (by name or id), optionally on a
// port; the port and fixed address change in place (association moves, or goes with port_id null).
import { TemplateError } from '../../template/model.ts';
import type { ResourceType } from '../types.ts';
import { compact, gone, neutronId } from '../lookup.ts';
import { routesOf } from '../implicit.ts';

export const neutronFloatingIP: ResourceType = {
  type: 'OS::Neutron::FloatingIP',
  description: 'A resource for managing Neutron floating ips.',
  properties: {
    floating_network_id: { type: 'string', description: 'Deprecated: use floating_network.', constraints: [{ custom_constraint: 'neutron.network' }] },
    floating_network: { type: 'string', description: 'Network to allocate floating IP from.', constraints: [{ custom_constraint: 'neutron.network' }] },
    floating_subnet: { type: 'string', description: 'Subnet to allocate floating IP from.', constraints: [{ custom_constraint: 'neutron.subnet' }] },
    value_specs: { type: 'map', default: {}, description: 'Extra parameters to include in the "floatingip" object in the creation request.' },
    port_id: { type: 'string', update_allowed: true, description: 'ID of an existing port with at least one IP address to associate with this floating IP.', constraints: [{ custom_constraint: 'neutron.port' }] },
    fixed_ip_address: { type: 'string', update_allowed: true, description: 'IP address to use if the port has multiple addresses.' },
    floating_ip_address: { type: 'string', description: 'IP address of the floating IP.' },
    dns_name: { type: 'string', description: 'DNS name associated with floating ip.' },
    dns_domain: { type: 'string', description: 'DNS domain associated with floating ip.' },
  },
  attributes: {
    router_id: { description: 'ID of the router used as gateway, set when associated with a port.', type: 'string' },
    tenant_id: { description: 'The tenant owning this floating IP.', type: 'string' },
    floating_network_id: { description: 'ID of the network in which this IP is allocated.', type: 'string' },
    fixed_ip_address: { description: 'IP address of the associated port, if specified.', type: 'string' },
    floating_ip_address: { description: 'The allocated address of this IP.', type: 'string' },
    port_id: { description: 'ID of the port associated with this IP.', type: 'string' },
  },
  implicitDependencies: (d, others) => (d.properties.port_id !== undefined ? routesOf(others) : []),
  validate(props, _ctx, at) {
    if (props.floating_network === undefined && props.floating_network_id === undefined) throw new TemplateError(`${at}: Property floating_network not assigned`);
  },
  async create(h, props) {
    const network = await neutronId(h.clients, h.ctx, 'network', String(props.floating_network ?? props.floating_network_id));
    // Made without its port; the association follows in checkCreateComplete, retried while the
    // router interface that makes the port reachable is still being added (Heat orders that by an
    // implicit dependency the engine does not have).
    const fip = await h.clients.network.createFloatingIp(h.ctx, compact({
      floating_network_id: network,
      subnet_id: props.floating_subnet ? await neutronId(h.clients, h.ctx, 'subnet', String(props.floating_subnet)) : undefined,
      floating_ip_address: props.floating_ip_address,
      dns_name: props.dns_name,
      dns_domain: props.dns_domain,
      ...(props.value_specs as Record<string, unknown>),
    }));
    if (props.port_id) {
      h.data.associate = { port_id: await neutronId(h.clients, h.ctx, 'port', String(props.port_id)), ...(props.fixed_ip_address ? { fixed_ip_address: props.fixed_ip_address } : {}) };
      h.data.associateDeadline = Date.now() + 60_000;
    }
    return fip.id;
  },
  async checkCreateComplete(h, id) {
    const body = h.data.associate as Record<string, unknown> | undefined;
    if (!body) return true;
    try {
      await h.clients.network.updateFloatingIp(h.ctx, id, body);
    } catch (err) {
      if ((err as Error).name !== 'ExternalGatewayForFloatingIPNotFound' || Date.now() > Number(h.data.associateDeadline)) throw err;
      return false;
    }
    delete h.data.associate;
    delete h.data.associateDeadline;
    return true;
  },
  async update(h, id, props) {
    const port = props.port_id ? await neutronId(h.clients, h.ctx, 'port', String(props.port_id)) : null;
    await h.clients.network.updateFloatingIp(h.ctx, id, { port_id: port, ...(port && props.fixed_ip_address ? { fixed_ip_address: props.fixed_ip_address } : {}) });
  },
  async delete(h, id) {
    await gone(() => h.clients.network.deleteFloatingIp(h.ctx, id));
  },
  async check(h, id) {
    await h.clients.network.find(h.ctx, 'floatingip', id);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    const f = await h.clients.network.find(h.ctx, 'floatingip', id);
    if (name === 'show') return f;
    if (name === 'tenant_id') return f.project_id;
    return f[name] ?? null;
  },
};
