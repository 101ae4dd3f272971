// Domain-specific configuration (Keystone's /v3/domains/{d}/config): per-domain values of the
// `identity` and `ldap` options Keystone lets a domain set, kept whole as { group: { option: value } }.
// hafen has one SQL identity backend, so the values are kept and answered, not acted on.
import type { RequestContext } from '../platform/auth/context.ts';
import { ForbiddenError, NotFoundError } from '../platform/errors.ts';
import type { IdentityService } from './service.ts';

export type ConfigValue = string | number | boolean | null;
export type DomainConfig = Record<string, Record<string, ConfigValue>>;

/** Keystone's whitelist: the options a domain may set, and the one kept but never shown. */
const OPTIONS: Record<string, readonly string[]> = {
  identity: ['driver', 'list_limit'],
  ldap: [
    'url', 'user', 'password', 'suffix', 'query_scope', 'page_size', 'alias_dereferencing', 'debug_level', 'chase_referrals',
    'user_tree_dn', 'user_filter', 'user_objectclass', 'user_id_attribute', 'user_name_attribute', 'user_mail_attribute',
    'user_description_attribute', 'user_pass_attribute', 'user_enabled_attribute', 'user_enabled_invert', 'user_enabled_mask',
    'user_enabled_default', 'user_attribute_ignore', 'user_default_project_id_attribute', 'user_enabled_emulation',
    'user_enabled_emulation_dn', 'user_enabled_emulation_use_group_config', 'user_additional_attribute_mapping',
    'group_tree_dn', 'group_filter', 'group_objectclass', 'group_id_attribute', 'group_name_attribute', 'group_members_are_ids',
    'group_member_attribute', 'group_desc_attribute', 'group_attribute_ignore', 'group_additional_attribute_mapping',
    'tls_cacertfile', 'tls_cacertdir', 'use_tls', 'tls_req_cert', 'use_pool', 'pool_size', 'pool_retry_max', 'pool_retry_delay',
    'pool_connection_timeout', 'pool_connection_lifetime', 'use_auth_pool', 'auth_pool_size', 'auth_pool_connection_lifetime',
  ],
};
const SENSITIVE: Record<string, readonly string[]> = { ldap: ['password'] };

function invalid(reason: string): ForbiddenError {
  return new ForbiddenError(`Invalid domain specific configuration: ${reason}`);
}

function check(config: DomainConfig): void {
  if (Object.keys(config).length === 0) throw invalid('the configuration is empty.');
  for (const [group, options] of Object.entries(config)) {
    const allowed = OPTIONS[group];
    if (!allowed) throw invalid(`group ${group} is not supported.`);
    if (Object.keys(options).length === 0) throw invalid(`group ${group} has no options.`);
    for (const option of Object.keys(options)) {
      if (!allowed.includes(option)) throw invalid(`option ${option} in group ${group} is not supported.`);
    }
  }
}

/** What may be shown: everything but the sensitive options. */
function visible(config: DomainConfig): DomainConfig {
  const out: DomainConfig = {};
  for (const [group, options] of Object.entries(config)) {
    const hidden = SENSITIVE[group] ?? [];
    const shown = Object.fromEntries(Object.entries(options).filter(([o]) => !hidden.includes(o)));
    if (Object.keys(shown).length > 0) out[group] = shown;
  }
  return out;
}

export class DomainConfigs {
  constructor(private readonly identity: IdentityService) {}

  private get db() {
    return this.identity.store.db;
  }

  private async load(domainId: string): Promise<DomainConfig | undefined> {
    const row = (await this.db.selectFrom('identity_domain_configs').select('config').where('domain_id', '=', domainId).executeTakeFirst()) as { config: string } | undefined;
    return row ? (JSON.parse(row.config) as DomainConfig) : undefined;
  }

  private async mustLoad(domainId: string): Promise<DomainConfig> {
    const config = await this.load(domainId);
    if (!config) throw new NotFoundError(`Could not find domain config: ${domainId}.`);
    return config;
  }

  private async save(domainId: string, config: DomainConfig, exists: boolean): Promise<void> {
    if (exists) await this.db.updateTable('identity_domain_configs').set({ config: JSON.stringify(config) }).where('domain_id', '=', domainId).execute();
    else await this.db.insertInto('identity_domain_configs').values({ domain_id: domainId, config: JSON.stringify(config) }).execute();
  }

  /** PUT: the whole configuration; true when it was made (201), false when it replaced one (200). */
  async put(ctx: RequestContext, domainId: string, config: DomainConfig): Promise<{ created: boolean; config: DomainConfig }> {
    this.identity.enforce(ctx, 'create_domain_config');
    await this.identity.domain(domainId);
    check(config);
    const exists = (await this.load(domainId)) !== undefined;
    await this.save(domainId, config, exists);
    return { created: !exists, config: visible(config) };
  }

  async get(ctx: RequestContext, domainId: string, group?: string, option?: string): Promise<DomainConfig | Record<string, ConfigValue>> {
    this.identity.enforce(ctx, 'get_domain_config');
    await this.identity.domain(domainId);
    const config = visible(await this.mustLoad(domainId));
    if (group === undefined) return config;
    const options = config[group];
    if (!options) throw new NotFoundError(`Could not find group ${group} in the configuration of domain ${domainId}.`);
    if (option === undefined) return { [group]: options } as DomainConfig;
    if (!(option in options)) throw new NotFoundError(`Could not find option ${option} in group ${group} of domain ${domainId}.`);
    return { [option]: options[option]! };
  }

  /**
   * PATCH: merges the given options into the configuration (which must exist). At a group or an
   * option, the body must name that same group or option.
   */
  async update(ctx: RequestContext, domainId: string, given: Record<string, unknown>, group?: string, option?: string): Promise<DomainConfig> {
    this.identity.enforce(ctx, 'update_domain_config');
    await this.identity.domain(domainId);
    const config = await this.mustLoad(domainId);
    let changes: DomainConfig;
    if (option !== undefined) {
      if (Object.keys(given).length !== 1 || !(option in given)) throw invalid(`the body must set option ${option} alone.`);
      changes = { [group!]: { [option]: given[option] as ConfigValue } };
    } else if (group !== undefined) {
      if (Object.keys(given).length !== 1 || !(group in given)) throw invalid(`the body must set group ${group} alone.`);
      changes = { [group]: given[group] as Record<string, ConfigValue> };
    } else {
      changes = given as DomainConfig;
    }
    check(changes);
    for (const [g, options] of Object.entries(changes)) config[g] = { ...(config[g] ?? {}), ...options };
    await this.save(domainId, config, true);
    return visible(config);
  }

  async delete(ctx: RequestContext, domainId: string, group?: string, option?: string): Promise<void> {
    this.identity.enforce(ctx, 'delete_domain_config');
    await this.identity.domain(domainId);
    const config = await this.mustLoad(domainId);
    if (group === undefined) {
      await this.db.deleteFrom('identity_domain_configs').where('domain_id', '=', domainId).execute();
      return;
    }
    const options = config[group];
    if (!options) throw new NotFoundError(`Could not find group ${group} in the configuration of domain ${domainId}.`);
    if (option === undefined) delete config[group];
    else if (!(option in options)) throw new NotFoundError(`Could not find option ${option} in group ${group} of domain ${domainId}.`);
    else delete options[option];
    if (config[group] && Object.keys(config[group]).length === 0) delete config[group];
    if (Object.keys(config).length === 0) await this.db.deleteFrom('identity_domain_configs').where('domain_id', '=', domainId).execute();
    else await this.save(domainId, config, true);
  }
}
