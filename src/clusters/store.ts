// Magnum's rows: cluster templates, clusters with their node groups and nodes, each cluster's
// certificate authorities (keys sealed), quotas and the conductor records behind /v1/mservices.
import type { Generated, Kysely } from 'kysely';
import type { Database } from '../platform/db/database.ts';
import { affectedRows, isUniqueViolation } from '../platform/db/database.ts';
import { migrate, type Migration } from '../platform/db/migrations.ts';
import { ConflictError } from '../platform/errors.ts';

export type ClusterStatus =
  | 'CREATE_IN_PROGRESS' | 'CREATE_FAILED' | 'CREATE_COMPLETE'
  | 'UPDATE_IN_PROGRESS' | 'UPDATE_FAILED' | 'UPDATE_COMPLETE'
  | 'DELETE_IN_PROGRESS' | 'DELETE_FAILED' | 'DELETE_COMPLETE'
  | 'RESUME_COMPLETE' | 'RESTORE_COMPLETE' | 'ROLLBACK_COMPLETE' | 'SNAPSHOT_COMPLETE' | 'CHECK_COMPLETE' | 'ADOPT_COMPLETE'
  | 'ROLLBACK_IN_PROGRESS' | 'ROLLBACK_FAILED';

export type HealthStatus = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

export interface TemplateRow {
  uuid: string;
  project_id: string;
  user_id: string;
  name: string;
  coe: string;
  image_id: string;
  public: number;
  hidden: number;
  /** JSON: every other attribute of the template, by its wire name (null when unset). */
  attrs: string;
  created_at: string;
  updated_at: string | null;
}

export interface ClusterRow {
  uuid: string;
  project_id: string;
  user_id: string;
  name: string;
  cluster_template_id: string;
  status: ClusterStatus;
  status_reason: string | null;
  health_status: HealthStatus | null;
  /** JSON map or null. */
  health_status_reason: string | null;
  stack_id: string | null;
  api_address: string | null;
  coe_version: string | null;
  container_version: string | null;
  keypair: string | null;
  create_timeout: number;
  /** JSON: labels, and the attributes a cluster may override from its template (flavors, networks ...). */
  labels: string;
  flavor_id: string | null;
  master_flavor_id: string | null;
  docker_volume_size: number | null;
  fixed_network: string | null;
  fixed_subnet: string | null;
  floating_ip_enabled: number;
  master_lb_enabled: number;
  discovery_url: string | null;
  /** JSON map or null: what failed, by node group. */
  faults: string | null;
  /** Where the cluster's Docker API front listens (an address of the clusters' pool) and its port. */
  front_address: string | null;
  front_port: number | null;
  created_at: string;
  updated_at: string | null;
}

export interface NodegroupRow {
  uuid: string;
  cluster_id: string;
  project_id: string;
  name: string;
  role: 'master' | 'worker';
  is_default: number;
  flavor_id: string | null;
  image_id: string;
  node_count: number;
  min_node_count: number;
  max_node_count: number | null;
  docker_volume_size: number | null;
  labels: string;
  status: ClusterStatus;
  status_reason: string | null;
  version: string | null;
  created_at: string;
  updated_at: string | null;
}

/** One node: the compute workload that runs it and its addresses. The row is written before the boot. */
export interface NodeRow {
  id: string;
  /** The compute workload that runs it, once booted. */
  workload_id: string | null;
  /** Its port on the cluster's Neutron network. */
  port_id: string | null;
  cluster_id: string;
  nodegroup_id: string;
  role: 'master' | 'worker';
  name: string;
  /** Which node network the infrastructure address belongs to (one per host network), and the address. */
  infra_network: string | null;
  infra_address: string | null;
  /** The node's address on the cluster's Neutron network. */
  fixed_address: string | null;
  /** The swarm node id once joined. */
  swarm_node_id: string | null;
  /** `unhealthy`: joined, but its engine stopped answering (see health.ts); replaced by the next update. */
  state: 'booting' | 'joining' | 'ready' | 'unhealthy' | 'failed' | 'removing';
  /** Why the node is unhealthy or failed; null when it answers. */
  fault: string | null;
  created_at: string;
}

export interface CertificateRow {
  cluster_id: string;
  /** The tenant-facing CA: signs client certificates and the front's server certificate. */
  ca_cert: string;
  ca_key_sealed: string;
  /** hafen's own CA for the nodes' engines (tenants never get a certificate of it). */
  infra_ca_cert: string;
  infra_ca_key_sealed: string;
  /** The certificate and key hafen presents to the nodes' engines. */
  infra_client_cert: string;
  infra_client_key_sealed: string;
  rotated_at: string | null;
}

