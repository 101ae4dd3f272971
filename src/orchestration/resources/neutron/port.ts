// OS::Neutron::Port: a port on a network, with fixed IPs (by subnet name or id) and security groups
// (by name or id); name, addresses, groups, device and port security change in place.
import type { RequestContext } from '../../../platform/auth/context.ts';
import type { Clients } from '../../clients.ts';
import { TemplateError } from '../../template/model.ts';
import type { ResourceType } from '../types.ts';
import { awaitStackSubnet, compact, definitions, gone, neutronId } from '../lookup.ts';
import { subnetsOfNetwork } from '../implicit.ts';

const fixedIp = {
  subnet_id: { type: 'string' as const, description: 'Deprecated: use subnet.', constraints: [{ custom_constraint: 'neutron.subnet' }] },
  subnet: { type: 'string' as const, description: 'Subnet in which to allocate the IP address for this port.', constraints: [{ custom_constraint: 'neutron.subnet' }] },
  ip_address: { type: 'string' as const, description: 'IP address desired in the subnet for this port.' },
};
const addressPair = {
  mac_address: { type: 'string' as const, description: 'MAC address to allow through this port.' },
  ip_address: { type: 'string' as const, required: true, description: 'IP address to allow through this port.' },
};

export async function fixedIpsBody(clients: Clients, ctx: RequestContext, list: unknown): Promise<{ subnet_id?: string; ip_address?: string }[]> {
  const out: { subnet_id?: string; ip_address?: string }[] = [];
  for (const f of (list as { subnet?: string; subnet_id?: string; ip_address?: string }[]) ?? []) {
    const subnet = f.subnet ?? f.subnet_id;
    out.push({ ...(subnet ? { subnet_id: await neutronId(clients, ctx, 'subnet', subnet) } : {}), ...(f.ip_address ? { ip_address: f.ip_address } : {}) });
  }
  return out;
}

export async function securityGroupIds(clients: Clients, ctx: RequestContext, list: unknown): Promise<string[]> {
  const out: string[] = [];
  for (const g of (list as string[]) ?? []) out.push(await neutronId(clients, ctx, 'security_group', g));
  return out;
}

