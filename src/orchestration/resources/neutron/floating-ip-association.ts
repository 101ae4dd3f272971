// OS::Neutron::FloatingIPAssociation: puts an existing floating IP on a port; taken off on delete.
// Its id is "<floating ip>:<port>".
import type { ResourceType } from '../types.ts';
import { isNotFound } from '../../../platform/errors.ts';
import { neutronId } from '../lookup.ts';
import { routesOf } from '../implicit.ts';

export const neutronFloatingIPAssociation: ResourceType = {
  type: 'OS::Neutron::FloatingIPAssociation',
  description: 'A resource for associating floating ips and ports.',
  properties: {
    floatingip_id: { type: 'string', required: true, update_allowed: true, description: 'ID of the floating IP to associate.' },
    port_id: { type: 'string', required: true, update_allowed: true, description: 'ID of an existing port with at least one IP address to associate with this floating IP.', constraints: [{ custom_constraint: 'neutron.port' }] },
    fixed_ip_address: { type: 'string', update_allowed: true, description: 'IP address to use if the port has multiple addresses.' },
  },
  attributes: {},
  implicitDependencies: (_d, others) => routesOf(others),
  async create(h, props) {
    const port = await neutronId(h.clients, h.ctx, 'port', String(props.port_id));
    const fip = String(props.floatingip_id);
    h.data.pending = { port_id: port, ...(props.fixed_ip_address ? { fixed_ip_address: props.fixed_ip_address } : {}) };
    h.data.deadline = Date.now() + 60_000;
    return `${fip}:${port}`;
  },
  // Retried while the router interface that makes the port reachable is still being added (an
  // implicit dependency in Heat, which the engine does not order).
  async checkCreateComplete(h, id) {
    const body = h.data.pending as Record<string, unknown> | undefined;
    if (!body) return true;
    try {
      await h.clients.network.updateFloatingIp(h.ctx, id.split(':')[0]!, body);
    } catch (err) {
      if ((err as Error).name !== 'ExternalGatewayForFloatingIPNotFound' || Date.now() > Number(h.data.deadline)) throw err;
      return false;
    }
    delete h.data.pending;
    delete h.data.deadline;
    return true;
  },
  async update(h, id, props, old) {
    const port = await neutronId(h.clients, h.ctx, 'port', String(props.port_id));
    const fip = String(props.floatingip_id);
    if (old.floatingip_id !== props.floatingip_id) await disassociate(h, String(old.floatingip_id), id.split(':')[1]!);
    await h.clients.network.updateFloatingIp(h.ctx, fip, { port_id: port, ...(props.fixed_ip_address ? { fixed_ip_address: props.fixed_ip_address } : {}) });
    // The engine keeps the physical id; the current pair lives in the resource data.
    h.data.association = `${fip}:${port}`;
  },
  async delete(h, id) {
    const [fip, port] = String(h.data.association ?? id).split(':');
    await disassociate(h, fip!, port!);
  },
  async check(h, id) {
    const [fip, port] = String(h.data.association ?? id).split(':');
    const f = await h.clients.network.find(h.ctx, 'floatingip', fip!);
    if (f.port_id !== port) throw new Error(`Floating IP ${fip} is not associated with port ${port}`);
  },
  async attribute(h, id, name) {
    if (!id || name !== 'show') return null;
    const [fip] = String(h.data.association ?? id).split(':');
    return h.clients.network.find(h.ctx, 'floatingip', fip!);
  },
};

/** Takes the floating IP off the port, if it is still there; gone counts as done. */
async function disassociate(h: Parameters<NonNullable<ResourceType['delete']>>[0], fip: string, port: string): Promise<void> {
  try {
    const f = await h.clients.network.find(h.ctx, 'floatingip', fip);
    if (f.port_id === port) await h.clients.network.updateFloatingIp(h.ctx, fip, { port_id: null });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
