// Booting servers: the create request checked and its rows inserted within quota (the intent),
// then each built in the background: scheduled onto a host, its image loaded there, its ports
// bound, its container spawned, the result recorded; a failure on one host is retried on another.
import { randomUUID } from 'node:crypto';
import type { ServerSpec } from '../agent/driver.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, OverQuotaError } from '../platform/errors.ts';
import type { ImageRecord } from '../image/client.ts';
import type { NicRequest, PortBinding } from '../network/client.ts';
import { engineVolumeName, parseContainerOptions } from './container-options.ts';
import { checkTags } from './tags.ts';
import { configDriveFiles } from './config-drive.ts';
import { yieldToIo, type ComputeCore } from './core.ts';
import type { Flavors } from './flavors.ts';
import type { Hosts } from './hosts.ts';
import { finished, type InstanceActions } from './instance-actions.ts';
import { interfaceSpec } from './interfaces.ts';
import type { Quotas } from './quotas.ts';
import { chooseHost } from './scheduler/scheduler.ts';
import type { HostState, SchedulingRequest } from './scheduler/types.ts';
import type { ServerGroups } from './server-groups.ts';
import { faultJson, POWER, powerCode } from './states.ts';
import { novaBool, toInt, type SchedulerHintsBody, type ServerCreateBody } from './schemas.ts';
import type { ActionRow, FlavorRow, ServerRow, WorkloadKind } from './tables.ts';
import type { ContainerOptions, InfrastructureSpec } from '../agent/driver.ts';

/**
 * What a service's infrastructure workload (a cluster node) carries beyond a server: set only through
 * compute's client by another service, never from a request body, so no tenant can ask for its rights.
 */
export interface InfrastructureBoot {
  spec: InfrastructureSpec;
  /** Workloads it should not share a host with where room allows (soft anti-affinity). */
  spreadFrom: string[];
}


/**
 * A workload booted for another API (Zun's containers) with its own resources instead of a flavor:
 * the ledger charges whole CPUs (the container's limit is `container.cpus`), Nova's quotas apply.
 */
export interface WorkloadBoot {
  /** Chosen by the caller (a fresh uuid); a clash is a conflict. */
  id: string;
  name: string;
  imageId: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** At most one at boot (more are attached after). */
  nics: NicRequest[];
  /** The groups of the ports made for it (its project's ids); none: the project's default group. */
  securityGroupIds: string[];
  availabilityZone: string | null;
  /** A host by name or id (admins). */
  host: string | null;
  /** same_host / different_host. */
  hints: { same_host?: string[]; different_host?: string[] };
  container: ContainerOptions;
  /**
   * A running workload of the same project and kind whose network namespace this one joins (a Zun
   * capsule's later containers): no interface of its own, placed on that workload's host.
   */
  networkOf?: string;
}
/** How long a burst of scheduling decisions holds the event loop before letting it turn (ms). */
const DECISION_SLICE_MS = 2;
/** The most servers one create request may ask for (min_count, max_count); more is refused with 400. */
export const MAX_SERVERS_PER_REQUEST = 1000;

export class Builder {
  private scheduling: Promise<unknown> = Promise.resolve();
  /** When the scheduler last let the event loop turn. */
  private sliceStarted = 0;
  /** Infrastructure workloads being built: their driver spec beyond a server's (kept until built). */
  private readonly infrastructure = new Map<string, InfrastructureBoot>();
  /**
   * Servers being built: their create action as recorded and their container options as stored
   * (null: none), so that neither is read back (kept until built).
   */
  private readonly recorded = new Map<string, { action: ActionRow; options: string | null }>();
  /** Observer of each scheduling decision: its time (host states and filters/weighers, ms) and the hosts considered. */
  onSchedulingDecision: ((ms: number, hosts: number) => void) | undefined;

