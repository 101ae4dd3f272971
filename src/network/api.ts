// Neutron v2.0 HTTP routes under /network: version discovery, extensions, the resource collections with
// Neutron's filters, fields=, sorting and limit/marker pagination, tags, router actions, port forwardings,
// quotas and agents. Every route declares its params, querystring and body schemas (./schemas.ts); the
// optional `.json` suffix is accepted on every resource path; `If-Match: revision_number=N` on PUT and DELETE.
import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import type { HttpServer } from '../platform/http/server.ts';
import { authenticate, contextOf, type RequestContext, type TokenValidator } from '../platform/auth/context.ts';
import { BadRequestError } from '../platform/errors.ts';
import type { WriteOptions } from './core.ts';
import { DEFAULT_QUOTAS } from './core.ts';
import { NeutronNotFound } from './errors.ts';
import { COLUMNS, listQuery, pick, type Query } from './listing.ts';
import * as S from './schemas.ts';
import type { NetworkService, ResourceDoc } from './service.ts';
import type { ResourceKind, TaggedKind } from './store/index.ts';
import { neutronValidatorCompiler } from './validation.ts';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Query; Body: Record<string, any> | undefined }>;
type Handler = (req: Req, reply: FastifyReply) => Promise<unknown>;

interface Collection {
  kind: ResourceKind & TaggedKind;
  path: string;
  singular: string;
  create: TSchema;
  update?: TSchema;
}

const COLLECTIONS: Collection[] = [
  { kind: 'network', path: 'networks', singular: 'network', create: S.NetworkCreate, update: S.NetworkUpdate },
  { kind: 'subnet', path: 'subnets', singular: 'subnet', create: S.SubnetCreate, update: S.SubnetUpdate },
  { kind: 'subnetpool', path: 'subnetpools', singular: 'subnetpool', create: S.SubnetPoolCreate, update: S.SubnetPoolUpdate },
  { kind: 'port', path: 'ports', singular: 'port', create: S.PortCreate, update: S.PortUpdate },
  { kind: 'security_group', path: 'security-groups', singular: 'security_group', create: S.SecurityGroupCreate, update: S.SecurityGroupUpdate },
  { kind: 'security_group_rule' as Collection['kind'], path: 'security-group-rules', singular: 'security_group_rule', create: S.RuleCreate },
  { kind: 'router', path: 'routers', singular: 'router', create: S.RouterCreate, update: S.RouterUpdate },
  { kind: 'floatingip', path: 'floatingips', singular: 'floatingip', create: S.FloatingIpCreate, update: S.FloatingIpUpdate },
];

const EXTENSIONS = [
  ['external-net', 'Neutron external network'],
  ['router', 'Neutron L3 Router'],
  ['security-group', 'security-group'],
  ['port-security', 'Port Security'],
  ['quotas', 'Quota management support'],
  ['quota_details', 'Quota details management support'],
  ['standard-attr-tag', 'Tag support for resources with standard attribute'],
  ['standard-attr-description', 'standard-attr-description'],
  ['standard-attr-revisions', 'Resource revision numbers'],
  ['revision-if-match', 'If-Match constraints based on revision_number'],
  ['standard-attr-timestamp', 'Resource timestamps'],
  ['net-mtu', 'Network MTU'],
  ['net-mtu-writable', 'Network MTU (writable)'],
  ['extraroute', 'Neutron Extra Route'],
  ['ext-gw-mode', 'Neutron L3 Configurable external gateway mode'],
  ['binding', 'Port Binding'],
  ['allowed-address-pairs', 'Allowed Address Pairs'],
  ['subnet_allocation', 'Subnet Allocation'],
  ['default-subnetpools', 'Default Subnetpools'],
  ['agent', 'agent'],
  ['floating-ip-port-forwarding', 'Floating IP Port Forwarding'],
  ['project-id', 'project_id field enabled'],
  ['pagination', 'Pagination support'],
  ['sorting', 'Sorting support'],
  ['fip-port-details', 'Floating IP Port Details Extension'],
];

const PUBLIC = { config: { public: true } };

/** `If-Match: revision_number=N` (standard-attr-revisions); other If-Match values are not Neutron's. */
function writeOptions(req: Req): WriteOptions {
  const header = req.headers['if-match'];
  const m = /revision_number=(\d+)/.exec(Array.isArray(header) ? header.join(',') : (header ?? ''));
  return m ? { ifMatch: Number(m[1]) } : {};
}

