// Clusters: a record per cluster and its node groups, made real by an orchestration stack of the
// project (its network, subnet and router, and one OS::Magnum::NodeGroup per node group). The API
// answers at once; the stack does the work, and the cluster's status follows the stack's.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../platform/errors.ts';
import { BUILDABLE_COES, CLUSTER_ATTRIBUTES, CLUSTER_READ_ONLY, checkAttribute, generatedName, invalidInputMissing, isUuid, readAttributes } from './attributes.ts';
import type { ClusterClients } from './clients.ts';
import { ClusterNotFound, ClusterTemplateNotFound, NodegroupNotFound, PolicyNotAuthorized } from './errors.ts';
import { applyPatch, parsePatch } from './json-patch.ts';
import type { ClusterRow, ClusterStatus, ClusterStore, NodegroupRow, NodeRow, Page, TemplateRow } from './store.ts';
import { checkNetworks, templateDocument, type TemplateService } from './templates.ts';
import { clusterStackTemplate } from './stack-template.ts';

/** Statuses from which a cluster may be updated, resized or upgraded (Magnum's conductor list). */
export const UPDATABLE: ClusterStatus[] = ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'RESUME_COMPLETE', 'RESTORE_COMPLETE', 'ROLLBACK_COMPLETE', 'SNAPSHOT_COMPLETE', 'CHECK_COMPLETE', 'ADOPT_COMPLETE'];
export const IN_PROGRESS: ClusterStatus[] = ['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'DELETE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS'];

export interface ClusterServiceOptions {
  /** Clusters a project may have when no quota row says otherwise (Magnum's max_clusters_per_project). */
  maxClustersPerProject: number;
  /** Node groups may hold at most this many nodes each (a bound on what one request can ask for). */
  maxNodesPerGroup: number;
}

/** What a create or update asked for, in the shape both the API and Heat's OS::Magnum::Cluster give. */
export interface ClusterRequest {
  body: unknown;
  /** The request's microversion minor (1.x); Heat acts at the latest. */
  minor: number;
}

export class ClusterService {
  /** Starts the work of a cluster (its stack); set by the composition of the service. */
  onChange: (uuid: string, kind: 'create' | 'update' | 'delete', ctx: RequestContext) => void = () => {};

  constructor(
    private readonly store: ClusterStore,
    private readonly templates: TemplateService,
    private readonly clients: ClusterClients,
    private readonly options: ClusterServiceOptions,
  ) {}

  private isAdmin(ctx: RequestContext): boolean {
    return this.templates.isAdmin(ctx);
  }

  private enforce(ctx: RequestContext, action: string): void {
    this.templates.enforce(ctx, action);
  }

  private projectOf(ctx: RequestContext): string {
    if (ctx.scope.kind !== 'project') throw new ForbiddenError('Magnum requires a project-scoped token.');
    return ctx.scope.projectId;
  }

  /** A cluster by uuid or name, as the caller sees it (its project's, or any for admins); 404 otherwise. */
  async find(ctx: RequestContext, ident: string): Promise<ClusterRow> {
    const project = ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
    const admin = this.isAdmin(ctx);
    if (isUuid(ident)) {
      const row = await this.store.cluster(ident.toLowerCase());
      if (row && (admin || row.project_id === project)) return row;
      throw new ClusterNotFound(ident);
    }
    const rows = await this.store.clustersNamed(ident, project, admin);
    if (rows.length > 1) throw new ConflictError('Multiple clusters exist with same name. Please use the cluster uuid instead.');
    if (!rows[0]) throw new ClusterNotFound(ident);
    return rows[0];
  }

  async list(ctx: RequestContext, page: Page): Promise<ClusterRow[]> {
    this.enforce(ctx, 'cluster:get');
    const project = ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
    return this.store.clusters(project, this.isAdmin(ctx), page);
  }

  async show(ctx: RequestContext, ident: string): Promise<ClusterRow> {
    this.enforce(ctx, 'cluster:get');
    return this.find(ctx, ident);
  }

  async template(row: ClusterRow): Promise<TemplateRow | undefined> {
    return this.store.template(row.cluster_template_id);
  }

  async nodegroups(uuid: string): Promise<NodegroupRow[]> {
    return this.store.nodegroups(uuid);
  }

  /** What the full view of a cluster needs besides its row. */
  async detailOf(row: ClusterRow): Promise<{ groups: NodegroupRow[]; nodes: NodeRow[]; templateLabels: Record<string, unknown> }> {
    const [groups, nodes, template] = await Promise.all([this.store.nodegroups(row.uuid), this.store.nodes(row.uuid), this.store.template(row.cluster_template_id)]);
    return { groups, nodes, templateLabels: template ? ((templateDocument(template).labels ?? {}) as Record<string, unknown>) : {} };
  }

  async create(ctx: RequestContext, request: ClusterRequest): Promise<ClusterRow> {
    this.enforce(ctx, 'cluster:create');
    const project = this.projectOf(ctx);
    const given = readAttributes(request.body, CLUSTER_ATTRIBUTES, CLUSTER_READ_ONLY, 'cluster');
    if (given.cluster_template_id === undefined || given.cluster_template_id === null) throw invalidInputMissing('cluster_template_id');
    const nodeCount = (given.node_count ?? 1) as number;
    const masterCount = (given.master_count ?? 1) as number;
    if (nodeCount === 0 && request.minor < 10) throw new BadRequestError('Resizing a nodegroup to zero is not supported in the provided microversion.');
    for (const [k, n] of [['node_count', nodeCount], ['master_count', masterCount]] as const) {
      if (n > this.options.maxNodesPerGroup) throw new BadRequestError(`Invalid input for field/attribute ${k}. Value: ${n}. Value should be lower or equal to ${this.options.maxNodesPerGroup}`);
    }
    await this.checkQuota(ctx, project);
    let template: TemplateRow;
    try {
      template = await this.templates.find(ctx, given.cluster_template_id as string);
    } catch (err) {
      // Below 1.10 an unknown template is the request's fault (400); from 1.10 it is a missing resource (404).
      if (err instanceof ClusterTemplateNotFound && request.minor < 10) throw new BadRequestError(err.message);
      throw err;
    }
    if (template.hidden === 1 && !this.isAdmin(ctx)) throw new ForbiddenError('Not authorized.');
    if (!BUILDABLE_COES.includes(template.coe)) {
      throw new BadRequestError(`Creating a cluster of COE ${template.coe} is not supported: hafen builds swarm-mode clusters (use a template with coe swarm-mode).`);
    }
    const t = templateDocument(template);
    const keypair = (given.keypair ?? t.keypair_id ?? null) as string | null;
    let labels = (t.labels ?? {}) as Record<string, unknown>;
    if (given.labels && Object.keys(given.labels as object).length > 0) labels = given.merge_labels ? { ...labels, ...(given.labels as object) } : (given.labels as Record<string, unknown>);
    const pick = (k: string) => (given[k] !== undefined && given[k] !== null && given[k] !== '' ? given[k] : t[k] ?? null);
    const attrs = {
      flavor_id: pick('flavor_id') as string | null,
      master_flavor_id: pick('master_flavor_id') as string | null,
      docker_volume_size: pick('docker_volume_size') as number | null,
      fixed_network: pick('fixed_network') as string | null,
      fixed_subnet: pick('fixed_subnet') as string | null,
    };
    const floating = given.floating_ip_enabled ?? t.floating_ip_enabled ?? true;
    const masterLb = given.master_lb_enabled ?? t.master_lb_enabled ?? false;
    for (const k of ['flavor_id', 'master_flavor_id'] as const) {
      if (attrs[k] && (await this.clients.flavors.find(ctx, attrs[k]!)).length === 0) throw new BadRequestError(`Unable to find flavor ${attrs[k]}.`);
    }
    await checkNetworks(ctx, this.clients, { fixed_network: attrs.fixed_network, fixed_subnet: attrs.fixed_subnet, external_network_id: t.external_network_id });
    if (keypair !== null && !(await this.clients.keypairs.exists(ctx, keypair))) throw new NotFoundError(`Unable to find keypair ${keypair}.`);
    if (masterCount > 1 && !masterLb) throw new BadRequestError('master_count must be 1 when master_lb_enabled is False');
    const now = new Date().toISOString();
    const uuid = typeof given.uuid === 'string' ? given.uuid : randomUUID();
    const row: ClusterRow = {
      uuid,
      project_id: project,
      user_id: ctx.userId,
      name: (given.name as string | undefined) ?? generatedName('cluster'),
      cluster_template_id: template.uuid,
      status: 'CREATE_IN_PROGRESS',
      status_reason: null,
      health_status: null,
      health_status_reason: null,
      stack_id: null,
      api_address: null,
      coe_version: null,
      container_version: null,
      keypair,
      create_timeout: (given.create_timeout ?? 60) as number,
      labels: JSON.stringify(labels),
      ...attrs,
      floating_ip_enabled: floating ? 1 : 0,
      master_lb_enabled: masterLb ? 1 : 0,
      discovery_url: (given.discovery_url as string | undefined) ?? null,
      faults: null,
      front_address: null,
      front_port: null,
      created_at: now,
      updated_at: null,
    };
    const group = (role: 'master' | 'worker', count: number, flavor: string | null): NodegroupRow => ({
      uuid: randomUUID(),
      cluster_id: uuid,
      project_id: project,
      name: role === 'master' ? 'default-master' : 'default-worker',
      role,
      is_default: 1,
      flavor_id: flavor,
      image_id: template.image_id,
      node_count: count,
      min_node_count: role === 'master' ? 1 : 0,
      max_node_count: null,
      docker_volume_size: attrs.docker_volume_size,
      labels: JSON.stringify(labels),
      status: 'CREATE_IN_PROGRESS',
      status_reason: null,
      version: null,
      created_at: now,
      updated_at: null,
    });
    await this.store.insertCluster(row, [group('master', masterCount, attrs.master_flavor_id), group('worker', nodeCount, attrs.flavor_id)]);
    this.onChange(uuid, 'create', ctx);
    return row;
  }

  private async checkQuota(ctx: RequestContext, project: string): Promise<void> {
    const quota = await this.store.quota(project, 'Cluster');
    const limit = quota?.hard_limit ?? this.options.maxClustersPerProject;
    if ((await this.store.countClusters(project)) >= limit) {
      throw new ForbiddenError(`Resource limit exceeded: You have reached the maximum clusters per project, ${limit}. You may delete a cluster to make room for a new one.`);
    }
  }

  assertOwned(ctx: RequestContext, row: ClusterRow, action: string): void {
    this.enforce(ctx, action);
    if (!this.isAdmin(ctx) && (ctx.scope.kind !== 'project' || ctx.scope.projectId !== row.project_id)) throw new PolicyNotAuthorized(action);
  }

  assertUpdatable(row: ClusterRow): void {
    if (IN_PROGRESS.includes(row.status)) throw new BadRequestError(`Cluster ${row.name} already has an operation in progress.`);
    if (!UPDATABLE.includes(row.status)) throw new BadRequestError(`Updating a cluster when status is "${row.status}" is not supported.`);
  }

  /**
   * PATCH: only `node_count` (the default worker group) and the health fields may change, as in Magnum.
   * Answers once the update has started.
   */
  async update(ctx: RequestContext, ident: string, body: unknown, minor: number): Promise<ClusterRow> {
    const ops = parsePatch(body, ['/cluster_template_id']);
    const row = await this.find(ctx, ident);
    this.assertOwned(ctx, row, 'cluster:update');
    const groups = await this.store.nodegroups(row.uuid);
    const worker = groups.find((g) => g.is_default === 1 && g.role === 'worker')!;
    const master = groups.find((g) => g.is_default === 1 && g.role === 'master')!;
    const doc = {
      ...clusterDocument(row),
      node_count: worker.node_count,
      master_count: master.node_count,
      health_status: row.health_status,
      health_status_reason: row.health_status_reason ? JSON.parse(row.health_status_reason) : null,
    };
    const patched = applyPatch(doc, ops);
    const changed = Object.keys(patched).filter((k) => JSON.stringify(patched[k]) !== JSON.stringify((doc as Record<string, unknown>)[k]));
    const disallowed = changed.filter((k) => !['node_count', 'health_status', 'health_status_reason'].includes(k));
    if (disallowed.length) throw new BadRequestError(`cannot change cluster property(ies) ${disallowed.join(', ')}.`);
    const nodeCount = checkAttribute({ type: 'int', min: 0 }, 'node_count', patched.node_count) as number;
    if (nodeCount === 0 && minor < 10) throw new BadRequestError('Resizing a nodegroup to zero is not supported in the provided microversion.');
    if (nodeCount > this.options.maxNodesPerGroup) throw new BadRequestError(`Invalid input for field/attribute node_count. Value: ${nodeCount}. Value should be lower or equal to ${this.options.maxNodesPerGroup}`);
    const health: Partial<ClusterRow> = {};
    if (changed.includes('health_status')) {
      const h = patched.health_status;
      if (h !== null && !['HEALTHY', 'UNHEALTHY', 'UNKNOWN'].includes(String(h))) throw new BadRequestError(`Invalid input for field/attribute health_status. Value: '${String(h)}'. Value should be one of: HEALTHY, UNHEALTHY, UNKNOWN`);
      health.health_status = (h as ClusterRow['health_status']) ?? null;
    }
    if (changed.includes('health_status_reason')) {
      const r = patched.health_status_reason;
      if (r !== null && (typeof r !== 'object' || Array.isArray(r))) throw new BadRequestError('Invalid input for field/attribute health_status_reason. Value should be a dict.');
      health.health_status_reason = r === null ? null : JSON.stringify(r);
    }
    if (!changed.includes('node_count')) {
      if (Object.keys(health).length) await this.store.updateCluster(row.uuid, health);
      return { ...row, ...health };
    }
    return this.resizeGroup(ctx, row, worker, nodeCount, [], health);
  }

  async resize(ctx: RequestContext, ident: string, body: unknown, minor: number): Promise<ClusterRow> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('Invalid input for field/attribute cluster_resize_req. The body must be a JSON object.');
    const b = body as Record<string, unknown>;
    const unknown = Object.keys(b).filter((k) => !['node_count', 'nodes_to_remove', 'nodegroup'].includes(k));
    if (unknown.length) throw new BadRequestError(`Unknown attribute for argument cluster_resize_req: ${unknown.join(', ')}`);
    if (b.node_count === undefined || b.node_count === null) throw invalidInputMissing('node_count');
    const nodeCount = checkAttribute({ type: 'int', min: 0 }, 'node_count', b.node_count) as number;
    if (nodeCount === 0 && minor < 10) throw new BadRequestError('Resizing a nodegroup to zero is not supported in the provided microversion.');
    if (nodeCount > this.options.maxNodesPerGroup) throw new BadRequestError(`Invalid input for field/attribute node_count. Value: ${nodeCount}. Value should be lower or equal to ${this.options.maxNodesPerGroup}`);
    let remove: string[] = [];
    if (b.nodes_to_remove !== undefined && b.nodes_to_remove !== null) {
      if (!Array.isArray(b.nodes_to_remove) || b.nodes_to_remove.some((x) => typeof x !== 'string') || b.nodes_to_remove.length > this.options.maxNodesPerGroup) {
        throw new BadRequestError('Invalid input for field/attribute nodes_to_remove. Value should be a list of node ids.');
      }
      remove = b.nodes_to_remove as string[];
    }
    const row = await this.find(ctx, ident);
    this.assertOwned(ctx, row, 'cluster:resize');
    const groups = await this.store.nodegroups(row.uuid);
    const group = b.nodegroup === undefined || b.nodegroup === null || b.nodegroup === ''
      ? groups.find((g) => g.is_default === 1 && g.role === 'worker')!
      : findGroup(groups, String(b.nodegroup), row.uuid);
    if (group.role === 'master') throw new BadRequestError(`master nodegroup size of ${nodeCount} is invalid, resizing the master nodegroup is not supported.`);
    if (group.min_node_count > nodeCount || (group.max_node_count !== null && group.max_node_count < nodeCount)) {
      throw new BadRequestError(`Resizing ${group.name} outside the allowed range: min_node_count = ${group.min_node_count}, max_node_count = ${group.max_node_count ?? 'None'}`);
    }
    return this.resizeGroup(ctx, row, group, nodeCount, remove, {});
  }

  /** Sets a group's target count (and the nodes to take out first) and starts the cluster's update. */
  async resizeGroup(ctx: RequestContext, row: ClusterRow, group: NodegroupRow, nodeCount: number, remove: string[], extra: Partial<ClusterRow>): Promise<ClusterRow> {
    this.assertUpdatable(row);
    const started = await this.store.updateCluster(row.uuid, { ...extra, status: 'UPDATE_IN_PROGRESS', status_reason: null, faults: null }, UPDATABLE);
    if (!started) throw new BadRequestError(`Cluster ${row.name} already has an operation in progress.`);
    await this.store.updateNodegroup(group.uuid, { node_count: nodeCount, status: 'UPDATE_IN_PROGRESS', status_reason: null, labels: JSON.stringify({ ...(JSON.parse(group.labels) as object), ...(remove.length ? { 'hafen:nodes_to_remove': remove.join(',') } : {}) }) });
    this.onChange(row.uuid, 'update', ctx);
    return { ...row, ...extra, status: 'UPDATE_IN_PROGRESS' };
  }

  /** Moves the cluster to a newer template of the same COE (its nodes keep running: the node image is the cloud's). */
  async upgrade(ctx: RequestContext, ident: string, body: unknown): Promise<ClusterRow> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('Invalid input for field/attribute cluster_upgrade_req. The body must be a JSON object.');
    const b = body as Record<string, unknown>;
    const unknown = Object.keys(b).filter((k) => !['cluster_template', 'max_batch_size', 'nodegroup'].includes(k));
    if (unknown.length) throw new BadRequestError(`Unknown attribute for argument cluster_upgrade_req: ${unknown.join(', ')}`);
    if (typeof b.cluster_template !== 'string' || !b.cluster_template) throw invalidInputMissing('cluster_template');
    if (b.max_batch_size !== undefined) checkAttribute({ type: 'int', min: 1 }, 'max_batch_size', b.max_batch_size);
    const row = await this.find(ctx, ident);
    this.assertOwned(ctx, row, 'cluster:upgrade');
    const next = await this.templates.find(ctx, b.cluster_template);
    const current = await this.store.template(row.cluster_template_id);
    const groups = await this.store.nodegroups(row.uuid);
    if (b.nodegroup !== undefined && b.nodegroup !== null) {
      const g = findGroup(groups, String(b.nodegroup), row.uuid);
      if (g.is_default !== 1 && next.uuid !== row.cluster_template_id) throw new BadRequestError(`Cluster Template is not valid for upgrade: Nodegroup ${g.name} can be upgraded only to match cluster's template (${current?.name ?? row.cluster_template_id}).`);
    }
    if (next.coe !== current?.coe) throw new BadRequestError(`Cluster Template is not valid for upgrade: the new template's COE (${next.coe}) differs from the cluster's (${current?.coe ?? 'unknown'}).`);
    if (next.uuid === row.cluster_template_id) throw new BadRequestError('Cluster Template is not valid for upgrade: the cluster already uses this template.');
    this.assertUpdatable(row);
    const started = await this.store.updateCluster(row.uuid, { cluster_template_id: next.uuid, status: 'UPDATE_IN_PROGRESS', status_reason: null }, UPDATABLE);
    if (!started) throw new BadRequestError(`Cluster ${row.name} already has an operation in progress.`);
    for (const g of groups) if (g.is_default === 1) await this.store.updateNodegroup(g.uuid, { image_id: next.image_id, status: 'UPDATE_IN_PROGRESS' });
    this.onChange(row.uuid, 'update', ctx);
    return { ...row, cluster_template_id: next.uuid, status: 'UPDATE_IN_PROGRESS' };
  }

  /** Starts the delete whatever the cluster is doing (the stack's delete cancels it); 204 whenever it exists. */
  async delete(ctx: RequestContext, ident: string): Promise<void> {
    const row = await this.find(ctx, ident);
    this.assertOwned(ctx, row, 'cluster:delete');
    await this.store.updateCluster(row.uuid, { status: 'DELETE_IN_PROGRESS', status_reason: null });
    this.onChange(row.uuid, 'delete', ctx);
  }

  /** The stack template of the cluster as its rows say now. */
  async stackTemplate(row: ClusterRow): Promise<Record<string, unknown>> {
    const template = await this.store.template(row.cluster_template_id);
    const groups = await this.store.nodegroups(row.uuid);
    const unhealthy = new Map<string, string[]>();
    for (const n of await this.store.nodes(row.uuid)) {
      if (n.state === 'unhealthy') unhealthy.set(n.nodegroup_id, [...(unhealthy.get(n.nodegroup_id) ?? []), n.id].sort());
    }
    return clusterStackTemplate({ cluster: row, template: template ? templateDocument(template) : {}, groups, unhealthy, externalNetworkId: this.clients.networks.externalNetworkId() });
  }
}

export function findGroup(groups: NodegroupRow[], ident: string, clusterId: string): NodegroupRow {
  const g = groups.find((x) => x.uuid === ident || x.name === ident);
  if (!g) throw new NodegroupNotFound(ident);
  void clusterId;
  return g;
}

/** The cluster's own attributes as a flat document (what PATCH compares against). */
export function clusterDocument(row: ClusterRow): Record<string, unknown> {
  return {
    uuid: row.uuid,
    name: row.name,
    cluster_template_id: row.cluster_template_id,
    keypair: row.keypair,
    docker_volume_size: row.docker_volume_size,
    labels: JSON.parse(row.labels) as Record<string, unknown>,
    master_flavor_id: row.master_flavor_id,
    flavor_id: row.flavor_id,
    create_timeout: row.create_timeout,
    discovery_url: row.discovery_url,
    fixed_network: row.fixed_network,
    fixed_subnet: row.fixed_subnet,
    floating_ip_enabled: row.floating_ip_enabled === 1,
    master_lb_enabled: row.master_lb_enabled === 1,
  };
}
