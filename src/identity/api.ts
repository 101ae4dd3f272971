// Keystone v3 HTTP routes under /identity: version discovery, tokens, and the identity resources.
// Routes validate and translate; rules live in service.ts and token-service.ts.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpServer } from '../platform/http/server.ts';
import { authenticate, contextOf, type RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, NotFoundError, UnauthorizedError } from '../platform/errors.ts';
import type { IdentityService } from './service.ts';
import { objectBody } from './service.ts';
import type {
  ActorType,
  AssignmentRow,
  DomainRow,
  EndpointRow,
  Filters,
  ProjectRow,
  RegionRow,
  RoleRow,
  ServiceRow,
  TargetType,
  UserRow,
} from './store.ts';
import type { AuthRequest } from './token-service.ts';
import type { TokenClaims } from './tokens.ts';
import { TokenBodies } from './token-bodies.ts';
import {
  domainView,
  endpointView,
  projectView,
  regionView,
  roleView,
  serviceView,
  tokenView,
  userView,
  type Links,
} from './views.ts';

import { paginate, type Req, type RouteKit } from './route-kit.ts';
import { projectRoutes } from './api-projects.ts';
import { domainRoutes } from './api-domains.ts';
import { userRoutes } from './api-users.ts';
import { groupRoutes } from './api-groups.ts';
import { roleInferenceRoutes } from './api-role-inferences.ts';
import { catalogRoutes } from './api-catalog.ts';
import { appCredentialRoutes } from './api-app-credentials.ts';
import type { AppCredentials } from './app-credentials.ts';
import { trustRoutes } from './api-trusts.ts';
import type { Trusts } from './trusts.ts';
import type { Credentials } from './credentials.ts';
import type { Limits } from './limits.ts';
import { credentialRoutes } from './api-credentials.ts';
import { policyRoutes } from './api-policies.ts';
import { limitRoutes } from './api-limits.ts';
import { endpointFilterRoutes } from './api-endpoint-filter.ts';
import type { EndpointFilter } from './endpoint-filter.ts';
import { domainConfigRoutes } from './api-domain-configs.ts';
import type { DomainConfigs } from './domain-configs.ts';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { listRoleAssignments } from './role-assignments.ts';
import { Id, queryTrue } from './schemas.ts';

const PUBLIC = { config: { public: true } };

/** The parts of identity that have routes of their own besides the service. */
export interface IdentityParts {
  appCredentials: AppCredentials;
  trusts: Trusts;
  credentials: Credentials;
  limits: Limits;
  endpointFilter: EndpointFilter;
  domainConfigs: DomainConfigs;
}

