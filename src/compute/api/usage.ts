// os-simple-tenant-usage: usage of every project (admins) or of one, over a period; paged from 2.40.
import { contextOf } from '../../platform/auth/context.ts';
import { MAX_LIMIT } from '../listing.ts';
import { ProjectParams, UsageQuery } from '../schemas.ts';
import { usagePeriod } from '../usage.ts';
import { atOf, type ComputeRoutes } from './index.ts';

export function usageRoutes({ app, compute, base }: ComputeRoutes): void {
  /** 2.40's page, and the link to the next one when this one is full. */
  const paging = (request: { query: UsageQuery }, at: (v: string) => boolean) =>
    at('2.40') ? { limit: Math.min(request.query.limit ?? MAX_LIMIT, MAX_LIMIT), ...(request.query.marker ? { marker: request.query.marker } : {}) } : undefined;
  const next = (url: string, query: UsageQuery, limit: number, marker: string) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (k !== 'marker' && k !== 'limit' && v !== undefined) params.set(k, String(v));
    params.set('limit', String(limit));
    params.set('marker', marker);
    return [{ rel: 'next', href: `${url}?${params.toString()}` }];
  };

  app.get('/v2.1/os-simple-tenant-usage', { schema: { querystring: UsageQuery } }, async (request) => {
    const q = request.query;
    const page = paging(request, atOf(request));
    const r = await compute.usage.report(contextOf(request), usagePeriod(q.start, q.end), { detailed: q.detailed === '1', ...(page ? { page } : {}) });
    return {
      tenant_usages: r.usages,
      ...(page && r.full && r.last ? { tenant_usages_links: next(`${base}/os-simple-tenant-usage`, q, page.limit, r.last.id) } : {}),
    };
  });
  app.get('/v2.1/os-simple-tenant-usage/:project', { schema: { params: ProjectParams, querystring: UsageQuery } }, async (request) => {
    const q = request.query;
    const page = paging(request, atOf(request));
    const project = request.params.project;
    const r = await compute.usage.report(contextOf(request), usagePeriod(q.start, q.end), { projectId: project, detailed: true, ...(page ? { page } : {}) });
    return {
      tenant_usage: r.usages[0] ?? {},
      ...(page && r.full && r.last ? { tenant_usage_links: next(`${base}/os-simple-tenant-usage/${project}`, q, page.limit, r.last.id) } : {}),
    };
  });
}
