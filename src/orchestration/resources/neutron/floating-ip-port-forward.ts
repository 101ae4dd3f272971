// OS::Neutron::FloatingIPPortForward: one port of a floating IP forwarded to a port of a fixed IP
// (Neutron's floating-ip-port-forwarding); everything but the floating IP changes in place.
import type { PropertySchema, ResourceHandle, ResourceType } from '../types.ts';
import { NotFoundError, isNotFound } from '../../../platform/errors.ts';
import { gone, neutronId } from '../lookup.ts';
import { routesOf } from '../implicit.ts';

const portNumber = (description: string): PropertySchema => ({ type: 'integer', required: true, update_allowed: true, description, constraints: [{ range: { min: 1, max: 65535 } }] });

/** A floating IP by id or by address, as the caller sees it. */
async function floatingIpId(h: ResourceHandle, ref: string): Promise<string> {
  try {
    return (await h.clients.network.find(h.ctx, 'floatingip', ref)).id;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const hit = (await h.clients.network.list(h.ctx, 'floatingip')).find((f) => f.floating_ip_address === ref);
  if (!hit) throw new NotFoundError(`Unable to find floatingip with name or id '${ref}'`);
  return hit.id;
}

async function body(h: ResourceHandle, props: Record<string, unknown>): Promise<Record<string, unknown>> {
  return {
    internal_port_id: await neutronId(h.clients, h.ctx, 'port', String(props.internal_port)),
    internal_ip_address: String(props.internal_ip_address),
    internal_port: Number(props.internal_port_number),
    external_port: Number(props.external_port),
    protocol: String(props.protocol),
  };
}

export const neutronFloatingIPPortForward: ResourceType = {
  type: 'OS::Neutron::FloatingIPPortForward',
  description: 'A resource for creating port forwarding for floating IPs.',
  properties: {
    floating_ip: { type: 'string', required: true, description: 'ID (or address) of the floating IP the forwarding is on.' },
    internal_ip_address: { type: 'string', required: true, update_allowed: true, description: 'Internal IP address to port forward to.' },
    internal_port: { type: 'string', required: true, update_allowed: true, description: 'Name or ID of the internal port to forward to.', constraints: [{ custom_constraint: 'neutron.port' }] },
    internal_port_number: portNumber('Internal port number to port forward to.'),
    external_port: portNumber('External port address to port forward from.'),
    protocol: { type: 'string', default: 'tcp', update_allowed: true, description: 'Port protocol to forward.', constraints: [{ allowed_values: ['tcp', 'udp'] }] },
  },
  attributes: {},
  // Neutron refuses a forwarding whose port's subnet does not reach the floating IP's network yet.
  implicitDependencies: (_d, others) => routesOf(others),
  async create(h, props) {
    const fip = await floatingIpId(h, String(props.floating_ip));
    h.data.floatingIpId = fip;
    const pf = await h.clients.network.createPortForwarding(h.ctx, fip, await body(h, props));
    return String(pf.id);
  },
  async update(h, id, props) {
    await h.clients.network.updatePortForwarding(h.ctx, String(h.data.floatingIpId), id, await body(h, props));
  },
  async delete(h, id) {
    if (!h.data.floatingIpId) return;
    await gone(() => h.clients.network.deletePortForwarding(h.ctx, String(h.data.floatingIpId), id));
  },
  async check(h, id) {
    await h.clients.network.findPortForwarding(h.ctx, String(h.data.floatingIpId), id);
  },
  async attribute(h, id, name) {
    if (!id || name !== 'show' || !h.data.floatingIpId) return null;
    return h.clients.network.findPortForwarding(h.ctx, String(h.data.floatingIpId), id);
  },
};
