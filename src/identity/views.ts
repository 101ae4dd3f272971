// Keystone v3 wire shapes for identity rows and tokens (snake_case, as the API reference spells them).
import type { TokenClaims } from './tokens.ts';
import type {
  DomainRow,
  EndpointRow,
  GroupRow,
  ProjectRow,
  RegionRow,
  RoleRow,
  ServiceRow,
  TrustRow,
  UserRow,
} from './store.ts';

export type Links = (path: string) => { self: string };

export function keystoneTime(t: number | string): string {
  const iso = new Date(typeof t === 'number' ? t * 1000 : t).toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000Z`;
}

/** How Keystone writes some times (users' password expiry, application credentials): microseconds, no zone. */
export function keystoneMicros(stored: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(stored);
  if (m) return `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}`;
  return `${new Date(stored).toISOString().slice(0, 23)}000`;
}

export const domainView = (r: DomainRow, links: Links) => ({
  id: r.id,
  name: r.name,
  description: r.description,
  enabled: Boolean(r.enabled),
  tags: JSON.parse(r.tags),
  options: {},
  links: links(`/domains/${r.id}`),
});

export const projectView = (r: ProjectRow, links: Links) => ({
  id: r.id,
  name: r.name,
  domain_id: r.domain_id,
  parent_id: r.parent_id ?? r.domain_id,
  description: r.description,
  enabled: Boolean(r.enabled),
  is_domain: false,
  tags: JSON.parse(r.tags),
  options: {},
  links: links(`/projects/${r.id}`),
});

/** A domain shown as the project that acts as it (`is_domain: true`). */
export const domainAsProjectView = (r: DomainRow, links: Links) => ({
  id: r.id,
  name: r.name,
  domain_id: null,
  parent_id: null,
  description: r.description,
  enabled: Boolean(r.enabled),
  is_domain: true,
  tags: JSON.parse(r.tags),
  options: {},
  links: links(`/projects/${r.id}`),
});

/** The attributes Keystone names on a user; anything else a user was given is kept in `extra`. */
export const USER_ATTRIBUTES = new Set(['id', 'name', 'domain_id', 'enabled', 'password', 'default_project_id', 'description', 'email', 'options', 'links', 'password_expires_at', 'federated']);

export const userView = (r: UserRow, links: Links, passwordExpiresAt: string | null = null) => ({
  ...(r.extra ? (JSON.parse(r.extra) as Record<string, unknown>) : {}),
  id: r.id,
  name: r.name,
  domain_id: r.domain_id,
  enabled: Boolean(r.enabled),
  ...(r.default_project_id ? { default_project_id: r.default_project_id } : {}),
  ...(r.description ? { description: r.description } : {}),
  ...(r.email ? { email: r.email } : {}),
  password_expires_at: passwordExpiresAt ? keystoneMicros(passwordExpiresAt) : null,
  options: r.options ? JSON.parse(r.options) : {},
  links: links(`/users/${r.id}`),
});

export const groupView = (r: GroupRow, links: Links) => ({
  id: r.id,
  name: r.name,
  domain_id: r.domain_id,
  description: r.description,
  links: links(`/groups/${r.id}`),
});

export const roleView = (r: RoleRow, links: Links) => ({
  id: r.id,
  name: r.name,
  domain_id: r.domain_id === '' ? null : r.domain_id,
  description: r.description,
  options: {},
  links: links(`/roles/${r.id}`),
});

export const regionView = (r: RegionRow, links: Links) => ({
  id: r.id,
  description: r.description,
  parent_region_id: r.parent_region_id,
  links: links(`/regions/${r.id}`),
});

export const serviceView = (r: ServiceRow, links: Links) => ({
  id: r.id,
  type: r.type,
  name: r.name,
  description: r.description,
  enabled: Boolean(r.enabled),
  links: links(`/services/${r.id}`),
});

export const endpointView = (r: EndpointRow, links: Links) => ({
  id: r.id,
  service_id: r.service_id,
  interface: r.interface,
  url: r.url,
  region: r.region_id,
  region_id: r.region_id,
  enabled: Boolean(r.enabled),
  links: links(`/endpoints/${r.id}`),
});

export type CatalogEntry = {
  id: string;
  type: string;
  name: string;
  endpoints: { id: string; interface: string; region: string | null; region_id: string | null; url: string }[];
};

/**
 * The catalog as a token of `projectId` sees it: Keystone fills `$(project_id)s` / `$(tenant_id)s`
 * (and the `%(...)s` spellings) in endpoint URLs, and leaves out endpoints it cannot fill.
 */
export function catalogFor(catalog: CatalogEntry[], projectId: string | undefined): CatalogEntry[] {
  const templated = /[$%]\((project_id|tenant_id)\)s/g;
  return catalog.map((c) => ({
    ...c,
    endpoints: c.endpoints.flatMap((e) => {
      if (!e.url.match(templated)) return [e];
      return projectId ? [{ ...e, url: e.url.replace(templated, projectId) }] : [];
    }),
  }));
}

/** A token's body; `template` fills the catalog's project URLs (false when the catalog is already the project's). */
export function tokenView(claims: TokenClaims, catalog: CatalogEntry[] | undefined, template = true) {
  const s = claims.scope;
  if (catalog && template) catalog = catalogFor(catalog, s.kind === 'project' ? s.id : undefined);
  return {
    token: {
      methods: claims.methods,
      user: {
        id: claims.userId,
        name: claims.userName,
        domain: { id: claims.userDomainId, name: claims.userDomainName },
        password_expires_at: claims.passwordExpiresAt ? keystoneMicros(claims.passwordExpiresAt) : null,
      },
      audit_ids: claims.auditIds,
      expires_at: keystoneTime(claims.expiresAt),
      issued_at: keystoneTime(claims.issuedAt),
      ...(s.kind === 'project'
        ? { project: { id: s.id, name: s.name, domain: { id: s.domainId, name: s.domainName } }, is_domain: false }
        : {}),
      ...(s.kind === 'domain' ? { domain: { id: s.id, name: s.name } } : {}),
      ...(s.kind === 'system' ? { system: { all: true } } : {}),
      ...(s.kind !== 'unscoped' ? { roles: claims.roles } : {}),
      ...(claims.appCredId
        ? { application_credential: { id: claims.appCredId, restricted: true, ...(claims.accessRules ? { access_rules: claims.accessRules } : {}) } }
        : {}),
      ...(claims.trust
        ? {
            'OS-TRUST:trust': {
              id: claims.trust.id,
              impersonation: claims.trust.impersonation,
              trustee_user: { id: claims.trust.trusteeId },
              trustor_user: { id: claims.trust.trustorId },
            },
          }
        : {}),
      ...(catalog && s.kind !== 'unscoped' ? { catalog } : {}),
    },
  };
}

/** A trust as Keystone shows it; lists leave the roles out, as Keystone's do. */
export function trustView(r: TrustRow, base: string, roles?: RoleRow[]) {
  return {
    id: r.id,
    trustor_user_id: r.trustor_user_id,
    trustee_user_id: r.trustee_user_id,
    project_id: r.project_id,
    impersonation: Boolean(r.impersonation),
    expires_at: r.expires_at ? keystoneTime(r.expires_at) : null,
    remaining_uses: r.remaining_uses,
    allow_redelegation: Boolean(r.allow_redelegation),
    redelegation_count: r.redelegation_count,
    ...(r.redelegated_trust_id ? { redelegated_trust_id: r.redelegated_trust_id } : {}),
    ...(roles
      ? {
          roles: roles.map((role) => roleView(role, (path) => ({ self: `${base}${path}` }))),
          roles_links: { self: `${base}/OS-TRUST/trusts/${r.id}/roles`, previous: null, next: null },
        }
      : {}),
    links: { self: `${base}/OS-TRUST/trusts/${r.id}` },
  };
}
