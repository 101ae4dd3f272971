// What Zun shows of the cloud under its containers: hosts (admins), the zun-compute service of each
// host (admins: list, enable, disable, force down), availability zones, the docker images it runs
// (admins), and its network records (admins).
import type { RequestContext } from '../platform/auth/context.ts';
import { ConflictError, NotFoundError } from '../platform/errors.ts';
import { Type, type Static } from '@sinclair/typebox';
import type { HostSummary } from './clients.ts';
import type { ZunCore } from './core.ts';
import { isUuid } from './core.ts';
import { InvalidValue, ResourceNotFound } from './errors.ts';
import { parseImageName, resolveImage } from './images.ts';
import * as S from './schemas.ts';
import type { RouteFn, RouteHelpers } from './api.ts';

const BINARY = 'zun-compute';
const FORCED_DOWN = 'forced down (zun)';
const strtime = (iso: string) => `${iso.slice(0, 19)}.${iso.slice(20, 23).padEnd(6, '0')}`;

const ServiceQuery = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' }),
    binary: Type.String({ minLength: 1, maxLength: 255 }),
    disabled_reason: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    forced_down: Type.Optional(S.ZunBoolean),
  },
  { additionalProperties: false },
);
const PullBody = Type.Object({ repo: Type.String({ minLength: 2, maxLength: 255 }), host: Type.Optional(Type.String({ maxLength: 255 })), image_driver: Type.Optional(Type.String({ maxLength: 16 })) }, { additionalProperties: false });

export class Infrastructure {
  constructor(private readonly core: ZunCore) {}

  hostView(h: HostSummary): Record<string, unknown> {
    return {
      uuid: h.id,
      links: [
        { href: `${this.core.base}/hosts/${h.id}`, rel: 'self' },
        { href: `${this.core.base.replace(/\/v1$/, '')}/hosts/${h.id}`, rel: 'bookmark' },
      ],
      hostname: h.hostname,
      mem_total: h.memoryMiB,
      mem_used: h.usedMemoryMiB,
      cpus: h.cpus,
      cpu_used: h.usedCpus,
      disk_total: h.diskGiB,
      disk_used: h.usedDiskGiB,
      disk_quota_supported: false,
      total_containers: h.totalContainers,
      architecture: h.architecture,
      os_type: 'linux',
      os: 'Docker Engine',
      kernel_version: '',
      labels: {},
      runtimes: ['runc'],
      enable_cpu_pinning: false,
    };
  }

  private serviceView(h: HostSummary, i: number): Record<string, unknown> {
    return {
      id: i + 1,
      host: h.hostname,
      binary: BINARY,
      state: h.up && h.disabledReason !== FORCED_DOWN ? 'up' : 'down',
      disabled: !h.enabled,
      disabled_reason: h.disabledReason === FORCED_DOWN ? null : h.disabledReason,
      forced_down: h.disabledReason === FORCED_DOWN,
      availability_zone: h.availabilityZone,
      report_count: 0,
      last_seen_up: strtime(h.updatedAt),
      created_at: strtime(h.createdAt),
      updated_at: strtime(h.updatedAt),
    };
  }

  private async host(ctx: RequestContext, hostname: string, binary: string): Promise<HostSummary> {
    const h = (await this.core.clients.compute.hosts(ctx)).find((x) => x.hostname === hostname);
    if (!h || binary !== BINARY) throw new NotFoundError(`Zun service ${binary} on host ${hostname} could not be found.`);
    return h;
  }