  constructor(
    private readonly core: ComputeCore,
    private readonly hosts: Hosts,
    private readonly quotas: Quotas,
    private readonly groups: ServerGroups,
    private readonly flavors: Flavors,
    private readonly actions: InstanceActions,
  ) {}

  /** Checks a create request, inserts its servers within quota and starts their builds; answers the rows. */
  async create(ctx: RequestContext, body: ServerCreateBody, requestId: string, kind: WorkloadKind = 'server', infrastructure?: InfrastructureBoot): Promise<ServerRow[]> {
    const { store, images } = this.core;
    if (infrastructure && (kind === 'server' || kind === 'container')) throw new BadRequestError('Servers and containers are never infrastructure.');
    this.core.enforce(ctx, 'servers:create');
    const projectId = this.core.projectOf(ctx);
    const s = body.server;
    const hints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {};
    if (!s.imageRef) throw new BadRequestError('Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid. (imageRef is required)');
    const minCount = s.min_count === undefined ? 1 : toInt(s.min_count);
    const maxCount = s.max_count === undefined ? minCount : toInt(s.max_count);
    for (const [field, n] of [['min_count', minCount], ['max_count', maxCount]] as const) {
      if (n > MAX_SERVERS_PER_REQUEST) throw new BadRequestError(`Invalid input for field/attribute ${field}. Value: ${n}. ${n} is greater than the maximum of ${MAX_SERVERS_PER_REQUEST}`);
    }
    if (maxCount < minCount) throw new BadRequestError('min_count must be <= max_count');
    const flavorId = String(s.flavorRef).replace(/^.*\/flavors\//, '');
    const flavor = await this.flavors.usable(ctx, flavorId);
    if (!flavor) throw new BadRequestError(`Flavor ${flavorId} could not be found.`);
    const imageId = s.imageRef.replace(/^.*\/images\//, '');
    let image: ImageRecord;
    try {
      image = await images.get(ctx, imageId);
    } catch (err) {
      if (err instanceof NotFoundError) throw new BadRequestError(`Image ${imageId} could not be found.`);
      throw err;
    }
    if (image.container_format !== 'docker') throw new BadRequestError(`Image ${imageId} is not a docker image (container_format=${image.container_format}); hafen servers are containers.`);
    if (image.status !== 'active') throw new BadRequestError(`Image ${imageId} is not active.`);
    if (flavor.ram < image.min_ram) throw new BadRequestError(`Flavor's memory is too small for requested image.`);
    let keyName: string | null = null;
    if (s.key_name !== undefined && s.key_name !== null) {
      if (!(await store.keypair(ctx.userId, s.key_name))) throw new BadRequestError(`Invalid key_name provided.`);
      keyName = s.key_name;
    }
    const metadata = s.metadata ?? {};
    let userData: string | null = null;
    if (s.user_data !== undefined && s.user_data !== null) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s.user_data.replace(/\s/g, ''))) throw new BadRequestError('Invalid input for field/attribute user_data: must be base64.');
      userData = s.user_data;
    }
    const networks = s.networks ?? 'auto';
    if (Array.isArray(networks)) {
      for (const n of networks) {
        if (typeof n.uuid !== 'string' && typeof n.port !== 'string') throw new BadRequestError('Invalid input for field/attribute networks: each needs a uuid or a port.');
        if (n.fixed_ip !== undefined && !/^\d+\.\d+\.\d+\.\d+$/.test(n.fixed_ip)) throw new BadRequestError(`Invalid fixed IP address ${n.fixed_ip}.`);
      }
    }
    let container = parseContainerOptions(s['hafen:container']);
    // As in Nova, a config drive when asked for (config_drive=true) or when there is something to
    // deliver (a key, user data, metadata); config_drive=false keeps it off unless a key or user data need it.
    if (s.config_drive !== undefined) container = { ...(container ?? {}), configDrive: novaBool(s.config_drive) };
    // 2.52: tags given at create are kept with the servers, in the same transaction.
    const tags = checkTags(s.tags ?? []);
    const groupId = hints.group ?? null;
    if (groupId) await this.groups.get(ctx, groupId);
    const securityGroups = s.security_groups ? s.security_groups.map((g) => g.name) : ['default'];
    let az = s.availability_zone ?? null;
    // Naming the host (`zone:host`) skips the scheduler's judgement: Nova leaves that to admins.
    if (az?.includes(':') && !this.core.isAdmin(ctx)) throw new ForbiddenError("Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.");
    // 2.74: a requested host (the API checks the version), admins only; the scheduler's filters still
    // judge it, as Nova's requested destination. Here a hypervisor's name is its host's.
    const requested = s.host ?? s.hypervisor_hostname;
    if (requested !== undefined) {
      if (!this.core.isAdmin(ctx)) throw new ForbiddenError("Policy doesn't allow compute:servers:create:requested_destination to be performed.");
      if (s.host !== undefined && s.hypervisor_hostname !== undefined && s.host !== s.hypervisor_hostname) throw new BadRequestError(`Compute host ${s.host} with hypervisor ${s.hypervisor_hostname} could not be found.`);
      const host = (await this.core.store.hosts()).find((h) => h.hostname === requested);
      if (!host) throw new BadRequestError(`Compute host ${requested} could not be found.`);
      if (az !== null && (az.includes(':') || az !== host.availability_zone)) throw new BadRequestError(`The requested availability zone is not available`);
      az = `${host.availability_zone}:${host.hostname}`;
    }
    const now = new Date().toISOString();
    const rowAt = (i: number, of: number): ServerRow => ({
      id: randomUUID(),
      name: of > 1 ? `${s.name}-${i + 1}` : s.name,
      kind,
      project_id: projectId,
      user_id: ctx.userId,
      image_id: imageId,
      flavor_id: flavor.id,
      flavor: JSON.stringify(flavor),
      old_flavor: null,
      host_id: null,
      vm_state: 'building',
      task_state: 'scheduling',
      power_state: POWER.NOSTATE,
      fault: null,
      metadata: JSON.stringify(metadata),
      key_name: keyName,
      user_data: userData,
      availability_zone: az,
      locked: 0,
      locked_by: null,
      locked_reason: null,
      networks: JSON.stringify(networks),
      addresses: '{}',
      security_groups: JSON.stringify(securityGroups),
      server_group_id: groupId,
      description: s.description ?? null,
      created_at: now,
      updated_at: now,
      launched_at: null,
      deleted: 0,
      vcpus: flavor.vcpus,
      memory_mib: flavor.ram,
      disk_gib: flavor.disk,
    });
    const q = await this.quotas.of(projectId);
    // As many as fit between min_count and max_count, decided in one pass over the quotas; their
    // create actions in the same transaction.
    let actions: ActionRow[] = [];
    const inserted = await store.insertServersWithinQuota(
      projectId,
      kind,
      { min: minCount, max: maxCount },
      { cores: flavor.vcpus, ram: flavor.ram },
      { instances: q.instances!, cores: q.cores!, ram: q.ram! },
      (n) => Array.from({ length: n }, (_, i) => rowAt(i, maxCount)),
      tags,
      (rows) => (actions = this.actions.rowsFor(rows, 'create', requestId, ctx)),
    );
    if ('over' in inserted) {
      throw new OverQuotaError(`Quota exceeded for ${inserted.over}: Requested ${inserted.requested}, but already used ${inserted.used} of ${inserted.limit} ${inserted.over}`, inserted.over);
    }
    const rows = inserted.rows;
    if (infrastructure) for (const row of rows) this.infrastructure.set(row.id, infrastructure);
    const options = container ? JSON.stringify(container) : null;
    if (options) await store.setContainerOptions(rows.map((r) => r.id), options);
    for (const [i, row] of rows.entries()) this.recorded.set(row.id, { action: actions[i]!, options });
    for (const [i, row] of rows.entries()) {
      // A large request starts its builds a few at a time, so that other requests keep answering.
      if (i % 50 === 49) await yieldToIo();
      this.core.track(this.build(ctx, row, image, flavor, hints));
    }
    return rows;
  }

  /** Inserts a workload of `kind` within Nova's quotas and starts its build; answers its row. */
  async createWorkload(ctx: RequestContext, w: WorkloadBoot, requestId: string, kind: WorkloadKind): Promise<ServerRow> {
    const { store, images } = this.core;
    this.core.enforce(ctx, 'servers:create');
    const projectId = this.core.projectOf(ctx);
    if (w.host) this.core.enforce(ctx, 'admin');
    if (w.nics.length > 1) throw new BadRequestError('A workload has one network interface at boot; attach more after.');
    let image: ImageRecord;
    try {
      image = await images.get(ctx, w.imageId);
    } catch (err) {
      if (err instanceof NotFoundError) throw new BadRequestError(`Image ${w.imageId} could not be found.`);
      throw err;
    }
    if (image.container_format !== 'docker' || image.status !== 'active') throw new BadRequestError(`Image ${w.imageId} is not an active docker image.`);
    if (await store.server(w.id)) throw new ConflictError(`A workload ${w.id} exists already.`);
    let hints = w.hints;
    if (w.networkOf !== undefined) {
      const holder = await store.server(w.networkOf);
      if (!holder || holder.project_id !== projectId || holder.kind !== kind) throw new BadRequestError(`Workload ${w.networkOf} could not be found.`);
      if (!holder.host_id || holder.vm_state !== 'active') throw new ConflictError(`Workload ${w.networkOf} is not running: only a running workload's network can be joined.`);
      if (w.nics.length) throw new BadRequestError('A workload that joins another\'s network has no interface of its own.');
      hints = { ...w.hints, same_host: [w.networkOf] };
    }
    const now = new Date().toISOString();
    // The ledger and Nova's quotas count whole CPUs; the engine limits the container to `cpus`.
    const flavor: FlavorRow = { id: kind, name: kind, ram: w.memoryMiB, vcpus: Math.max(1, Math.ceil(w.cpus)), disk: w.diskGiB, ephemeral: 0, swap: 0, is_public: 0, description: null, extra_specs: '{}', created_at: now };
    const row: ServerRow = {
      id: w.id,
      name: w.name,
      kind,
      project_id: projectId,
      user_id: ctx.userId,
      image_id: image.id,
      flavor_id: flavor.id,
      flavor: JSON.stringify(flavor),
      old_flavor: null,
      host_id: null,
      vm_state: 'building',
      task_state: 'scheduling',
      power_state: POWER.NOSTATE,
      fault: null,
      metadata: '{}',
      key_name: null,
      user_data: null,
      availability_zone: w.availabilityZone,
      locked: 0,
      locked_by: null,
      locked_reason: null,
      networks: JSON.stringify(w.networkOf !== undefined ? 'none' : w.nics.map((n) => ('portId' in n ? { port: n.portId } : { uuid: n.networkId, ...(n.fixedIp ? { fixed_ip: n.fixedIp } : {}) }))),
      addresses: '{}',
      security_groups: JSON.stringify(w.securityGroupIds),
      server_group_id: null,
      description: null,
      created_at: now,
      updated_at: now,
      launched_at: null,
      deleted: 0,
      vcpus: flavor.vcpus,
      memory_mib: flavor.ram,
      disk_gib: flavor.disk,
    };
    const q = await this.quotas.of(projectId);
    const over = await store.insertServersWithinQuota(projectId, kind, { min: 1, max: 1 }, { cores: flavor.vcpus, ram: flavor.ram }, { instances: q.instances!, cores: q.cores!, ram: q.ram! }, () => [row]);
    if ('over' in over) throw new OverQuotaError(`Quota exceeded for ${over.over}: Requested ${over.requested}, but already used ${over.used} of ${over.limit} ${over.over}`, over.over);
    // Only compute names the workload whose network a container joins (checked above), never the caller's options.
    const { networkOf: _ignored, ...container } = w.container;
    const options = JSON.stringify({ ...container, cpus: w.cpus, configDrive: false, ...(w.networkOf !== undefined ? { networkOf: w.networkOf } : {}) });
    await store.setContainerOptions([row.id], options);
    this.recorded.set(row.id, { action: await this.actions.record(row, 'create', requestId, ctx), options });
    this.core.track(this.build(ctx, row, image, flavor, hints, w.host));
    return row;
  }

  /**
   * Loads an image the caller sees onto a host now, as a boot there would (admins; Zun's image
   * pull): resolves once the host has it.
   */
  async ensureImageOnHost(ctx: RequestContext, host: string, imageId: string): Promise<{ hostId: string; hostname: string }> {
    this.core.enforce(ctx, 'admin');
    const h = (await this.hosts.list(ctx, 'hypervisors')).find((x) => x.id === host || x.hostname === host);
    if (!h) throw new NotFoundError(`Host ${host} could not be found.`);
    if (!this.hosts.isUp(h)) throw new ConflictError(`Host ${h.hostname} does not answer.`);
    const image = await this.core.images.get(ctx, imageId);
    if (image.container_format !== 'docker' || image.status !== 'active') throw new BadRequestError(`Image ${imageId} is not an active docker image.`);
    await this.hosts.driverOf(h.id).ensureImage(image.id, image.docker_image_id ?? '', () => this.core.images.openData(ctx, image.id));
    return { hostId: h.id, hostname: h.hostname };
  }

  /**
   * Scheduling decisions are serialised so that two boots never both take a host's last room: each
   * takes its room in the ledger at once, and the placements of one turn are written in one commit.
   * Resolves once the placement is written.
   */
  private schedule(row: ServerRow, request: SchedulingRequest): Promise<HostState> {
    const decision = this.scheduling.then(async () => {
      // A burst of decisions runs in slices of the event loop: requests in between are answered.
      if (performance.now() - this.sliceStarted > DECISION_SLICE_MS) {
        await yieldToIo();
        this.sliceStarted = performance.now();
      }
      const t0 = performance.now();
      const states = await this.hosts.states();
      const chosen = chooseHost(states, request);
      this.onSchedulingDecision?.(performance.now() - t0, states.length);
      return { chosen, placed: this.core.store.placeServer(row, chosen.host.id) };
    });
    this.scheduling = decision.catch(() => undefined);
    return decision.then(async ({ chosen, placed }) => {
      await placed;
      return chosen;
    });
  }

  private async build(ctx: RequestContext, row: ServerRow, image: ImageRecord, flavor: FlavorRow, hints: SchedulerHintsBody, requestedHost: string | null = null): Promise<void> {
    try {
      await this.buildOnce(ctx, row, image, flavor, hints, requestedHost);
    } finally {
      this.infrastructure.delete(row.id);
      this.recorded.delete(row.id);
    }
  }

  private async buildOnce(ctx: RequestContext, row: ServerRow, image: ImageRecord, flavor: FlavorRow, hints: SchedulerHintsBody, requestedHost: string | null): Promise<void> {
    const infrastructure = this.infrastructure.get(row.id);
    const { store, network, images } = this.core;
    const tried: string[] = [];
    const group = row.server_group_id ? await store.serverGroup(row.server_group_id) : undefined;
    const listOf = (v: unknown) => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < this.core.options.maxAttempts; attempt++) {
      let hostId: string | undefined;
      try {
        const placedMembers = group ? (await store.groupMemberIds(group.id, true)).filter((id) => id !== row.id) : [];
        const request: SchedulingRequest = {
          vcpus: flavor.vcpus,
          ramMiB: flavor.ram,
          diskGiB: flavor.disk,
          availabilityZone: row.availability_zone,
          imageArchitecture: image.properties.architecture ?? null,
          group: group ? { id: group.id, policy: group.policy as 'affinity' } : null,
          groupHasMembers: placedMembers.length > 0,
          sameHost: listOf(hints.same_host),
          differentHost: listOf(hints.different_host),
          ignoreHosts: tried,
          ratios: this.core.options.ratios,
          requestedHost,
        };
        // A service's infrastructure spreads over hosts where room allows; else it shares one.
        const spread = infrastructure?.spreadFrom ?? [];
        const chosen = spread.length
          ? await this.schedule(row, { ...request, differentHost: [...request.differentHost, ...spread] }).catch((err: Error) => (err.name === 'NoValidHost' ? this.schedule(row, request) : Promise.reject(err)))
          : await this.schedule(row, request);
        hostId = chosen.host.id;
        tried.push(hostId);
        const driver = this.hosts.driverOf(hostId);
        // The image on the host and the ports in the database, side by side (neither needs the other).
        // Infrastructure runs hafen's own engine image, not the tenant's: nothing to load.
        const [, bindings] = await Promise.all([
          infrastructure ? undefined : driver.ensureImage(image.id, image.docker_image_id ?? '', () => images.openData(ctx, image.id)),
          this.bindNics(ctx, row, hostId),
        ]);
        // Still there? (its owner's columns are enough to say: not the whole row)
        if (!(await store.serverOwner(row.id))) {
          // Deleted meanwhile: the delete may have released the ports before they were bound here.
          await network.unbindPorts(ctx, row.id).catch(() => undefined);
          return;
        }
        const known = this.recorded.get(row.id);
        const spec = { ...(await serverSpec(this.core, row, image, flavor, bindings[0], known && (known.options === null ? null : (JSON.parse(known.options) as ContainerOptions)))), ...(infrastructure ? { infrastructure: infrastructure.spec } : {}) };
        if (bindings.length > 1 && !driver.capabilities.interfaceHotplug) throw new Error(`The host ${hostId} cannot give a server more than one interface.`);
        // An engine starts containers fastest a few at a time; more at once only adds latency.
        // Several networks asked for: the first at create, the others plugged in after, in order.
        const state = await this.hosts.spawnSlots(hostId).run(async () => {
          const s = await driver.spawn(spec);
          for (const b of bindings.slice(1)) await driver.attachInterface(row.id, interfaceSpec(b));
          return s;
        });
        // Its firewalls announced and its addresses read in one call, then the result recorded (a
        // server without ports has neither: nothing to ask the network service).
        const addresses = bindings.length ? await network.serverRunning(row.id) : {};
        const result = {
          // A workload made without starting it (Zun's create) is recorded stopped.
          vm_state: state.power === 'shutdown' ? ('stopped' as const) : ('active' as const),
          task_state: null,
          power_state: powerCode(state.power),
          launched_at: new Date().toISOString(),
          addresses: JSON.stringify(addresses),
        };
        // The result and the action's end in one commit (the action read back only when not known).
        const action = this.recorded.get(row.id)?.action;
        const ok = action ? await store.finishBuild(row.id, result, { task_state: 'spawning' }, finished(action, 'Success')) : await store.updateServer(row.id, result, { task_state: 'spawning' });
        // A delete that came in during the build owns the server now: the container and ports go
        // (its own clean-up may have run before they existed).
        if (!ok) {
          await driver.destroy(row.id);
          await network.unbindPorts(ctx, row.id).catch(() => undefined);
        }
        if (!action) await this.actions.finish(row.id, 'create', 'Success');
        return;
      } catch (err) {
        if ((err as Error).name === 'NoValidHost') {
          // After failed attempts, the failure that made us retry is the one worth showing.
          if (lastError) lastError = new Error(`Exceeded maximum number of retries: no other host can take the server. Last error: ${lastError.message}`);
          else lastError = err as Error;
          break;
        }
        lastError = err as Error;
        if (hostId) await this.hosts.driverOf(hostId).destroy(row.id).catch(() => undefined);
        await network.unbindPorts(ctx, row.id).catch(() => undefined);
        await store.updateServer(row.id, { host_id: null, task_state: 'scheduling' });
      }
    }
    await store.updateServer(row.id, { vm_state: 'error', task_state: null, power_state: POWER.NOSTATE, host_id: null, fault: faultJson(lastError?.message ?? 'Build failed') });
    await this.actions.finish(row.id, 'create', 'Error');
  }

  /** Ports for the server on its host: what it asked for, its project's default network, or none. */
  private async bindNics(ctx: RequestContext, row: ServerRow, hostId: string): Promise<PortBinding[]> {
    const asked = JSON.parse(row.networks) as 'auto' | 'none' | { uuid?: string; port?: string; fixed_ip?: string }[];
    if (asked === 'none') return [];
    const nics: NicRequest[] =
      asked === 'auto' || asked.length === 0
        ? [{ networkId: await this.core.defaultNetwork(ctx, row.project_id) }]
        : asked.map((n) => (n.port ? { portId: n.port } : { networkId: n.uuid!, ...(n.fixed_ip ? { fixedIp: n.fixed_ip } : {}) }));
    // Zun's containers: their ports are owned as Zun owns them, with the groups the container asked for;
    // servers get the groups of their create request (names or ids, Nova's security_groups).
    const groups = row.kind === 'container' ? { deviceOwner: 'compute:zun', securityGroupIds: JSON.parse(row.security_groups) as string[] } : { securityGroups: JSON.parse(row.security_groups) as string[] };
    return this.core.network.bindPorts(ctx, row.id, hostId, nics, { projectId: row.project_id, ...groups });
  }
}

