// How Magnum shows its objects: templates, clusters (short in lists, full in show and detail), node
// groups, certificates and quotas, with Magnum's links and time format.
import type { ClusterRow, NodegroupRow, NodeRow, QuotaRow, TemplateRow } from './store.ts';
import { templateDocument } from './templates.ts';

/** Magnum's times: `2016-08-26T09:34:41+00:00`. */
export function magnumTime(iso: string | null): string | null {
  if (!iso) return null;
  return iso.replace(/\.\d+Z$/, '+00:00').replace(/Z$/, '+00:00');
}

export function links(base: string, collection: string, id: string) {
  const root = base.replace(/\/v1$/, '');
  return [
    { href: `${base}/${collection}/${id}`, rel: 'self' },
    { href: `${root}/${collection}/${id}`, rel: 'bookmark' },
  ];
}

export function templateView(base: string, row: TemplateRow, collection = 'clustertemplates') {
  return {
    ...templateDocument(row),
    links: links(base, collection, row.uuid),
    project_id: row.project_id,
    user_id: row.user_id,
    created_at: magnumTime(row.created_at),
    updated_at: magnumTime(row.updated_at),
  };
}

export interface ClusterDetail {
  groups: NodegroupRow[];
  nodes: NodeRow[];
  templateLabels: Record<string, unknown>;
  /** Served at 1.13 or later: `cluster_id` instead of `stack_id` (hafen serves up to 1.11; kept for completeness). */
  clusterId?: boolean;
}

function addresses(row: ClusterRow, nodes: NodeRow[], role: 'master' | 'worker'): string[] {
  // Nodes answer on their node-network address (where published services are reached); without
  // floating IPs the address on the cluster's own network is the one that counts.
  return nodes
    .filter((n) => n.role === role && n.state !== 'removing')
    .map((n) => (row.floating_ip_enabled === 1 ? n.infra_address ?? n.fixed_address : n.fixed_address ?? n.infra_address))
    .filter((a): a is string => Boolean(a));
}

function counts(groups: NodegroupRow[]) {
  const sum = (role: string) => groups.filter((g) => g.role === role).reduce((n, g) => n + g.node_count, 0);
  return { node_count: sum('worker'), master_count: sum('master') };
}

/** The list entry of a cluster (Magnum's short form). */
export function clusterSummary(base: string, row: ClusterRow, groups: NodegroupRow[], collection = 'clusters') {
  return {
    uuid: row.uuid,
    name: row.name,
    cluster_template_id: row.cluster_template_id,
    keypair: row.keypair,
    docker_volume_size: row.docker_volume_size,
    labels: JSON.parse(row.labels) as Record<string, unknown>,
    ...counts(groups),
    status: row.status,
    master_flavor_id: row.master_flavor_id,
    flavor_id: row.flavor_id,
    create_timeout: row.create_timeout,
    stack_id: row.stack_id,
    health_status: row.health_status,
    links: links(base, collection, row.uuid),
  };
}

export function clusterView(base: string, row: ClusterRow, d: ClusterDetail, collection = 'clusters') {
  const labels = JSON.parse(row.labels) as Record<string, unknown>;
  const overridden: Record<string, unknown> = {};
  const added: Record<string, unknown> = {};
  const skipped: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (!(k in d.templateLabels)) added[k] = v;
    else if (JSON.stringify(d.templateLabels[k]) !== JSON.stringify(v)) overridden[k] = d.templateLabels[k];
  }
  for (const [k, v] of Object.entries(d.templateLabels)) if (!(k in labels)) skipped[k] = v;
  const failed = row.status.endsWith('FAILED');
  return {
    uuid: row.uuid,
    name: row.name,
    cluster_template_id: row.cluster_template_id,
    keypair: row.keypair,
    docker_volume_size: row.docker_volume_size,
    labels,
    labels_overridden: overridden,
    labels_added: added,
    labels_skipped: skipped,
    ...counts(d.groups),
    master_flavor_id: row.master_flavor_id,
    flavor_id: row.flavor_id,
    create_timeout: row.create_timeout,
    discovery_url: row.discovery_url,
    ...(d.clusterId ? { cluster_id: row.stack_id } : { stack_id: row.stack_id }),
    status: row.status,
    status_reason: row.status_reason,
    health_status: row.health_status,
    health_status_reason: row.health_status_reason ? (JSON.parse(row.health_status_reason) as Record<string, string>) : {},
    api_address: row.api_address,
    coe_version: row.coe_version,
    container_version: row.container_version,
    master_addresses: addresses(row, d.nodes, 'master'),
    node_addresses: addresses(row, d.nodes, 'worker'),
    faults: failed ? ((row.faults ? JSON.parse(row.faults) : {}) as Record<string, string>) : {},
    fixed_network: row.fixed_network,
    fixed_subnet: row.fixed_subnet,
    floating_ip_enabled: row.floating_ip_enabled === 1,
    master_lb_enabled: row.master_lb_enabled === 1,
    project_id: row.project_id,
    user_id: row.user_id,
    links: links(base, collection, row.uuid),
    created_at: magnumTime(row.created_at),
    updated_at: magnumTime(row.updated_at),
  };
}

/** The list entry of a node group: Magnum shows these nine fields only, without links. */
export function nodegroupSummary(g: NodegroupRow, stackId: string | null) {
  return {
    uuid: g.uuid,
    name: g.name,
    flavor_id: g.flavor_id,
    node_count: g.node_count,
    role: g.role,
    is_default: g.is_default === 1,
    image_id: g.image_id,
    status: g.status,
    stack_id: stackId,
  };
}

export function nodegroupView(base: string, g: NodegroupRow, stackId: string | null, nodes: NodeRow[]) {
  const labels = JSON.parse(g.labels) as Record<string, unknown>;
  delete labels['hafen:nodes_to_remove'];
  return {
    uuid: g.uuid,
    name: g.name,
    cluster_id: g.cluster_id,
    project_id: g.project_id,
    docker_volume_size: g.docker_volume_size,
    labels,
    labels_overridden: {},
    labels_added: {},
    labels_skipped: {},
    links: links(base, `clusters/${g.cluster_id}/nodegroups`, g.uuid),
    flavor_id: g.flavor_id,
    image_id: g.image_id,
    node_addresses: nodes.filter((n) => n.nodegroup_id === g.uuid && n.state !== 'removing').map((n) => n.infra_address ?? n.fixed_address).filter(Boolean),
    node_count: g.node_count,
    role: g.role,
    min_node_count: g.min_node_count,
    max_node_count: g.max_node_count,
    is_default: g.is_default === 1,
    stack_id: stackId,
    status: g.status,
    status_reason: g.status_reason,
    version: g.version,
    merge_labels: false,
    created_at: magnumTime(g.created_at),
    updated_at: magnumTime(g.updated_at),
  };
}

export function quotaView(q: QuotaRow) {
  return { id: q.id, project_id: q.project_id, resource: q.resource, hard_limit: q.hard_limit, created_at: magnumTime(q.created_at), updated_at: magnumTime(q.updated_at) };
}