  routes(route: RouteFn, h: RouteHelpers): void {
    const core = this.core;
    // ---- hosts (1.4)
    route('GET', '/v1/hosts', { querystring: S.ListQuery }, async (r) => {
      h.since(r, 4);
      core.enforce(h.ctx(r), 'host:get_all');
      return { hosts: (await core.clients.compute.hosts(h.ctx(r))).map((x) => this.hostView(x)) };
    });
    route('GET', '/v1/hosts/:ident', { params: S.IdentParams }, async (r) => {
      h.since(r, 4);
      core.enforce(h.ctx(r), 'host:get');
      const x = (await core.clients.compute.hosts(h.ctx(r))).find((y) => y.id === r.params.ident || y.hostname === r.params.ident);
      if (!x) throw new ResourceNotFound('ComputeNode', r.params.ident!);
      return this.hostView(x);
    });

    // ---- services
    route('GET', '/v1/services', {}, async (r) => {
      core.enforce(h.ctx(r), 'zun-service:get_all');
      return { services: (await core.clients.compute.hosts(h.ctx(r))).map((x, i) => this.serviceView(x, i)) };
    });
    route('PUT', '/v1/services/enable', { querystring: ServiceQuery }, async (r) => {
      core.enforce(h.ctx(r), 'zun-service:enable');
      await this.host(h.ctx(r), r.query.host!, r.query.binary!);
      await core.clients.compute.setHostEnabled(h.ctx(r), r.query.host!, true, null);
      return { service: { host: r.query.host, binary: r.query.binary, disabled: false, disabled_reason: null } };
    });
    route('PUT', '/v1/services/disable', { querystring: ServiceQuery }, async (r) => {
      core.enforce(h.ctx(r), 'zun-service:disable');
      await this.host(h.ctx(r), r.query.host!, r.query.binary!);
      const reason = r.query.disabled_reason ?? null;
      await core.clients.compute.setHostEnabled(h.ctx(r), r.query.host!, false, reason);
      return { service: { host: r.query.host, binary: r.query.binary, disabled: true, disabled_reason: reason } };
    });
    route('PUT', '/v1/services/force_down', { querystring: ServiceQuery }, async (r) => {
      core.enforce(h.ctx(r), 'zun-service:force_down');
      const x = await this.host(h.ctx(r), r.query.host!, r.query.binary!);
      const down = r.query.forced_down === undefined ? true : ['True', 'true'].includes(String(r.query.forced_down));
      // A host forced down takes no new containers until it is forced up again.
      if (down) await core.clients.compute.setHostEnabled(h.ctx(r), x.hostname, false, FORCED_DOWN);
      else if (x.disabledReason === FORCED_DOWN) await core.clients.compute.setHostEnabled(h.ctx(r), x.hostname, true, null);
      return { service: { host: r.query.host, binary: r.query.binary, forced_down: down } };
    });
    route('DELETE', '/v1/services', { querystring: ServiceQuery }, async (r) => {
      core.enforce(h.ctx(r), 'zun-service:delete');
      const x = await this.host(h.ctx(r), r.query.host!, r.query.binary!);
      throw new ConflictError(`The zun-compute service of ${x.hostname} is its host's agent; a host leaves when its agent stops.`);
    });

    // ---- availability zones
    route('GET', '/v1/availability_zones', {}, async (r) => {
      core.enforce(h.ctx(r), 'availability_zones:get');
      return { availability_zones: (await core.clients.compute.availabilityZones(h.ctx(r))).map((z) => ({ availability_zone: z })) };
    });

    // ---- images: the docker images containers run (as Zun lists the images on its hosts)
    const imageView = (i: { id: string; name: string | null; tags: string[]; size: number | null; owner: string }) => ({
      uuid: i.id,
      links: [{ href: `${core.base}/images/${i.id}`, rel: 'self' }, { href: `${core.base.replace(/\/v1$/, '')}/images/${i.id}`, rel: 'bookmark' }],
      image_id: i.id,
      repo: parseImageName(i.name ?? '').repo,
      tag: parseImageName(i.name ?? '').tag ?? i.tags[0] ?? 'latest',
      size: String(i.size ?? 0),
      project_id: i.owner,
      image_pull_policy: null,
      host: null,
    });
    route('GET', '/v1/images', { querystring: S.ListQuery }, async (r) => {
      core.enforce(h.ctx(r), 'image:get_all');
      return { images: (await core.clients.images.dockerImages(h.ctx(r))).filter((i) => i.status === 'active').map(imageView) };
    });
    route('GET', '/v1/images/:ident', { params: S.IdentParams }, async (r) => {
      core.enforce(h.ctx(r), 'image:get_one');
      const i = isUuid(r.params.ident!) ? await core.clients.images.dockerImage(h.ctx(r), r.params.ident!.toLowerCase()) : undefined;
      if (!i) throw new ResourceNotFound('Image', r.params.ident!);
      return imageView(i);
    });
    route('GET', '/v1/images/:ident/search', { params: S.IdentParams, querystring: Type.Object({ image_driver: Type.Optional(Type.String({ maxLength: 16 })), exact_match: Type.Optional(S.QueryBoolean) }, { additionalProperties: false }) }, async (r) => {
      core.enforce(h.ctx(r), 'image:search');
      const term = r.params.ident!;
      const exact = r.query.exact_match !== undefined && ['True', 'true', '1', 'yes', 'on'].includes(r.query.exact_match);
      return (await core.clients.images.dockerImages(h.ctx(r)))
        .filter((i) => i.status === 'active' && (exact ? i.name === term : (i.name ?? '').includes(term)))
        .map((i) => ({ name: i.name, tags: i.tags, id: i.id, size: i.size, owner: i.owner }));
    });
    // Pull: nothing comes from a registry; the image service's image (found as a container's image is) is loaded onto the host.
    route('POST', '/v1/images', { body: PullBody }, async (r, reply) => {
      const ctx = h.ctx(r);
      core.enforce(ctx, 'image:pull');
      const body = r.body as Static<typeof PullBody>;
      if (!body.host) throw new InvalidValue('A host to load the image onto is required (see GET /v1/hosts).');
      const driver = body.image_driver === 'glance' ? 'glance' : 'docker';
      if (body.image_driver && body.image_driver !== 'glance' && body.image_driver !== 'docker') throw new InvalidValue(`Invalid input for image_driver: ${body.image_driver}.`);
      const image = await resolveImage(core.clients.images, ctx, body.repo, driver);
      const { hostname } = await core.clients.compute.loadImage(ctx, body.host, image.id);
      reply.code(202);
      return { ...imageView(image), host: hostname };
    });

    // ---- networks (1.27, admins): engine networks are made on each host on demand, so only Neutron's exist
    route('DELETE', '/v1/networks/:ident', { params: S.IdentParams }, async (r, reply) => {
      h.since(r, 27);
      core.enforce(h.ctx(r), 'network:delete');
      if (!(await core.clients.network.networks(h.ctx(r))).some((n) => n.id === r.params.ident)) throw new ResourceNotFound('Network', r.params.ident!);
      return h.noContent(reply);
    });
  }
}
