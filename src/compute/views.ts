// Nova v2.1 wire shapes for servers, flavors, key pairs, server groups, hypervisors and services.
import { createHash } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PortBinding } from '../network/client.ts';
import type { ComputeService } from './service.ts';
import { novaStatus } from './states.ts';
import type { FlavorRow, HostRow, KeypairRow, ServerGroupRow, ServerRow } from './tables.ts';

const novaTime = (iso: string | null) => (iso ? iso.replace(/\.\d{3}Z$/, 'Z') : null);

export function flavorView(f: FlavorRow, base: string, detail = true) {
  const links = [
    { rel: 'self', href: `${base}/flavors/${f.id}` },
    { rel: 'bookmark', href: `${base.replace(/\/v2\.1$/, '')}/flavors/${f.id}` },
  ];
  if (!detail) return { id: f.id, name: f.name, links };
  return {
    id: f.id,
    name: f.name,
    ram: f.ram,
    vcpus: f.vcpus,
    disk: f.disk,
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
    'OS-FLV-DISABLED:disabled': false,
    swap: f.swap === 0 ? '' : f.swap,
    rxtx_factor: 1.0,
    'os-flavor-access:is_public': Boolean(f.is_public),
    links,
  };
}

export function serverView(s: ServerRow, base: string, opts: { admin: boolean; host?: HostRow; hostUp?: boolean; detail: boolean; addresses?: unknown }) {
  const links = [
    { rel: 'self', href: `${base}/servers/${s.id}` },
    { rel: 'bookmark', href: `${base.replace(/\/v2\.1$/, '')}/servers/${s.id}` },
  ];
  if (!opts.detail) return { id: s.id, name: s.name, links };
  const status = novaStatus(s);
  const fault = s.fault && status === 'ERROR' ? (JSON.parse(s.fault) as { code: number; message: string; created: string }) : undefined;
  return {
    id: s.id,
    name: s.name,
    status,
    tenant_id: s.project_id,
    user_id: s.user_id,
    metadata: JSON.parse(s.metadata),
    hostId: s.host_id ? hostHash(s.project_id, s.host_id) : '',
    image: { id: s.image_id, links: [{ rel: 'bookmark', href: `${base.replace(/\/v2\.1$/, '')}/images/${s.image_id}` }] },
    flavor: { id: s.flavor_id, links: [{ rel: 'bookmark', href: `${base.replace(/\/v2\.1$/, '')}/flavors/${s.flavor_id}` }] },
    created: novaTime(s.created_at),
    updated: novaTime(s.updated_at),
    addresses: opts.addresses ?? JSON.parse(s.addresses),
    accessIPv4: '',
    accessIPv6: '',
    links,
    'OS-DCF:diskConfig': 'MANUAL',
    progress: status === 'ACTIVE' ? 100 : 0,
    'OS-EXT-AZ:availability_zone': s.availability_zone ?? (opts.host?.availability_zone ?? 'nova'),
    config_drive: 'True',
    key_name: s.key_name,
    'OS-SRV-USG:launched_at': novaTime(s.launched_at),
    'OS-SRV-USG:terminated_at': null,
    'OS-EXT-STS:task_state': s.task_state,
    'OS-EXT-STS:vm_state': s.vm_state,
    'OS-EXT-STS:power_state': s.power_state,
    'os-extended-volumes:volumes_attached': [],
    security_groups: (JSON.parse(s.security_groups) as string[]).map((name) => ({ name })),
    locked: Boolean(s.locked),
    ...(fault ? { fault } : {}),
    ...(opts.host ? { host_status: opts.hostUp ? (opts.host.enabled ? 'UP' : 'MAINTENANCE') : 'DOWN' } : {}),
    ...(opts.admin
      ? {
          'OS-EXT-SRV-ATTR:host': s.host_id,
          'OS-EXT-SRV-ATTR:hypervisor_hostname': s.host_id,
          'OS-EXT-SRV-ATTR:instance_name': `hafen-${s.id}`,
        }
      : {}),
  };
}

/** Detailed views of servers: hosts read once, addresses asked of the network service once for all. */
export async function serverDetails(compute: ComputeService, ctx: RequestContext, rows: ServerRow[], base: string) {
  const admin = compute.isAdmin(ctx);
  const hosts = new Map((await compute.hosts.recent()).map((h) => [h.id, h]));
  const addresses = await compute.listing.addressesOf(rows);
  return rows.map((s) => {
    const host = s.host_id ? hosts.get(s.host_id) : undefined;
    return serverView(s, base, { admin, detail: true, addresses: addresses.get(s.id), ...(host ? { host, hostUp: compute.hosts.isUp(host) } : {}) });
  });
}

/** Nova's hostId: a per-project hash of the host, so tenants can compare hosts without naming them. */
function hostHash(projectId: string, hostId: string): string {
  const key = `${projectId}${hostId}`;
  let h = hostHashes.get(key);
  if (!h) {
    // Bounded: a list of thousands of servers hashes each (project, host) pair once.
    if (hostHashes.size > 100_000) hostHashes.clear();
    hostHashes.set(key, (h = createHash('sha224').update(key).digest('hex')));
  }
  return h;
}
const hostHashes = new Map<string, string>();

/** Nova's interfaceAttachment; a port bound to a server by compute is ACTIVE. */
export function interfaceAttachmentView(b: PortBinding) {
  return {
    port_state: 'ACTIVE',
    fixed_ips: b.fixedIps.map((f) => ({ subnet_id: f.subnetId, ip_address: f.ipAddress })),
    port_id: b.portId,
    net_id: b.networkId,
    mac_addr: b.macAddress,
  };
}

export function keypairView(k: KeypairRow, withKey = true) {
  return {
    name: k.name,
    public_key: k.public_key,
    fingerprint: k.fingerprint,
    ...(withKey ? { user_id: k.user_id, created_at: novaTime(k.created_at), deleted: false, deleted_at: null, updated_at: null, id: 1 } : {}),
  };
}

export function serverGroupView(g: ServerGroupRow, members: string[]) {
  return { id: g.id, name: g.name, policies: [g.policy], members, metadata: {}, project_id: g.project_id, user_id: g.user_id };
}

export function hypervisorView(h: HostRow, up: boolean, used: { vcpus: number; ram: number; disk: number; servers: number }, detail: boolean) {
  const base = { id: h.id, hypervisor_hostname: h.hostname, state: up ? 'up' : 'down', status: h.enabled ? 'enabled' : 'disabled' };
  if (!detail) return base;
  return {
    ...base,
    hypervisor_type: 'docker',
    hypervisor_version: 20010,
    host_ip: '127.0.0.1',
    vcpus: h.vcpus,
    memory_mb: h.memory_mib,
    local_gb: h.disk_gib,
    vcpus_used: used.vcpus,
    memory_mb_used: used.ram,
    local_gb_used: used.disk,
    free_ram_mb: h.memory_mib - used.ram,
    free_disk_gb: h.disk_gib - used.disk,
    running_vms: used.servers,
    current_workload: 0,
    disk_available_least: h.disk_gib - used.disk,
    cpu_info: JSON.stringify({ arch: h.architecture }),
    service: { id: h.id, host: h.hostname, disabled_reason: h.disabled_reason },
  };
}

export function serviceView(h: HostRow, up: boolean) {
  return {
    id: h.id,
    binary: 'nova-compute',
    host: h.hostname,
    zone: h.availability_zone,
    status: h.enabled ? 'enabled' : 'disabled',
    state: up ? 'up' : 'down',
    updated_at: novaTime(h.heartbeat_at),
    disabled_reason: h.disabled_reason,
    forced_down: false,
  };
}
