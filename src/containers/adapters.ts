// The composition root's side of the container service's clients: each narrow interface of
// clients.ts answered by the service that owns it, through that service's own checks. Compute's
// work in the background is followed by reading the workload until its task is done.
import type { RequestContext } from '../platform/auth/context.ts';
import { ConflictError, isNotFound, NotFoundError } from '../platform/errors.ts';
import type { ComputeClient, PlacedWorkload } from '../compute/client.ts';
import type { ImageService } from '../image/service.ts';
import type { NetworkService } from '../network/service.ts';
import type { ContainerCompute, DockerImage, ImageLookup, NetworkLookup, WorkloadState, ZunClients } from './clients.ts';

const KIND = 'container' as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ZunServices {
  compute: ComputeClient;
  image: ImageService;
  network: NetworkService;
}

function stateOf(w: PlacedWorkload): WorkloadState {
  const addresses: WorkloadState['addresses'] = {};
  for (const p of w.ports) {
    for (const ip of p.fixedIps) (addresses[p.networkId] ??= []).push({ addr: ip.ipAddress, version: 4, port: p.portId, subnet_id: ip.subnetId, preserve_on_delete: p.givenByUser });
  }
  return { id: w.id, vmState: w.vmState, taskState: w.taskState, fault: w.fault?.message ?? null, hostId: w.hostId, hostUp: w.hostUp, addresses, launchedAt: w.launchedAt };
}

type ImageRowLike = { id: string; name: string | null; tags: string; status: string; owner: string; size: number | null; created_at: string; container_format: string | null };
const dockerImage = (r: ImageRowLike): DockerImage => ({ id: r.id, name: r.name, tags: JSON.parse(r.tags) as string[], status: r.status, owner: r.owner, size: r.size, createdAt: r.created_at });

