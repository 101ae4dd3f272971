// Orchestration's rows: stacks (with their template, environment, creator and the delegation their
// work after the request runs through), resources with their state and physical ids, and events.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/database.ts';
import { isUniqueViolation } from '../platform/db/database.ts';
import { migrate, type Migration } from '../platform/db/migrations.ts';
import { ConflictError } from '../platform/errors.ts';

export type StackAction = 'CREATE' | 'UPDATE' | 'DELETE' | 'ROLLBACK' | 'SUSPEND' | 'RESUME' | 'CHECK' | 'ADOPT' | 'INIT';
export type Status = 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';

export interface StackRow {
  id: string;
  name: string;
  project_id: string;
  user_id: string;
  parent_id: string | null;
  /** The resource of the parent stack this nested stack stands for. */
  parent_resource: string | null;
  action: StackAction;
  status: Status;
  status_reason: string;
  /** JSON: the template document as given (after Compose translation). */
  template: string;
  /** JSON: the merged environment. */
  environment: string;
  /** JSON: files (get_file, nested templates). */
  files: string;
  /** JSON: the caller's parameter values (not defaults). */
  parameters: string;
  disable_rollback: number;
  timeout_mins: number | null;
  /** JSON list or null. */
  tags: string | null;
  /** The name of the user who created the stack (Heat's stack_owner). */
  owner_name: string | null;
  /**
   * The delegation (a trust) the operation under way acts through once its request is gone: made
   * from the user who asked for it, with that user's roles; null when no operation needs one.
   */
  trust_id: string | null;
  /** JSON: the previous template/environment/files/parameters during an update, for rollback. */
  previous: string | null;
  created_at: string;
  updated_at: string | null;
}

export interface ResourceRow {
  id: string;
  stack_id: string;
  name: string;
  type: string;
  physical_id: string | null;
  action: StackAction;
  status: Status;
  status_reason: string;
  /** JSON: the resolved properties the resource was last created or updated with. */
  properties: string;
  /** JSON: the resource's private data. */
  data: string;
  /** JSON: the template metadata, or what a signal set. */
  metadata: string;
  /** 1 for the resource the stack uses; 0 for one replaced during an update and not yet deleted. */
  current: number;
  physical_name: string;
  created_at: string;
  updated_at: string | null;
}

export interface EventRow {
  seq: number;
  id: string;
  stack_id: string;
  resource_name: string;
  resource_type: string;
  physical_id: string | null;
  action: string;
  status: string;
  reason: string;
  properties: string;
  created_at: string;
}

