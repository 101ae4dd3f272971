// Neutron v2.0 HTTP routes under /network: version discovery, extensions, the resource collections
// with Neutron's filtering, fields= selection, limit/marker pagination and tags, router actions, quotas.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpServer } from '../platform/http/server.ts';
import { authenticate, contextOf, type RequestContext, type TokenValidator } from '../platform/auth/context.ts';
import { BadRequestError } from '../platform/errors.ts';
import type { NetworkService } from './service.ts';
import type { ResourceDoc, ResourceKind } from './store.ts';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string | string[]>; Body: Record<string, unknown> | undefined }>;

const PUBLIC = { config: { public: true } };

interface Collection {
  kind: ResourceKind;
  path: string;
  singular: string;
}

const COLLECTIONS: Collection[] = [
  { kind: 'network', path: 'networks', singular: 'network' },
  { kind: 'subnet', path: 'subnets', singular: 'subnet' },
  { kind: 'port', path: 'ports', singular: 'port' },
  { kind: 'security_group', path: 'security-groups', singular: 'security_group' },
  { kind: 'security_group_rule', path: 'security-group-rules', singular: 'security_group_rule' },
  { kind: 'router', path: 'routers', singular: 'router' },
  { kind: 'floatingip', path: 'floatingips', singular: 'floatingip' },
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
  ['standard-attr-timestamp', 'Resource timestamps'],
  ['net-mtu', 'Network MTU'],
  ['net-mtu-writable', 'Network MTU (writable)'],
  ['extraroute', 'Neutron Extra Route'],
  ['ext-gw-mode', 'Neutron L3 Configurable external gateway mode'],
  ['binding', 'Port Binding'],
  ['extra_dhcp_opt', 'Neutron Extra DHCP options'],
  ['allowed-address-pairs', 'Allowed Address Pairs'],
  ['project-id', 'project_id field enabled'],
  ['pagination', 'Pagination support'],
  ['sorting', 'Sorting support'],
  ['fip-port-details', 'Floating IP Port Details Extension'],
];

function view(kind: ResourceKind, doc: ResourceDoc, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { interfaces: _i, created_for_server: _c, limits: _l, ...rest } = doc as Record<string, unknown>;
  const out: Record<string, unknown> = { ...rest, tenant_id: doc.project_id, ...extra };
  if (kind === 'network') {
    out.status = 'ACTIVE';
    out.availability_zone_hints = [];
    out.availability_zones = ['nova'];
    out.ipv4_address_scope = null;
    out.ipv6_address_scope = null;
    out.l2_adjacency = true;
  }
  if (kind === 'security_group_rule' || kind === 'floatingip') delete out.name;
  return out;
}

function truthy(v: string): unknown {
  if (v === 'true' || v === 'True') return true;
  if (v === 'false' || v === 'False') return false;
  return v;
}

const RESERVED = new Set(['fields', 'limit', 'marker', 'page_reverse', 'sort_key', 'sort_dir', 'tags', 'tags-any', 'not-tags', 'not-tags-any']);

