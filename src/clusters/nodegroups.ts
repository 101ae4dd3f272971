// Node groups of one's own: worker groups added to a cluster with their own flavor and count, and
// removed again. Each is one more OS::Magnum::NodeGroup in the cluster's stack; adding or removing
// one is an update of the cluster (UPDATE_IN_PROGRESS), as in Magnum.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError } from '../platform/errors.ts';
import { CLUSTER_NAME, checkAttribute, invalidInputMissing } from './attributes.ts';
import { applyPatch, parsePatch } from './json-patch.ts';
import type { ClusterClients } from './clients.ts';
import { UPDATABLE, findGroup, type ClusterService } from './clusters.ts';
import type { ClusterStore, NodegroupRow } from './store.ts';

const NODEGROUP_ATTRIBUTES = ['name', 'node_count', 'flavor_id', 'image_id', 'docker_volume_size', 'labels', 'min_node_count', 'max_node_count', 'role', 'merge_labels'];
const READ_ONLY = ['uuid', 'links', 'cluster_id', 'project_id', 'node_addresses', 'is_default', 'stack_id', 'status', 'status_reason', 'version', 'created_at', 'updated_at', 'labels_overridden', 'labels_added', 'labels_skipped'];
/** What a node group's PATCH may not touch: Magnum lets it change the counts' bounds only. */
const PATCH_INTERNAL = ['/name', '/cluster_id', '/docker_volume_size', '/labels', '/flavor_id', '/image_id', '/node_addresses', '/node_count', '/role', '/is_default', '/stack_id', '/status', '/status_reason', '/version'];
/** Groups a cluster may have besides its default two (a bound on what requests can make). */
const MAX_GROUPS = 10;

export class NodegroupService {
  constructor(
    private readonly store: ClusterStore,
    private readonly clusters: ClusterService,
    private readonly clients: ClusterClients,
    private readonly maxNodesPerGroup: number,
  ) {}

  async create(ctx: RequestContext, clusterIdent: string, body: unknown): Promise<NodegroupRow> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('Invalid input for field/attribute nodegroup. The body must be a JSON object.');
    const b = body as Record<string, unknown>;
    const unknown = Object.keys(b).filter((k) => !NODEGROUP_ATTRIBUTES.includes(k) && !READ_ONLY.includes(k));
    if (unknown.length) throw new BadRequestError(`Unknown attribute for argument nodegroup: ${unknown.join(', ')}`);
    if (b.name === undefined || b.name === null) throw invalidInputMissing('name');
    const name = checkAttribute({ type: 'string', min: 1, max: 255, pattern: CLUSTER_NAME }, 'name', b.name) as string;
    const role = (checkAttribute({ type: 'string', min: 1, max: 255 }, 'role', b.role ?? 'worker') as string);
    if (role === 'master') throw new BadRequestError('Creating master nodegroups is currently not supported.');
    if (role !== 'worker') throw new BadRequestError(`Invalid input for field/attribute role. Value: '${role}'. hafen's node groups are workers.`);
    const nodeCount = checkAttribute({ type: 'int', min: 0, max: this.maxNodesPerGroup }, 'node_count', b.node_count ?? 1) as number;
    const min = checkAttribute({ type: 'int', min: 0 }, 'min_node_count', b.min_node_count ?? 0) as number;
    const max = b.max_node_count === undefined || b.max_node_count === null ? null : (checkAttribute({ type: 'int', min: 1 }, 'max_node_count', b.max_node_count) as number);
    checkCounts(name, nodeCount, min, max);
    const dockerVolume = b.docker_volume_size === undefined || b.docker_volume_size === null ? null : (checkAttribute({ type: 'int', min: 1 }, 'docker_volume_size', b.docker_volume_size) as number);
    const labels = b.labels === undefined || b.labels === null ? undefined : (checkAttribute({ type: 'labels' }, 'labels', b.labels) as Record<string, unknown>);
    const flavorGiven = b.flavor_id === undefined || b.flavor_id === null ? undefined : (checkAttribute({ type: 'string', min: 1, max: 255 }, 'flavor_id', b.flavor_id) as string);
    const imageGiven = b.image_id === undefined || b.image_id === null ? undefined : (checkAttribute({ type: 'string', min: 1, max: 255 }, 'image_id', b.image_id) as string);

