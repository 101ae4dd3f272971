// OS::Neutron::RouterInterface: a router's port on a subnet (or a given port). Its id is Heat's
// "<router>:subnet_id=<subnet>" or "<router>:port_id=<port>".
import type { ResourceType } from '../types.ts';
import { TemplateError } from '../../template/model.ts';
import { deleteRetryingConflict, neutronId } from '../lookup.ts';

function parseId(id: string): { router: string; body: Record<string, string> } {
  const [router, rest = ''] = id.split(':');
  const [key, value = ''] = rest.split('=');
  return { router: router!, body: { [key === 'port_id' ? 'port_id' : 'subnet_id']: value } };
}

export const neutronRouterInterface: ResourceType = {
  type: 'OS::Neutron::RouterInterface',
  description: 'A resource for managing Neutron router interfaces.',
  properties: {
    router: { type: 'string', description: 'The router.', constraints: [{ custom_constraint: 'neutron.router' }] },
    router_id: { type: 'string', description: 'Deprecated: use router.', constraints: [{ custom_constraint: 'neutron.router' }] },
    subnet: { type: 'string', description: 'The subnet, either subnet or port should be specified.', constraints: [{ custom_constraint: 'neutron.subnet' }] },
    subnet_id: { type: 'string', description: 'Deprecated: use subnet.', constraints: [{ custom_constraint: 'neutron.subnet' }] },
    port: { type: 'string', description: 'The port, either subnet or port should be specified.', constraints: [{ custom_constraint: 'neutron.port' }] },
    port_id: { type: 'string', description: 'Deprecated: use port.', constraints: [{ custom_constraint: 'neutron.port' }] },
  },
  attributes: {},
  validate(props, _ctx, at) {
    if (props.router === undefined && props.router_id === undefined) throw new TemplateError(`${at}: Property router not assigned`);
    const subnet = props.subnet ?? props.subnet_id;
    const port = props.port ?? props.port_id;
    if (subnet !== undefined && port !== undefined) throw new TemplateError(`${at}: Cannot define the following properties at the same time: subnet, port`);
    if (subnet === undefined && port === undefined) throw new TemplateError(`${at}: At least one of the following properties must be specified: subnet, port`);
  },
  async create(h, props) {
    const router = await neutronId(h.clients, h.ctx, 'router', String(props.router ?? props.router_id));
    const subnet = props.subnet ?? props.subnet_id;
    if (subnet !== undefined) {
      const subnetId = await neutronId(h.clients, h.ctx, 'subnet', String(subnet));
      await h.clients.network.addRouterInterface(h.ctx, router, { subnet_id: subnetId });
      return `${router}:subnet_id=${subnetId}`;
    }
    const portId = await neutronId(h.clients, h.ctx, 'port', String(props.port ?? props.port_id));
    await h.clients.network.addRouterInterface(h.ctx, router, { port_id: portId });
    return `${router}:port_id=${portId}`;
  },
  async delete() {
    // Removed in checkDeleteComplete, retried while floating IPs behind it are let go.
  },
  async checkDeleteComplete(h, id) {
    const { router, body } = parseId(id);
    return deleteRetryingConflict(h, () => h.clients.network.removeRouterInterface(h.ctx, router, body));
  },
  async check(h, id) {
    const { router, body } = parseId(id);
    await h.clients.network.find(h.ctx, 'router', router);
    // The router's interfaces are its network:router_interface ports (device fields the network service writes).
    for (const p of (await h.clients.network.list(h.ctx, 'port')).filter((x) => x.device_id === router && x.device_owner === 'network:router_interface')) {
      if (body.port_id ? p.id === body.port_id : (p.fixed_ips as { subnet_id: string }[]).some((f) => f.subnet_id === body.subnet_id)) return;
    }
    throw new Error(`Router ${router} has no interface for ${JSON.stringify(body)}`);
  },
};
