// Nova v2.1 HTTP routes under /compute: version discovery, microversion negotiation, flavors,
// servers and their actions, key pairs, server groups, quotas, limits, hypervisors and services.
import os from 'node:os';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpServer } from '../platform/http/server.ts';
import { authenticate, contextOf, type TokenValidator } from '../platform/auth/context.ts';
import { BadRequestError, NotAcceptableError, NotFoundError } from '../platform/errors.ts';
import { DEFAULT_QUOTAS } from './quotas.ts';
import type { ComputeService } from './service.ts';
import type { ServerRow } from './tables.ts';
import { flavorView, hypervisorView, interfaceAttachmentView, keypairView, serverDetails, serverGroupView, serverView, serviceView } from './views.ts';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string>; Body: Record<string, unknown> }>;

const PUBLIC = { config: { public: true } };
export const MIN_VERSION = '2.1';
export const MAX_VERSION = '2.1';

/** Reads the requested microversion; hafen speaks 2.1 and says so for anything newer. */
function negotiate(request: FastifyRequest, reply: FastifyReply): void {
  const h = request.headers['openstack-api-version'];
  const legacy = request.headers['x-openstack-nova-api-version'];
  let wanted: string | undefined;
  if (typeof h === 'string') {
    const m = /(?:^|,)\s*compute\s+(\S+)/i.exec(h);
    if (m) wanted = m[1];
  } else if (typeof legacy === 'string') {
    wanted = legacy.trim();
  }
  reply.header('openstack-api-version', `compute ${MAX_VERSION}`).header('x-openstack-nova-api-version', MAX_VERSION).header('vary', 'OpenStack-API-Version, X-OpenStack-Nova-API-Version');
  if (wanted === undefined || wanted === 'latest') return;
  const m = /^(\d+)\.(\d+)$/.exec(wanted);
  if (!m) throw new BadRequestError(`Invalid API version request string ${wanted}`);
  const [maj, min] = [Number(m[1]), Number(m[2])];
  if (maj !== 2 || min > 1 || min < 0) {
    throw new NotAcceptableError(`Version ${wanted} is not supported by the API. Minimum is ${MIN_VERSION} and maximum is ${MAX_VERSION}.`);
  }
}

