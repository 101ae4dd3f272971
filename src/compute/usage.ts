// Usage reports (os-simple-tenant-usage): the hours each server of a project ran within a period,
// weighted by its vCPUs, memory and disk, as Nova reports them for billing. Deleted servers count
// up to the time they ended; servers are read a page at a time.
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ForbiddenError } from '../platform/errors.ts';
import { yieldToIo, type ComputeCore } from './core.ts';
import type { FlavorRow, ServerRow } from './tables.ts';

/** Servers read per query when a report covers everything (before 2.40's paging). */
const PAGE = 1000;

export interface UsagePeriod {
  start: Date;
  stop: Date;
}

export interface ServerUsage {
  instance_id: string;
  name: string;
  tenant_id: string;
  flavor: string;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  hours: number;
  started_at: string;
  ended_at: string | null;
  state: string;
  uptime: number;
}

export interface TenantUsage {
  tenant_id: string;
  server_usages?: ServerUsage[];
  total_local_gb_usage: number;
  total_vcpus_usage: number;
  total_memory_mb_usage: number;
  total_hours: number;
  start: string;
  stop: string;
}

/** Nova's time format in usage reports: no zone, microseconds. */
export const usageTime = (d: Date) => d.toISOString().replace(/Z$/, '').replace(/\.(\d{3})$/, '.$1000');

const FORMAT = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,6})?$/;

/** A period's bound as Nova reads it (`YYYY-MM-DDTHH:MM:SS[.ffffff]`, UTC); `now` when absent. */
function parseTime(value: string | undefined, now: Date): Date {
  if (value === undefined || value === '') return now;
  const m = FORMAT.exec(value);
  const d = m ? new Date(`${m[1]}T${m[2]}${(m[3] ?? '').slice(0, 4)}Z`) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw new BadRequestError(`Invalid StrTime: ${value}. Datetime is in invalid format`);
  return d;
}

/** The period of a report: start before end (400 otherwise), the end no later than now. */
export function usagePeriod(start: string | undefined, end: string | undefined, now = new Date()): UsagePeriod {
  const from = parseTime(start, now);
  const to = parseTime(end, now);
  if (from.getTime() > to.getTime() || (from.getTime() === to.getTime() && start !== undefined && end !== undefined)) {
    throw new BadRequestError('Invalid start time. The start time cannot occur after the end time.');
  }
  return { start: from, stop: to.getTime() > now.getTime() ? now : to };
}

/** One server's usage within the period. */
export function serverUsage(s: ServerRow, period: UsagePeriod, now: Date): ServerUsage {
  const launched = new Date(s.launched_at!);
  const ended = s.deleted ? new Date(s.terminated_at ?? s.updated_at) : null;
  let hours = 0;
  if (!(ended && ended < period.start) && !(launched > period.stop)) {
    const from = launched > period.start ? launched : period.start;
    const to = ended && ended < period.stop ? ended : period.stop;
    hours = Math.max(0, to.getTime() - from.getTime()) / 3_600_000;
  }
  const flavor = JSON.parse(s.flavor) as Partial<FlavorRow>;
  return {
    instance_id: s.id,
    name: s.name,
    tenant_id: s.project_id,
    flavor: flavor.name ?? '',
    vcpus: s.vcpus,
    memory_mb: s.memory_mib,
    local_gb: s.disk_gib + Number(flavor.ephemeral ?? 0),
    hours,
    started_at: usageTime(launched),
    ended_at: ended ? usageTime(ended) : null,
    state: ended ? 'terminated' : s.vm_state,
    uptime: Math.floor(((ended ?? now).getTime() - launched.getTime()) / 1000),
  };
}

export class Usage {
  constructor(private readonly core: ComputeCore) {}

  /**
   * Usage summed per project over the servers that ran in the period: of every project (admins),
   * or of one. With `page` only that page of servers (2.40's limit and marker); answers the
   * summaries and the last server read (the next page's marker when the page was full).
   */
  async report(
    ctx: RequestContext,
    period: UsagePeriod,
    opts: { projectId?: string; detailed: boolean; page?: { limit: number; marker?: string } },
  ): Promise<{ usages: TenantUsage[]; last?: ServerRow; full: boolean }> {
    if (opts.projectId === undefined) this.core.enforce(ctx, 'usage:list');
    else if (!this.core.isAdmin(ctx) && (ctx.scope.kind !== 'project' || ctx.scope.projectId !== opts.projectId)) {
      throw new ForbiddenError("Policy doesn't allow os_compute_api:os-simple-tenant-usage:show to be performed.");
    }
    const startIso = period.start.toISOString();
    const stopIso = period.stop.toISOString();
    let after: ServerRow | undefined;
    if (opts.page?.marker) {
      after = await this.core.store.serverEvenDeleted(opts.page.marker);
      if (!after || after.launched_at === null || (opts.projectId !== undefined && after.project_id !== opts.projectId)) throw new BadRequestError(`marker [${opts.page.marker}] not found`);
    }
    const now = new Date();
    const byProject = new Map<string, TenantUsage>();
    let last: ServerRow | undefined;
    let read = 0;
    for (;;) {
      const want = opts.page ? Math.min(opts.page.limit - read, PAGE) : PAGE;
      if (want <= 0) break;
      const rows = await this.core.store.serversRunningIn(startIso, stopIso, opts.projectId, want, after && { launched_at: after.launched_at!, id: after.id });
      for (const s of rows) {
        const u = serverUsage(s, period, now);
        let sum = byProject.get(s.project_id);
        if (!sum) {
          sum = {
            tenant_id: s.project_id,
            ...(opts.detailed ? { server_usages: [] } : {}),
            total_local_gb_usage: 0,
            total_vcpus_usage: 0,
            total_memory_mb_usage: 0,
            total_hours: 0,
            start: usageTime(period.start),
            stop: usageTime(period.stop),
          };
          byProject.set(s.project_id, sum);
        }
        sum.total_local_gb_usage += u.local_gb * u.hours;
        sum.total_vcpus_usage += u.vcpus * u.hours;
        sum.total_memory_mb_usage += u.memory_mb * u.hours;
        sum.total_hours += u.hours;
        sum.server_usages?.push(u);
      }
      read += rows.length;
      if (rows.length) last = after = rows[rows.length - 1];
      if (rows.length < want) return { usages: [...byProject.values()], ...(last ? { last } : {}), full: false };
      await yieldToIo();
    }
    return { usages: [...byProject.values()], ...(last ? { last } : {}), full: true };
  }
}