    const cluster = await this.clusters.find(ctx, clusterIdent);
    this.clusters.assertOwned(ctx, cluster, 'nodegroup:create');
    if (!cluster.api_address) throw new BadRequestError('The API address of the cluster is not available yet.');
    const groups = await this.store.nodegroups(cluster.uuid);
    if (groups.some((g) => g.name === name)) throw new ConflictError(`A node group with name ${name} already exists in the cluster ${cluster.name}.`);
    if (groups.filter((g) => g.is_default !== 1).length >= MAX_GROUPS) throw new BadRequestError(`A cluster has at most ${MAX_GROUPS} node groups of its own.`);
    const flavorId = flavorGiven ?? cluster.flavor_id;
    if (flavorGiven && (await this.clients.flavors.find(ctx, flavorGiven)).length === 0) throw new BadRequestError(`Unable to find flavor ${flavorGiven}.`);
    const template = await this.store.template(cluster.cluster_template_id);
    let imageId = template?.image_id ?? groups[0]!.image_id;
    if (imageGiven) {
      const found = await this.clients.images.find(ctx, imageGiven);
      if (found.length === 0) throw new BadRequestError(`Image ${imageGiven} could not be found.`);
      imageId = found[0]!.id;
    }
    const clusterLabels = JSON.parse(cluster.labels) as Record<string, unknown>;
    this.clusters.assertUpdatable(cluster);
    const started = await this.store.updateCluster(cluster.uuid, { status: 'UPDATE_IN_PROGRESS', status_reason: null, faults: null }, UPDATABLE);
    if (!started) throw new BadRequestError(`Cluster ${cluster.name} already has an operation in progress.`);
    const now = new Date().toISOString();
    const row: NodegroupRow = {
      uuid: randomUUID(),
      cluster_id: cluster.uuid,
      project_id: cluster.project_id,
      name,
      role: 'worker',
      is_default: 0,
      flavor_id: flavorId,
      image_id: imageId,
      node_count: nodeCount,
      min_node_count: min,
      max_node_count: max,
      docker_volume_size: dockerVolume ?? cluster.docker_volume_size,
      labels: JSON.stringify(labels ? (b.merge_labels === true ? { ...clusterLabels, ...labels } : labels) : clusterLabels),
      status: 'CREATE_IN_PROGRESS',
      status_reason: null,
      version: null,
      created_at: now,
      updated_at: null,
    };
    try {
      await this.store.insertNodegroup(row);
    } catch (err) {
      await this.store.updateCluster(cluster.uuid, { status: cluster.status, status_reason: cluster.status_reason });
      throw err;
    }
    this.clusters.onChange(cluster.uuid, 'update', ctx);
    return row;
  }

  /**
   * PATCH (JSON patch): `min_node_count` and `max_node_count`, the bounds later resizes of the group
   * must keep; everything else is internal (400), as in Magnum. The node count stays as it is (resize
   * the group through the cluster), so the bounds are checked against it (409) and recorded at once.
   */
  async update(ctx: RequestContext, clusterIdent: string, ident: string, body: unknown): Promise<NodegroupRow> {
    const ops = parsePatch(body, [], PATCH_INTERNAL);
    const cluster = await this.clusters.find(ctx, clusterIdent);
    this.clusters.assertOwned(ctx, cluster, 'nodegroup:update');
    const group = findGroup(await this.store.nodegroups(cluster.uuid), ident, cluster.uuid);
    const doc = { min_node_count: group.min_node_count, max_node_count: group.max_node_count };
    const patched = applyPatch(doc, ops);
    const min = patched.min_node_count === null ? 0 : (checkAttribute({ type: 'int', min: 0, max: this.maxNodesPerGroup }, 'min_node_count', patched.min_node_count) as number);
    const max = patched.max_node_count === null ? null : (checkAttribute({ type: 'int', min: 1, max: this.maxNodesPerGroup }, 'max_node_count', patched.max_node_count) as number);
    if (group.role === 'master' && min < 1) throw new BadRequestError(`Invalid input for field/attribute min_node_count. Value: '${min}'. A master group keeps at least one node.`);
    checkCounts(group.name, group.node_count, min, max);
    const changes = { min_node_count: min, max_node_count: max };
    await this.store.updateNodegroup(group.uuid, changes);
    return { ...group, ...changes };
  }

  /** Takes the group out of the cluster's stack; its row goes once its nodes are gone. */
  async delete(ctx: RequestContext, clusterIdent: string, ident: string): Promise<void> {
    const cluster = await this.clusters.find(ctx, clusterIdent);
    this.clusters.assertOwned(ctx, cluster, 'nodegroup:delete');
    const group = findGroup(await this.store.nodegroups(cluster.uuid), ident, cluster.uuid);
    if (group.is_default === 1) throw new BadRequestError('Deleting a default nodegroup is not supported.');
    this.clusters.assertUpdatable(cluster);
    const started = await this.store.updateCluster(cluster.uuid, { status: 'UPDATE_IN_PROGRESS', status_reason: null, faults: null }, UPDATABLE);
    if (!started) throw new BadRequestError(`Cluster ${cluster.name} already has an operation in progress.`);
    await this.store.updateNodegroup(group.uuid, { status: 'DELETE_IN_PROGRESS', status_reason: null });
    this.clusters.onChange(cluster.uuid, 'update', ctx);
  }
}

/** A group's count within its bounds, in Magnum's words (NodeGroupInvalidInput, 409). */
function checkCounts(name: string, nodeCount: number, min: number, max: number | null): void {
  const invalid = (attr: string, why: string) => new ConflictError(`${attr} for ${name} is invalid (${why}).`);
  if (max !== null && max < min) throw invalid('max_node_count', `min_node_count (${min}) should be less or equal to max_node_count (${max})`);
  if (max !== null && nodeCount > max) throw invalid('max_node_count', `node_count (${nodeCount}) should be less or equal to max_node_count (${max})`);
  if (min > nodeCount) throw invalid('min_node_count', `min_node_count (${min}) should be less or equal to node_count (${nodeCount})`);
}