/** Neutron list semantics: equality filters (repeats OR), tags filters, sorting, marker/limit, fields=. */
export function selectItems(items: Record<string, unknown>[], q: Record<string, string | string[]>): { items: Record<string, unknown>[]; more: boolean } {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  let out = items.filter((item) => {
    for (const [k, raw] of Object.entries(q)) {
      if (RESERVED.has(k)) continue;
      const wanted = list(raw);
      const actual = item[k];
      if (k === 'fixed_ips') {
        const ips = (actual as { subnet_id: string; ip_address: string }[]) ?? [];
        const ok = wanted.every((w) => {
          const [fk, fv] = w.split('=');
          return ips.some((i) => (i as Record<string, string>)[fk!] === fv);
        });
        if (!ok) return false;
        continue;
      }
      if (actual === undefined) continue;
      if (Array.isArray(actual)) {
        if (!wanted.some((w) => (actual as unknown[]).includes(w))) return false;
        continue;
      }
      if (!wanted.some((w) => truthy(w) === actual || String(actual) === w)) return false;
    }
    const tags = (item.tags as string[]) ?? [];
    const split = (k: string) => list(q[k]).flatMap((v) => v.split(','));
    if (q.tags && !split('tags').every((t) => tags.includes(t))) return false;
    if (q['tags-any'] && !split('tags-any').some((t) => tags.includes(t))) return false;
    if (q['not-tags'] && split('not-tags').every((t) => tags.includes(t))) return false;
    if (q['not-tags-any'] && split('not-tags-any').some((t) => tags.includes(t))) return false;
    return true;
  });
  const keys = list(q.sort_key);
  if (keys.length) {
    const dirs = list(q.sort_dir);
    out = [...out].sort((a, b) => {
      for (let i = 0; i < keys.length; i++) {
        const av = String(a[keys[i]!] ?? '');
        const bv = String(b[keys[i]!] ?? '');
        const c = av.localeCompare(bv);
        if (c !== 0) return (dirs[i] ?? dirs[0] ?? 'asc') === 'desc' ? -c : c;
      }
      return 0;
    });
  }
  if (q.page_reverse === 'True' || q.page_reverse === 'true') out.reverse();
  if (q.marker) {
    const at = out.findIndex((i) => i.id === q.marker);
    if (at >= 0) out = out.slice(at + 1);
  }
  let more = false;
  if (q.limit !== undefined) {
    const limit = Number(q.limit);
    if (!Number.isInteger(limit) || limit < 0) throw new BadRequestError(`Limit must be an integer 0 or greater and not '${String(q.limit)}'`);
    if (limit > 0 && out.length > limit) {
      out = out.slice(0, limit);
      more = true;
    }
  }
  return { items: out.map((i) => pick(i, q.fields)), more };
}

function pick(item: Record<string, unknown>, fields: string | string[] | undefined): Record<string, unknown> {
  if (!fields) return item;
  const names = (Array.isArray(fields) ? fields : [fields]).flatMap((f) => f.split(',')).filter(Boolean);
  if (!names.length) return item;
  const out: Record<string, unknown> = {};
  for (const n of names) if (n in item) out[n] = item[n];
  return out;
}