export const neutronPort: ResourceType = {
  type: 'OS::Neutron::Port',
  description: 'A resource for managing Neutron ports.',
  properties: {
    network_id: { type: 'string', description: 'Deprecated: use network.', constraints: [{ custom_constraint: 'neutron.network' }] },
    network: { type: 'string', description: 'Network this port belongs to.', constraints: [{ custom_constraint: 'neutron.network' }] },
    name: { type: 'string', update_allowed: true, description: 'A symbolic name for this port.' },
    value_specs: { type: 'map', default: {}, update_allowed: true, description: 'Extra parameters to include in the request.' },
    admin_state_up: { type: 'boolean', default: true, update_allowed: true, description: 'The administrative state of this port.' },
    fixed_ips: { type: 'list', update_allowed: true, schema: fixedIp, description: 'Desired IPs for this port.' },
    mac_address: { type: 'string', description: 'MAC address to give to this port.' },
    device_id: { type: 'string', update_allowed: true, description: 'Device ID of this port.' },
    device_owner: { type: 'string', update_allowed: true, description: 'Name of the network owning the port.' },
    security_groups: { type: 'list', update_allowed: true, items: { type: 'string', constraints: [{ custom_constraint: 'neutron.security_group' }] }, description: 'Security group IDs or names to associate with this port.' },
    allowed_address_pairs: { type: 'list', update_allowed: true, schema: addressPair, description: 'Additional MAC/IP address pairs allowed to pass through the port.' },
    port_security_enabled: { type: 'boolean', update_allowed: true, description: 'Flag to enable/disable port security on the port.' },
    'binding:vnic_type': { type: 'string', update_allowed: true, description: 'The vnic type to be bound on the neutron port.', constraints: [{ allowed_values: ['normal', 'direct', 'macvtap', 'direct-physical', 'baremetal'] }] },
    dns_name: { type: 'string', update_allowed: true, description: 'DNS name associated with the port.' },
    tags: { type: 'list', update_allowed: true, items: { type: 'string' }, description: 'The tags to be added to the port.' },
    replacement_policy: { type: 'string', default: 'AUTO', update_allowed: true, description: 'Deprecated; has no effect.', constraints: [{ allowed_values: ['REPLACE_ALWAYS', 'AUTO'] }] },
  },
  attributes: {
    admin_state_up: { description: 'The administrative state of this port.', type: 'string' },
    device_id: { description: 'Unique identifier for the device.', type: 'string' },
    device_owner: { description: 'Name of the network owning the port.', type: 'string' },
    fixed_ips: { description: 'Fixed IP addresses.', type: 'list' },
    mac_address: { description: 'MAC address of the port.', type: 'string' },
    name: { description: 'Friendly name of the port.', type: 'string' },
    network_id: { description: 'Unique identifier for the network owning the port.', type: 'string' },
    security_groups: { description: 'A list of security groups for the port.', type: 'list' },
    status: { description: 'The status of the port.', type: 'string' },
    tenant_id: { description: 'Tenant owning the port.', type: 'string' },
    allowed_address_pairs: { description: 'Additional MAC/IP address pairs allowed to pass through a port.', type: 'list' },
    subnets: { description: 'Subnets of this port.', type: 'list' },
    port_security_enabled: { description: 'Port security enabled of the port.', type: 'boolean' },
    network: { description: 'The attributes of the network owning the port.', type: 'map' },
  },
  implicitDependencies: (d, others) => subnetsOfNetwork(d.properties.network ?? d.properties.network_id, others),
  validate(props, _ctx, at) {
    if (props.network === undefined && props.network_id === undefined) throw new TemplateError(`${at}: Property network not assigned`);
  },
  async create(h, props) {
    const networkId = await neutronId(h.clients, h.ctx, 'network', String(props.network ?? props.network_id));
    const fixed = props.fixed_ips as { subnet?: string; subnet_id?: string }[] | undefined;
    if (!fixed || fixed.some((f) => !f.subnet && !f.subnet_id)) {
      const own = definitions(h)[h.name]?.properties;
      await awaitStackSubnet(h, networkId, own?.network ?? own?.network_id);
    }
    const port = await h.clients.network.createPort(h.ctx, compact({
      network_id: networkId,
      name: props.name ?? h.physicalName,
      admin_state_up: props.admin_state_up,
      fixed_ips: props.fixed_ips ? await fixedIpsBody(h.clients, h.ctx, props.fixed_ips) : undefined,
      mac_address: props.mac_address,
      device_id: props.device_id,
      device_owner: props.device_owner,
      security_groups: props.security_groups ? await securityGroupIds(h.clients, h.ctx, props.security_groups) : undefined,
      allowed_address_pairs: props.allowed_address_pairs,
      port_security_enabled: props.port_security_enabled,
      'binding:vnic_type': props['binding:vnic_type'],
      dns_name: props.dns_name,
      tags: props.tags,
      ...(props.value_specs as Record<string, unknown>),
    }));
    return port.id;
  },
  async update(h, id, props, _old, changed) {
    const body: Record<string, unknown> = {};
    for (const k of changed) {
      if (k === 'name') body.name = props.name ?? h.physicalName;
      else if (k === 'value_specs') Object.assign(body, props.value_specs);
      else if (k === 'fixed_ips') body.fixed_ips = await fixedIpsBody(h.clients, h.ctx, props.fixed_ips ?? []);
      // Groups taken away fall back to the project's default group, as Heat does.
      else if (k === 'security_groups') body.security_groups = props.security_groups === undefined ? [await neutronId(h.clients, h.ctx, 'security_group', 'default')] : await securityGroupIds(h.clients, h.ctx, props.security_groups);
      else if (k === 'allowed_address_pairs') body.allowed_address_pairs = props.allowed_address_pairs ?? [];
      else if (k === 'replacement_policy' || k === 'tags') continue;
      else if (props[k] !== undefined) body[k] = props[k];
      else if (k === 'device_id' || k === 'device_owner' || k === 'dns_name') body[k] = '';
    }
    if (Object.keys(body).length) await h.clients.network.updatePort(h.ctx, id, body);
  },
  async delete(h, id) {
    await gone(() => h.clients.network.deletePort(h.ctx, id));
  },
  async check(h, id) {
    await h.clients.network.find(h.ctx, 'port', id);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    const p = await h.clients.network.find(h.ctx, 'port', id);
    switch (name) {
      case 'show':
        return p;
      case 'tenant_id':
        return p.project_id;
      case 'subnets': {
        const ids = [...new Set((p.fixed_ips as { subnet_id: string }[]).map((f) => f.subnet_id))];
        return Promise.all(ids.map((s) => h.clients.network.find(h.ctx, 'subnet', s)));
      }
      case 'network':
        return h.clients.network.find(h.ctx, 'network', p.network_id as string);
      default:
        return p[name] ?? null;
    }
  },
};
