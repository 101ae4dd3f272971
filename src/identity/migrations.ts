// Identity's tables. Portable SQL: ids are text, booleans 0/1 integers, JSON and times as text.
import type { Kysely } from 'kysely';
import type { Migration } from '../platform/db/migrations.ts';
import type { Dialect } from '../platform/db/database.ts';

export const identityMigrations: Migration[] = [
  {
    name: '0001-initial',
    async up(db: Kysely<any>, dialect: Dialect) {
      await db.schema
        .createTable('identity_domains')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('identity_projects')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().references('identity_domains.id'))
        .addColumn('parent_id', 'varchar(64)', (c) => c.references('identity_projects.id'))
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('identity_projects_domain_name', ['domain_id', 'name'])
        .execute();
      await db.schema
        .createTable('identity_users')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().references('identity_domains.id'))
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('password_hash', 'text')
        .addColumn('default_project_id', 'varchar(64)')
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('email', 'text')
        .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', 'varchar(32)')
        .addColumn('password_changed_at', 'varchar(32)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('identity_users_domain_name', ['domain_id', 'name'])
        .execute();
      await db.schema
        .createTable('identity_groups')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().references('identity_domains.id'))
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('identity_groups_domain_name', ['domain_id', 'name'])
        .execute();
      await db.schema
        .createTable('identity_group_members')
        .addColumn('group_id', 'varchar(64)', (c) => c.notNull().references('identity_groups.id').onDelete('cascade'))
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('identity_users.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('identity_group_members_pk', ['group_id', 'user_id'])
        .execute();
      await db.schema
        .createTable('identity_roles')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        // '' for global roles so the unique constraint works the same on both dialects
        .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().defaultTo(''))
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('identity_roles_domain_name', ['domain_id', 'name'])
        .execute();
      await db.schema
        .createTable('identity_implied_roles')
        .addColumn('prior_role_id', 'varchar(64)', (c) => c.notNull().references('identity_roles.id').onDelete('cascade'))
        .addColumn('implied_role_id', 'varchar(64)', (c) => c.notNull().references('identity_roles.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('identity_implied_roles_pk', ['prior_role_id', 'implied_role_id'])
        .execute();
      // actor_type: user|group; target_type: project|domain|system (target_id 'all' for system)
      await db.schema
        .createTable('identity_assignments')
        .addColumn('actor_type', 'varchar(16)', (c) => c.notNull())
        .addColumn('actor_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('target_type', 'varchar(16)', (c) => c.notNull())
        .addColumn('target_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('identity_roles.id').onDelete('cascade'))
        .addColumn('inherited', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('identity_assignments_pk', ['actor_type', 'actor_id', 'target_type', 'target_id', 'role_id', 'inherited'])
        .execute();
      await db.schema.createIndex('identity_assignments_target').on('identity_assignments').columns(['target_type', 'target_id']).execute();
      await db.schema
        .createTable('identity_regions')
        .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('parent_region_id', 'varchar(255)')
        .execute();
      await db.schema
        .createTable('identity_services')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('type', 'varchar(255)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .createTable('identity_endpoints')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('service_id', 'varchar(64)', (c) => c.notNull().references('identity_services.id').onDelete('cascade'))
        .addColumn('interface', 'varchar(16)', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('region_id', 'varchar(255)')
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .createTable('identity_app_credentials')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('identity_users.id').onDelete('cascade'))
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('expires_at', 'varchar(32)')
        .addColumn('unrestricted', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('access_rules', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addUniqueConstraint('identity_app_credentials_user_name', ['user_id', 'name'])
        .execute();
      // A token issued before `issued_before` that matches every non-null column is revoked.
      await db.schema
        .createTable('identity_revocations')
        .addColumn('seq', dialect === 'postgres' ? 'serial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('user_id', 'varchar(64)')
        .addColumn('project_id', 'varchar(64)')
        .addColumn('domain_id', 'varchar(64)')
        .addColumn('role_id', 'varchar(64)')
        .addColumn('audit_id', 'varchar(64)')
        .addColumn('app_cred_id', 'varchar(64)')
        .addColumn('issued_before', 'varchar(32)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
        .execute();
    },
  },
  {
    name: '0002-trusts',
    async up(db: Kysely<any>) {
      // OS-TRUST: a trustor delegates roles on a project to a trustee. `roles` holds the role ids.
      await db.schema
        .createTable('identity_trusts')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('trustor_user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('trustee_user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(64)')
        .addColumn('impersonation', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(32)')
        .addColumn('remaining_uses', 'integer')
        .addColumn('allow_redelegation', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('redelegation_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('redelegated_trust_id', 'varchar(64)')
        .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('identity_trusts_trustor').on('identity_trusts').column('trustor_user_id').execute();
      await db.schema.createIndex('identity_trusts_trustee').on('identity_trusts').column('trustee_user_id').execute();
      await db.schema.createIndex('identity_trusts_parent').on('identity_trusts').column('redelegated_trust_id').execute();
      await db.schema.alterTable('identity_revocations').addColumn('trust_id', 'varchar(64)').execute();
    },
  },
  {
    name: '0003-user-options-extra-password-history',
    async up(db: Kysely<any>) {
      // Any attribute a user was given that Keystone does not name (JSON), and Keystone's per-user options.
      await db.schema.alterTable('identity_users').addColumn('extra', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      await db.schema.alterTable('identity_users').addColumn('options', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      // 1 when an administrator set the password (create or reset): the user must change it at first use.
      await db.schema.alterTable('identity_users').addColumn('password_must_change', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      // 1 when the user chose the password (POST /users/{id}/password): only then does the minimum age apply.
      await db.schema.alterTable('identity_users').addColumn('password_self_service', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema
        .createTable('identity_password_history')
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('identity_users.id').onDelete('cascade'))
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('identity_password_history_user').on('identity_password_history').columns(['user_id', 'created_at']).execute();
    },
  },
  {
    name: '0004-credentials-policies-consumers-limits',
    async up(db: Kysely<any>) {
      // Credentials (ec2 and others): the blob is kept encrypted (credential-keys.ts).
      await db.schema
        .createTable('identity_credentials')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('identity_users.id').onDelete('cascade'))
        .addColumn('project_id', 'varchar(64)')
        .addColumn('type', 'varchar(255)', (c) => c.notNull())
        .addColumn('blob', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('identity_credentials_user').on('identity_credentials').column('user_id').execute();
      await db.schema
        .createTable('identity_policies')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('type', 'varchar(255)', (c) => c.notNull())
        .addColumn('blob', 'text', (c) => c.notNull())
        .addColumn('extra', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema
        .createTable('identity_consumers')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      // '' for no region, so that the unique constraints work the same on both dialects.
      await db.schema
        .createTable('identity_registered_limits')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('service_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('region_id', 'varchar(255)', (c) => c.notNull().defaultTo(''))
        .addColumn('resource_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('default_limit', 'integer', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addUniqueConstraint('identity_registered_limits_unique', ['service_id', 'region_id', 'resource_name'])
        .execute();
      // target_id is the project or domain the limit is for.
      await db.schema
        .createTable('identity_limits')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)')
        .addColumn('domain_id', 'varchar(64)')
        .addColumn('target_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('service_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('region_id', 'varchar(255)', (c) => c.notNull().defaultTo(''))
        .addColumn('resource_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('resource_limit', 'integer', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addUniqueConstraint('identity_limits_unique', ['target_id', 'service_id', 'region_id', 'resource_name'])
        .execute();
    },
  },
  {
    name: '0005-access-rules',
    async up(db: Kysely<any>) {
      // A user's access rules (Keystone's access_rule table): application credentials name them by id
      // in their access_rules column; one rule per user, service, method and path.
      await db.schema
        .createTable('identity_access_rules')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('identity_users.id').onDelete('cascade'))
        .addColumn('service', 'varchar(64)', (c) => c.notNull())
        .addColumn('method', 'varchar(16)', (c) => c.notNull())
        .addColumn('path', 'varchar(225)', (c) => c.notNull())
        .addUniqueConstraint('identity_access_rules_unique', ['user_id', 'service', 'method', 'path'])
        .execute();
    },
  },
  {
    name: '0006-endpoint-filter',
    async up(db: Kysely<any>) {
      // OS-EP-FILTER: endpoints shown to a project, directly or through endpoint groups (filters as JSON).
      await db.schema
        .createTable('identity_project_endpoints')
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull().references('identity_projects.id').onDelete('cascade'))
        .addColumn('endpoint_id', 'varchar(64)', (c) => c.notNull().references('identity_endpoints.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('identity_project_endpoints_pk', ['project_id', 'endpoint_id'])
        .execute();
      await db.schema.createIndex('identity_project_endpoints_endpoint').on('identity_project_endpoints').column('endpoint_id').execute();
      await db.schema
        .createTable('identity_endpoint_groups')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('filters', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema
        .createTable('identity_project_endpoint_groups')
        .addColumn('endpoint_group_id', 'varchar(64)', (c) => c.notNull().references('identity_endpoint_groups.id').onDelete('cascade'))
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull().references('identity_projects.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('identity_project_endpoint_groups_pk', ['endpoint_group_id', 'project_id'])
        .execute();
      await db.schema.createIndex('identity_project_endpoint_groups_project').on('identity_project_endpoint_groups').column('project_id').execute();
    },
  },
  {
    name: '0007-domain-configs',
    async up(db: Kysely<any>) {
      // A domain's specific configuration (Keystone's domain_config): { group: { option: value } } as JSON.
      await db.schema
        .createTable('identity_domain_configs')
        .addColumn('domain_id', 'varchar(64)', (c) => c.primaryKey().references('identity_domains.id').onDelete('cascade'))
        .addColumn('config', 'text', (c) => c.notNull())
        .execute();
    },
  },
];
