// Hosts as Nova shows them to admins: hypervisors, compute services, availability zones.
import os from 'node:os';
import { contextOf, type RequestContext } from '../../platform/auth/context.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { AnyQuery, IdParams, PatternParams, ServiceListQuery, ServiceStatusBody } from '../schemas.ts';
import { hypervisorView, serviceView } from '../views.ts';
import type { ComputeRoutes } from './index.ts';

export function hostRoutes({ app, compute }: ComputeRoutes): void {
  const hypervisors = async (ctx: RequestContext, detail: boolean) => {
    const hosts = await compute.hosts.list(ctx, 'hypervisors');
    const allocations = compute.hosts.allocations();
    return hosts.map((h) => {
      const a = allocations.get(h.id);
      return hypervisorView(h, compute.hosts.isUp(h), { vcpus: a?.vcpus ?? 0, ram: a?.ramMiB ?? 0, disk: a?.diskGiB ?? 0, servers: a?.servers ?? 0 }, detail);
    });
  };
  app.get('/v2.1/os-hypervisors', { schema: { querystring: AnyQuery } }, async (request) => ({ hypervisors: await hypervisors(contextOf(request), false) }));
  app.get('/v2.1/os-hypervisors/detail', { schema: { querystring: AnyQuery } }, async (request) => ({ hypervisors: await hypervisors(contextOf(request), true) }));
  app.get('/v2.1/os-hypervisors/statistics', async (request) => {
    const all = (await hypervisors(contextOf(request), true)) as unknown as { vcpus: number; memory_mb: number; local_gb: number; vcpus_used: number; memory_mb_used: number; local_gb_used: number; running_vms: number }[];
    const sum = (k: keyof (typeof all)[number]) => all.reduce((n, h) => n + h[k], 0);
    return {
      hypervisor_statistics: {
        count: all.length,
        vcpus: sum('vcpus'),
        memory_mb: sum('memory_mb'),
        local_gb: sum('local_gb'),
        vcpus_used: sum('vcpus_used'),
        memory_mb_used: sum('memory_mb_used'),
        local_gb_used: sum('local_gb_used'),
        running_vms: sum('running_vms'),
      },
    };
  });
  app.get('/v2.1/os-hypervisors/:pattern/search', { schema: { params: PatternParams } }, async (request) => {
    const found = (await hypervisors(contextOf(request), false)).filter((h) => h.hypervisor_hostname.includes(request.params.pattern));
    if (found.length === 0) throw new NotFoundError(`No hypervisor matching '${request.params.pattern}' could be found.`);
    return { hypervisors: found };
  });
  app.get('/v2.1/os-hypervisors/:id/uptime', { schema: { params: IdParams } }, async (request) => {
    const found = (await hypervisors(contextOf(request), false)).find((h) => String(h.id) === request.params.id);
    if (!found) throw new NotFoundError(`Hypervisor with ID ${request.params.id} could not be found.`);
    // The engines of the all-in-one cloud share this machine's clock and load.
    const up = os.uptime();
    const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
    const uptime = ` ${new Date().toTimeString().slice(0, 8)} up ${Math.floor(up / 3600)}:${String(Math.floor((up % 3600) / 60)).padStart(2, '0')},  0 users,  load average: ${load}`;
    return { hypervisor: { ...found, uptime } };
  });
  // Host aggregates are not modelled; clients that list them (hypervisor show) get none.
  app.get('/v2.1/os-aggregates', { schema: { querystring: AnyQuery } }, async (request) => {
    compute.enforce(contextOf(request), 'hypervisors');
    return { aggregates: [] };
  });
  app.get('/v2.1/os-hypervisors/:id', { schema: { params: IdParams, querystring: AnyQuery } }, async (request) => {
    const found = (await hypervisors(contextOf(request), true)).find((h) => String(h.id) === request.params.id || h.hypervisor_hostname === request.params.id);
    if (!found) throw new NotFoundError(`Hypervisor with ID ${request.params.id} could not be found.`);
    return { hypervisor: found };
  });

  app.get('/v2.1/os-services', { schema: { querystring: ServiceListQuery } }, async (request) => {
    let hosts = await compute.hosts.list(contextOf(request), 'services');
    if (request.query.host) hosts = hosts.filter((h) => h.hostname === request.query.host);
    if (request.query.binary && request.query.binary !== 'nova-compute') hosts = [];
    return { services: hosts.map((h) => serviceView(h, compute.hosts.isUp(h))) };
  });
  const setService = (enabled: boolean) => async (request: { body: ServiceStatusBody } & Parameters<typeof contextOf>[0]) => {
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

  app.get('/v2.1/os-availability-zone', async () => {
    const zones = await compute.hosts.zones();
    return { availabilityZoneInfo: zones.map((z) => ({ zoneName: z, zoneState: { available: true }, hosts: null })) };
  });
}
