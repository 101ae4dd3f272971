// The conductor records behind /v1/mservices: each controller reports a `magnum-conductor` heartbeat
// (its host, a report count that grows) and is `up` while its last report is recent, as Magnum's
// service group says; and /v1/stats, the clusters and nodes of a project (or of all, for admins).
import os from 'node:os';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../platform/auth/context.ts';
import type { HttpServer } from '../platform/http/server.ts';
import { BadRequestError, ForbiddenError, NotAcceptableError } from '../platform/errors.ts';
import { ctxOf, minorOf, type Route } from './api.ts';
import type { ClusterStore, ConductorRow } from './store.ts';
import type { TemplateService } from './templates.ts';
import { magnumTime } from './views.ts';

export const CONDUCTOR_BINARY = 'magnum-conductor';
/** Magnum's service_down_time: a conductor silent for longer is down. */
export const SERVICE_DOWN_MS = 180_000;

/** Reports this controller's heartbeat every `intervalMs` (the first at once). */
export class ConductorHeartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ClusterStore,
    private readonly log: (msg: string) => void,
    private readonly intervalMs = 10_000,
    readonly host = os.hostname(),
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    await this.store.heartbeat(this.host, CONDUCTOR_BINARY).catch((err: Error) => this.log(`clusters: conductor heartbeat: ${err.message}`));
  }
}

export function mserviceView(row: ConductorRow, now = Date.now()) {
  const up = row.forced_down !== 1 && now - Date.parse(row.last_seen_up) <= SERVICE_DOWN_MS;
  return {
    id: row.id,
    host: row.host,
    binary: row.binary,
    state: up ? 'up' : 'down',
    report_count: row.report_count,
    disabled: row.disabled === 1,
    disabled_reason: row.disabled_reason,
    created_at: magnumTime(row.created_at),
    updated_at: magnumTime(row.updated_at),
  };
}

export class RecordsService {
  constructor(
    private readonly store: ClusterStore,
    private readonly templates: TemplateService,
  ) {}

  async mservices(ctx: RequestContext): Promise<ConductorRow[]> {
    this.templates.enforce(ctx, 'magnum-service:get_all');
    return this.store.conductors();
  }

  /** Magnum's stats: a non-admin sees its own project's (another project's is 403); an admin any or all. */
  async stats(ctx: RequestContext, projectId: string | undefined, type: string | undefined): Promise<{ clusters: number; nodes: number }> {
    this.templates.enforce(ctx, 'stats:get_all');
    if (type !== undefined && type.toLowerCase() !== 'cluster') throw new BadRequestError("Invalid stats type. Allowed values are 'cluster'");
    let project = projectId || undefined;
    if (!this.templates.isAdmin(ctx)) {
      const own = ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
      project ??= own;
      if (!own || project !== own) throw new ForbiddenError('Not authorized.');
    }
    return this.store.stats(project);
  }
}

export function recordRoutes(records: RecordsService): Route {
  return (app: HttpServer) => {
    app.get('/v1/mservices', async (request) => ({ mservices: (await records.mservices(ctxOf(request))).map((r) => mserviceView(r)) }));
    const StatsQuery = Type.Object({ project_id: Type.Optional(Type.String({ maxLength: 255 })), type: Type.Optional(Type.String({ maxLength: 32 })) });
    app.get<{ Querystring: { project_id?: string; type?: string } }>('/v1/stats', { schema: { querystring: StatsQuery } }, async (request: FastifyRequest<{ Querystring: { project_id?: string; type?: string } }>) => {
      const minor = minorOf(request);
      if (minor < 4) throw new NotAcceptableError(`Version 1.${minor} was requested but the minor version is not supported by this service. The supported version range is: [1.4, 1.11].`);
      return records.stats(ctxOf(request), request.query.project_id, request.query.type);
    });
  };
}