export function zunClients(s: ZunServices): ZunClients {
  const { compute } = s;
  /** Resolves when the workload's task is over (or it is gone); polls, as compute's work runs in the background. */
  const settled = async (ctx: RequestContext, id: string, done: (w: PlacedWorkload | undefined) => boolean, timeoutMs = 15 * 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (let wait = 50; Date.now() < deadline; wait = Math.min(500, wait * 2)) {
      const w = (await compute.placed(ctx, [id], KIND)).get(id);
      if (done(w)) return;
      await sleep(wait);
    }
    throw new Error(`compute's work on ${id} did not end within ${timeoutMs / 1000} s`);
  };
  const taskOver = (w: PlacedWorkload | undefined) => !w || w.taskState === null;

  const containers: ContainerCompute = {
    async boot(ctx, spec, requestId) {
      const w = await compute.bootWorkload(
        ctx,
        { id: spec.id, name: spec.name, imageId: spec.imageId, cpus: spec.cpu, memoryMiB: spec.memoryMiB, diskGiB: spec.diskGiB, nics: spec.nics, securityGroupIds: spec.securityGroupIds, availabilityZone: spec.availabilityZone, host: spec.host, hints: spec.hints, container: spec.options, ...(spec.networkOf ? { networkOf: spec.networkOf } : {}) },
        requestId,
        KIND,
      );
      const state: WorkloadState = { id: w.id, vmState: w.vmState, taskState: w.taskState, fault: null, hostId: null, hostUp: true, addresses: {}, launchedAt: null };
      return { state, settled: settled(ctx, w.id, (x) => !x || x.vmState !== 'building') };
    },
    async state(ctx, id) {
      const w = (await compute.placed(ctx, [id], KIND)).get(id);
      if (!w) throw new NotFoundError(`Container ${id} could not be found.`);
      return stateOf(w);
    },
    async exitCode(ctx, id) {
      try {
        const state = (await compute.inspect(ctx, id, KIND)).State as { Running?: boolean; ExitCode?: number } | undefined;
        return state && !state.Running && typeof state.ExitCode === 'number' ? state.ExitCode : null;
      } catch {
        return null;
      }
    },
    async states(ctx, ids) {
      const out = new Map<string, WorkloadState>();
      for (const [id, w] of await compute.placed(ctx, ids, KIND)) out.set(id, stateOf(w));
      return out;
    },
    async power(ctx, id, verb, requestId) {
      let body: Record<string, unknown>;
      switch (verb) {
        case 'start':
          body = { 'os-start': null };
          break;
        case 'stop':
          body = { 'os-stop': null };
          break;
        case 'reboot': {
          // A running container restarts (SOFT); a stopped or failed one is started afresh (HARD).
          const w = (await compute.placed(ctx, [id], KIND)).get(id);
          body = { reboot: { type: w?.vmState === 'active' ? 'SOFT' : 'HARD' } };
          break;
        }
        case 'pause':
          body = { pause: null };
          break;
        case 'unpause':
          body = { unpause: null };
          break;
        default: {
          const never: never = verb;
          throw new Error(`unknown power verb ${String(never)}`);
        }
      }
      await compute.act(ctx, id, body, requestId, KIND);
      return { settled: settled(ctx, id, taskOver) };
    },
    kill: (ctx, id, signal, requestId) => compute.signal(ctx, id, signal, requestId, KIND),
    async rebuild(ctx, id, imageId, start, requestId) {
      await compute.rebuildWorkload(ctx, id, imageId, start, requestId, KIND);
      return { settled: settled(ctx, id, taskOver) };
    },
    resize: (ctx, id, cpu, memoryMiB) => compute.resizeLive(ctx, id, cpu, memoryMiB, KIND),
    async rename(ctx, id, name) {
      await compute.rename(ctx, id, name, KIND);
    },
    async delete(ctx, id, requestId) {
      await compute.delete(ctx, id, requestId, KIND);
      return { settled: settled(ctx, id, (w) => !w) };
    },
    verbs: (ctx, id) => compute.verbs(ctx, id, KIND),
    async attachNic(ctx, id, nic, requestId) {
      await compute.attachWorkloadInterface(ctx, id, 'portId' in nic ? { port_id: nic.portId } : { net_id: nic.networkId, ...(nic.fixedIp ? { fixed_ips: [{ ip_address: nic.fixedIp }] } : {}) }, requestId, KIND);
    },
    detachPort: (ctx, id, portId, requestId) => compute.detachInterface(ctx, id, portId, requestId, KIND),
    setHostEnabled: (ctx, hostname, enabled, reason) => compute.setHostEnabled(ctx, hostname, enabled, reason),
    loadImage: async (ctx, host, imageId) => ({ hostname: (await compute.ensureImageOnHost(ctx, host, imageId)).hostname }),
    availabilityZones: (ctx) => compute.availabilityZones(ctx),
    async hosts(ctx) {
      return (await compute.hosts(ctx)).map((h) => ({
        id: h.id,
        hostname: h.hostname,
        availabilityZone: h.availabilityZone,
        up: h.up,
        enabled: h.enabled,
        disabledReason: h.disabledReason,
        cpus: h.vcpus,
        memoryMiB: h.memoryMiB,
        diskGiB: h.diskGiB,
        architecture: h.architecture,
        usedCpus: h.usedVcpus,
        usedMemoryMiB: h.usedMemoryMiB,
        usedDiskGiB: h.usedDiskGiB,
        totalContainers: h.workloads,
        createdAt: h.createdAt,
        updatedAt: h.heartbeatAt,
      }));
    },
  };

  const images: ImageLookup = {
    dockerImages: async (ctx) => (await s.image.list(ctx, { container_format: 'docker' })).map(dockerImage),
    async dockerImage(ctx, id) {
      try {
        const r = await s.image.find(ctx, id);
        return r.container_format === 'docker' ? dockerImage(r) : undefined;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    createImage: async (ctx, name, tags) => dockerImage(await s.image.create(ctx, { name, container_format: 'docker', disk_format: 'raw', visibility: 'private', tags })),
    async upload(ctx, id, data) {
      await s.image.upload(ctx, id, data);
    },
  };

  const network: NetworkLookup = {
    async networks(ctx) {
      return (await s.network.list(ctx, 'network')).map((n) => ({
        id: String(n.id),
        name: String(n.name ?? ''),
        projectId: String(n.project_id),
        shared: Boolean(n.shared),
        external: Boolean(n['router:external']),
        createdAt: String(n.created_at ?? ''),
      }));
    },
    async port(ctx, id) {
      try {
        const p = await s.network.find(ctx, 'port', id);
        return { id: String(p.id), networkId: String(p.network_id), projectId: String(p.project_id), fixedIps: ((p.fixed_ips as { subnet_id: string; ip_address: string }[]) ?? []).map((f) => ({ subnetId: f.subnet_id, ipAddress: f.ip_address })), deviceId: String(p.device_id ?? '') };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async securityGroupId(ctx, nameOrId) {
      const project = ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined;
      const groups = (await s.network.listSecurityGroups(ctx)).filter((g) => g.project_id === project);
      const byId = groups.find((g) => g.id === nameOrId);
      if (byId) return String(byId.id);
      const named = groups.filter((g) => g.name === nameOrId);
      if (named.length > 1) throw new ConflictError(`Multiple security group matches found for name ${nameOrId}, use an ID to be more specific.`);
      if (!named[0]) throw new NotFoundError(`Security group ${nameOrId} not found.`);
      return String(named[0].id);
    },
    async createExposedGroup(ctx, name, ports) {
      const group = await s.network.createSecurityGroup(ctx, { name, description: 'Exposed ports of a Zun container' });
      try {
        for (const p of ports) {
          await s.network.createSecurityGroupRule(ctx, { security_group_id: group.id, direction: 'ingress', ethertype: 'IPv4', protocol: p.protocol, port_range_min: p.port, port_range_max: p.port, remote_ip_prefix: '0.0.0.0/0' });
        }
      } catch (err) {
        await s.network.deleteSecurityGroup(ctx, String(group.id)).catch(() => undefined);
        throw err;
      }
      return String(group.id);
    },
    async setPortSecurityGroups(ctx, portId, groupIds) {
      await s.network.updatePort(ctx, portId, { security_groups: groupIds });
    },
    async deleteSecurityGroup(ctx, id) {
      try {
        await s.network.deleteSecurityGroup(ctx, id);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  };

  return { images, network, compute: containers };
}
