// Nova's wire shapes for servers, flavors, key pairs, server groups, hypervisors and services, at
// the microversion a request asked for: each field appears from the version Nova added it (and is
// gone from the version Nova dropped it), so a client checking bodies against a version's schema
// finds exactly that version's fields.
import { createHash } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PortBinding } from '../network/client.ts';
import type { ComputeService } from './service.ts';
import { novaStatus } from './states.ts';
import type { FlavorRow, HostRow, KeypairRow, ServerGroupRow, ServerRow } from './tables.ts';

/** True when the view is rendered at `version` or later. */
export type At = (version: string) => boolean;

/** Views for callers that are not a Nova request (compute's client): the newest shapes. */
export const LATEST: At = () => true;

const novaTime = (iso: string | null) => (iso ? iso.replace(/\.\d{3}Z$/, 'Z') : null);
const bookmark = (base: string) => base.replace(/\/v2\.1$/, '');

export function flavorView(f: FlavorRow, base: string, opts: { detail?: boolean; at?: At } = {}) {
  const at = opts.at ?? LATEST;
  const links = [
    { rel: 'self', href: `${base}/flavors/${f.id}` },
    { rel: 'bookmark', href: `${bookmark(base)}/flavors/${f.id}` },
  ];
  const description = at('2.55') ? { description: f.description } : {};
  if (opts.detail === false) return { id: f.id, name: f.name, ...description, links };
  return {
    id: f.id,
    name: f.name,
    ram: f.ram,
    vcpus: f.vcpus,
    disk: f.disk,
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
    'OS-FLV-DISABLED:disabled': false,
    // An empty string for none until 2.75, then the number.
    swap: at('2.75') ? f.swap : f.swap === 0 ? '' : f.swap,
    rxtx_factor: 1.0,
    'os-flavor-access:is_public': Boolean(f.is_public),
    ...description,
    ...(at('2.61') ? { extra_specs: JSON.parse(f.extra_specs) as Record<string, string> } : {}),
    links,
  };
}

export interface ServerViewOptions {
  admin: boolean;
  detail: boolean;
  at?: At;
  /** The availability zone of the server's host (shown when the server's row names none). */
  hostZone?: string | null;
  /** 2.16, admins: the host's state (UP, MAINTENANCE or DOWN), when the server has a host. */
  hostStatus?: string;
  addresses?: unknown;
  /** 2.71: the server's groups (show, update and rebuild only). */
  groups?: string[];
  /** 2.26: the server's tags. */
  tags?: string[];
}

export function serverView(s: ServerRow, base: string, opts: ServerViewOptions) {
  const at = opts.at ?? LATEST;
  const links = [
    { rel: 'self', href: `${base}/servers/${s.id}` },
    { rel: 'bookmark', href: `${bookmark(base)}/servers/${s.id}` },
  ];
  if (!opts.detail) return { id: s.id, name: s.name, links };
  const status = novaStatus(s);
  const fault = s.fault && status === 'ERROR' ? (JSON.parse(s.fault) as { code: number; message: string; created: string }) : undefined;
  const flavor = JSON.parse(s.flavor) as FlavorRow;
  return {
    id: s.id,
    name: s.name,
    status,
    tenant_id: s.project_id,
    user_id: s.user_id,
    metadata: JSON.parse(s.metadata),
    hostId: s.host_id ? hostHash(s.project_id, s.host_id) : '',
    image: { id: s.image_id, links: [{ rel: 'bookmark', href: `${bookmark(base)}/images/${s.image_id}` }] },
    // 2.47: the flavor as the server was given it, instead of a link.
    flavor: at('2.47')
      ? {
          vcpus: flavor.vcpus,
          ram: flavor.ram,
          disk: flavor.disk,
          ephemeral: flavor.ephemeral ?? 0,
          swap: flavor.swap ?? 0,
          original_name: flavor.name,
          extra_specs: JSON.parse(flavor.extra_specs ?? '{}') as Record<string, string>,
        }
      : { id: s.flavor_id, links: [{ rel: 'bookmark', href: `${bookmark(base)}/flavors/${s.flavor_id}` }] },
    created: novaTime(s.created_at),
    updated: novaTime(s.updated_at),
    addresses: opts.addresses ?? JSON.parse(s.addresses),
    accessIPv4: '',
    accessIPv6: '',
    links,
    'OS-DCF:diskConfig': 'MANUAL',
    progress: status === 'ACTIVE' ? 100 : 0,
    'OS-EXT-AZ:availability_zone': s.availability_zone?.split(':')[0] || (opts.hostZone ?? 'nova'),
    config_drive: 'True',
    key_name: s.key_name,
    'OS-SRV-USG:launched_at': novaTime(s.launched_at),
    'OS-SRV-USG:terminated_at': null,
    'OS-EXT-STS:task_state': s.task_state,
    'OS-EXT-STS:vm_state': s.vm_state,
    'OS-EXT-STS:power_state': s.power_state,
    'os-extended-volumes:volumes_attached': [],
    security_groups: (JSON.parse(s.security_groups) as string[]).map((name) => ({ name })),
    ...(fault ? { fault } : {}),
    ...(at('2.9') ? { locked: Boolean(s.locked) } : {}),
    ...(at('2.73') ? { locked_reason: s.locked_reason } : {}),
    // Nova's policy shows host_status to admins (os_compute_api:servers:show:host_status).
    ...(at('2.16') && opts.admin && opts.hostStatus !== undefined ? { host_status: opts.hostStatus } : {}),
    ...(at('2.19') ? { description: s.description } : {}),
    ...(at('2.26') ? { tags: opts.tags ?? [] } : {}),
    ...(at('2.63') ? { trusted_image_certificates: null } : {}),
    ...(at('2.71') && opts.groups ? { server_groups: opts.groups } : {}),
    ...(opts.admin
      ? {
          'OS-EXT-SRV-ATTR:host': s.host_id,
          'OS-EXT-SRV-ATTR:hypervisor_hostname': s.host_id,
          'OS-EXT-SRV-ATTR:instance_name': `hafen-${s.id}`,
          ...(at('2.3')
            ? {
                'OS-EXT-SRV-ATTR:reservation_id': `r-${s.id.slice(0, 8)}`,
                'OS-EXT-SRV-ATTR:launch_index': 0,
                'OS-EXT-SRV-ATTR:kernel_id': '',
                'OS-EXT-SRV-ATTR:ramdisk_id': '',
                'OS-EXT-SRV-ATTR:hostname': s.name.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63) || 'server',
                'OS-EXT-SRV-ATTR:root_device_name': null,
                'OS-EXT-SRV-ATTR:user_data': s.user_data,
              }
            : {}),
        }
      : {}),
  };
}