export interface QuotaRow {
  id: number;
  project_id: string;
  resource: string;
  hard_limit: number;
  created_at: string;
  updated_at: string | null;
}

export interface ConductorRow {
  id: number;
  host: string;
  binary: string;
  report_count: number;
  disabled: number;
  disabled_reason: string | null;
  forced_down: number;
  last_seen_up: string;
  created_at: string;
  updated_at: string | null;
}

/** The tables as Kysely sees them (serial ids are generated). */
interface Tables {
  magnum_cluster_templates: TemplateRow;
  magnum_clusters: ClusterRow;
  magnum_nodegroups: NodegroupRow;
  magnum_nodes: NodeRow;
  magnum_certificates: CertificateRow;
  magnum_quotas: Omit<QuotaRow, 'id'> & { id: Generated<number> };
  magnum_conductors: Omit<ConductorRow, 'id'> & { id: Generated<number> };
}

const migrations: Migration[] = [
  {
    name: '0001-initial',
    async up(db: Kysely<any>, dialect) {
      const serial = dialect === 'postgres' ? 'serial' : 'integer';
      await db.schema
        .createTable('magnum_cluster_templates')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('coe', 'varchar(32)', (c) => c.notNull())
        .addColumn('image_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('hidden', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('attrs', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('magnum_cluster_templates_project').on('magnum_cluster_templates').columns(['project_id', 'name']).execute();
      await db.schema.createIndex('magnum_cluster_templates_public').on('magnum_cluster_templates').columns(['public', 'name']).execute();
      await db.schema
        .createTable('magnum_clusters')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('cluster_template_id', 'varchar(36)', (c) => c.notNull().references('magnum_cluster_templates.uuid'))
        .addColumn('status', 'varchar(32)', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('health_status', 'varchar(16)')
        .addColumn('health_status_reason', 'text')
        .addColumn('stack_id', 'varchar(64)')
        .addColumn('api_address', 'varchar(255)')
        .addColumn('coe_version', 'varchar(64)')
        .addColumn('container_version', 'varchar(64)')
        .addColumn('keypair', 'varchar(255)')
        .addColumn('create_timeout', 'integer', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('flavor_id', 'varchar(255)')
        .addColumn('master_flavor_id', 'varchar(255)')
        .addColumn('docker_volume_size', 'integer')
        .addColumn('fixed_network', 'varchar(255)')
        .addColumn('fixed_subnet', 'varchar(255)')
        .addColumn('floating_ip_enabled', 'integer', (c) => c.notNull())
        .addColumn('master_lb_enabled', 'integer', (c) => c.notNull())
        .addColumn('discovery_url', 'text')
        .addColumn('faults', 'text')
        .addColumn('front_address', 'varchar(64)')
        .addColumn('front_port', 'integer')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('magnum_clusters_project').on('magnum_clusters').columns(['project_id', 'name']).execute();
      await db.schema.createIndex('magnum_clusters_template').on('magnum_clusters').column('cluster_template_id').execute();
      // Two clusters never share a front address (a pool address per cluster).
      await db.schema.createIndex('magnum_clusters_front').on('magnum_clusters').column('front_address').unique().execute();
      await db.schema
        .createTable('magnum_nodegroups')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('cluster_id', 'varchar(36)', (c) => c.notNull().references('magnum_clusters.uuid').onDelete('cascade'))
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull())
        .addColumn('flavor_id', 'varchar(255)')
        .addColumn('image_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('node_count', 'integer', (c) => c.notNull())
        .addColumn('min_node_count', 'integer', (c) => c.notNull())
        .addColumn('max_node_count', 'integer')
        .addColumn('docker_volume_size', 'integer')
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(32)', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('version', 'varchar(64)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('magnum_nodegroups_name').on('magnum_nodegroups').columns(['cluster_id', 'name']).unique().execute();
      await db.schema
        .createTable('magnum_nodes')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('cluster_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('nodegroup_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('infra_network', 'varchar(128)')
        .addColumn('infra_address', 'varchar(64)')
        .addColumn('fixed_address', 'varchar(64)')
        .addColumn('swarm_node_id', 'varchar(64)')
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('fault', 'text')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('magnum_nodes_cluster').on('magnum_nodes').columns(['cluster_id', 'role']).execute();
      // An infrastructure address is taken by one node at a time on its network.
      await db.schema.createIndex('magnum_nodes_infra').on('magnum_nodes').columns(['infra_network', 'infra_address']).unique().execute();
      await db.schema
        .createTable('magnum_certificates')
        .addColumn('cluster_id', 'varchar(36)', (c) => c.primaryKey().references('magnum_clusters.uuid').onDelete('cascade'))
        .addColumn('ca_cert', 'text', (c) => c.notNull())
        .addColumn('ca_key_sealed', 'text', (c) => c.notNull())
        .addColumn('infra_ca_cert', 'text', (c) => c.notNull())
        .addColumn('infra_ca_key_sealed', 'text', (c) => c.notNull())
        .addColumn('infra_client_cert', 'text', (c) => c.notNull())
        .addColumn('infra_client_key_sealed', 'text', (c) => c.notNull())
        .addColumn('rotated_at', 'varchar(32)')
        .execute();
      await db.schema
        .createTable('magnum_quotas')
        .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('resource', 'varchar(64)', (c) => c.notNull())
        .addColumn('hard_limit', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('magnum_quotas_project').on('magnum_quotas').columns(['project_id', 'resource']).unique().execute();
      await db.schema
        .createTable('magnum_conductors')
        .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('host', 'varchar(255)', (c) => c.notNull())
        .addColumn('binary', 'varchar(64)', (c) => c.notNull())
        .addColumn('report_count', 'integer', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull())
        .addColumn('disabled_reason', 'varchar(255)')
        .addColumn('forced_down', 'integer', (c) => c.notNull())
        .addColumn('last_seen_up', 'varchar(32)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('magnum_conductors_host').on('magnum_conductors').columns(['host', 'binary']).unique().execute();
    },
  },
  {
    // A node's id is its own: the workload and the port that run it are recorded as they are made.
    name: '0002-node-workload',
    async up(db: Kysely<any>) {
      await db.schema.alterTable('magnum_nodes').addColumn('workload_id', 'varchar(36)').execute();
      await db.schema.alterTable('magnum_nodes').addColumn('port_id', 'varchar(36)').execute();
    },
  },
];

export interface Page {
  limit?: number;
  /** The uuid of the last row of the previous page. */
  marker?: string;
  sortKey: string;
  sortDir: 'asc' | 'desc';
}

export class ClusterStore {
  private constructor(private readonly db: Kysely<Tables>) {}

  static async create(database: Database): Promise<ClusterStore> {
    await migrate(database, 'clusters', migrations);
    return new ClusterStore(database.db as Kysely<Tables>);
  }

  // ---- templates

  async insertTemplate(row: TemplateRow): Promise<void> {
    try {
      await this.db.insertInto('magnum_cluster_templates').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`A ClusterTemplate with UUID ${row.uuid} already exists.`);
      throw err;
    }
  }

  async template(uuid: string): Promise<TemplateRow | undefined> {
    return this.db.selectFrom('magnum_cluster_templates').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  /** Templates named `name` that `projectId` may see (its own and public ones), or all with `all`. */
  async templatesNamed(name: string, projectId: string | undefined, all: boolean): Promise<TemplateRow[]> {
    let q = this.db.selectFrom('magnum_cluster_templates').selectAll().where('name', '=', name);
    if (!all) q = q.where((eb) => eb.or([eb('project_id', '=', projectId ?? ''), eb('public', '=', 1)]));
    return q.limit(2).execute();
  }

  /** A page of templates: the project's own and public ones (or every project's with `all`). */
  async templates(projectId: string | undefined, all: boolean, page: Page): Promise<TemplateRow[]> {
    let q = this.db.selectFrom('magnum_cluster_templates').selectAll();
    if (!all) q = q.where((eb) => eb.or([eb('project_id', '=', projectId ?? ''), eb('public', '=', 1)]));
    return this.paged(q, 'magnum_cluster_templates', page);
  }

  async updateTemplate(uuid: string, fields: Partial<TemplateRow>): Promise<void> {
    await this.db.updateTable('magnum_cluster_templates').set(fields).where('uuid', '=', uuid).execute();
  }

  async deleteTemplate(uuid: string): Promise<void> {
    await this.db.deleteFrom('magnum_cluster_templates').where('uuid', '=', uuid).execute();
  }

  async templateInUse(uuid: string): Promise<boolean> {
    const row = await this.db.selectFrom('magnum_clusters').select('uuid').where('cluster_template_id', '=', uuid).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  // ---- clusters

  /** Inserts the cluster and its node groups in one transaction. */
  async insertCluster(row: ClusterRow, groups: NodegroupRow[]): Promise<void> {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('magnum_clusters').values(row).execute();
        for (const g of groups) await trx.insertInto('magnum_nodegroups').values(g).execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`A cluster with UUID ${row.uuid} already exists.`);
      throw err;
    }
  }

  async cluster(uuid: string): Promise<ClusterRow | undefined> {
    return this.db.selectFrom('magnum_clusters').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  async clustersNamed(name: string, projectId: string | undefined, all: boolean): Promise<ClusterRow[]> {
    let q = this.db.selectFrom('magnum_clusters').selectAll().where('name', '=', name);
    if (!all) q = q.where('project_id', '=', projectId ?? '');
    return q.limit(2).execute();
  }

  async clusters(projectId: string | undefined, all: boolean, page: Page): Promise<ClusterRow[]> {
    let q = this.db.selectFrom('magnum_clusters').selectAll();
    if (!all) q = q.where('project_id', '=', projectId ?? '');
    return this.paged(q, 'magnum_clusters', page);
  }

  /** Every cluster (the reconciler's view). */
  async allClusters(): Promise<ClusterRow[]> {
    return this.db.selectFrom('magnum_clusters').selectAll().orderBy('created_at').execute();
  }

  async countClusters(projectId: string): Promise<number> {
    const r = await this.db.selectFrom('magnum_clusters').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async updateCluster(uuid: string, fields: Partial<ClusterRow>, expectStatus?: ClusterStatus[]): Promise<boolean> {
    let q = this.db.updateTable('magnum_clusters').set({ ...fields, updated_at: new Date().toISOString() }).where('uuid', '=', uuid);
    if (expectStatus) q = q.where('status', 'in', expectStatus);
    return affectedRows(await q.executeTakeFirst()) > 0;
  }

  async deleteCluster(uuid: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('magnum_nodes').where('cluster_id', '=', uuid).execute();
      await trx.deleteFrom('magnum_nodegroups').where('cluster_id', '=', uuid).execute();
      await trx.deleteFrom('magnum_certificates').where('cluster_id', '=', uuid).execute();
      await trx.deleteFrom('magnum_clusters').where('uuid', '=', uuid).execute();
    });
  }

  async usedFrontAddresses(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('magnum_clusters').select('front_address').where('front_address', 'is not', null).execute();
    return new Set(rows.map((r) => r.front_address ?? ''));
  }

  // ---- node groups

  async nodegroups(clusterId: string): Promise<NodegroupRow[]> {
    return this.db.selectFrom('magnum_nodegroups').selectAll().where('cluster_id', '=', clusterId).orderBy('created_at').orderBy('role').execute();
  }

  async nodegroup(uuid: string): Promise<NodegroupRow | undefined> {
    return this.db.selectFrom('magnum_nodegroups').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  async insertNodegroup(row: NodegroupRow): Promise<void> {
    try {
      await this.db.insertInto('magnum_nodegroups').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`A node group with name ${row.name} already exists in the cluster ${row.cluster_id}.`);
      throw err;
    }
  }

  async updateNodegroup(uuid: string, fields: Partial<NodegroupRow>): Promise<void> {
    await this.db.updateTable('magnum_nodegroups').set({ ...fields, updated_at: new Date().toISOString() }).where('uuid', '=', uuid).execute();
  }

  async deleteNodegroup(uuid: string): Promise<void> {
    await this.db.deleteFrom('magnum_nodegroups').where('uuid', '=', uuid).execute();
  }

  // ---- nodes

  async nodes(clusterId: string): Promise<NodeRow[]> {
    return this.db.selectFrom('magnum_nodes').selectAll().where('cluster_id', '=', clusterId).orderBy('created_at').orderBy('name').execute();
  }

  async allNodes(): Promise<NodeRow[]> {
    return this.db.selectFrom('magnum_nodes').selectAll().execute();
  }

  /** Records a node before it is booted; false when its infrastructure address was taken meanwhile. */
  async insertNode(row: NodeRow): Promise<boolean> {
    try {
      await this.db.insertInto('magnum_nodes').values(row).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async updateNode(id: string, fields: Partial<NodeRow>): Promise<void> {
    await this.db.updateTable('magnum_nodes').set(fields).where('id', '=', id).execute();
  }

  async deleteNode(id: string): Promise<void> {
    await this.db.deleteFrom('magnum_nodes').where('id', '=', id).execute();
  }

  async usedInfraAddresses(network: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('magnum_nodes').select('infra_address').where('infra_network', '=', network).execute();
    return new Set(rows.map((r: { infra_address: string | null }) => r.infra_address ?? ''));
  }

  /** Clusters and nodes per project, for /v1/stats. */
  async stats(projectId: string | undefined): Promise<{ clusters: number; nodes: number }> {
    let c = this.db.selectFrom('magnum_clusters').select((eb) => eb.fn.countAll<number>().as('n'));
    let n = this.db.selectFrom('magnum_nodegroups').select((eb) => eb.fn.sum<number>('node_count').as('n'));
    if (projectId !== undefined) {
      c = c.where('project_id', '=', projectId);
      n = n.where('project_id', '=', projectId);
    }
    return { clusters: Number((await c.executeTakeFirst())?.n ?? 0), nodes: Number((await n.executeTakeFirst())?.n ?? 0) };
  }

  // ---- certificates

  async certificates(clusterId: string): Promise<CertificateRow | undefined> {
    return this.db.selectFrom('magnum_certificates').selectAll().where('cluster_id', '=', clusterId).executeTakeFirst();
  }

  async putCertificates(row: CertificateRow): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('magnum_certificates').where('cluster_id', '=', row.cluster_id).execute();
      await trx.insertInto('magnum_certificates').values(row).execute();
    });
  }

  // ---- quotas

  async quota(projectId: string, resource: string): Promise<QuotaRow | undefined> {
    return this.db.selectFrom('magnum_quotas').selectAll().where('project_id', '=', projectId).where('resource', '=', resource).executeTakeFirst();
  }

  async quotas(projectId: string | undefined, page: Page): Promise<QuotaRow[]> {
    let q = this.db.selectFrom('magnum_quotas').selectAll();
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    // Magnum's quota marker is the row's id.
    if (page.marker !== undefined) q = q.where('id', page.sortDir === 'asc' ? '>' : '<', Number(page.marker));
    q = q.orderBy(page.sortKey === 'project_id' ? 'project_id' : 'id', page.sortDir);
    if (page.limit !== undefined) q = q.limit(page.limit);
    return q.execute();
  }

  async insertQuota(row: Omit<QuotaRow, 'id'>): Promise<QuotaRow> {
    try {
      await this.db.insertInto('magnum_quotas').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Quota for project ${row.project_id} already exists for resource ${row.resource}.`);
      throw err;
    }
    return (await this.quota(row.project_id, row.resource))!;
  }

  async updateQuota(projectId: string, resource: string, hardLimit: number): Promise<void> {
    await this.db.updateTable('magnum_quotas').set({ hard_limit: hardLimit, updated_at: new Date().toISOString() }).where('project_id', '=', projectId).where('resource', '=', resource).execute();
  }

  async deleteQuota(projectId: string, resource: string): Promise<void> {
    await this.db.deleteFrom('magnum_quotas').where('project_id', '=', projectId).where('resource', '=', resource).execute();
  }

  // ---- conductors (/v1/mservices)

  /** Records a heartbeat of this controller's conductor; made on the first one. */
  async heartbeat(host: string, binary: string): Promise<void> {
    const now = new Date().toISOString();
    const done = await this.db
      .updateTable('magnum_conductors')
      .set((eb) => ({ report_count: eb('report_count', '+', 1), last_seen_up: now, updated_at: now }))
      .where('host', '=', host)
      .where('binary', '=', binary)
      .executeTakeFirst();
    if (affectedRows(done) > 0) return;
    try {
      await this.db.insertInto('magnum_conductors').values({ host, binary, report_count: 1, disabled: 0, disabled_reason: null, forced_down: 0, last_seen_up: now, created_at: now, updated_at: null }).execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }

  async conductors(): Promise<ConductorRow[]> {
    return this.db.selectFrom('magnum_conductors').selectAll().orderBy('id').execute();
  }

  private async paged<T>(q: any, table: 'magnum_cluster_templates' | 'magnum_clusters', page: Page): Promise<T[]> {
    const key = page.sortKey;
    if (page.marker) {
      const marker = await (this.db as Kysely<any>).selectFrom(table).selectAll().where('uuid', '=', page.marker).executeTakeFirst();
      if (marker) {
        const value = (marker as Record<string, unknown>)[key];
        const op = page.sortDir === 'asc' ? '>' : '<';
        q = q.where((eb: any) => eb.or([eb(key, op, value), eb.and([eb(key, '=', value), eb('uuid', op, page.marker)])]));
      }
    }
    q = q.orderBy(key, page.sortDir).orderBy('uuid', page.sortDir);
    if (page.limit !== undefined) q = q.limit(page.limit);
    return q.execute();
  }
}