export function computeApi(compute: ComputeService, validator: TokenValidator, publicUrl: string) {
  const base = `${publicUrl}/compute/v2.1`;
  const version = {
    id: 'v2.1',
    status: 'CURRENT',
    version: MAX_VERSION,
    min_version: MIN_VERSION,
    updated: '2013-07-23T11:33:21Z',
    links: [{ rel: 'self', href: `${base}/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  };
  const viewsOf = (request: Req, rows: ServerRow[]) => serverDetails(compute, contextOf(request), rows, base);
  const viewOf = (request: Req) => async (s: ServerRow) => (await viewsOf(request, [s]))[0]!;

  return async (app: HttpServer) => {
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-compute-request-id', request.id);
      negotiate(request, reply);
    });
    app.addHook('preHandler', authenticate(validator));

    app.get('/', PUBLIC, async (_r, reply) => reply.code(300).send({ versions: [version] }));
    app.get('/v2.1', PUBLIC, async () => ({ version }));
    app.get('/v2.1/extensions', async () => ({ extensions: [] }));

    // ---- flavors
    const visibleFlavors = async (request: Req) => {
      const q = request.query;
      return compute.flavors.list(contextOf(request), {
        ...(q.minRam ? { minRam: Number(q.minRam) } : {}),
        ...(q.minDisk ? { minDisk: Number(q.minDisk) } : {}),
        ...(q.is_public === 'false' || q.is_public === 'False' ? { privateOnly: true } : {}),
      });
    };
    app.get('/v2.1/flavors', async (request: Req) => ({ flavors: (await visibleFlavors(request)).map((f) => flavorView(f, base, false)) }));
    app.get('/v2.1/flavors/detail', async (request: Req) => ({ flavors: (await visibleFlavors(request)).map((f) => flavorView(f, base)) }));
    app.get('/v2.1/flavors/:id', async (request: Req) => ({ flavor: flavorView(await compute.flavors.get(contextOf(request), request.params.id!), base) }));
    app.post('/v2.1/flavors', async (request: Req) => ({ flavor: flavorView(await compute.flavors.create(contextOf(request), request.body ?? {}), base) }));
    app.delete('/v2.1/flavors/:id', async (request: Req, reply) => {
      await compute.flavors.delete(contextOf(request), request.params.id!);
      reply.code(202).send();
    });
    app.get('/v2.1/flavors/:id/os-extra_specs', async (request: Req) => ({ extra_specs: await compute.flavors.extraSpecs(contextOf(request), request.params.id!) }));
    app.post('/v2.1/flavors/:id/os-extra_specs', async (request: Req) => ({
      extra_specs: await compute.flavors.setExtraSpecs(contextOf(request), request.params.id, request.body?.extra_specs),
    }));
    app.get('/v2.1/flavors/:id/os-extra_specs/:key', async (request: Req) => {
      const specs = await compute.flavors.extraSpecs(contextOf(request), request.params.id!);
      if (!(request.params.key in specs)) throw new NotFoundError(`Flavor ${request.params.id} has no extra specs with key ${request.params.key}.`);
      return { [request.params.key]: specs[request.params.key] };
    });
    app.put('/v2.1/flavors/:id/os-extra_specs/:key', async (request: Req) => {
      const body = request.body ?? {};
      if (Object.keys(body).length !== 1 || !(request.params.key in body)) throw new BadRequestError('Request body and URI mismatch');
      const specs = await compute.flavors.setExtraSpecs(contextOf(request), request.params.id, body);
      return { [request.params.key]: specs[request.params.key] };
    });
    app.delete('/v2.1/flavors/:id/os-extra_specs/:key', async (request: Req) => {
      await compute.flavors.deleteExtraSpec(contextOf(request), request.params.id, request.params.key);
      return {};
    });

    // ---- servers
    app.post('/v2.1/servers', async (request: Req, reply) => {
      const rows = await compute.build.create(contextOf(request), request.body ?? {}, request.id);
      reply.code(202);
      const first = rows[0]!;
      if (request.body?.return_reservation_id === true) return { reservation_id: `r-${first.id.slice(0, 8)}` };
      return {
        server: {
          id: first.id,
          links: serverView(first, base, { admin: false, detail: false }).links,
          'OS-DCF:diskConfig': 'MANUAL',
          security_groups: (JSON.parse(first.security_groups) as string[]).map((name) => ({ name })),
          adminPass: '',
        },
      };
    });
    app.get('/v2.1/servers', async (request: Req) => ({
      servers: (await compute.listing.list(contextOf(request), request.query)).map((s) => serverView(s, base, { admin: false, detail: false })),
    }));
    app.get('/v2.1/servers/detail', async (request: Req) => {
      return { servers: await viewsOf(request, await compute.listing.list(contextOf(request), request.query)) };
    });
    app.get('/v2.1/servers/:id', async (request: Req) => ({
      server: await viewOf(request)(await compute.server(contextOf(request), request.params.id)),
    }));
    app.put('/v2.1/servers/:id', async (request: Req) => ({
      server: await viewOf(request)(await compute.servers.update(contextOf(request), request.params.id, request.body ?? {})),
    }));
    app.delete('/v2.1/servers/:id', async (request: Req, reply) => {
      await compute.servers.delete(contextOf(request), request.params.id!, request.id);
      reply.code(204).send();
    });
    app.post('/v2.1/servers/:id/action', async (request: Req, reply) => {
      const result = await compute.actions.run(contextOf(request), request.params.id!, request.body ?? {}, request.id);
      if (result === undefined) return reply.code(202).send();
      const name = Object.keys(request.body ?? {})[0];
      if (name === 'rebuild') {
        const server = await compute.server(contextOf(request), request.params.id);
        return reply.code(202).send({ server: await viewOf(request)(server) });
      }
      if (name === 'createImage') {
        const imageId = (result as { image_id: string }).image_id;
        reply.header('location', `${publicUrl}/image/v2/images/${imageId}`);
        return reply.code(202).send(result);
      }
      return reply.code(200).send(result);
    });
    app.get('/v2.1/servers/:id/metadata', async (request: Req) => ({
      metadata: await compute.servers.metadata(contextOf(request), request.params.id!),
    }));
    app.post('/v2.1/servers/:id/metadata', async (request: Req) => ({
      metadata: await compute.servers.setMetadata(contextOf(request), request.params.id, request.body?.metadata, false),
    }));
    app.put('/v2.1/servers/:id/metadata', async (request: Req) => ({
      metadata: await compute.servers.setMetadata(contextOf(request), request.params.id, request.body?.metadata, true),
    }));
    app.delete('/v2.1/servers/:id/metadata/:key', async (request: Req, reply) => {
      await compute.servers.deleteMetadata(contextOf(request), request.params.id, request.params.key);
      reply.code(204).send();
    });
    app.get('/v2.1/servers/:id/os-instance-actions', async (request: Req) => {
      const actions = await compute.instanceActions.list(contextOf(request), request.params.id!);
      return {
        instanceActions: actions.map((a) => ({
          action: a.action,
          instance_uuid: a.server_id,
          request_id: a.request_id,
          user_id: a.user_id,
          project_id: a.project_id,
          start_time: a.start_time,
          message: a.message,
        })),
      };
    });
    app.get('/v2.1/servers/:id/os-instance-actions/:req', async (request: Req) => {
      const a = await compute.instanceActions.get(contextOf(request), request.params.id!, request.params.req!);
      return {
        instanceAction: {
          action: a.action,
          instance_uuid: a.server_id,
          request_id: a.request_id,
          user_id: a.user_id,
          project_id: a.project_id,
          start_time: a.start_time,
          message: a.message,
          events: JSON.parse(a.events),
        },
      };
    });

    // ---- interfaces
    app.get('/v2.1/servers/:id/os-interface', async (request: Req) => ({
      interfaceAttachments: (await compute.interfaces.list(contextOf(request), request.params.id!)).map(interfaceAttachmentView),
    }));
    app.get('/v2.1/servers/:id/os-interface/:port', async (request: Req) => ({
      interfaceAttachment: interfaceAttachmentView(await compute.interfaces.get(contextOf(request), request.params.id!, request.params.port!)),
    }));
    app.post('/v2.1/servers/:id/os-interface', async (request: Req) => ({
      interfaceAttachment: interfaceAttachmentView(await compute.interfaces.attach(contextOf(request), request.params.id!, request.body ?? {}, request.id)),
    }));
    app.delete('/v2.1/servers/:id/os-interface/:port', async (request: Req, reply) => {
      await compute.interfaces.detach(contextOf(request), request.params.id!, request.params.port!, request.id);
      reply.code(202).send();
    });

    // ---- key pairs
    app.get('/v2.1/os-keypairs', async (request: Req) => {
      return { keypairs: (await compute.keypairs.list(contextOf(request))).map((k) => ({ keypair: keypairView(k, false) })) };
    });
    app.post('/v2.1/os-keypairs', async (request: Req) => {
      const { row, privateKey } = await compute.keypairs.create(contextOf(request), request.body ?? {});
      return { keypair: { ...keypairView(row, false), user_id: row.user_id, ...(privateKey ? { private_key: privateKey } : {}) } };
    });
    app.get('/v2.1/os-keypairs/:name', async (request: Req) => ({ keypair: keypairView(await compute.keypairs.get(contextOf(request), request.params.name!)) }));
    app.delete('/v2.1/os-keypairs/:name', async (request: Req, reply) => {
      await compute.keypairs.delete(contextOf(request), request.params.name!);
      reply.code(202).send();
    });

    // ---- server groups
    app.get('/v2.1/os-server-groups', async (request: Req) => {
      const groups = await compute.serverGroups.list(contextOf(request), request.query.all_projects !== undefined);
      const out = [];
      for (const g of groups) out.push(serverGroupView(g, await compute.serverGroups.members(g.id)));
      return { server_groups: out };
    });
    app.post('/v2.1/os-server-groups', async (request: Req) => {
      const g = await compute.serverGroups.create(contextOf(request), request.body ?? {});
      return { server_group: serverGroupView(g, []) };
    });
    app.get('/v2.1/os-server-groups/:id', async (request: Req) => {
      const g = await compute.serverGroups.get(contextOf(request), request.params.id!);
      return { server_group: serverGroupView(g, await compute.serverGroups.members(g.id)) };
    });
    app.delete('/v2.1/os-server-groups/:id', async (request: Req, reply) => {
      await compute.serverGroups.delete(contextOf(request), request.params.id!);
      reply.code(204).send();
    });

    // ---- quotas and limits
    const quotaTarget = (request: Req) => compute.quotas.readable(contextOf(request), request.params.project!);
    app.get('/v2.1/os-quota-sets/:project', async (request: Req) => {
      const projectId = quotaTarget(request);
      return { quota_set: { id: projectId, ...(await compute.quotas.of(projectId)) } };
    });
    app.get('/v2.1/os-quota-sets/:project/detail', async (request: Req) => {
      const projectId = quotaTarget(request);
      const limits = await compute.quotas.of(projectId);
      const used = await compute.quotas.usage(projectId);
      return {
        quota_set: {
          id: projectId,
          ...Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, { limit: v, in_use: used[k] ?? 0, reserved: 0 }])),
        },
      };
    });
    app.get('/v2.1/os-quota-sets/:project/defaults', async () => {
      return { quota_set: { id: 'defaults', ...DEFAULT_QUOTAS } };
    });
    app.put('/v2.1/os-quota-sets/:project', async (request: Req) => ({
      quota_set: await compute.quotas.set(contextOf(request), request.params.project!, request.body ?? {}),
    }));
    app.get('/v2.1/limits', async (request: Req) => {
      const ctx = contextOf(request);
      const projectId = compute.isAdmin(ctx) && request.query.tenant_id ? request.query.tenant_id : ctx.scope.kind === 'project' ? ctx.scope.projectId : '';
      const q = await compute.quotas.of(projectId);
      const u = await compute.quotas.usage(projectId);
      return {
        limits: {
          rate: [],
          absolute: {
            maxTotalInstances: q.instances,
            maxTotalCores: q.cores,
            maxTotalRAMSize: q.ram,
            maxTotalKeypairs: q.key_pairs,
            maxServerGroups: q.server_groups,
            maxServerGroupMembers: q.server_group_members,
            maxServerMeta: q.metadata_items,
            maxImageMeta: 128,
            maxPersonality: q.injected_files,
            maxPersonalitySize: q.injected_file_content_bytes,
            totalInstancesUsed: u.instances,
            totalCoresUsed: u.cores,
            totalRAMUsed: u.ram,
            totalServerGroupsUsed: u.server_groups,
            totalFloatingIpsUsed: 0,
            totalSecurityGroupsUsed: 0,
            maxTotalFloatingIps: -1,
            maxSecurityGroups: -1,
            maxSecurityGroupRules: -1,
          },
        },
      };
    });

    // ---- hosts: hypervisors, services, availability zones
    const hostUsage = async () => {
      const allocations = compute.hosts.allocations();
      return (hostId: string) => {
        const a = allocations.get(hostId);
        return { vcpus: a?.vcpus ?? 0, ram: a?.ramMiB ?? 0, disk: a?.diskGiB ?? 0, servers: a?.servers ?? 0 };
      };
    };
    const hypervisors = async (request: Req, detail: boolean) => {
      const hosts = await compute.hosts.list(contextOf(request), 'hypervisors');
      const usage = await hostUsage();
      return hosts.map((h) => hypervisorView(h, compute.hosts.isUp(h), usage(h.id), detail));
    };
    app.get('/v2.1/os-hypervisors', async (request: Req) => ({ hypervisors: await hypervisors(request, false) }));
    app.get('/v2.1/os-hypervisors/detail', async (request: Req) => ({ hypervisors: await hypervisors(request, true) }));
    app.get('/v2.1/os-hypervisors/statistics', async (request: Req) => {
      const all = (await hypervisors(request, true)) as ReturnType<typeof hypervisorView>[] as { vcpus: number; memory_mb: number; local_gb: number; vcpus_used: number; memory_mb_used: number; local_gb_used: number; running_vms: number }[];
      const sum = (k: keyof (typeof all)[number]) => all.reduce((n, h) => n + (h[k] as number), 0);
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
    app.get('/v2.1/os-hypervisors/:pattern/search', async (request: Req) => {
      const found = (await hypervisors(request, false)).filter((h) => h.hypervisor_hostname.includes(request.params.pattern!));
      if (found.length === 0) throw new NotFoundError(`No hypervisor matching '${request.params.pattern}' could be found.`);
      return { hypervisors: found };
    });
    app.get('/v2.1/os-hypervisors/:id/uptime', async (request: Req) => {
      const found = (await hypervisors(request, false)).find((h) => String(h.id) === request.params.id);
      if (!found) throw new NotFoundError(`Hypervisor with ID ${request.params.id} could not be found.`);
      // The engines of the all-in-one cloud share this machine's clock and load.
      const up = os.uptime();
      const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
      const uptime = ` ${new Date().toTimeString().slice(0, 8)} up ${Math.floor(up / 3600)}:${String(Math.floor((up % 3600) / 60)).padStart(2, '0')},  0 users,  load average: ${load}`;
      return { hypervisor: { ...found, uptime } };
    });
    // Host aggregates are not modelled; clients that list them (hypervisor show) get none.
    app.get('/v2.1/os-aggregates', async (request: Req) => {
      compute.enforce(contextOf(request), 'hypervisors');
      return { aggregates: [] };
    });
    app.get('/v2.1/os-hypervisors/:id', async (request: Req) => {
      const found = (await hypervisors(request, true)).find((h) => String(h.id) === request.params.id || h.hypervisor_hostname === request.params.id);
      if (!found) throw new NotFoundError(`Hypervisor with ID ${request.params.id} could not be found.`);
      return { hypervisor: found };
    });
    app.get('/v2.1/os-services', async (request: Req) => {
      let hosts = await compute.hosts.list(contextOf(request), 'services');
      if (request.query.host) hosts = hosts.filter((h) => h.hostname === request.query.host);
      if (request.query.binary && request.query.binary !== 'nova-compute') hosts = [];
      return { services: hosts.map((h) => serviceView(h, compute.hosts.isUp(h))) };
    });
    const setService = (enabled: boolean) => async (request: Req) => {
      const ctx = contextOf(request);
      compute.enforce(ctx, 'services');
      const body = request.body ?? {};
      if (body.binary !== undefined && body.binary !== 'nova-compute') throw new NotFoundError(`Host ${String(body.host)} could not be found.`);
      const reason = enabled ? null : typeof body.disabled_reason === 'string' ? body.disabled_reason : null;
      const host = await compute.hosts.setEnabled(ctx, body.host, enabled, reason);
      return { service: { host: host.hostname, binary: 'nova-compute', status: enabled ? 'enabled' : 'disabled', ...(reason ? { disabled_reason: reason } : {}) } };
    };
    app.put('/v2.1/os-services/enable', setService(true));
    app.put('/v2.1/os-services/disable', setService(false));
    app.put('/v2.1/os-services/disable-log-reason', setService(false));
    app.get('/v2.1/os-availability-zone', async () => {
      const zones = await compute.hosts.zones();
      return { availabilityZoneInfo: zones.map((z) => ({ zoneName: z, zoneState: { available: true }, hosts: null })) };
    });
  };
}