/** What the host's driver needs to run the server: image, limits, its first interface, config drive. */
export async function serverSpec(core: ComputeCore, row: ServerRow, image: ImageRecord, flavor: FlavorRow, binding?: PortBinding, known?: ContainerOptions | null): Promise<ServerSpec> {
  const specs = JSON.parse(flavor.extra_specs) as Record<string, string>;
  const key = row.key_name ? await core.store.keypair(row.user_id, row.key_name) : undefined;
  const commandLine = image.properties.os_command_line;
  // `known`: the options as the build stored them (null: none); read from the rows otherwise.
  const options = known !== undefined ? known : await core.store.containerOptions(row.id).then((o) => (o ? (JSON.parse(o) as ContainerOptions) : null));
  for (const v of options?.namedVolumes ?? []) v.volume = engineVolumeName(row.project_id, v.name);
  return {
    serverId: row.id,
    imageId: image.id,
    command: commandLine ? splitCommandLine(commandLine) : null,
    memoryMiB: flavor.ram,
    vcpus: flavor.vcpus,
    pidsLimit: Number(specs['hafen:pids_limit'] ?? 1024),
    cpuset: specs['hafen:cpuset'] ?? null,
    readOnlyRoot: specs['hafen:read_only_root'] === 'true',
    hostname: row.name.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63) || 'server',
    env: JSON.parse(image.properties.docker_env ?? '[]') as string[],
    network: binding ? interfaceSpec(binding) : null,
    configDrive: configDriveFiles(row, key, options),
    authorizedKeys: key ? `${key.public_key}\n` : null,
    container: options,
  };
}

function intField(v: unknown, name: string, def: number): number {
  if (v === undefined || v === null) return def;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (!Number.isInteger(n) || (n as number) < 1) throw new BadRequestError(`Invalid input for field/attribute ${name}. Value: ${String(v)}. must be an integer >= 1`);
  return n as number;
}

/** Splits `os_command_line` as a shell would for plain words and quotes (no expansion). */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}
