// Software configurations and deployments (Heat's software configuration API): their rows, scoped
// by project in SQL. A deployment's `generation` counts its runs, so a run's result is written only
// if no later change (an update, another run) came after it started.
import type { Kysely } from 'kysely';
import type { Database } from '../../platform/db/database.ts';
import { migrate, type Migration } from '../../platform/db/migrations.ts';

export interface SoftwareConfigRow {
  id: string;
  project_id: string;
  name: string;
  group: string;
  config: string;
  /** JSON lists and map, as Heat shows them. */
  inputs: string;
  outputs: string;
  options: string;
  created_at: string;
}

export type DeploymentStatus = 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';

export interface SoftwareDeploymentRow {
  id: string;
  project_id: string;
  config_id: string;
  server_id: string;
  action: string;
  status: DeploymentStatus;
  status_reason: string;
  /** JSON maps (output_values null until there are some). */
  input_values: string;
  output_values: string | null;
  generation: number;
  created_at: string;
  updated_at: string | null;
}

const migrations: Migration[] = [
  {
    name: '0001-software',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('orchestration_software_configs')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('group', 'varchar(255)', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('inputs', 'text', (c) => c.notNull())
        .addColumn('outputs', 'text', (c) => c.notNull())
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('orchestration_software_configs_project').on('orchestration_software_configs').columns(['project_id', 'created_at']).execute();
      await db.schema
        .createTable('orchestration_software_deployments')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('config_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('server_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('action', 'varchar(64)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('status_reason', 'text', (c) => c.notNull())
        .addColumn('input_values', 'text', (c) => c.notNull())
        .addColumn('output_values', 'text')
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('orchestration_software_deployments_server').on('orchestration_software_deployments').columns(['project_id', 'server_id']).execute();
    },
  },
];

export class SoftwareStore {
  private constructor(private readonly db: Kysely<any>) {}

  static async create(database: Database): Promise<SoftwareStore> {
    await migrate(database, 'orchestration-software', migrations);
    return new SoftwareStore(database.db);
  }

  async insertConfig(row: SoftwareConfigRow): Promise<void> {
    await this.db.insertInto('orchestration_software_configs').values(row).execute();
  }

  /** The project's config, or undefined (another project's is as unknown). */
  async config(projectId: string, id: string): Promise<SoftwareConfigRow | undefined> {
    return (await this.db.selectFrom('orchestration_software_configs').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as SoftwareConfigRow | undefined;
  }

  async configs(projectId: string, opts: { limit: number; marker?: SoftwareConfigRow }): Promise<SoftwareConfigRow[]> {
    let q = this.db.selectFrom('orchestration_software_configs').selectAll().where('project_id', '=', projectId);
    if (opts.marker) {
      const m = opts.marker;
      q = q.where((eb) => eb.or([eb('created_at', '>', m.created_at), eb.and([eb('created_at', '=', m.created_at), eb('id', '>', m.id)])]));
    }
    return (await q.orderBy('created_at').orderBy('id').limit(opts.limit).execute()) as SoftwareConfigRow[];
  }

  async configsByIds(projectId: string, ids: string[]): Promise<SoftwareConfigRow[]> {
    if (ids.length === 0) return [];
    return (await this.db.selectFrom('orchestration_software_configs').selectAll().where('project_id', '=', projectId).where('id', 'in', ids).execute()) as SoftwareConfigRow[];
  }

  async deleteConfig(projectId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('orchestration_software_configs').where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async insertDeployment(row: SoftwareDeploymentRow): Promise<void> {
    await this.db.insertInto('orchestration_software_deployments').values(row).execute();
  }

  async deployment(projectId: string, id: string): Promise<SoftwareDeploymentRow | undefined> {
    return (await this.db.selectFrom('orchestration_software_deployments').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as SoftwareDeploymentRow | undefined;
  }

  async deployments(projectId: string, serverId?: string): Promise<SoftwareDeploymentRow[]> {
    let q = this.db.selectFrom('orchestration_software_deployments').selectAll().where('project_id', '=', projectId);
    if (serverId !== undefined) q = q.where('server_id', '=', serverId);
    return (await q.orderBy('created_at').orderBy('id').limit(10_000).execute()) as SoftwareDeploymentRow[];
  }

  async inProgressDeployments(): Promise<SoftwareDeploymentRow[]> {
    return (await this.db.selectFrom('orchestration_software_deployments').selectAll().where('status', '=', 'IN_PROGRESS').execute()) as SoftwareDeploymentRow[];
  }

  async deploymentsUsing(configId: string): Promise<number> {
    const r = (await this.db.selectFrom('orchestration_software_deployments').select((eb) => eb.fn.countAll().as('n')).where('config_id', '=', configId).executeTakeFirst()) as { n: number | string | bigint } | undefined;
    return Number(r?.n ?? 0);
  }

  async updateDeployment(id: string, fields: Partial<SoftwareDeploymentRow>, onlyGeneration?: number): Promise<boolean> {
    let q = this.db.updateTable('orchestration_software_deployments').set(fields).where('id', '=', id);
    if (onlyGeneration !== undefined) q = q.where('generation', '=', onlyGeneration);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async deleteDeployment(projectId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('orchestration_software_deployments').where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