const migrations: Migration[] = [
  {
    name: '0001-initial',
    async up(db: Kysely<any>, dialect) {
      await db.schema
        .createTable('orchestration_stacks')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('parent_id', 'varchar(64)')
        .addColumn('parent_resource', 'varchar(255)')
        .addColumn('action', 'varchar(16)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('status_reason', 'text', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('files', 'text', (c) => c.notNull())
        .addColumn('parameters', 'text', (c) => c.notNull())
        .addColumn('disable_rollback', 'integer', (c) => c.notNull())
        .addColumn('timeout_mins', 'integer')
        .addColumn('tags', 'text')
        .addColumn('owner_context', 'text', (c) => c.notNull())
        .addColumn('previous', 'text')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('orchestration_stacks_name').on('orchestration_stacks').columns(['project_id', 'name']).unique().execute();
      await db.schema.createIndex('orchestration_stacks_parent').on('orchestration_stacks').column('parent_id').execute();
      await db.schema
        .createTable('orchestration_resources')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('stack_id', 'varchar(64)', (c) => c.notNull().references('orchestration_stacks.id').onDelete('cascade'))
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('type', 'varchar(255)', (c) => c.notNull())
        .addColumn('physical_id', 'varchar(255)')
        .addColumn('action', 'varchar(16)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('status_reason', 'text', (c) => c.notNull())
        .addColumn('properties', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('current', 'integer', (c) => c.notNull())
        .addColumn('physical_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('orchestration_resources_stack').on('orchestration_resources').columns(['stack_id', 'name']).execute();
      await db.schema
        .createTable('orchestration_events')
        .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('id', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('stack_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('resource_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('resource_type', 'varchar(255)', (c) => c.notNull())
        .addColumn('physical_id', 'varchar(255)')
        .addColumn('action', 'varchar(16)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('properties', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('orchestration_events_stack').on('orchestration_events').columns(['stack_id', 'seq']).execute();
    },
  },
  {
    // Stacks no longer keep their creator's roles: work after a request runs through a delegation
    // of the user who asked (trust_id), and only the creator's name stays (stack_owner).
    name: '0002-delegations',
    async up(db: Kysely<any>) {
      await db.schema.alterTable('orchestration_stacks').addColumn('owner_name', 'varchar(255)').execute();
      await db.schema.alterTable('orchestration_stacks').addColumn('trust_id', 'varchar(64)').execute();
      const rows = (await db.selectFrom('orchestration_stacks').select(['id', 'owner_context']).execute()) as { id: string; owner_context: string }[];
      for (const r of rows) {
        let name: string | null = null;
        try {
          name = (JSON.parse(r.owner_context) as { userName?: string }).userName ?? null;
        } catch {
          // unreadable: no owner name
        }
        await db.updateTable('orchestration_stacks').set({ owner_name: name }).where('id', '=', r.id).execute();
      }
      await db.schema.alterTable('orchestration_stacks').dropColumn('owner_context').execute();
    },
  },
  {
    // Delegations are identity's trusts now; the table that held them for a while goes.
    name: '0003-delegations-in-identity',
    async up(db: Kysely<any>) {
      await db.schema.dropTable('orchestration_delegations').ifExists().execute();
    },
  },
];

export class OrchestrationStore {
  private constructor(private readonly db: Kysely<any>) {}

  static async create(database: Database): Promise<OrchestrationStore> {
    await migrate(database, 'orchestration', migrations);
    return new OrchestrationStore(database.db);
  }

  async insertStack(row: StackRow): Promise<void> {
    try {
      await this.db.insertInto('orchestration_stacks').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`The Stack (${row.name}) already exists.`);
      throw err;
    }
  }

  async stack(id: string): Promise<StackRow | undefined> {
    return (await this.db.selectFrom('orchestration_stacks').selectAll().where('id', '=', id).executeTakeFirst()) as StackRow | undefined;
  }

  async stackByName(projectId: string, name: string): Promise<StackRow | undefined> {
    return (await this.db.selectFrom('orchestration_stacks').selectAll().where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst()) as StackRow | undefined;
  }

  async stacks(filter: { projectId?: string; parentId?: string | null; nested?: boolean }): Promise<StackRow[]> {
    let q = this.db.selectFrom('orchestration_stacks').selectAll();
    if (filter.projectId) q = q.where('project_id', '=', filter.projectId);
    if (filter.parentId) q = q.where('parent_id', '=', filter.parentId);
    else if (!filter.nested) q = q.where('parent_id', 'is', null);
    return (await q.orderBy('created_at', 'desc').orderBy('id').execute()) as StackRow[];
  }

  async inProgressStacks(): Promise<StackRow[]> {
    return (await this.db.selectFrom('orchestration_stacks').selectAll().where('status', '=', 'IN_PROGRESS').execute()) as StackRow[];
  }

  async updateStack(id: string, fields: Partial<StackRow>): Promise<void> {
    await this.db.updateTable('orchestration_stacks').set(fields).where('id', '=', id).execute();
  }

  /** Forgets the stack's delegation if it is still `trustId` (a later operation may have replaced it). */
  async clearTrust(id: string, trustId: string): Promise<void> {
    await this.db.updateTable('orchestration_stacks').set({ trust_id: null }).where('id', '=', id).where('trust_id', '=', trustId).execute();
  }

  async deleteStack(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('orchestration_events').where('stack_id', '=', id).execute();
      await trx.deleteFrom('orchestration_resources').where('stack_id', '=', id).execute();
      await trx.deleteFrom('orchestration_stacks').where('id', '=', id).execute();
    });
  }

  /** How many resources the stack uses now (replaced ones not counted). */
  async resourceCount(stackId: string): Promise<number> {
    const r = (await this.db.selectFrom('orchestration_resources').select((eb) => eb.fn.countAll().as('n')).where('stack_id', '=', stackId).where('current', '=', 1).executeTakeFirst()) as { n: number | string | bigint } | undefined;
    return Number(r?.n ?? 0);
  }

  async childStackIds(parentId: string): Promise<string[]> {
    return ((await this.db.selectFrom('orchestration_stacks').select('id').where('parent_id', '=', parentId).execute()) as { id: string }[]).map((r) => r.id);
  }

  async insertResource(row: ResourceRow): Promise<void> {
    await this.db.insertInto('orchestration_resources').values(row).execute();
  }

  async resources(stackId: string): Promise<ResourceRow[]> {
    return (await this.db.selectFrom('orchestration_resources').selectAll().where('stack_id', '=', stackId).orderBy('created_at').orderBy('id').execute()) as ResourceRow[];
  }

  async resourceByPhysicalId(physicalId: string, type: string): Promise<ResourceRow | undefined> {
    return (await this.db.selectFrom('orchestration_resources').selectAll().where('physical_id', '=', physicalId).where('type', '=', type).where('current', '=', 1).executeTakeFirst()) as ResourceRow | undefined;
  }

  async updateResource(id: string, fields: Partial<ResourceRow>): Promise<void> {
    await this.db.updateTable('orchestration_resources').set(fields).where('id', '=', id).execute();
  }

  async deleteResource(id: string): Promise<void> {
    await this.db.deleteFrom('orchestration_resources').where('id', '=', id).execute();
  }

  async insertEvent(row: Omit<EventRow, 'seq'>): Promise<void> {
    await this.db.insertInto('orchestration_events').values(row).execute();
  }

  async events(stackId: string): Promise<EventRow[]> {
    return (await this.db.selectFrom('orchestration_events').selectAll().where('stack_id', '=', stackId).orderBy('seq').execute()) as EventRow[];
  }
}
