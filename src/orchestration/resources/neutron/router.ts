// OS::Neutron::Router: a router, with an optional gateway on an external network (by name or id);
// name, admin state and gateway change in place.
import type { RequestContext } from '../../../platform/auth/context.ts';
import type { Clients } from '../../clients.ts';
import type { ResourceType } from '../types.ts';
import { compact, deleteRetryingConflict, neutronId } from '../lookup.ts';

interface GatewayProps {
  network: string;
  enable_snat?: boolean;
  external_fixed_ips?: { ip_address?: string; subnet?: string }[];
}

async function gatewayBody(clients: Clients, ctx: RequestContext, g: GatewayProps | undefined): Promise<Record<string, unknown> | null> {
  if (!g) return null;
  const ips = [];
  for (const ip of g.external_fixed_ips ?? []) {
    ips.push({ ...(ip.subnet ? { subnet_id: await neutronId(clients, ctx, 'subnet', ip.subnet) } : {}), ...(ip.ip_address ? { ip_address: ip.ip_address } : {}) });
  }
  return compact({ network_id: await neutronId(clients, ctx, 'network', g.network), enable_snat: g.enable_snat, external_fixed_ips: ips.length ? ips : undefined });
}

export const neutronRouter: ResourceType = {
  type: 'OS::Neutron::Router',
  description: 'A resource that implements Neutron router.',
  properties: {
    name: { type: 'string', update_allowed: true, description: 'The name of the router.' },
    external_gateway_info: {
      type: 'map',
      update_allowed: true,
      description: 'External network gateway configuration for a router.',
      schema: {
        network: { type: 'string', required: true, description: 'ID or name of the external network for the gateway.', constraints: [{ custom_constraint: 'neutron.network' }] },
        enable_snat: { type: 'boolean', description: 'Enables Source NAT on the router gateway.' },
        external_fixed_ips: {
          type: 'list',
          description: 'External fixed IP addresses for the gateway.',
          schema: {
            ip_address: { type: 'string', description: 'External fixed IP address.' },
            subnet: { type: 'string', description: 'Subnet of external fixed IP address.', constraints: [{ custom_constraint: 'neutron.subnet' }] },
          },
        },
      },
    },
    value_specs: { type: 'map', default: {}, update_allowed: true, description: 'Extra parameters to include in the creation request.' },
    admin_state_up: { type: 'boolean', default: true, update_allowed: true, description: 'The administrative state of the router.' },
    distributed: { type: 'boolean', description: 'Indicates whether or not to create a distributed router.' },
    ha: { type: 'boolean', description: 'Indicates whether or not to create a highly available router.' },
    tags: { type: 'list', update_allowed: true, items: { type: 'string' }, description: 'The tags to be added to the router.' },
  },
  attributes: {
    status: { description: 'The status of the router.', type: 'string' },
    external_gateway_info: { description: 'Gateway network for the router.', type: 'map' },
    name: { description: 'Friendly name of the router.', type: 'string' },
    admin_state_up: { description: 'Administrative state of the router.', type: 'string' },
    tenant_id: { description: 'Tenant owning the router.', type: 'string' },
    routes: { description: 'A list of routes for the router.', type: 'list' },
  },
  async create(h, props) {
    const gw = await gatewayBody(h.clients, h.ctx, props.external_gateway_info as GatewayProps | undefined);
    const router = await h.clients.network.createRouter(h.ctx, compact({
      name: props.name ?? h.physicalName,
      admin_state_up: props.admin_state_up,
      external_gateway_info: gw ?? undefined,
      distributed: props.distributed,
      ha: props.ha,
      tags: props.tags,
      ...(props.value_specs as Record<string, unknown>),
    }));
    return router.id;
  },
  async update(h, id, props, _old, changed) {
    const body: Record<string, unknown> = {};
    for (const k of changed) {
      if (k === 'name') body.name = props.name ?? h.physicalName;
      else if (k === 'value_specs') Object.assign(body, props.value_specs);
      else if (k === 'external_gateway_info') body.external_gateway_info = (await gatewayBody(h.clients, h.ctx, props.external_gateway_info as GatewayProps | undefined)) ?? {};
      else if (k === 'admin_state_up') body.admin_state_up = props.admin_state_up;
    }
    if (Object.keys(body).length) await h.clients.network.updateRouter(h.ctx, id, body);
  },
  async delete() {
    // Deleted in checkDeleteComplete, retried while its interfaces and floating IPs go away.
  },
  async checkDeleteComplete(h, id) {
    return deleteRetryingConflict(h, () => h.clients.network.deleteRouter(h.ctx, id));
  },
  async check(h, id) {
    await h.clients.network.find(h.ctx, 'router', id);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    const r = await h.clients.network.find(h.ctx, 'router', id);
    if (name === 'show') return r;
    if (name === 'tenant_id') return r.project_id;
    return r[name] ?? null;
  },
};