export function identityApi(identity: IdentityService, publicUrl: string, { appCredentials, trusts, credentials, limits, endpointFilter, domainConfigs }: IdentityParts) {
  const base = `${publicUrl}/identity/v3`;
  const links: Links = (path) => ({ self: `${base}${path}` });
  const listLinks = (request: FastifyRequest) => ({ self: `${publicUrl}${request.url}`, previous: null, next: null });

  const kit: RouteKit = { identity, base, links, listLinks };
  const bodies = new TokenBodies(identity.tokens, identity.catalogCache);
  const scopedProject = (claims: TokenClaims) => (claims.scope.kind === 'project' ? claims.scope.id : undefined);

  return async (app: HttpServer) => {
    app.addHook('preHandler', authenticate(identity.tokens));
    // The revocation poll stops with the server (the database closes after it).
    app.addHook('onClose', async () => identity.tokens.stop());
    groupRoutes(app, kit);
    roleInferenceRoutes(app, kit);
    catalogRoutes(app, kit);
    appCredentialRoutes(app, kit, appCredentials);
    trustRoutes(app, kit, trusts);
    credentialRoutes(app, kit, credentials);
    policyRoutes(app, kit);
    limitRoutes(app, kit, limits);
    endpointFilterRoutes(app, kit, endpointFilter);
    domainConfigRoutes(app, kit, domainConfigs);
    projectRoutes(app, kit);
    domainRoutes(app, kit);
    userRoutes(app, kit);

    // ---- version discovery
    const version = {
      id: 'v3.14',
      status: 'stable',
      updated: '2020-04-07T00:00:00Z',
      links: [{ rel: 'self', href: `${base}/` }],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
    };
    app.get('/', PUBLIC, async (_req, reply) => reply.code(300).send({ versions: { values: [version] } }));
    app.get('/v3', PUBLIC, async () => ({ version }));

    // ---- tokens
    app.post('/v3/auth/tokens', PUBLIC, async (request: Req, reply) => {
      const auth = objectBody(request.body, 'auth') as unknown as AuthRequest;
      if (!auth.identity || typeof auth.identity !== 'object') {
        throw new BadRequestError("Invalid input for field 'auth.identity': 'identity' is a required property.");
      }
      const { token, claims } = await identity.tokens.issue(auth);
      const nocatalog = 'nocatalog' in (request.query ?? {});
      reply.code(201).header('x-subject-token', token);
      return tokenView(claims, nocatalog ? undefined : await identity.catalog(scopedProject(claims)), false);
    });
    // Not async: a kept body is sent in the same turn (no promise, no microtask), the token checked first.
    app.get('/v3/auth/tokens', (request: Req, reply): void | Promise<FastifyReply> => {
      const ctx = contextOf(request);
      identity.enforce(ctx, 'validate_token');
      const nocatalog = 'nocatalog' in (request.query ?? {});
      // The body is rendered once per token and catalog version (token-bodies.ts); revocation is checked each time.
      const body = bodies.render(subjectToken(request), !nocatalog);
      if (body instanceof Promise) return body.then((b) => sendJson(reply, b));
      sendJson(reply, body);
    });
    app.head('/v3/auth/tokens', async (request: Req, reply) => {
      identity.enforce(contextOf(request), 'validate_token');
      identity.tokens.claimsOf(subjectToken(request));
      reply.code(200).send();
    });
    app.delete('/v3/auth/tokens', async (request: Req, reply) => {
      const ctx = contextOf(request);
      const subject = subjectToken(request);
      const claims = identity.tokens.claimsOf(subject);
      identity.enforce(ctx, 'revoke_token', { target: { token: { user_id: claims.userId } } });
      await identity.tokens.revoke(subject);
      reply.code(204).send();
    });
    app.get('/v3/auth/catalog', async (request: Req) => {
      const ctx = contextOf(request);
      if (ctx.scope.kind === 'unscoped') throw new UnauthorizedError('The catalog requires a scoped token.');
      return { catalog: await identity.catalog(ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined), links: listLinks(request) };
    });
    app.get('/v3/auth/projects', async (request: Req) => {
      const ctx = contextOf(request);
      const projects = await identity.projectsOfUser(ctx.userId);
      return { projects: projects.map((p) => projectView(p, links)), links: listLinks(request) };
    });
    app.get('/v3/auth/domains', async (request: Req) => {
      const ctx = contextOf(request);
      const domains = await identity.store.list<DomainRow>('identity_domains', { enabled: 1 }, 'name');
      const mine: DomainRow[] = [];
      for (const d of domains) {
        if ((await identity.tokens.effectiveRoles(ctx.userId, { kind: 'domain', id: d.id, name: d.name })).length > 0) mine.push(d);
      }
      return { domains: mine.map((d) => domainView(d, links)), links: listLinks(request) };
    });
    app.get('/v3/auth/system', async (request: Req) => {
      const ctx = contextOf(request);
      const roles = await identity.tokens.effectiveRoles(ctx.userId, { kind: 'system' });
      return { system: roles.length > 0 ? [{ all: true }] : [], links: listLinks(request) };
    });

    // ---- roles
    app.get('/v3/roles', async (request: Req) => {
      identity.enforce(contextOf(request), 'list_roles');
      const rows = await listFiltered<RoleRow>(identity, 'identity_roles', request, ['name']);
      const domainId = request.query.domain_id ?? '';
      return { roles: rows.filter((r) => r.domain_id === domainId).map((r) => roleView(r, links)), links: listLinks(request) };
    });
    app.post('/v3/roles', async (request: Req, reply) => {
      const row = await identity.createRole(contextOf(request), objectBody(request.body, 'role'));
      reply.code(201);
      return { role: roleView(row, links) };
    });
    app.get('/v3/roles/:id', async (request: Req) => {
      identity.enforce(contextOf(request), 'get_role');
      return { role: roleView(await identity.role(request.params.id), links) };
    });
    app.patch('/v3/roles/:id', async (request: Req) => {
      const row = await identity.updateRole(contextOf(request), request.params.id, objectBody(request.body, 'role'));
      return { role: roleView(row, links) };
    });
    app.delete('/v3/roles/:id', async (request: Req, reply) => {
      await identity.deleteRole(contextOf(request), request.params.id);
      reply.code(204).send();
    });

    // ---- grants: /{projects|domains}/{id}/{users|groups}/{id}/roles[/{role}], /system/{users|groups}/{id}/roles
    const grantTargets: { path: string; type: TargetType }[] = [
      { path: '/v3/projects/:target', type: 'project' },
      { path: '/v3/domains/:target', type: 'domain' },
      { path: '/v3/system', type: 'system' },
    ];
    const grantActors: { path: string; type: ActorType }[] = [
      { path: 'users', type: 'user' },
      { path: 'groups', type: 'group' },
    ];
    for (const t of grantTargets) {
      for (const a of grantActors) {
        for (const inherited of t.type === 'system' ? [false] : [false, true]) {
          const prefix = inherited ? `/v3/OS-INHERIT${t.path.slice(3)}` : t.path;
          const suffix = inherited ? '/inherited_to_projects' : '';
          const assignment = (request: Req): AssignmentRow => ({
            actor_type: a.type,
            actor_id: request.params.actor,
            target_type: t.type,
            target_id: t.type === 'system' ? 'all' : request.params.target,
            role_id: request.params.role,
            inherited: inherited ? 1 : 0,
          });
          const one = `${prefix}/${a.path}/:actor/roles/:role${suffix}`;
          app.put(one, async (request: Req, reply) => {
            await identity.grant(contextOf(request), assignment(request), 'create_grant');
            reply.code(204).send();
          });
          app.head(one, async (request: Req, reply) => {
            await identity.grant(contextOf(request), assignment(request), 'check_grant');
            reply.code(204).send();
          });
          app.get(one, async (request: Req, reply) => {
            await identity.grant(contextOf(request), assignment(request), 'check_grant');
            reply.code(204).send();
          });
          app.delete(one, async (request: Req, reply) => {
            await identity.grant(contextOf(request), assignment(request), 'revoke_grant');
            reply.code(204).send();
          });
          app.get(`${prefix}/${a.path}/:actor/roles${suffix}`, async (request: Req) => {
            identity.enforce(contextOf(request), 'list_grants');
            const rows = await identity.store.listAssignments({
              actor_type: a.type,
              actor_id: request.params.actor,
              target_type: t.type,
              target_id: t.type === 'system' ? 'all' : request.params.target,
              inherited: inherited ? 1 : 0,
            });
            const roles: RoleRow[] = [];
            for (const r of rows) roles.push(await identity.role(r.role_id));
            return { roles: roles.map((r) => roleView(r, links)), links: listLinks(request) };
          });
        }
      }
    }

    const assignmentsApp = app.withTypeProvider<TypeBoxTypeProvider>();
    const Flag = Type.Optional(Type.String({ maxLength: 8 }));
    const AssignmentQuery = Type.Object({
      'user.id': Type.Optional(Id),
      'group.id': Type.Optional(Id),
      'role.id': Type.Optional(Id),
      'scope.project.id': Type.Optional(Id),
      'scope.domain.id': Type.Optional(Id),
      'scope.system': Type.Optional(Type.String({ maxLength: 8 })),
      'scope.OS-INHERIT:inherited_to': Type.Optional(Type.Literal('projects')),
      effective: Flag,
      include_names: Flag,
      include_subtree: Flag,
    });
    assignmentsApp.get('/v3/role_assignments', { schema: { querystring: AssignmentQuery } }, async (request) => {
      const ctx = contextOf(request);
      const q = request.query;
      identity.enforce(ctx, 'list_role_assignments', { user_id: q['user.id'] });
      if (q.effective !== undefined && q['group.id']) throw new BadRequestError('Combining effective and group filter will always result in an empty list.');
      if (q.include_subtree !== undefined && queryTrue(q.include_subtree) && !q['scope.project.id']) {
        throw new BadRequestError('scope.project.id needs to be specified if include_subtree is also specified.');
      }
      const role_assignments = await listRoleAssignments(identity.store, base, {
        userId: q['user.id'],
        groupId: q['group.id'],
        roleId: q['role.id'],
        projectId: q['scope.project.id'],
        domainId: q['scope.domain.id'],
        system: q['scope.system'] !== undefined,
        inheritedOnly: q['scope.OS-INHERIT:inherited_to'] === 'projects',
        effective: q.effective !== undefined && queryTrue(q.effective),
        includeNames: q.include_names !== undefined && queryTrue(q.include_names),
        includeSubtree: q.include_subtree !== undefined && queryTrue(q.include_subtree),
      });
      return { role_assignments, links: listLinks(request) };
    });

    // ---- catalog resources (read; management arrives with the catalog issue work)
    app.get('/v3/services', async (request: Req) => {
      identity.enforce(contextOf(request), 'list_services');
      const rows = await listFiltered<ServiceRow>(identity, 'identity_services', request, ['type', 'name'], 'type');
      return { services: rows.map((r) => serviceView(r, links)), links: listLinks(request) };
    });
    app.get('/v3/services/:id', async (request: Req) => {
      identity.enforce(contextOf(request), 'get_service');
      return { service: serviceView(await identity.mustGet<ServiceRow>('identity_services', request.params.id, 'service'), links) };
    });
    app.get('/v3/endpoints', async (request: Req) => {
      identity.enforce(contextOf(request), 'list_endpoints');
      const rows = await listFiltered<EndpointRow>(identity, 'identity_endpoints', request, ['interface', 'service_id', 'region_id'], 'id');
      return { endpoints: rows.map((r) => endpointView(r, links)), links: listLinks(request) };
    });
    app.get('/v3/endpoints/:id', async (request: Req) => {
      identity.enforce(contextOf(request), 'get_endpoint');
      return { endpoint: endpointView(await identity.mustGet<EndpointRow>('identity_endpoints', request.params.id, 'endpoint'), links) };
    });
    app.get('/v3/regions', async (request: Req) => {
      identity.enforce(contextOf(request), 'list_regions');
      const rows = await listFiltered<RegionRow>(identity, 'identity_regions', request, ['parent_region_id'], 'id');
      return { regions: rows.map((r) => regionView(r, links)), links: listLinks(request) };
    });
    app.get('/v3/regions/:id', async (request: Req) => {
      identity.enforce(contextOf(request), 'get_region');
      return { region: regionView(await identity.mustGet<RegionRow>('identity_regions', request.params.id, 'region'), links) };
    });
  };
}

/** Sends JSON bytes as they are, with the Content-Type identity answers with. */
function sendJson(reply: FastifyReply, body: Buffer): FastifyReply {
  return reply.header('content-type', 'application/json').send(body);
}

function subjectToken(request: FastifyRequest): string {
  const h = request.headers['x-subject-token'];
  const token = Array.isArray(h) ? h[0] : h;
  if (!token) throw new NotFoundError('Could not find token: X-Subject-Token header is missing.');
  return token;
}

/** Equality filters from the query string, with Keystone's boolean spelling for `enabled`. */
export async function listFiltered<T>(
  identity: IdentityService,
  table: Parameters<IdentityService['store']['list']>[0],
  request: Req,
  allowed: string[],
  orderBy = 'name',
): Promise<T[]> {
  const filters: Filters = {};
  for (const f of allowed) {
    const v = request.query[f];
    if (v === undefined) continue;
    if (f === 'enabled') filters.enabled = ['0', 'false', 'False', 'no'].includes(v) ? 0 : 1;
    else filters[f] = v;
  }
  return identity.store.list<T>(table, filters, orderBy);
}

export type { FastifyReply };
