// Hosts as Nova shows them to admins: hypervisors, compute services, availability zones, each at the
// microversion asked for (integer ids before 2.53, uuids from 2.53; forced_down from 2.11).
import os from 'node:os';
import { contextOf, type RequestContext } from '../../platform/auth/context.ts';
import { BadRequestError, NotFoundError } from '../../platform/errors.ts';
import { AnyQuery, IdParams, PatternParams, ServiceForceDownBody, ServiceListQuery, ServiceStatusBody, ServiceUpdateBody } from '../schemas.ts';
import type { HostRow } from '../tables.ts';
import { hypervisorView, serviceView, type At } from '../views.ts';
import { atOf, type ComputeRoutes } from './index.ts';
import { servedBetween } from './versions.ts';

export function hostRoutes({ app, compute, base }: ComputeRoutes): void {
  const notFound = () => new NotFoundError('The resource could not be found.');
  const usage = (h: HostRow) => {
    const a = compute.hosts.allocations().get(h.id);
    return { vcpus: a?.vcpus ?? 0, ram: a?.ramMiB ?? 0, disk: a?.diskGiB ?? 0, servers: a?.servers ?? 0 };
  };
  const serversOf = async (h: HostRow) => {
    const ids = [...(compute.hosts.allocations().get(h.id)?.serverIds ?? [])];
    return ids.map((id) => ({ uuid: id, name: `hafen-${id}` }));
  };
  const view = async (h: HostRow, detail: boolean, at: At, withServers: boolean) => ({
    ...hypervisorView(h, compute.hosts.isUp(h), usage(h), detail, at),
    ...(withServers ? { servers: await serversOf(h) } : {}),
  });
  /** The hypervisors of a list: 2.53 filters by hostname pattern and adds servers when asked. */
  const hypervisors = async (request: Parameters<typeof atOf>[0] & { query: Record<string, string | undefined> }, detail: boolean) => {
    const at = atOf(request);
    let hosts = await compute.hosts.list(contextOf(request), 'hypervisors');
    const q = request.query;
    const withServers = at('2.53') && ['1', 'true', 'True', 'yes'].includes(q.with_servers ?? '');
    if (at('2.53') && q.hypervisor_hostname_pattern !== undefined) {
      const pattern = q.hypervisor_hostname_pattern;
      hosts = hosts.filter((h) => h.hostname.includes(pattern));
      if (hosts.length === 0) throw new NotFoundError(`Hypervisor with hostname pattern ${pattern} could not be found.`);
    }
    return Promise.all(hosts.map((h) => view(h, detail, at, withServers)));
  };
  app.get('/v2.1/os-hypervisors', { schema: { querystring: AnyQuery } }, async (request) => ({ hypervisors: await hypervisors(request, false) }));
  app.get('/v2.1/os-hypervisors/detail', { schema: { querystring: AnyQuery } }, async (request) => ({ hypervisors: await hypervisors(request, true) }));
  app.get('/v2.1/os-hypervisors/statistics', async (request) => {
    const hosts = await compute.hosts.list(contextOf(request), 'hypervisors');
    const all = hosts.map((h) => hypervisorView(h, compute.hosts.isUp(h), usage(h), true, atOf(request)));
    const sum = (k: 'vcpus' | 'memory_mb' | 'local_gb' | 'vcpus_used' | 'memory_mb_used' | 'local_gb_used' | 'running_vms' | 'free_ram_mb' | 'free_disk_gb' | 'disk_available_least' | 'current_workload') =>
      all.reduce((n, h) => n + (h as unknown as Record<string, number>)[k]!, 0);
    return {
      hypervisor_statistics: {
        count: all.length,
        vcpus: sum('vcpus'),
        memory_mb: sum('memory_mb'),
        local_gb: sum('local_gb'),
        vcpus_used: sum('vcpus_used'),
        memory_mb_used: sum('memory_mb_used'),
        local_gb_used: sum('local_gb_used'),
        free_ram_mb: sum('free_ram_mb'),
        free_disk_gb: sum('free_disk_gb'),
        current_workload: sum('current_workload'),
        running_vms: sum('running_vms'),
        disk_available_least: sum('disk_available_least'),
      },
    };
  });
  // Until 2.53: search by hostname and a host's servers by hostname (then the list's query parameters).
  const byPattern = async (request: Parameters<typeof atOf>[0] & { params: { pattern: string } }, withServers: boolean) => {
    if (!servedBetween(request, null, '2.53')) throw notFound();
    const hosts = (await compute.hosts.list(contextOf(request), 'hypervisors')).filter((h) => h.hostname.includes(request.params.pattern));
    if (hosts.length === 0) throw new NotFoundError(`No hypervisor matching '${request.params.pattern}' could be found.`);
    return { hypervisors: await Promise.all(hosts.map((h) => view(h, false, atOf(request), withServers))) };
  };
  app.get('/v2.1/os-hypervisors/:pattern/search', { schema: { params: PatternParams } }, async (request) => byPattern(request, false));
  app.get('/v2.1/os-hypervisors/:pattern/servers', { schema: { params: PatternParams } }, async (request) => byPattern(request, true));
  /** A hypervisor by the id its microversion shows (a uuid from 2.53, else the integer; the hostname too). */
  const hypervisor = async (ctx: RequestContext, id: string, at: At) => {
    const hosts = await compute.hosts.list(ctx, 'hypervisors');
    const found = at('2.53') ? hosts.find((h) => h.uuid === id) : hosts.find((h) => String(h.number) === id || h.hostname === id);
    if (!found) {
      if (at('2.53') && !/^[0-9a-f-]{36}$/i.test(id)) throw new BadRequestError(`Invalid uuid ${id}`);
      throw new NotFoundError(`Hypervisor with ID ${id} could not be found.`);
    }
    return found;
  };
  app.get('/v2.1/os-hypervisors/:id/uptime', { schema: { params: IdParams } }, async (request) => {
    const at = atOf(request);
    const h = await hypervisor(contextOf(request), request.params.id, at);
    // The engines of the all-in-one cloud share this machine's clock and load.
    const up = os.uptime();
    const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
    const uptime = ` ${new Date().toTimeString().slice(0, 8)} up ${Math.floor(up / 3600)}:${String(Math.floor((up % 3600) / 60)).padStart(2, '0')},  0 users,  load average: ${load}`;
    return { hypervisor: { ...(await view(h, false, at, false)), uptime } };
  });
  app.get('/v2.1/os-hypervisors/:id', { schema: { params: IdParams, querystring: AnyQuery } }, async (request) => {
    const at = atOf(request);
    const h = await hypervisor(contextOf(request), request.params.id, at);
    const q = request.query as Record<string, string | undefined>;
    return { hypervisor: await view(h, true, at, at('2.53') && ['1', 'true', 'True', 'yes'].includes(q.with_servers ?? '')) };
  });

  // ---- os-services
  const service = (h: HostRow, at: At) => serviceView(h, compute.hosts.isUp(h), at);
  app.get('/v2.1/os-services', { schema: { querystring: ServiceListQuery } }, async (request) => {
    let hosts = await compute.hosts.list(contextOf(request), 'services');
    if (request.query.host) hosts = hosts.filter((h) => h.hostname === request.query.host);
    if (request.query.binary && request.query.binary !== 'nova-compute') hosts = [];
    return { services: hosts.map((h) => service(h, atOf(request))) };
  });
  // 2.1-2.52: enable, disable and force-down name the host.
  const setService = (enabled: boolean) => async (request: { body: ServiceStatusBody } & Parameters<typeof atOf>[0]) => {
    if (!servedBetween(request, null, '2.53')) throw notFound();
    const ctx = contextOf(request);
    compute.enforce(ctx, 'services');
    const body = request.body;
    if (body.binary !== undefined && body.binary !== 'nova-compute') throw new NotFoundError(`Host ${body.host} could not be found.`);
    const reason = enabled ? null : (body.disabled_reason ?? null);
    const host = await compute.hosts.setEnabled(ctx, body.host, enabled, reason);
    return { service: { host: host.hostname, binary: 'nova-compute', status: enabled ? 'enabled' : 'disabled', ...(reason ? { disabled_reason: reason } : {}) } };
  };
  const status = { schema: { body: ServiceStatusBody } };
  app.put('/v2.1/os-services/enable', status, setService(true));
  app.put('/v2.1/os-services/disable', status, setService(false));
  app.put('/v2.1/os-services/disable-log-reason', status, setService(false));
  app.put('/v2.1/os-services/force-down', { schema: { body: ServiceForceDownBody } }, async (request) => {
    if (!servedBetween(request, '2.11', '2.53')) throw notFound();
    const ctx = contextOf(request);
    compute.enforce(ctx, 'services');
    if (request.body.binary !== 'nova-compute') throw new NotFoundError(`Host ${request.body.host} could not be found.`);
    const host = await compute.hosts.setForcedDown(ctx, await compute.hosts.byName(request.body.host), request.body.forced_down);
    return { service: { host: host.hostname, binary: 'nova-compute', forced_down: Boolean(host.forced_down) } };
  });
  // 2.53: one update by the service's uuid.
  app.put('/v2.1/os-services/:id', { schema: { params: IdParams, body: ServiceUpdateBody } }, async (request) => {
    if (!atOf(request)('2.53')) throw notFound();
    const ctx = contextOf(request);
    const body = request.body;
    if (body.disabled_reason !== undefined && body.status !== 'disabled') throw new BadRequestError("Specifying 'disabled_reason' with status 'enabled' is invalid.");
    if (body.status === undefined && body.forced_down === undefined) throw new BadRequestError("At least one of 'status' or 'forced_down' must be specified in the request body.");
    let host = await compute.hosts.service(ctx, request.params.id);
    if (body.status !== undefined) {
      const enabled = body.status === 'enabled';
      host = await compute.hosts.setEnabled(ctx, host.hostname, enabled, enabled ? null : (body.disabled_reason ?? null));
    }
    if (body.forced_down !== undefined) host = await compute.hosts.setForcedDown(ctx, host, body.forced_down);
    return { service: service(host, atOf(request)) };
  });
  app.delete('/v2.1/os-services/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const ctx = contextOf(request);
    const at = atOf(request);
    // Before 2.53 the integer id; from 2.53 the uuid (another string is a 400 there).
    if (at('2.53') && !/^[0-9a-f-]{36}$/i.test(request.params.id)) throw new BadRequestError(`Invalid uuid ${request.params.id}`);
    const host = await compute.hosts.service(ctx, request.params.id);
    if (at('2.53') ? host.uuid !== request.params.id : String(host.number) !== request.params.id) throw new NotFoundError(`Service ${request.params.id} could not be found.`);
    await compute.hosts.deleteService(ctx, host);
    reply.code(204).send();
  });

  // ---- availability zones
  app.get('/v2.1/os-availability-zone', async () => {
    const zones = await compute.hosts.zones();
    return { availabilityZoneInfo: zones.map((z) => ({ zoneName: z, zoneState: { available: true }, hosts: null })) };
  });
  app.get('/v2.1/os-availability-zone/detail', async (request) => {
    const ctx = contextOf(request);
    compute.enforce(ctx, 'availability_zone:detail');
    const hosts = await compute.hosts.list(ctx, 'services');
    const zones = new Map<string, HostRow[]>();
    for (const h of hosts) zones.set(h.availability_zone, [...(zones.get(h.availability_zone) ?? []), h]);
    return {
      availabilityZoneInfo: [...zones].map(([zone, members]) => ({
        zoneName: zone,
        zoneState: { available: members.some((h) => h.enabled && compute.hosts.isUp(h)) },
        hosts: Object.fromEntries(
          members.map((h) => [h.hostname, { 'nova-compute': { available: compute.hosts.isUp(h), active: Boolean(h.enabled), updated_at: h.heartbeat_at.replace(/Z$/, '') } }]),
        ),
      })),
    };
  });
  void base;
}
