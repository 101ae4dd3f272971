// Neutron's and Glance's answers in the shapes Nova's proxy APIs give them (nova/api/openstack/compute:
// networks.py, tenant_networks.py, security_groups.py, floating_ips.py, views/images.py).
import type { NeutronDoc } from '../../../network/client.ts';
import type { ImageRecord } from '../../../image/client.ts';
import { novaRule } from '../../network-proxies.ts';

const NETWORK_FIELDS = ['id', 'cidr', 'netmask', 'gateway', 'broadcast', 'dns1', 'dns2', 'cidr_v6', 'gateway_v6', 'label', 'netmask_v6'];
const NETWORK_ADMIN_FIELDS = [
  'created_at', 'updated_at', 'deleted_at', 'deleted', 'injected', 'bridge', 'vlan', 'vpn_public_address', 'vpn_public_port', 'vpn_private_address',
  'dhcp_start', 'project_id', 'host', 'bridge_interface', 'multi_host', 'priority', 'rxtx_base', 'mtu', 'dhcp_server', 'enable_dhcp', 'share_address',
];

/** os-networks: nova-network's fields, of which only `id` and `label` (the name) are known with Neutron; admins get all thirty-odd. */
export function networkView(n: NeutronDoc, admin: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of admin ? [...NETWORK_FIELDS, ...NETWORK_ADMIN_FIELDS] : NETWORK_FIELDS) out[f] = f === 'id' ? n.id : f === 'label' ? (n.name ?? null) : null;
  return out;
}

/** os-tenant-networks: id, label and a cidr that Nova has always answered as the string "None" with Neutron. */
export function tenantNetworkView(n: NeutronDoc): Record<string, unknown> {
  return { id: n.id, cidr: 'None', label: n.name ?? null };
}

export type GroupRef = { name: unknown; tenant_id: unknown };

/** Ingress rules only; a rule whose source group the caller cannot see is left out, as Nova leaves it. */
export function securityGroupView(g: NeutronDoc, sources: Map<string, GroupRef>): Record<string, unknown> {
  const rules = ((g.security_group_rules as NeutronDoc[] | undefined) ?? []).filter((r) => r.direction === 'ingress').map(novaRule);
  return {
    id: g.id,
    description: g.description ?? '',
    name: g.name,
    tenant_id: g.project_id,
    rules: rules.flatMap((r) => {
      if (r.group_id && !sources.has(r.group_id)) return [];
      return [ruleView(r, r.group_id ? sources.get(r.group_id) : undefined)];
    }),
  };
}

export function ruleView(r: ReturnType<typeof novaRule>, source: GroupRef | undefined): Record<string, unknown> {
  return {
    id: r.id,
    parent_group_id: r.parent_group_id,
    ip_protocol: r.protocol,
    from_port: r.from_port,
    to_port: r.to_port,
    group: source ? { name: source.name, tenant_id: source.tenant_id } : {},
    ip_range: r.group_id ? {} : { cidr: r.cidr },
  };
}

/** Every source group named by the rules of `groups`, starting with the groups themselves. */
export function sourceIds(groups: NeutronDoc[]): string[] {
  return groups.flatMap((g) => ((g.security_group_rules as NeutronDoc[] | undefined) ?? []).map((r) => r.remote_group_id as string | null).filter((x): x is string => Boolean(x)));
}

export const groupRef = (g: NeutronDoc): GroupRef => ({ name: g.name, tenant_id: g.project_id });

/** Nova sorts groups by project, then name. */
export function sortedGroups(views: Record<string, unknown>[]): Record<string, unknown>[] {
  const key = (v: Record<string, unknown>) => `${String(v.tenant_id)}\u0000${String(v.name)}`;
  return views.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export function floatingIpView(f: NeutronDoc, network: NeutronDoc | undefined): Record<string, unknown> {
  const details = f.port_details as { device_id?: string } | null | undefined;
  return {
    fixed_ip: f.fixed_ip_address ?? null,
    id: f.id,
    instance_id: details ? (details.device_id ?? null) : null,
    ip: f.floating_ip_address,
    pool: (network?.name as string | undefined) || network?.id || f.floating_network_id,
  };
}

const STATUS: Record<string, string> = { active: 'ACTIVE', queued: 'SAVING', saving: 'SAVING', deleted: 'DELETED', pending_delete: 'DELETED', killed: 'ERROR' };
const PROGRESS: Record<string, number> = { queued: 25, saving: 50, active: 100 };
/** Nova's isotime: seconds, `Z`. */
const isotime = (t: string | null | undefined) => (t ? `${new Date(t).toISOString().slice(0, 19)}Z` : null);

export interface ImageLinks {
  /** `<public URL>/compute/v2.1` */
  base: string;
  /** `<public URL>/image`, Glance's endpoint */
  glance: string;
}

function links(id: string, l: ImageLinks) {
  return [
    { rel: 'self', href: `${l.base}/images/${id}` },
    { rel: 'bookmark', href: `${l.base.replace(/\/v2\.1$/, '')}/images/${id}` },
    { rel: 'alternate', type: 'application/vnd.openstack.image', href: `${l.glance}/images/${id}` },
  ];
}

export function imageBasicView(i: ImageRecord, l: ImageLinks): Record<string, unknown> {
  return { id: i.id, name: i.name, links: links(i.id, l) };
}

export function imageView(i: ImageRecord, l: ImageLinks): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: i.id,
    name: i.name,
    minRam: i.min_ram ?? 0,
    minDisk: i.min_disk ?? 0,
    metadata: i.properties,
    created: isotime(i.created_at),
    updated: isotime(i.updated_at),
    status: STATUS[i.status] ?? 'UNKNOWN',
    progress: PROGRESS[i.status] ?? 0,
    'OS-EXT-IMG-SIZE:size': i.size ?? 0,
    links: links(i.id, l),
  };
  const server = i.properties.instance_uuid;
  if (server !== undefined) {
    out.server = {
      id: server,
      links: [
        { rel: 'self', href: `${l.base}/servers/${server}` },
        { rel: 'bookmark', href: `${l.base.replace(/\/v2\.1$/, '')}/servers/${server}` },
      ],
    };
  }
  const auto = i.properties.auto_disk_config;
  if (auto !== undefined) out['OS-DCF:diskConfig'] = ['1', 't', 'true', 'on', 'y', 'yes'].includes(auto.trim().toLowerCase()) ? 'AUTO' : 'MANUAL';
  return out;
}
