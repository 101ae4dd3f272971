// Magnum's quotas (/v1/quotas): one hard limit per project and resource (`Cluster`, the number of
// clusters a project may hold; without a row the service's default applies). Admins set them;
// members read their own project's.
import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { RequestContext } from '../platform/auth/context.ts';
import type { HttpServer } from '../platform/http/server.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../platform/errors.ts';
import { AnyBody, ListQuery, ctxOf, pageOf, type ListQueryT, type Route } from './api.ts';
import { checkAttribute } from './attributes.ts';
import type { ClusterStore, QuotaRow } from './store.ts';
import type { TemplateService } from './templates.ts';
import { quotaView } from './views.ts';

export const QUOTA_RESOURCES = ['Cluster'];
const SORT_KEYS: Record<string, string> = { id: 'id', project_id: 'project_id' };

export class QuotaNotFound extends NotFoundError {
  override readonly name = 'QuotaNotFound';
  constructor(projectId: string, resource: string) {
    super(`Quota could not be found: project ${projectId} has no quota for resource ${resource}.`);
  }
}

export class QuotaService {
  constructor(
    private readonly store: ClusterStore,
    private readonly templates: TemplateService,
  ) {}

  private ownProject(ctx: RequestContext): string | undefined {
    return ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
  }

  /** The caller's project's quotas; an admin's with `all_tenants`, every project's. */
  async list(ctx: RequestContext, q: ListQueryT & { all_tenants?: string }): Promise<QuotaRow[]> {
    this.templates.enforce(ctx, 'quota:get_all');
    const all = this.templates.isAdmin(ctx) && ['true', '1', 'yes', 'on', 't', 'y'].includes(String(q.all_tenants ?? '').toLowerCase());
    const page = pageOf(q, SORT_KEYS);
    if (page.marker !== undefined && !/^\d{1,12}$/.test(page.marker)) throw new BadRequestError(`Invalid input for field/attribute marker. Value: '${page.marker}'. unable to convert to int`);
    return this.store.quotas(all ? undefined : this.ownProject(ctx) ?? '', page);
  }

  async show(ctx: RequestContext, projectId: string, resource: string): Promise<QuotaRow> {
    this.templates.enforce(ctx, 'quota:get');
    if (!this.templates.isAdmin(ctx) && projectId !== this.ownProject(ctx)) throw new ForbiddenError('Not authorized.');
    const row = await this.store.quota(projectId, resource);
    if (!row) throw new QuotaNotFound(projectId, resource);
    return row;
  }

  async create(ctx: RequestContext, body: unknown): Promise<QuotaRow> {
    this.templates.enforce(ctx, 'quota:create');
    const b = quotaBody(body);
    if (typeof b.project_id !== 'string' || !b.project_id) throw new BadRequestError('Must provide a valid project ID.');
    const now = new Date().toISOString();
    return this.store.insertQuota({ project_id: b.project_id, resource: b.resource ?? 'Cluster', hard_limit: b.hard_limit ?? 1, created_at: now, updated_at: null });
  }

  async update(ctx: RequestContext, projectId: string, resource: string, body: unknown): Promise<QuotaRow> {
    this.templates.enforce(ctx, 'quota:update');
    const b = quotaBody(body);
    if (!(await this.store.quota(projectId, resource))) throw new QuotaNotFound(projectId, resource);
    if (b.hard_limit !== undefined) await this.store.updateQuota(projectId, resource, b.hard_limit);
    return (await this.store.quota(projectId, resource))!;
  }

  async delete(ctx: RequestContext, projectId: string, resource: string): Promise<void> {
    this.templates.enforce(ctx, 'quota:delete');
    if (!(await this.store.quota(projectId, resource))) throw new QuotaNotFound(projectId, resource);
    await this.store.deleteQuota(projectId, resource);
  }
}

/** A quota body as WSME reads it: known attributes only, hard_limit ≥ 1, resource one of Magnum's. */
function quotaBody(body: unknown): { project_id?: string; resource?: string; hard_limit?: number } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('Invalid input for field/attribute quota. The body must be a JSON object.');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !['id', 'project_id', 'resource', 'hard_limit', 'created_at', 'updated_at'].includes(k));
  if (unknown.length) throw new BadRequestError(`Unknown attribute for argument quota: ${unknown.join(', ')}`);
  const out: { project_id?: string; resource?: string; hard_limit?: number } = {};
  if (b.project_id !== undefined && b.project_id !== null) out.project_id = checkAttribute({ type: 'string', min: 1, max: 255 }, 'project_id', b.project_id) as string;
  if (b.resource !== undefined && b.resource !== null) out.resource = checkAttribute({ type: 'enum', values: QUOTA_RESOURCES }, 'resource', b.resource) as string;
  if (b.hard_limit !== undefined && b.hard_limit !== null) out.hard_limit = checkAttribute({ type: 'int', min: 1, max: 1_000_000 }, 'hard_limit', b.hard_limit) as number;
  return out;
}

const QuotaParams = Type.Object({ project: Type.String({ minLength: 1, maxLength: 255 }), resource: Type.String({ minLength: 1, maxLength: 64 }) });
type QuotaIdent = { Params: { project: string; resource: string } };
const QuotaListQuery = Type.Intersect([ListQuery, Type.Object({ all_tenants: Type.Optional(Type.String({ maxLength: 8 })) })]);

export function quotaRoutes(quotas: QuotaService): Route {
  return (app: HttpServer, base: string) => {
    const list = async (request: FastifyRequest<{ Querystring: ListQueryT & { all_tenants?: string } }>) => {
      const rows = await quotas.list(ctxOf(request), request.query);
      const limit = Math.min(Number(request.query.limit ?? 1000), 1000);
      const next = rows.length === limit && rows.length > 0 ? `${base}/quotas?limit=${limit}&marker=${rows[rows.length - 1]!.id}` : undefined;
      return { quotas: rows.map(quotaView), ...(next ? { next } : {}) };
    };
    app.get('/v1/quotas', { schema: { querystring: QuotaListQuery } }, list);
    app.get('/v1/quotas/detail', { schema: { querystring: QuotaListQuery } }, list);
    app.get<QuotaIdent>('/v1/quotas/:project/:resource', { schema: { params: QuotaParams } }, async (request) => quotaView(await quotas.show(ctxOf(request), request.params.project, request.params.resource)));
    app.post('/v1/quotas', { schema: { body: AnyBody } }, async (request, reply) => {
      const row = await quotas.create(ctxOf(request), request.body);
      reply.code(201);
      return quotaView(row);
    });
    app.patch<QuotaIdent>('/v1/quotas/:project/:resource', { schema: { params: QuotaParams, body: AnyBody } }, async (request, reply) => {
      const row = await quotas.update(ctxOf(request), request.params.project, request.params.resource, request.body);
      reply.code(202);
      return quotaView(row);
    });
    app.delete<QuotaIdent>('/v1/quotas/:project/:resource', { schema: { params: QuotaParams } }, async (request, reply) => {
      await quotas.delete(ctxOf(request), request.params.project, request.params.resource);
      reply.code(204).send();
    });
  };
}

