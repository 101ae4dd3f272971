// Ports: addresses from the subnets' pools (or asked for), MAC addresses unique per network, security
// groups, port security, allowed address pairs; the device fields that wire a port into a server or a
// router belong to the services and admins (policy). Quota check and insert share one transaction.
import type { RequestContext } from '../platform/auth/context.ts';
import { isUniqueViolation } from '../platform/db/database.ts';
import { bit, DEFAULT_QUOTAS, NetworkCore, newMac, parseJson, standardAttributes, toBool, type WriteOptions } from './core.ts';
import { InvalidInput, NeutronBadRequest, NeutronConflict, NeutronNotFound } from './errors.ts';
import { contains, ipToInt, parseCidr, type AllocationPool } from './ipam.ts';
import { SERVICE_DEVICE_OWNER } from './policy.ts';
import { resolveGroups } from './security-groups.ts';
import type { NetworkRow, NetworkStore, PortRow, SubnetAddressingRow } from './store/index.ts';

export interface FixedIpRequest {
  subnet_id?: string;
  ip_address?: string;
}

export interface AddressPair {
  ip_address: string;
  mac_address?: string;
}

export interface PortBody {
  name?: string;
  description?: string;
  network_id?: string;
  admin_state_up?: unknown;
  mac_address?: string;
  fixed_ips?: FixedIpRequest[];
  device_id?: string;
  device_owner?: string;
  security_groups?: string[];
  port_security_enabled?: unknown;
  allowed_address_pairs?: AddressPair[];
  'binding:host_id'?: string;
  'binding:vnic_type'?: string;
  'binding:profile'?: Record<string, unknown>;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

const MAX_ADDRESS_PAIRS = 10;

/**
 * The fields that wire a port into a server or a router are the services' (and admins'): a tenant who
 * could write them would make a port look like another project's server's. Checked on create and update.
 */
export function checkDeviceFields(core: NetworkCore, ctx: RequestContext, body: PortBody, current?: PortRow): void {
  const verb = current ? 'update_port' : 'create_port';
  const ownerBefore = current?.device_owner ?? '';
  const owner = body.device_owner;
  if (owner !== undefined && owner !== ownerBefore && (SERVICE_DEVICE_OWNER.test(owner) || SERVICE_DEVICE_OWNER.test(ownerBefore))) {
    core.enforce(ctx, 'port:device_owner:service', `rule:${verb} and rule:${verb}:device_owner`);
  }
  const deviceBefore = current?.device_id ?? '';
  if (body.device_id !== undefined && body.device_id !== deviceBefore && (body.device_id !== '' || SERVICE_DEVICE_OWNER.test(ownerBefore))) {
    core.enforce(ctx, 'port:device_id', `rule:${verb} and rule:${verb}:device_id`);
  }
  const host = body['binding:host_id'];
  const profile = body['binding:profile'];
  const vnic = body['binding:vnic_type'];
  if ((host !== undefined && host !== (current?.host_id ?? '')) || (profile !== undefined && Object.keys(profile ?? {}).length > 0) || (vnic !== undefined && vnic !== 'normal')) {
    core.enforce(ctx, 'port:binding', `rule:${verb} and rule:${verb}:binding`);
  }
}

export function addressPairs(pairs: AddressPair[], portSecurity: boolean): string {
  if (pairs.length && !portSecurity) throw new NeutronConflict('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
  if (pairs.length > MAX_ADDRESS_PAIRS) throw new NeutronBadRequest('AllowedAddressPairExhausted', `The number of allowed address pair exceeds the maximum ${MAX_ADDRESS_PAIRS}.`);
  const seen = new Set<string>();
  const out = pairs.map((p) => {
    const text = p.ip_address;
    const c = parseCidr(text.includes('/') ? text : `${text}/32`);
    if (!c) throw new InvalidInput(`'${text}' is not a valid IP address${text.includes(':') ? ' (IPv6 is not supported by this cloud)' : ''}.`);
    if (p.mac_address !== undefined && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(p.mac_address)) throw new InvalidInput(`'${p.mac_address}' is not a valid MAC address.`);
    const key = `${text}|${p.mac_address ?? ''}`;
    if (seen.has(key)) throw new NeutronBadRequest('DuplicateAddressPairInRequest', `Request contains duplicate address pair: mac_address ${p.mac_address ?? 'None'} ip_address ${text}.`);
    seen.add(key);
    return { ip_address: text, ...(p.mac_address ? { mac_address: p.mac_address.toLowerCase() } : {}) };
  });
  return JSON.stringify(out);
}

export async function createPort(core: NetworkCore, ctx: RequestContext, body: PortBody): Promise<PortRow> {
  checkDeviceFields(core, ctx, body);
  return (await makePort(core, ctx, body, core.ownerFor(ctx, body))).row;
}

/** Subnets an address request may use, by id or by the address's range. */
function subnetFor(net: NetworkRow, subnets: SubnetAddressingRow[], r: FixedIpRequest): SubnetAddressingRow {
  if (r.subnet_id) {
    const s = subnets.find((x) => x.id === r.subnet_id);
    if (!s) throw new NeutronBadRequest('InvalidInput', `Invalid input for operation: Failed to create port on network ${net.id}, because fixed_ips included invalid subnet ${r.subnet_id}.`);
    return s;
  }
  if (r.ip_address) {
    const n = ipToInt(r.ip_address);
    const s = subnets.find((x) => n !== undefined && contains(parseCidr(x.cidr)!, n));
    if (!s) throw new NeutronBadRequest('InvalidIpForNetwork', `IP address ${r.ip_address} is not a valid IP for any of the subnets on the specified network.`);
    return s;
  }
  throw new InvalidInput('fixed_ips entries need a subnet_id or an ip_address.');
}

/** Claims the addresses asked for (or one of the first subnet's pool) for the port; returns them in order. */
export async function allocateFixedIps(core: NetworkCore, tx: NetworkStore, net: NetworkRow, portId: string, requested: FixedIpRequest[] | undefined, gateway = false, known?: SubnetAddressingRow[]): Promise<{ subnet_id: string; ip_address: string }[]> {
  const subnets = known ?? (await tx.subnetsOfNetworks([net.id]));
  const wanted = requested ?? (subnets[0] ? [{ subnet_id: subnets[0].id }] : []);
  const out: { subnet_id: string; ip_address: string }[] = [];
  for (const r of wanted) {
    const s = subnetFor(net, subnets, r);
    const ip = await core.ipam.allocate(tx, { id: s.id, network_id: s.network_id, cidr: s.cidr, gateway_ip: s.gateway_ip, pools: parseJson<AllocationPool[]>(s.allocation_pools) }, portId, portId, r.ip_address, gateway);
    out.push({ subnet_id: s.id, ip_address: ip });
  }
  return out;
}

/** A port just made, with what its binding needs (read or decided in its transaction). */
export interface MadePort {
  row: PortRow;
  network: NetworkRow;
  subnets: SubnetAddressingRow[];
  fixedIps: { subnet_id: string; ip_address: string }[];
  groups: string[];
  /** A router with an external gateway serves the network. */
  routed: boolean;
}

/**
 * Makes a port for `project` (checked by the caller) on its own or a shared network; `internal`
 * fields come from the services (bindings, routers) and skip the tenant's rules; `andThen` runs in the
 * port's transaction (a binding, a router's link), so the port exists with it or not at all.
 * The network, its subnets, the default group and the quota are read in one query inside the
 * transaction (src/network/store portContext). On SQLite the ports made in one turn share a
 * transaction (the store's groupedTransaction); the quota is still checked inside it.
 */
export async function makePort(core: NetworkCore, ctx: RequestContext, body: PortBody, project: string, internal: Partial<PortRow> = {}, andThen?: (tx: NetworkStore, port: PortRow) => Promise<void>): Promise<MadePort> {
  if (typeof body.network_id !== 'string') throw new InvalidInput('network_id is required.');
  const networkId = body.network_id;
  const owner = internal.device_owner ?? body.device_owner ?? '';
  const serviceOwned = owner.startsWith('network:');
  let mac = body.mac_address;
  let allocating = false;
  let made: MadePort | undefined;
  // A generated MAC another port of the network holds already (1 in 16 million a port): another one, as Neutron retries.
  for (let attempt = 0; !made; attempt++) {
    try {
      mac = body.mac_address;
      // Concurrent ports (a burst of boots) share one commit; a rolled-back group's addresses are forgotten.
      made = await core.store.groupedTransaction(async (tx) => {
        const context = await tx.portContext(networkId, project);
        const net = context?.network;
        if (!net || !(await core.visible(ctx, 'network', net))) throw new NeutronNotFound('Network', networkId);
        if (net.project_id !== project && !net.shared && !core.may(ctx, 'update:any_project')) throw new NeutronNotFound('Network', net.id);
        const portSecurity = serviceOwned ? false : body.port_security_enabled === undefined ? Boolean(net.port_security_enabled) : toBool(body.port_security_enabled, 'port_security_enabled');
        let groups: string[] = [];
        if (portSecurity) groups = body.security_groups === undefined && context.defaultGroupId ? [context.defaultGroupId] : await resolveGroups(core, ctx, project, body.security_groups, tx);
        else if (body.security_groups?.length) throw new NeutronConflict('PortSecurityAndIPRequiredForSecurityGroups', 'Port security must be enabled and port must have an IP address in order to use security groups.');
        if (mac !== undefined) {
          if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new InvalidInput(`'${mac}' is not a valid MAC address.`);
          mac = mac.toLowerCase();
        } else mac = newMac();
        const row: PortRow = {
          ...standardAttributes(project, body),
          network_id: net.id,
          admin_state_up: bit(body.admin_state_up === undefined ? true : toBool(body.admin_state_up, 'admin_state_up')),
          mac_address: mac,
          device_id: body.device_id ?? '',
          device_owner: body.device_owner ?? '',
          status: 'DOWN',
          port_security_enabled: bit(portSecurity),
          host_id: body['binding:host_id'] ?? '',
          allowed_address_pairs: addressPairs(body.allowed_address_pairs ?? [], portSecurity),
          ...internal,
        };
        if (project) await core.checkQuotaLimit(tx, 'port', project, context.portQuota ?? DEFAULT_QUOTAS.port ?? -1);
        if (body.mac_address !== undefined && (await tx.macInUse(net.id, mac))) throw new NeutronConflict('MacAddressInUse', `Unable to complete operation for network ${net.id}. The mac address ${mac} is in use.`);
        row.seq = tx.nextSeq();
        await tx.insert('port', row);
        allocating = true;
        const fixedIps = await allocateFixedIps(core, tx, net, row.id, body.fixed_ips, false, context.subnets);
        await tx.addGroups(row.id, groups);
        if (body.tags?.length) await tx.setTags('port', row.id, [...new Set(body.tags)]);
        if (andThen) await andThen(tx, row);
        return { row, network: net, subnets: context.subnets, fixedIps, groups, routed: context.routed };
      }, () => core.ipam.forget());
    } catch (err) {
      // The transaction rolled back: addresses the allocator marked taken may not be.
      if (allocating) core.ipam.forget();
      if (isUniqueViolation(err)) {
        if (body.mac_address === undefined && attempt < 4) continue;
        throw new NeutronConflict('MacAddressInUse', `Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`);
      }
      throw err;
    }
  }
  // A port made for a server (andThen binds it) gets its firewall when compute says the server runs.
  if (!andThen) core.events.emit('firewall', [made.row.id]);
  if (made.groups.length) core.events.emit('groups', made.groups);
  return made;
}

export async function updatePort(core: NetworkCore, ctx: RequestContext, id: string, body: PortBody, options: WriteOptions = {}): Promise<PortRow> {
  const row = await core.findOwned(ctx, 'port', id);
  checkDeviceFields(core, ctx, body, row);
  const bound = (await core.store.bindingsOfPorts([id])).has(id) || Boolean(await core.store.routerOfPort(id));
  if (bound && (['device_id', 'device_owner'] as const).some((k) => body[k] !== undefined && body[k] !== row[k])) {
    throw new NeutronConflict('PortBound', `Unable to complete operation on port ${id}, port is already bound.`);
  }
  const changes: Partial<PortRow> = {};
  if (body.name !== undefined) changes.name = body.name;
  if (body.description !== undefined) changes.description = body.description;
  if (body.device_id !== undefined) changes.device_id = body.device_id;
  if (body.device_owner !== undefined) changes.device_owner = body.device_owner;
  if (body['binding:host_id'] !== undefined) changes.host_id = body['binding:host_id'];
  if (body.admin_state_up !== undefined) changes.admin_state_up = bit(toBool(body.admin_state_up, 'admin_state_up'));
  if (body.mac_address !== undefined && body.mac_address.toLowerCase() !== row.mac_address) {
    if (bound || row.device_owner) throw new NeutronConflict('PortBound', `Unable to complete operation on port ${id}, port is already bound.`);
    throw new InvalidInput('mac_address cannot be changed.');
  }
  const portSecurity = body.port_security_enabled === undefined ? Boolean(row.port_security_enabled) : toBool(body.port_security_enabled, 'port_security_enabled');
  const before = (await core.store.groupsOf([id])).get(id) ?? [];
  let groups = before;
  if (body.security_groups !== undefined) groups = await resolveGroups(core, ctx, row.project_id, body.security_groups);
  if (!portSecurity && groups.length > 0) {
    if (body.port_security_enabled !== undefined && body.security_groups === undefined) {
      throw new NeutronConflict('PortSecurityPortHasSecurityGroup', 'Port has security group associated. Cannot disable port security or ip address until security group is removed');
    }
    throw new NeutronConflict('PortSecurityAndIPRequiredForSecurityGroups', 'Port security must be enabled and port must have an IP address in order to use security groups.');
  }
  changes.port_security_enabled = bit(portSecurity);
  const pairs = body.allowed_address_pairs ?? parseJson<AddressPair[]>(row.allowed_address_pairs);
  if (body.allowed_address_pairs !== undefined || body.port_security_enabled !== undefined) {
    if (!portSecurity && pairs.length && body.allowed_address_pairs === undefined) {
      throw new NeutronConflict('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
    }
    changes.allowed_address_pairs = addressPairs(pairs, portSecurity);
  }
  let saved: PortRow;
  const freed: { subnet: string; ip: string }[] = [];
  try {
    saved = await core.store.transaction(async (tx) => {
      const out = await core.save(tx, 'port', row, changes, options);
      if (body.security_groups !== undefined) await tx.setGroups(id, groups);
      if (body.fixed_ips !== undefined) {
        const net = (await tx.get('network', row.network_id))!;
        const old = (await tx.fixedIpsOf([id])).get(id) ?? [];
        const wanted = body.fixed_ips;
        const keep = old.filter((o) => wanted.some((w) => w.ip_address === o.ip_address && (!w.subnet_id || w.subnet_id === o.subnet_id)));
        for (const o of old) {
          if (keep.includes(o)) continue;
          await tx.releaseAddresses(id, o.subnet_id, o.ip_address);
          freed.push({ subnet: o.subnet_id, ip: o.ip_address });
        }
        const fresh = wanted.filter((w) => !keep.some((k) => k.ip_address === w.ip_address));
        if (fresh.length) await allocateFixedIps(core, tx, net, id, fresh);
      }
      return out;
    });
  } catch (err) {
    if (body.fixed_ips !== undefined) core.ipam.forget();
    throw err;
  }
  for (const f of freed) core.ipam.released(f.subnet, f.ip);
  core.events.emit('firewall', [id]);
  if (body.security_groups !== undefined || body.fixed_ips !== undefined) core.events.emit('groups', [...new Set([...before, ...groups])]);
  return saved;
}

/** Deletes a port with its addresses; floating IPs on it are disassociated, its bindings go with it. */
export async function removePort(core: NetworkCore, tx: NetworkStore, port: PortRow): Promise<{ groups: string[]; addresses: { subnet: string; ip: string }[]; hadFloatingIps: boolean }> {
  const groups = (await tx.groupsOf([port.id])).get(port.id) ?? [];
  const addresses = ((await tx.fixedIpsOf([port.id])).get(port.id) ?? []).map((a) => ({ subnet: a.subnet_id, ip: a.ip_address }));
  const fips = await tx.floatingIpsOfPorts([port.id]);
  for (const f of fips) await core.save(tx, 'floatingip', f, { port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN' });
  await tx.remove('port', port.id);
  return { groups, addresses, hadFloatingIps: fips.length > 0 };
}

export function announceRemoved(core: NetworkCore, port: PortRow, gone: { groups: string[]; addresses: { subnet: string; ip: string }[]; hadFloatingIps: boolean }): void {
  for (const a of gone.addresses) core.ipam.released(a.subnet, a.ip);
  core.events.emit('firewall', [port.id]);
  if (gone.groups.length) core.events.emit('groups', gone.groups);
  if (gone.hadFloatingIps) core.events.emit('floatingip');
  core.events.emit('port-deleted', port);
}

export async function deletePort(core: NetworkCore, ctx: RequestContext, id: string, options: WriteOptions = {}): Promise<void> {
  const port = await core.findOwned(ctx, 'port', id);
  if (port.device_owner === 'network:router_interface' || port.device_owner === 'network:router_gateway') {
    throw new NeutronConflict('L3PortInUse', `Port ${id} cannot be deleted directly via the port API: has device owner ${port.device_owner}.`);
  }
  const gone = await core.store.transaction(async (tx) => {
    await core.save(tx, 'port', port, {}, options);
    return removePort(core, tx, port);
  });
  announceRemoved(core, port, gone);
}
