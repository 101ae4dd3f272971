// os-hosts (admins, until 2.43, when Nova moved it to os-services and os-hypervisors): the compute
// hosts with their zones, a host's resources in total and in use per project, enabling and
// disabling it. Host power actions and maintenance mode answer 501, as Nova's container-less
// drivers answer them: hafen does not power hosts on or off.
import { contextOf } from '../../platform/auth/context.ts';
import { NotFoundError, NotImplementedError } from '../../platform/errors.ts';
import { yieldToIo } from '../core.ts';
import { OsHostParams, OsHostUpdateBody } from '../schemas.ts';
import type { HostRow } from '../tables.ts';
import type { ComputeRoutes } from './index.ts';
import { servedBetween } from './versions.ts';

export function osHostRoutes({ app, compute }: ComputeRoutes): void {
  type Req = Parameters<typeof servedBetween>[0];
  /** Served until 2.43, for admins. */
  const served = (request: Req) => {
    if (!servedBetween(request, null, '2.43')) throw new NotFoundError('The resource could not be found.');
    compute.enforce(contextOf(request), 'hypervisors');
  };
  const hostNamed = async (request: Req, name: string): Promise<HostRow> => {
    const h = (await compute.hosts.list(contextOf(request), 'hypervisors')).find((x) => x.hostname === name);
    if (!h) throw new NotFoundError(`Compute host ${name} could not be found.`);
    return h;
  };

  app.get('/v2.1/os-hosts', async (request) => {
    served(request);
    const hosts = await compute.hosts.list(contextOf(request), 'hypervisors');
    return { hosts: hosts.map((h) => ({ host_name: h.hostname, service: 'compute', zone: h.availability_zone })) };
  });

  app.get('/v2.1/os-hosts/:host', { schema: { params: OsHostParams } }, async (request) => {
    served(request);
    const h = await hostNamed(request, request.params.host);
    // What each project runs there, read a page at a time.
    const perProject = new Map<string, { cpu: number; memory_mb: number; disk_gb: number }>();
    let after: { created_at: string; id: string } | undefined;
    for (;;) {
      const rows = await compute.listing.onHost(h.id, 500, after);
      for (const r of rows) {
        const p = perProject.get(r.project_id) ?? { cpu: 0, memory_mb: 0, disk_gb: 0 };
        p.cpu += r.vcpus;
        p.memory_mb += r.memory_mib;
        p.disk_gb += r.disk_gib;
        perProject.set(r.project_id, p);
      }
      if (rows.length < 500) break;
      after = rows[rows.length - 1];
      await yieldToIo();
    }
    const used = [...perProject.values()].reduce((a, p) => ({ cpu: a.cpu + p.cpu, memory_mb: a.memory_mb + p.memory_mb, disk_gb: a.disk_gb + p.disk_gb }), { cpu: 0, memory_mb: 0, disk_gb: 0 });
    const resource = (project: string, r: { cpu: number; memory_mb: number; disk_gb: number }) => ({ resource: { host: h.hostname, project, ...r } });
    return {
      host: [
        resource('(total)', { cpu: h.vcpus, memory_mb: h.memory_mib, disk_gb: h.disk_gib }),
        resource('(used_now)', used),
        resource('(used_max)', used),
        ...[...perProject.entries()].map(([project, r]) => resource(project, r)),
      ],
    };
  });

  app.put('/v2.1/os-hosts/:host', { schema: { params: OsHostParams, body: OsHostUpdateBody } }, async (request) => {
    served(request);
    const h = await hostNamed(request, request.params.host);
    const { status, maintenance_mode } = request.body;
    if (maintenance_mode !== undefined) throw new NotImplementedError('Virt driver does not implement host maintenance mode.');
    const updated = await compute.hosts.setEnabled(contextOf(request), h.hostname, status === 'enable', status === 'disable' ? 'Disabled through os-hosts' : null);
    return { host: updated.hostname, status: updated.enabled ? 'enabled' : 'disabled' };
  });

  for (const action of ['reboot', 'shutdown', 'startup'] as const) {
    app.get(`/v2.1/os-hosts/:host/${action}`, { schema: { params: OsHostParams } }, async (request) => {
      served(request);
      await hostNamed(request, request.params.host);
      throw new NotImplementedError('Virt driver does not implement host power management.');
    });
  }
}