export function networkApi(service: NetworkService, validator: TokenValidator, publicUrl: string) {
  const base = `${publicUrl}/network`;
  return async (app: HttpServer): Promise<void> => {
    app.setValidatorCompiler(neutronValidatorCompiler as never);
    app.addHook('onRequest', authenticate(validator));
    // The optional `.json` suffix of a resource path ends up in its last parameter: take it off.
    app.addHook('preValidation', async (req: FastifyRequest) => {
      const params = req.params as Record<string, string> | undefined;
      if (!params) return;
      for (const [k, v] of Object.entries(params)) if (typeof v === 'string' && v.endsWith('.json')) params[k] = v.slice(0, -5);
    });

    /** Registers a route, and its `.json` twin when the path does not end in a parameter. */
    const route = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, schema: { params?: TSchema; querystring?: TSchema; body?: TSchema }, handler: Handler, extra: RouteShorthandOptions = {}) => {
      const urls = /\/:[^/]+$/.test(url) || url === '/' ? [url] : [url, `${url}.json`];
      for (const u of urls) app.route({ method, url: u, schema, handler: handler as never, ...extra });
    };

    const versions = { versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${base}/v2.0/`, rel: 'self' }] }] };
    app.get('/', PUBLIC, async () => versions);
    app.get('/v2.0', PUBLIC, async () => ({ resources: COLLECTIONS.map((c) => ({ name: c.singular, collection: c.path, links: [{ href: `${base}/v2.0/${c.path}`, rel: 'self' }] })) }));

    const extView = ([alias, name]: string[]) => ({ alias, name, description: name, links: [], updated: '2026-11-25T00:00:00-00:00' });
    route('GET', '/v2.0/extensions', {}, async () => ({ extensions: EXTENSIONS.map(extView) }));
    route('GET', '/v2.0/extensions/:alias', { params: S.AliasParams }, async (req) => {
      const e = EXTENSIONS.find(([a]) => a === req.params.alias);
      if (!e) throw new NeutronNotFound('Extension', `with alias ${req.params.alias}`);
      return { extension: extView(e) };
    });

    const creators: Record<string, (ctx: RequestContext, body: Record<string, unknown>) => Promise<ResourceDoc>> = {
      network: (c, b) => service.createNetwork(c, b),
      subnet: (c, b) => service.createSubnet(c, b),
      subnetpool: (c, b) => service.createSubnetPool(c, b),
      port: (c, b) => service.createPort(c, b),
      security_group: (c, b) => service.createSecurityGroup(c, b),
      security_group_rule: (c, b) => service.createSecurityGroupRule(c, b),
      router: (c, b) => service.createRouter(c, b),
      floatingip: (c, b) => service.createFloatingIp(c, b),
    };
    const updaters: Record<string, (ctx: RequestContext, id: string, body: Record<string, unknown>, o: WriteOptions) => Promise<ResourceDoc>> = {
      network: (c, i, b, o) => service.updateNetwork(c, i, b, o),
      subnet: (c, i, b, o) => service.updateSubnet(c, i, b, o),
      subnetpool: (c, i, b, o) => service.updateSubnetPool(c, i, b, o),
      port: (c, i, b, o) => service.updatePort(c, i, b, o),
      security_group: (c, i, b, o) => service.updateSecurityGroup(c, i, b, o),
      router: (c, i, b, o) => service.updateRouter(c, i, b, o),
      floatingip: (c, i, b, o) => service.updateFloatingIp(c, i, b, o),
    };
    const deleters: Record<string, (ctx: RequestContext, id: string, o: WriteOptions) => Promise<void>> = {
      network: (c, i, o) => service.deleteNetwork(c, i, o),
      subnet: (c, i, o) => service.deleteSubnet(c, i, o),
      subnetpool: (c, i, o) => service.deleteSubnetPool(c, i, o),
      port: (c, i, o) => service.deletePort(c, i, o),
      security_group: (c, i, o) => service.deleteSecurityGroup(c, i, o),
      security_group_rule: (c, i) => service.deleteSecurityGroupRule(c, i),
      router: (c, i, o) => service.deleteRouter(c, i, o),
      floatingip: (c, i, o) => service.deleteFloatingIp(c, i, o),
    };

    for (const c of COLLECTIONS) {
      const plural = c.path.replace(/-/g, '_');
      const links = (req: Req, items: Record<string, unknown>[]) => {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(req.query)) if (k !== 'marker' && v !== undefined) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
        q.set('marker', String(items[items.length - 1]!.id));
        return [{ rel: 'next', href: `${base}/v2.0/${c.path}?${q.toString()}` }];
      };
      route('GET', `/v2.0/${c.path}`, { querystring: S.ListQuerystring }, async (req) => {
        const { items, more } = await service.listPage(contextOf(req), c.kind, listQuery(c.kind, req.query));
        const out: Record<string, unknown> = { [plural]: items.map((i) => pick(i, req.query.fields)) };
        if (more && items.length) out[`${plural}_links`] = links(req, items);
        return out;
      });
      route('POST', `/v2.0/${c.path}`, { body: S.resourceBody(c.singular, plural, c.create) }, async (req, reply) => {
        const ctx = contextOf(req);
        const body = req.body ?? {};
        if (Array.isArray(body[plural]) && body[c.singular] === undefined) {
          const made: ResourceDoc[] = [];
          for (const item of body[plural] as Record<string, unknown>[]) made.push(await creators[c.kind]!(ctx, item));
          return reply.code(201).send({ [plural]: made });
        }
        if (!body[c.singular]) throw new BadRequestError(`Resource body required: '${c.singular}' missing.`);
        return reply.code(201).send({ [c.singular]: await creators[c.kind]!(ctx, body[c.singular]) });
      });
      route('GET', `/v2.0/${c.path}/:id`, { params: S.IdParams, querystring: S.ShowQuerystring }, async (req) => ({ [c.singular]: pick(await service.find(contextOf(req), c.kind, req.params.id!), req.query.fields) }));
      if (c.update) {
        route('PUT', `/v2.0/${c.path}/:id`, { params: S.IdParams, body: S.resourceBody(c.singular, undefined, c.update) }, async (req) => {
          const inner = req.body?.[c.singular];
          if (!inner) throw new BadRequestError(`Resource body required: '${c.singular}' missing.`);
          return { [c.singular]: await updaters[c.kind]!(contextOf(req), req.params.id!, inner, writeOptions(req)) };
        });
      }
      route('DELETE', `/v2.0/${c.path}/:id`, { params: S.IdParams }, async (req, reply) => {
        await deleters[c.kind]!(contextOf(req), req.params.id!, writeOptions(req));
        return reply.code(204).send();
      });
      if (c.kind === ('security_group_rule' as string)) continue;
      // Tags (standard-attr-tag).
      route('GET', `/v2.0/${c.path}/:id/tags`, { params: S.IdParams }, async (req) => ({ tags: await service.tags(contextOf(req), c.kind, req.params.id!) }));
      route('PUT', `/v2.0/${c.path}/:id/tags`, { params: S.IdParams, body: S.TagsBody }, async (req) => ({ tags: await service.setTags(contextOf(req), c.kind, req.params.id!, req.body!.tags as string[]) }));
      route('DELETE', `/v2.0/${c.path}/:id/tags`, { params: S.IdParams }, async (req, reply) => {
        await service.setTags(contextOf(req), c.kind, req.params.id!, []);
        return reply.code(204).send();
      });
      route('GET', `/v2.0/${c.path}/:id/tags/:tag`, { params: S.TagParams }, async (req, reply) => {
        if (!(await service.tags(contextOf(req), c.kind, req.params.id!)).includes(req.params.tag!)) throw new NeutronNotFound('Tag', `${req.params.tag!} for ${c.singular} ${req.params.id!}`);
        return reply.code(204).send();
      });
      route('PUT', `/v2.0/${c.path}/:id/tags/:tag`, { params: S.TagParams }, async (req, reply) => {
        await service.addTag(contextOf(req), c.kind, req.params.id!, req.params.tag!);
        return reply.code(201).send();
      });
      route('DELETE', `/v2.0/${c.path}/:id/tags/:tag`, { params: S.TagParams }, async (req, reply) => {
        await service.removeTag(contextOf(req), c.kind, req.params.id!, req.params.tag!);
        return reply.code(204).send();
      });
    }

    route('PUT', '/v2.0/routers/:id/add_router_interface', { params: S.IdParams, body: S.RouterInterface }, async (req) => service.addRouterInterface(contextOf(req), req.params.id!, req.body ?? {}));
    route('PUT', '/v2.0/routers/:id/remove_router_interface', { params: S.IdParams, body: S.RouterInterface }, async (req) => service.removeRouterInterface(contextOf(req), req.params.id!, req.body ?? {}));

    // Port forwardings of a floating IP (floating-ip-port-forwarding).
    route('GET', '/v2.0/floatingips/:id/port_forwardings', { params: S.IdParams, querystring: S.ListQuerystring }, async (req) => {
      // A floating IP has a few forwardings: the equality filters apply to the rendered ones.
      const filters = Object.entries(req.query).filter(([k]) => k in COLUMNS.port_forwarding);
      const items = (await service.listPortForwardings(contextOf(req), req.params.id!)).filter((p) => filters.every(([k, v]) => (Array.isArray(v) ? v : [v]).includes(String(p[k]))));
      return { port_forwardings: items.map((p) => pick(p, req.query.fields)) };
    });
    route('POST', '/v2.0/floatingips/:id/port_forwardings', { params: S.IdParams, body: S.resourceBody('port_forwarding', undefined, S.PortForwardingCreate) }, async (req, reply) => {
      const inner = req.body?.port_forwarding;
      if (!inner) throw new BadRequestError("Resource body required: 'port_forwarding' missing.");
      return reply.code(201).send({ port_forwarding: await service.createPortForwarding(contextOf(req), req.params.id!, inner) });
    });
    route('GET', '/v2.0/floatingips/:id/port_forwardings/:pf', { params: S.ForwardingParams, querystring: S.ShowQuerystring }, async (req) => ({ port_forwarding: pick(await service.findPortForwarding(contextOf(req), req.params.id!, req.params.pf!), req.query.fields) }));
    route('PUT', '/v2.0/floatingips/:id/port_forwardings/:pf', { params: S.ForwardingParams, body: S.resourceBody('port_forwarding', undefined, S.PortForwardingUpdate) }, async (req) => {
      const inner = req.body?.port_forwarding;
      if (!inner) throw new BadRequestError("Resource body required: 'port_forwarding' missing.");
      return { port_forwarding: await service.updatePortForwarding(contextOf(req), req.params.id!, req.params.pf!, inner) };
    });
    route('DELETE', '/v2.0/floatingips/:id/port_forwardings/:pf', { params: S.ForwardingParams }, async (req, reply) => {
      await service.deletePortForwarding(contextOf(req), req.params.id!, req.params.pf!);
      return reply.code(204).send();
    });

    // Quotas: the list of projects with their own quotas is the admins'.
    route('GET', '/v2.0/quotas', {}, async (req) => ({ quotas: await service.listQuotas(contextOf(req)) }));
    route('GET', '/v2.0/quotas/:project/default', { params: S.ProjectParams }, async (req) => {
      service.checkQuotaAccess(contextOf(req), req.params.project!);
      return { quota: { ...DEFAULT_QUOTAS } };
    });
    route('GET', '/v2.0/quotas/:project/details', { params: S.ProjectParams }, async (req) => {
      service.checkQuotaAccess(contextOf(req), req.params.project!);
      return { quota: await service.quotaUsage(req.params.project!) };
    });
    route('GET', '/v2.0/quotas/:project', { params: S.ProjectParams }, async (req) => {
      service.checkQuotaAccess(contextOf(req), req.params.project!);
      return { quota: await service.quotaOf(req.params.project!) };
    });
    route('PUT', '/v2.0/quotas/:project', { params: S.ProjectParams, body: S.QuotaUpdate }, async (req) => ({ quota: await service.setQuota(contextOf(req), req.params.project!, req.body!.quota) }));
    route('DELETE', '/v2.0/quotas/:project', { params: S.ProjectParams }, async (req, reply) => {
      await service.resetQuota(contextOf(req), req.params.project!);
      return reply.code(204).send();
    });

    // Agents: hafen's dataplane runs in the controller (and in remote agents, which compute lists as
    // hosts); admins see the controller's, others see none (Neutron's policy hides them).
    route('GET', '/v2.0/agents', { querystring: S.ListQuerystring }, async (req) => ({ agents: service.agents(contextOf(req)).map((a) => pick(a, req.query.fields)) }));
    route('GET', '/v2.0/agents/:id', { params: S.IdParams }, async (req) => {
      const agent = service.agents(contextOf(req)).find((a) => a.id === req.params.id);
      if (!agent) throw new NeutronNotFound('Agent', req.params.id!);
      return { agent };
    });
  };
}