export function networkApi(service: NetworkService, validator: TokenValidator, publicUrl: string) {
  const base = `${publicUrl}/network`;
  return async (app: HttpServer): Promise<void> => {
    app.addHook('preHandler', authenticate(validator));

    const versions = {
      versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${base}/v2.0/`, rel: 'self' }] }],
    };
    app.get('/', PUBLIC, async () => versions);
    app.get('/v2.0', PUBLIC, async () => ({ resources: COLLECTIONS.map((c) => ({ name: c.singular, collection: c.path, links: [{ href: `${base}/v2.0/${c.path}`, rel: 'self' }] })) }));

    const extView = ([alias, name]: string[]) => ({ alias, name, description: name, links: [], updated: '2026-11-25T00:00:00-00:00' });
    app.get('/v2.0/extensions', async () => ({ extensions: EXTENSIONS.map(extView) }));
    app.get('/v2.0/extensions/:alias', async (req: Req, reply) => {
      const e = EXTENSIONS.find(([a]) => a === req.params.alias);
      if (!e) return reply.code(404).send({ NeutronError: { type: 'HTTPNotFound', message: `Extension with alias ${req.params.alias} does not exist`, detail: '' } });
      return { extension: extView(e) };
    });

    const creators: Record<string, (ctx: RequestContext, body: Record<string, unknown>) => Promise<ResourceDoc>> = {
      network: (c, b) => service.createNetwork(c, b),
      subnet: (c, b) => service.createSubnet(c, b),
      port: (c, b) => service.createPort(c, b),
      security_group: (c, b) => service.createSecurityGroup(c, b),
      security_group_rule: (c, b) => service.createSecurityGroupRule(c, b),
      router: (c, b) => service.createRouter(c, b),
      floatingip: (c, b) => service.createFloatingIp(c, b),
    };
    const updaters: Record<string, ((ctx: RequestContext, id: string, body: Record<string, unknown>) => Promise<ResourceDoc>) | undefined> = {
      network: (c, i, b) => service.updateNetwork(c, i, b),
      subnet: (c, i, b) => service.updateSubnet(c, i, b),
      port: (c, i, b) => service.updatePort(c, i, b),
      security_group: (c, i, b) => service.updateSecurityGroup(c, i, b),
      router: (c, i, b) => service.updateRouter(c, i, b),
      floatingip: (c, i, b) => service.updateFloatingIp(c, i, b),
    };
    const deleters: Record<string, (ctx: RequestContext, id: string) => Promise<void>> = {
      network: (c, i) => service.deleteNetwork(c, i),
      subnet: (c, i) => service.deleteSubnet(c, i),
      port: (c, i) => service.deletePort(c, i),
      security_group: (c, i) => service.deleteSecurityGroup(c, i),
      security_group_rule: (c, i) => service.deleteSecurityGroupRule(c, i),
      router: (c, i) => service.deleteRouter(c, i),
      floatingip: (c, i) => service.deleteFloatingIp(c, i),
    };

    const render = async (kind: ResourceKind, doc: ResourceDoc) => {
      if (kind === 'security_group') return view(kind, doc, { security_group_rules: (await service.rulesOf(doc.id)).map((r) => view('security_group_rule', r)) });
      return view(kind, doc);
    };

    const bodyOf = (req: Req, singular: string): Record<string, unknown> => {
      const b = req.body as Record<string, unknown> | undefined;
      const inner = b?.[singular];
      if (!inner || typeof inner !== 'object' || Array.isArray(inner)) throw new BadRequestError(`Resource body required: '${singular}' missing.`);
      return inner as Record<string, unknown>;
    };

    for (const c of COLLECTIONS) {
      app.get(`/v2.0/${c.path}`, async (req: Req) => {
        const ctx = contextOf(req);
        const docs = c.kind === 'security_group' ? await service.listSecurityGroups(ctx) : await service.list(ctx, c.kind);
        const rendered = await Promise.all(docs.map((d) => render(c.kind, d)));
        const { items, more } = selectItems(rendered, req.query);
        const out: Record<string, unknown> = { [c.path.replace(/-/g, '_')]: items };
        if (more && items.length) {
          const q = new URLSearchParams();
          for (const [k, v] of Object.entries(req.query)) if (k !== 'marker') for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
          q.set('marker', String(items[items.length - 1]!.id));
          out[`${c.path.replace(/-/g, '_')}_links`] = [{ rel: 'next', href: `${base}/v2.0/${c.path}?${q.toString()}` }];
        }
        return out;
      });
      app.post(`/v2.0/${c.path}`, async (req: Req, reply: FastifyReply) => {
        const ctx = contextOf(req);
        const body = req.body as Record<string, unknown> | undefined;
        const plural = body?.[c.path.replace(/-/g, '_')];
        if (Array.isArray(plural)) {
          const made = [];
          for (const item of plural) made.push(await render(c.kind, await creators[c.kind]!(ctx, item as Record<string, unknown>)));
          return reply.code(201).send({ [c.path.replace(/-/g, '_')]: made });
        }
        const doc = await creators[c.kind]!(ctx, bodyOf(req, c.singular));
        return reply.code(201).send({ [c.singular]: await render(c.kind, doc) });
      });
      app.get(`/v2.0/${c.path}/:id`, async (req: Req) => {
        const doc = await service.find(contextOf(req), c.kind, req.params.id!);
        return { [c.singular]: pick(await render(c.kind, doc), req.query.fields) };
      });
      app.put(`/v2.0/${c.path}/:id`, async (req: Req) => {
        const update = updaters[c.kind];
        if (!update) throw new BadRequestError(`Updating ${c.singular} is not supported.`);
        return { [c.singular]: await render(c.kind, await update(contextOf(req), req.params.id!, bodyOf(req, c.singular))) };
      });
      app.delete(`/v2.0/${c.path}/:id`, async (req: Req, reply: FastifyReply) => {
        await deleters[c.kind]!(contextOf(req), req.params.id!);
        return reply.code(204).send();
      });
      // Tags (standard-attr-tag).
      app.get(`/v2.0/${c.path}/:id/tags`, async (req: Req) => ({ tags: (await service.find(contextOf(req), c.kind, req.params.id!)).tags }));
      app.put(`/v2.0/${c.path}/:id/tags`, async (req: Req) => {
        const tags = (req.body as { tags?: unknown })?.tags;
        if (!Array.isArray(tags)) throw new BadRequestError("Invalid input for operation: 'tags' must be a list.");
        return { tags: (await service.setTags(contextOf(req), c.kind, req.params.id!, tags as string[])).tags };
      });
      app.delete(`/v2.0/${c.path}/:id/tags`, async (req: Req, reply: FastifyReply) => {
        await service.setTags(contextOf(req), c.kind, req.params.id!, []);
        return reply.code(204).send();
      });
      app.get(`/v2.0/${c.path}/:id/tags/:tag`, async (req: Req, reply: FastifyReply) => {
        const doc = await service.find(contextOf(req), c.kind, req.params.id!);
        if (!doc.tags.includes(req.params.tag!)) return reply.code(404).send({ NeutronError: { type: 'TagNotFound', message: `Tag ${req.params.tag!} could not be found for ${c.singular} ${doc.id}.`, detail: '' } });
        return reply.code(204).send();
      });
      app.put(`/v2.0/${c.path}/:id/tags/:tag`, async (req: Req, reply: FastifyReply) => {
        const ctx = contextOf(req);
        const doc = await service.find(ctx, c.kind, req.params.id!);
        await service.setTags(ctx, c.kind, doc.id, [...doc.tags, req.params.tag!]);
        return reply.code(201).send();
      });
      app.delete(`/v2.0/${c.path}/:id/tags/:tag`, async (req: Req, reply: FastifyReply) => {
        const ctx = contextOf(req);
        const doc = await service.find(ctx, c.kind, req.params.id!);
        if (!doc.tags.includes(req.params.tag!)) return reply.code(404).send({ NeutronError: { type: 'TagNotFound', message: `Tag ${req.params.tag!} could not be found for ${c.singular} ${doc.id}.`, detail: '' } });
        await service.setTags(ctx, c.kind, doc.id, doc.tags.filter((t) => t !== req.params.tag));
        return reply.code(204).send();
      });
    }

    app.put('/v2.0/routers/:id/add_router_interface', async (req: Req) => service.addRouterInterface(contextOf(req), req.params.id!, (req.body ?? {}) as Record<string, unknown>));
    app.put('/v2.0/routers/:id/remove_router_interface', async (req: Req) => service.removeRouterInterface(contextOf(req), req.params.id!, (req.body ?? {}) as Record<string, unknown>));

    app.get('/v2.0/quotas', async (req: Req) => {
      const ctx = contextOf(req);
      const project = ctx.scope.kind === 'project' ? ctx.scope.projectId : '';
      return { quotas: project ? [{ ...(await service.quotaOf(project)), project_id: project, tenant_id: project }] : [] };
    });
    app.get('/v2.0/quotas/:project/default', async (req: Req) => {
      service.checkQuotaAccess(contextOf(req), req.params.project!);
      const { DEFAULT_QUOTAS } = await import('./service.ts');
      return { quota: { ...DEFAULT_QUOTAS } };
    });
    app.get('/v2.0/quotas/:project/details', async (req: Req) => {
      service.checkQuotaAccess(contextOf(req), req.params.project!);
      return { quota: await service.quotaUsage(req.params.project!) };
    });
    app.get('/v2.0/quotas/:project', async (req: Req) => {
      service.checkQuotaAccess(contextOf(req), req.params.project!);
      return { quota: await service.quotaOf(req.params.project!) };
    });
    app.put('/v2.0/quotas/:project', async (req: Req) => {
      const body = (req.body as { quota?: Record<string, unknown> } | undefined)?.quota;
      if (!body || typeof body !== 'object') throw new BadRequestError("Resource body required: 'quota' missing.");
      return { quota: await service.setQuota(contextOf(req), req.params.project!, body) };
    });
    app.delete('/v2.0/quotas/:project', async (req: Req, reply: FastifyReply) => {
      await service.resetQuota(contextOf(req), req.params.project!);
      return reply.code(204).send();
    });
  };
}
