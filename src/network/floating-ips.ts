// Floating IPs: addresses of an external network's subnet, associated with a port's fixed IP through a
// router that joins the two (one floating IP per fixed IP), or forwarding single ports (port forwardings:
// external port of the floating IP -> a port's address and port) while associated with no port.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { isUniqueViolation } from '../platform/db/database.ts';
import { NetworkCore, now, parseJson, toInt, type WriteOptions } from './core.ts';
import { InvalidInput, NeutronBadRequest, NeutronConflict, NeutronNotFound } from './errors.ts';
import { contains, ipToInt, parseCidr, type AllocationPool } from './ipam.ts';
import type { FloatingIpRow, NetworkStore, PortForwardingRow } from './store/index.ts';

export interface FloatingIpBody {
  floating_network_id?: string;
  floating_ip_address?: string;
  subnet_id?: string;
  port_id?: string | null;
  fixed_ip_address?: string | null;
  description?: string;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

export interface PortForwardingBody {
  protocol?: string;
  internal_ip_address?: string;
  internal_port?: unknown;
  internal_port_id?: string;
  external_port?: unknown;
  description?: string;
}

export async function createFloatingIp(core: NetworkCore, ctx: RequestContext, body: FloatingIpBody): Promise<FloatingIpRow> {
  if (typeof body.floating_network_id !== 'string') throw new InvalidInput('floating_network_id is required.');
  const net = await core.find(ctx, 'network', body.floating_network_id);
  if (!net.external) throw new NeutronBadRequest('BadRequest', `Bad floatingip request: Network ${net.id} is not a valid external network.`);
  const project = core.ownerFor(ctx, body);
  const subnets = await core.store.subnetsOfNetworks([net.id]);
  const wanted = body.floating_ip_address;
  const subnet = body.subnet_id ? subnets.find((s) => s.id === body.subnet_id) : wanted ? subnets.find((s) => contains(parseCidr(s.cidr)!, ipToInt(wanted) ?? -1)) : subnets[0];
  if (!subnet) {
    if (body.subnet_id || wanted) throw new NeutronBadRequest('BadRequest', `Bad floatingip request: no subnet of network ${net.id} holds ${body.subnet_id ?? wanted}.`);
    throw new NeutronConflict('ExternalIpAddressExhausted', `Unable to find any IP address on external network ${net.id}.`);
  }
  const association = body.port_id ? await associationFor(core, ctx, project, net.id, body.port_id, body.fixed_ip_address ?? undefined) : undefined;
  const t = now();
  const row: FloatingIpRow = { id: randomUUID(), project_id: project, description: body.description ?? '', revision_number: 0, created_at: t, updated_at: t, seq: 0, floating_network_id: net.id, floating_subnet_id: subnet.id, floating_ip_address: '', port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', ...(association ?? {}) };
  try {
    await core.store.transaction(async (tx) => {
      await core.checkQuota(tx, 'floatingip', project);
      row.floating_ip_address = await core.ipam.allocate(tx, { id: subnet.id, network_id: net.id, cidr: subnet.cidr, gateway_ip: subnet.gateway_ip, pools: parseJson<AllocationPool[]>(subnet.allocation_pools) }, row.id, null, wanted);
      row.seq = tx.nextSeq();
      if (association) await checkFixedIpFree(tx, row, association.port_id, association.fixed_ip_address);
      await tx.insert('floatingip', row);
      if (body.tags?.length) await tx.setTags('floatingip', row.id, [...new Set(body.tags)]);
    });
  } catch (err) {
    core.ipam.forget(subnet.id);
    throw err;
  }
  if (association) core.events.emit('floatingip');
  return row;
}

/** The port, its fixed IP and the router a floating IP of `externalNetworkId` reaches it through. */
async function associationFor(core: NetworkCore, ctx: RequestContext, project: string, externalNetworkId: string, portId: string, fixedIp?: string): Promise<Pick<FloatingIpRow, 'port_id' | 'fixed_ip_address' | 'router_id' | 'status'>> {
  const port = await core.find(ctx, 'port', portId);
  if (port.project_id !== project && !core.may(ctx, 'update:any_project')) throw new NeutronNotFound('Port', portId);
  const ips = (await core.store.fixedIpsOf([port.id])).get(port.id) ?? [];
  const ip = fixedIp ? ips.find((i) => i.ip_address === fixedIp) : ips[0];
  if (!ip) throw new NeutronBadRequest('BadRequest', `Bad floatingip request: Port ${port.id} does not have fixed ip ${fixedIp ?? ''}.`);
  const routerId = await core.store.routerBetween(externalNetworkId, ip.subnet_id);
  if (!routerId) throw new NeutronNotFound('ExternalGatewayForFloatingIP', `${ip.subnet_id}: External network ${externalNetworkId} is not reachable from subnet ${ip.subnet_id}. Therefore, cannot associate Port ${port.id} with a Floating IP`);
  return { port_id: port.id, fixed_ip_address: ip.ip_address, router_id: routerId, status: 'ACTIVE' };
}

async function checkFixedIpFree(tx: NetworkStore, fip: FloatingIpRow, portId: string | null, fixedIp: string | null): Promise<void> {
  if (!portId) return;
  if ((await tx.forwardingsOf([fip.id])).length) throw new NeutronConflict('FipInUseByPortForwarding', `Floating IP ${fip.id} has port forwarding resources; it cannot also be associated with a port.`);
  const taken = (await tx.floatingIpsOfPorts([portId])).find((f) => f.id !== fip.id && f.fixed_ip_address === fixedIp);
  if (taken) throw new NeutronConflict('FloatingIPPortAlreadyAssociated', `Cannot associate floating IP ${fip.floating_ip_address} (${fip.id}) with port ${portId} using fixed IP ${fixedIp}, as that fixed IP already has a floating IP on external network ${fip.floating_network_id}.`);
}

export async function updateFloatingIp(core: NetworkCore, ctx: RequestContext, id: string, body: FloatingIpBody, options: WriteOptions = {}): Promise<FloatingIpRow> {
  const fip = await core.findOwned(ctx, 'floatingip', id);
  const changes: Partial<FloatingIpRow> = {};
  if (body.description !== undefined) changes.description = body.description;
  if (body.port_id !== undefined) {
    Object.assign(changes, body.port_id === null ? { port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN' } : await associationFor(core, ctx, fip.project_id, fip.floating_network_id, body.port_id, body.fixed_ip_address ?? undefined));
  }
  const saved = await core.store.transaction(async (tx) => {
    if (changes.port_id) await checkFixedIpFree(tx, fip, changes.port_id, changes.fixed_ip_address ?? null);
    return core.save(tx, 'floatingip', fip, changes, options);
  });
  if (body.port_id !== undefined) core.events.emit('floatingip');
  return saved;
}

export async function deleteFloatingIp(core: NetworkCore, ctx: RequestContext, id: string, options: WriteOptions = {}): Promise<void> {
  const fip = await core.findOwned(ctx, 'floatingip', id);
  const forwarded = (await core.store.forwardingsOf([id])).length > 0;
  await core.store.transaction(async (tx) => {
    await core.save(tx, 'floatingip', fip, {}, options);
    await tx.remove('floatingip', id);
    await tx.releaseAddresses(id);
  });
  core.ipam.released(fip.floating_subnet_id, fip.floating_ip_address);
  if (fip.port_id || forwarded) core.events.emit('floatingip');
}

// ----- port forwardings -----------------------------------------------------------------------

function portNumber(v: unknown, name: string): number {
  const n = toInt(v, name);
  if (n < 1 || n > 65535) throw new InvalidInput(`Invalid input for ${name}. Reason: '${String(v)}' is not in range 1 through 65535.`);
  return n;
}

/** A port forwarding of a floating IP the caller may see (404 otherwise, or for another floating IP's). */
export async function findForwarding(core: NetworkCore, ctx: RequestContext, fipId: string, id: string): Promise<PortForwardingRow> {
  await core.find(ctx, 'floatingip', fipId);
  const row = await core.store.get('port_forwarding', id);
  if (!row || row.floatingip_id !== fipId) throw new NeutronNotFound('PortForwarding', id);
  return row;
}

export async function listForwardings(core: NetworkCore, ctx: RequestContext, fipId: string): Promise<PortForwardingRow[]> {
  await core.find(ctx, 'floatingip', fipId);
  return core.store.forwardingsOf([fipId]);
}

async function checkedForwarding(core: NetworkCore, ctx: RequestContext, fip: FloatingIpRow, body: PortForwardingBody, current?: PortForwardingRow): Promise<Pick<PortForwardingRow, 'protocol' | 'internal_port_id' | 'internal_ip_address' | 'internal_port' | 'external_port'>> {
  const protocol = body.protocol ?? current?.protocol;
  if (protocol !== 'tcp' && protocol !== 'udp') throw new InvalidInput(`Invalid input for protocol. Reason: '${String(protocol)}' is not in ['tcp', 'udp'].`);
  const portId = body.internal_port_id ?? current?.internal_port_id;
  if (!portId) throw new InvalidInput('Invalid input for internal_port_id. Reason: it is required.');
  const port = await core.find(ctx, 'port', portId);
  if (port.project_id !== fip.project_id) throw new NeutronNotFound('Port', portId);
  const ips = (await core.store.fixedIpsOf([port.id])).get(port.id) ?? [];
  const address = body.internal_ip_address ?? current?.internal_ip_address ?? ips[0]?.ip_address;
  const ip = ips.find((i) => i.ip_address === address);
  if (!ip) throw new NeutronBadRequest('BadRequest', `Bad port_forwarding request: internal_ip_address ${String(address)} is not one of port ${port.id}'s fixed IPs.`);
  if (!(await core.store.routerBetween(fip.floating_network_id, ip.subnet_id))) {
    throw new NeutronBadRequest('BadRequest', `Bad port_forwarding request: external network ${fip.floating_network_id} is not reachable from subnet ${ip.subnet_id}.`);
  }
  const internal = body.internal_port !== undefined ? portNumber(body.internal_port, 'internal_port') : current?.internal_port;
  const external = body.external_port !== undefined ? portNumber(body.external_port, 'external_port') : current?.external_port;
  if (internal === undefined) throw new InvalidInput('Invalid input for internal_port. Reason: it is required.');
  if (external === undefined) throw new InvalidInput('Invalid input for external_port. Reason: it is required.');
  return { protocol, internal_port_id: port.id, internal_ip_address: ip.ip_address, internal_port: internal, external_port: external };
}

function duplicate(err: unknown, fields: object): never {
  if (isUniqueViolation(err)) {
    throw new NeutronBadRequest('BadRequest', `Bad port_forwarding request: A duplicate port forwarding entry with same attributes already exists, conflicting values are ${JSON.stringify(fields)}.`);
  }
  throw err;
}

export async function createForwarding(core: NetworkCore, ctx: RequestContext, fipId: string, body: PortForwardingBody): Promise<PortForwardingRow> {
  const fip = await core.findOwned(ctx, 'floatingip', fipId);
  if (fip.port_id) throw new NeutronConflict('FloatingIPPortAlreadyAssociated', `Floating IP ${fip.id} is associated with port ${fip.port_id}; port forwardings need one that is not.`);
  const fields = await checkedForwarding(core, ctx, fip, body);
  const t = now();
  const row: PortForwardingRow = { id: randomUUID(), floatingip_id: fip.id, project_id: fip.project_id, ...fields, description: body.description ?? '', revision_number: 0, created_at: t, updated_at: t, seq: 0 };
  await core.store
    .transaction(async (tx) => {
      row.seq = tx.nextSeq();
      await tx.insert('port_forwarding', row);
      const router = await tx.routerBetween(fip.floating_network_id, (await tx.fixedIpsOf([fields.internal_port_id])).get(fields.internal_port_id)!.find((a) => a.ip_address === fields.internal_ip_address)!.subnet_id);
      await core.save(tx, 'floatingip', fip, { router_id: router ?? null, status: 'ACTIVE' });
    })
    .catch((err) => duplicate(err, { floatingip_id: fip.id, external_port: fields.external_port, protocol: fields.protocol }));
  core.events.emit('floatingip');
  return row;
}

export async function updateForwarding(core: NetworkCore, ctx: RequestContext, fipId: string, id: string, body: PortForwardingBody): Promise<PortForwardingRow> {
  const fip = await core.findOwned(ctx, 'floatingip', fipId);
  const current = await findForwarding(core, ctx, fipId, id);
  const fields = await checkedForwarding(core, ctx, fip, body, current);
  const saved = await core.store
    .transaction((tx) => core.save(tx, 'port_forwarding', current, { ...fields, ...(body.description !== undefined ? { description: body.description } : {}) }))
    .catch((err) => duplicate(err, { floatingip_id: fip.id, external_port: fields.external_port, protocol: fields.protocol }));
  core.events.emit('floatingip');
  return saved;
}

export async function deleteForwarding(core: NetworkCore, ctx: RequestContext, fipId: string, id: string): Promise<void> {
  const fip = await core.findOwned(ctx, 'floatingip', fipId);
  await findForwarding(core, ctx, fipId, id);
  await core.store.transaction(async (tx) => {
    await tx.remove('port_forwarding', id);
    if (!(await tx.forwardingsOf([fipId])).length) await core.save(tx, 'floatingip', fip, { router_id: null, status: 'DOWN' });
  });
  core.events.emit('floatingip');
}
