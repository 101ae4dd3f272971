// First start: the default domain, the admin/member/reader roles, an admin and a demo project with
// their users, the service catalog, and clouds.yaml for the openstack CLI. Every step is idempotent,
// so each start re-runs it (catalog URLs follow the configured public URL).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import type { Config } from '../config.ts';
import { hashPassword } from './passwords.ts';
import { newId, type EndpointRow, type IdentityStore, type ProjectRow, type RoleRow, type ServiceRow, type UserRow } from './store.ts';

/**
 * The user the services' delegations are made to (the trustee of their trusts, as Heat's service
 * user is): it has no password and no roles, so nobody logs in as it; disabling it stops every delegation.
 */
export const SERVICE_USER_NAME = 'hafen-services';

/** The role of remote agents' users: the agent endpoint (/agent/v1) and nothing else. */
export const AGENT_ROLE_NAME = 'hafen-agent';

export interface BootstrapCredentials {
  admin: { username: string; password: string; project: string };
  demo: { username: string; password: string; project: string };
}

/** The services hafen itself serves, and the path under the public URL each lives at. */
export const catalogServices = [
  { type: 'identity', name: 'keystone', path: '/identity/v3' },
  { type: 'image', name: 'glance', path: '/image' },
  { type: 'compute', name: 'nova', path: '/compute/v2.1' },
  { type: 'network', name: 'neutron', path: '/network' },
  { type: 'orchestration', name: 'heat', path: '/orchestration/v1/$(project_id)s' },
  { type: 'container-infra', name: 'magnum', path: '/container-infra/v1' },
  { type: 'container', name: 'zun', path: '/container/v1' },
];

function credentialsFile(dataDir: string): string {
  return path.join(dataDir, 'bootstrap-credentials.json');
}

function loadOrCreateCredentials(config: Config): BootstrapCredentials {
  const file = credentialsFile(config.dataDir);
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as BootstrapCredentials;
    return saved;
  }
  const creds: BootstrapCredentials = {
    admin: { username: 'admin', password: config.adminPassword ?? randomBytes(12).toString('base64url'), project: 'admin' },
    demo: { username: 'demo', password: config.demoPassword ?? randomBytes(12).toString('base64url'), project: 'demo' },
  };
  fs.mkdirSync(config.dataDir, { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(creds, null, 2), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return creds;
}

export async function bootstrapIdentity(store: IdentityStore, config: Config): Promise<BootstrapCredentials> {
  const creds = loadOrCreateCredentials(config);
  const ts = store.timestamp();

  if (!(await store.get('identity_domains', 'default'))) {
    await store.insert('identity_domains', { id: 'default', name: 'Default', description: 'The default domain', enabled: 1, tags: '[]', created_at: ts }, 'domain');
  }

  const role = async (name: string): Promise<RoleRow> => {
    const existing = await store.roleByName(name);
    if (existing) return existing;
    return store.insert('identity_roles', { id: newId(), name, domain_id: '', description: '', created_at: ts }, 'role');
  };
  const admin = await role('admin');
  const member = await role('member');
  const reader = await role('reader');
  await store.addImpliedRole(admin.id, member.id);
  await store.addImpliedRole(member.id, reader.id);
  // Remote agents' credentials hold this role alone (compute:agent): it implies and is implied by nothing.
  await role(AGENT_ROLE_NAME);

  const project = async (name: string, description: string): Promise<ProjectRow> => {
    const existing = await store.projectByName('default', name);
    if (existing) return existing;
    return store.insert(
      'identity_projects',
      { id: newId(), name, domain_id: 'default', parent_id: null, description, enabled: 1, tags: '[]', created_at: ts },
      'project',
    );
  };
  const user = async (name: string, password: string, defaultProject: string): Promise<UserRow> => {
    const existing = await store.userByName('default', name);
    if (existing) return existing;
    return store.insert(
      'identity_users',
      {
        id: newId(),
        name,
        domain_id: 'default',
        enabled: 1,
        password_hash: await hashPassword(password, config.passwordHashCost),
        default_project_id: defaultProject,
        description: '',
        email: null,
        failed_logins: 0,
        locked_until: null,
        password_changed_at: ts,
        created_at: ts,
      },
      'user',
    );
  };
  const adminProject = await project(creds.admin.project, 'Bootstrap project for cloud administration');
  const demoProject = await project(creds.demo.project, 'Demo project');
  const adminUser = await user(creds.admin.username, creds.admin.password, adminProject.id);
  const demoUser = await user(creds.demo.username, creds.demo.password, demoProject.id);
  const grant = (actor: string, targetType: 'project' | 'system', target: string, roleId: string) =>
    store.addAssignment({ actor_type: 'user', actor_id: actor, target_type: targetType, target_id: target, role_id: roleId, inherited: 0 });
  await grant(adminUser.id, 'project', adminProject.id, admin.id);
  await grant(adminUser.id, 'system', 'all', admin.id);
  await grant(demoUser.id, 'project', demoProject.id, member.id);
  if (!(await store.userByName('default', SERVICE_USER_NAME))) {
    await store.insert(
      'identity_users',
      {
        id: newId(),
        name: SERVICE_USER_NAME,
        domain_id: 'default',
        enabled: 1,
        password_hash: null,
        default_project_id: null,
        description: 'Trustee of the delegations hafen\'s services act through; cannot log in.',
        email: null,
        failed_logins: 0,
        locked_until: null,
        password_changed_at: null,
        created_at: ts,
      } satisfies UserRow,
      'user',
    );
  }

  await bootstrapCatalog(store, config);
  writeCloudsYaml(config, creds);
  return creds;
}

async function bootstrapCatalog(store: IdentityStore, config: Config): Promise<void> {
  if (!(await store.get('identity_regions', config.region))) {
    await store.insert('identity_regions', { id: config.region, description: '', parent_region_id: null }, 'region');
  }
  for (const s of catalogServices) {
    let service = (await store.list<ServiceRow>('identity_services', { type: s.type, name: s.name }))[0];
    if (!service) {
      service = await store.insert(
        'identity_services',
        { id: newId(), type: s.type, name: s.name, description: `hafen ${s.type} service`, enabled: 1 },
        'service',
      );
    }
    const url = `${config.publicUrl}${s.path}`;
    const endpoints = await store.list<EndpointRow>('identity_endpoints', { service_id: service.id });
    for (const iface of ['public', 'internal', 'admin']) {
      const existing = endpoints.find((e) => e.interface === iface && e.region_id === config.region);
      if (!existing) {
        await store.insert(
          'identity_endpoints',
          { id: newId(), service_id: service.id, interface: iface, url, region_id: config.region, enabled: 1 },
          'endpoint',
        );
      } else if (existing.url !== url) {
        await store.update('identity_endpoints', existing.id, { url }, 'endpoint');
      }
    }
  }
}

export function cloudsYamlPath(config: Config): string {
  return path.join(config.dataDir, 'clouds.yaml');
}

function writeCloudsYaml(config: Config, creds: BootstrapCredentials): void {
  const cloud = (c: BootstrapCredentials['admin']) => ({
    auth: {
      auth_url: `${config.publicUrl}/identity/v3`,
      username: c.username,
      password: c.password,
      project_name: c.project,
      user_domain_name: 'Default',
      project_domain_name: 'Default',
    },
    region_name: config.region,
    interface: 'public',
    identity_api_version: 3,
  });
  const doc = { clouds: { 'hafen-admin': cloud(creds.admin), 'hafen-demo': cloud(creds.demo) } };
  const file = cloudsYamlPath(config);
  fs.writeFileSync(`${file}.tmp`, YAML.stringify(doc), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}
