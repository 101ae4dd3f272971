// Image rows and image members. The store owns its SQL and migrations; visibility rules live in the service.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/database.ts';
import { isUniqueViolation } from '../platform/db/database.ts';
import { migrate, type Migration } from '../platform/db/migrations.ts';
import { ConflictError } from '../platform/errors.ts';
import type { ImageStatus } from './client.ts';

export interface ImageRow {
  id: string;
  name: string | null;
  status: ImageStatus;
  container_format: string | null;
  disk_format: string | null;
  owner: string;
  visibility: 'private' | 'shared' | 'community' | 'public';
  protected: number;
  os_hidden: number;
  size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_ram: number;
  min_disk: number;
  properties: string;
  tags: string;
  /** `sha256:<config digest>` of a docker image's data, recorded at upload: its engine image id. */
  docker_image_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface MemberRow {
  image_id: string;
  member_id: string;
  status: 'pending' | 'accepted' | 'rejected';
  created_at: string;
  updated_at: string;
}

const migrations: Migration[] = [
  {
    name: '0001-initial',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('image_images')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)')
        .addColumn('status', 'varchar(30)', (c) => c.notNull())
        .addColumn('container_format', 'varchar(32)')
        .addColumn('disk_format', 'varchar(32)')
        .addColumn('owner', 'varchar(64)', (c) => c.notNull())
        .addColumn('visibility', 'varchar(16)', (c) => c.notNull())
        .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('os_hidden', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('size', 'bigint')
        .addColumn('checksum', 'varchar(32)')
        .addColumn('os_hash_algo', 'varchar(64)')
        .addColumn('os_hash_value', 'varchar(128)')
        .addColumn('min_ram', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('min_disk', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('properties', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('image_images_owner').on('image_images').column('owner').execute();
      await db.schema
        .createTable('image_members')
        .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image_images.id').onDelete('cascade'))
        .addColumn('member_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .addPrimaryKeyConstraint('image_members_pk', ['image_id', 'member_id'])
        .execute();
    },
  },
  {
    // Engines know an image by its content; the digest is recorded once, from the data itself.
    name: '0002-docker-image-id',
    async up(db: Kysely<any>) {
      await db.schema.alterTable('image_images').addColumn('docker_image_id', 'varchar(71)').execute();
    },
  },
];

export class ImageStore {
  private constructor(private readonly db: Kysely<any>) {}

  static async create(database: Database): Promise<ImageStore> {
    await migrate(database, 'image', migrations);
    return new ImageStore(database.db);
  }

  async get(id: string): Promise<ImageRow | undefined> {
    return (await this.db.selectFrom('image_images').selectAll().where('id', '=', id).executeTakeFirst()) as ImageRow | undefined;
  }

  /** Every image a project may see in a listing: its own, public, community and shared-with-it ones. */
  async visibleTo(projectId: string | undefined, all: boolean): Promise<ImageRow[]> {
    let q = this.db.selectFrom('image_images').selectAll();
    if (!all) {
      q = q.where((eb) =>
        eb.or([
          eb('owner', '=', projectId ?? ''),
          eb('visibility', 'in', ['public', 'community']),
          eb.and([
            eb('visibility', '=', 'shared'),
            eb('id', 'in', eb.selectFrom('image_members').select('image_id').where('member_id', '=', projectId ?? '')),
          ]),
        ]),
      );
    }
    return (await q.where('status', '!=', 'deleted').execute()) as ImageRow[];
  }

  async insert(row: ImageRow): Promise<void> {
    try {
      await this.db.insertInto('image_images').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`An image with identifier ${row.id} already exists`);
      throw err;
    }
  }

  async update(id: string, changes: Partial<ImageRow>): Promise<void> {
    await this.db.updateTable('image_images').set({ ...changes, updated_at: new Date().toISOString() }).where('id', '=', id).execute();
  }

  /** Moves an image from one status to another only if it is still in the first: false if it was not. */
  async transition(id: string, from: ImageStatus[], to: ImageStatus, changes: Partial<ImageRow> = {}): Promise<boolean> {
    const r = await this.db
      .updateTable('image_images')
      .set({ ...changes, status: to, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Marks an image deleted and drops its members. The row stays (as in Glance), so its id can never
   * be taken again by another image and stand for other content.
   */
  async markDeleted(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('image_members').where('image_id', '=', id).execute();
      await tx.updateTable('image_images').set({ status: 'deleted', updated_at: new Date().toISOString() }).where('id', '=', id).execute();
    });
  }

  /** Deleted images whose data may still be stored (a crash between marking and removing). */
  async deletedWithData(): Promise<string[]> {
    const rows = await this.db.selectFrom('image_images').select('id').where('status', '=', 'deleted').where('size', 'is not', null).execute();
    return rows.map((r) => r.id as string);
  }

  async resetSaving(): Promise<number> {
    const r = await this.db
      .updateTable('image_images')
      .set({ status: 'queued', updated_at: new Date().toISOString() })
      .where('status', 'in', ['saving', 'importing', 'uploading'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async usage(projectId: string): Promise<{ count: number; bytes: number }> {
    const r = (await this.db
      .selectFrom('image_images')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.sum('size').as('bytes')])
      .where('owner', '=', projectId)
      .where('status', '!=', 'deleted')
      .executeTakeFirst()) as { count: number | string; bytes: number | string | null };
    return { count: Number(r.count), bytes: Number(r.bytes ?? 0) };
  }

  // ---- members

  async members(imageId: string): Promise<MemberRow[]> {
    return (await this.db.selectFrom('image_members').selectAll().where('image_id', '=', imageId).orderBy('member_id').execute()) as MemberRow[];
  }
  async member(imageId: string, memberId: string): Promise<MemberRow | undefined> {
    return (await this.db
      .selectFrom('image_members')
      .selectAll()
      .where('image_id', '=', imageId)
      .where('member_id', '=', memberId)
      .executeTakeFirst()) as MemberRow | undefined;
  }
  async addMember(row: MemberRow): Promise<void> {
    try {
      await this.db.insertInto('image_members').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Member ${row.member_id} already exists for image ${row.image_id}.`);
      throw err;
    }
  }
  async setMemberStatus(imageId: string, memberId: string, status: MemberRow['status']): Promise<void> {
    await this.db
      .updateTable('image_members')
      .set({ status, updated_at: new Date().toISOString() })
      .where('image_id', '=', imageId)
      .where('member_id', '=', memberId)
      .execute();
  }
  async removeMember(imageId: string, memberId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('image_members').where('image_id', '=', imageId).where('member_id', '=', memberId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