/** Detailed views of servers: hosts read once, addresses asked of the network service once for all. */
export async function serverDetails(compute: ComputeService, ctx: RequestContext, rows: ServerRow[], base: string, at: At = LATEST, withGroups = false) {
  const admin = compute.isAdmin(ctx);
  const hosts = new Map((await compute.hosts.recent()).map((h) => [h.id, h]));
  const addresses = await compute.listing.addressesOf(rows);
  const tags = at('2.26') ? await compute.tags.of(rows.map((r) => r.id)) : new Map<string, string[]>();
  return rows.map((s) => {
    const host = s.host_id ? hosts.get(s.host_id) : undefined;
    return serverView(s, base, {
      admin,
      detail: true,
      at,
      addresses: addresses.get(s.id),
      tags: tags.get(s.id) ?? [],
      ...(host ? { hostZone: host.availability_zone, hostStatus: hostStatus(host, compute.hosts.isUp(host)) } : {}),
      ...(withGroups ? { groups: s.server_group_id ? [s.server_group_id] : [] } : {}),
    });
  });
}

/** Nova's host_status of a server's host. */
export const hostStatus = (host: HostRow, up: boolean) => (up ? (host.enabled ? 'UP' : 'MAINTENANCE') : 'DOWN');

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
export function interfaceAttachmentView(b: PortBinding, at: At = LATEST) {
  return {
    port_state: 'ACTIVE',
    fixed_ips: b.fixedIps.map((f) => ({ subnet_id: f.subnetId, ip_address: f.ipAddress })),
    port_id: b.portId,
    net_id: b.networkId,
    mac_addr: b.macAddress,
    ...(at('2.70') ? { tag: null } : {}),
  };
}

export function keypairView(k: KeypairRow, opts: { withKey?: boolean; at?: At } = {}) {
  const at = opts.at ?? LATEST;
  return {
    name: k.name,
    public_key: k.public_key,
    fingerprint: k.fingerprint,
    ...(at('2.2') ? { type: k.type } : {}),
    ...(opts.withKey !== false ? { user_id: k.user_id, created_at: novaTime(k.created_at), deleted: false, deleted_at: null, updated_at: null, id: 1 } : {}),
  };
}

export function serverGroupView(g: ServerGroupRow, members: string[], at: At = LATEST) {
  return {
    id: g.id,
    name: g.name,
    // 2.64: one policy and its rules instead of a list of policies (and no metadata).
    ...(at('2.64') ? { policy: g.policy, rules: {} } : { policies: [g.policy], metadata: {} }),
    members,
    ...(at('2.13') ? { project_id: g.project_id, user_id: g.user_id } : {}),
  };
}

/** A host's id as Nova's APIs of that version spell it: an integer before 2.53, a uuid from then on. */
export const hostIdAt = (h: HostRow, at: At): number | string => (at('2.53') ? h.uuid : h.number);

export interface HostUsage {
  vcpus: number;
  ram: number;
  disk: number;
  servers: number;
}

export function hypervisorView(h: HostRow, up: boolean, used: HostUsage, detail: boolean, at: At = LATEST) {
  const summary = { id: hostIdAt(h, at), hypervisor_hostname: h.hostname, state: up ? 'up' : 'down', status: h.enabled ? 'enabled' : 'disabled' };
  if (!detail) return summary;
  // The confinement the host's tenant containers run under (seccomp, AppArmor/SELinux, userns, capabilities), as it reported it.
  const confinement = h.confinement ? (JSON.parse(h.confinement) as unknown) : undefined;
  const cpuInfo = { arch: h.architecture, model: '', vendor: '', topology: { cells: 1, sockets: 1, cores: h.vcpus, threads: 1 }, features: [] as string[], ...(confinement ? { confinement } : {}) };
  return {
    ...summary,
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
    // A JSON string until 2.28, an object from then on.
    cpu_info: at('2.28') ? cpuInfo : JSON.stringify(cpuInfo),
    service: { id: hostIdAt(h, at), host: h.hostname, disabled_reason: h.disabled_reason },
  };
}

export function serviceView(h: HostRow, up: boolean, at: At = LATEST) {
  return {
    id: hostIdAt(h, at),
    binary: 'nova-compute',
    host: h.hostname,
    zone: h.availability_zone,
    status: h.enabled ? 'enabled' : 'disabled',
    state: up ? 'up' : 'down',
    updated_at: novaTime(h.heartbeat_at),
    disabled_reason: h.disabled_reason,
    ...(at('2.11') ? { forced_down: Boolean(h.forced_down) } : {}),
  };
}
