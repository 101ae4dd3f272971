// Compute's rules: booting servers (quota, scheduling, image loading, spawning, rescheduling),
// their lifecycle actions and states, key pairs, flavors, server groups and quotas. Every change
// that touches an engine goes: write the intent (task_state) -> act through the host's driver ->
// record the result, so that a restart can finish or clean up from the rows.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PolicyEngine } from '../platform/auth/policy.ts';
import type { Dialect } from '../platform/db/database.ts';
import { BadRequestError, ConflictError, ForbiddenError, HafenError, NotFoundError, OverQuotaError } from '../platform/errors.ts';
import type { ComputeDriver, ContainerOptions, HostCapacity, InterfaceSpec, PowerState, ServerSpec } from '../agent/driver.ts';
import { engineVolumeName, parseContainerOptions } from './container-options.ts';
import type { ImageClient, ImageRecord } from '../image/client.ts';
import type { NetworkClient, NicRequest, PortBinding } from '../network/client.ts';
import { chooseHost } from './scheduler/scheduler.ts';
import type { HostState, SchedulingRequest } from './scheduler/types.ts';
import { fingerprint, generateKeypair } from './keypairs.ts';
import type { ComputeStore, FlavorRow, HostRow, KeypairRow, ServerGroupRow, ServerRow, ServerStateRow, VmState } from './store.ts';

type Body = Record<string, unknown>;

/** Container creates+starts (and removals) in flight per host: the engine's best concurrency, measured in bench/compute. */
const SPAWNS_PER_HOST = 8;

/** A counting semaphore: at most `size` tasks run at once, the rest wait in order. */
class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    // A freed slot passes straight to the next waiter, so no newcomer can slip in between.
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export const POWER = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6, SUSPENDED: 7 } as const;

export const DEFAULT_QUOTAS: Record<string, number> = {
  instances: 10,
  cores: 20,
  ram: 51200,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
  metadata_items: 128,
  injected_files: 5,
  injected_file_content_bytes: 10240,
  injected_file_path_bytes: 255,
};

export interface ComputeOptions {
  maxAttempts: number;
  ratios: { cpu: number; ram: number; disk: number };
}

export class ComputeService {
  /** The in-process agents' drivers, by host id. */
  private readonly drivers = new Map<string, ComputeDriver>();
  /** Builds in flight, so that tests and shutdown can wait for them. */
  private readonly inFlight = new Set<Promise<void>>();
  private scheduling: Promise<unknown> = Promise.resolve();
  /** Observer of each scheduling decision: its time (host states and filters/weighers, ms) and the hosts considered. */
  onSchedulingDecision: ((ms: number, hosts: number) => void) | undefined;

  constructor(
    readonly store: ComputeStore,
    private readonly images: ImageClient,
    private readonly policy: PolicyEngine,
    private readonly dialect: Dialect,
    private readonly options: ComputeOptions,
    private readonly config: Config,
    /** Ports, addresses and security groups; without it servers join a per-project engine network. */
    private readonly network?: NetworkClient,
  ) {}

  enforce(ctx: RequestContext, action: string, target: Record<string, unknown> = {}): void {
    this.policy.enforce(`compute:${action}`, ctx, target);
  }

  isAdmin(ctx: RequestContext): boolean {
    return this.policy.authorize('compute:admin', ctx);
  }

  private project(ctx: RequestContext): string {
    if (ctx.scope.kind !== 'project') throw new ForbiddenError('Compute requires a project-scoped token.');
    return ctx.scope.projectId;
  }

  // ---- hosts

  /** `capacity`: as the host's agent reported it (remote agents register with it); else asked of the driver. */
  async registerHost(hostId: string, driver: ComputeDriver, endpoint: string, availabilityZone = 'nova', capacity?: HostCapacity): Promise<HostRow> {
    const cap = capacity ?? (await driver.capacity());
    const now = new Date().toISOString();
    const row: HostRow = {
      id: hostId,
      hostname: hostId,
      endpoint,
      vcpus: cap.vcpus,
      memory_mib: cap.memoryMiB,
      disk_gib: cap.diskGiB,
      architecture: cap.architecture,
      availability_zone: availabilityZone,
      enabled: 1,
      disabled_reason: null,
      heartbeat_at: now,
      created_at: now,
    };
    await this.store.upsertHost(row);
    this.drivers.set(hostId, driver);
    return (await this.store.host(hostId))!;
  }

  /** The driver of an in-process host (tests look at fake hosts through it). */
  hostDriver(hostId: string): ComputeDriver | undefined {
    return this.drivers.get(hostId);
  }

  hostIsUp(h: HostRow): boolean {
    return Date.now() - Date.parse(h.heartbeat_at) < this.config.hostDownAfterMs;
  }

  private driverOf(hostId: string | null): ComputeDriver {
    const d = hostId ? this.drivers.get(hostId) : undefined;
    if (!d) throw new ConflictError(`The host of this server (${hostId ?? 'none'}) has no agent connected.`);
    return d;
  }

  // ---- flavors

  async flavor(ctx: RequestContext, id: string): Promise<FlavorRow> {
    const f = await this.store.flavor(id);
    if (!f || (!f.is_public && !this.isAdmin(ctx))) throw new NotFoundError(`Flavor ${id} could not be found.`);
    return f;
  }

  /** The flavors the caller may boot with (public ones; all for admins). */
  async flavorsFor(ctx: RequestContext): Promise<FlavorRow[]> {
    return (await this.store.flavors()).filter((f) => f.is_public || this.isAdmin(ctx));
  }

  /** Flavor delete with Nova's policy (flavor_manage), for other services (orchestration). */
  async deleteFlavor(ctx: RequestContext, id: string): Promise<void> {
    this.enforce(ctx, 'flavor_manage');
    if (!(await this.store.deleteFlavor(id))) throw new NotFoundError(`Flavor ${id} could not be found.`);
  }

  async createFlavor(ctx: RequestContext, body: Body): Promise<FlavorRow> {
    this.enforce(ctx, 'flavor_manage');
    const f = (body.flavor ?? {}) as Body;
    const int = (k: string, min: number, def?: number) => {
      const v = f[k] ?? def;
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (!Number.isInteger(n) || (n as number) < min) throw new BadRequestError(`Invalid input for field/attribute ${k}. Value: ${String(v)}. must be an integer >= ${min}`);
      return n as number;
    };
    if (typeof f.name !== 'string' || !f.name.trim() || f.name.length > 255) throw new BadRequestError("Invalid input for field/attribute name. Value: None. 'name' is a required property");
    const row: FlavorRow = {
      id: f.id === undefined || f.id === null || f.id === 'auto' ? randomUUID() : String(f.id),
      name: f.name,
      ram: int('ram', 1),
      vcpus: int('vcpus', 1),
      disk: int('disk', 0),
      ephemeral: int('OS-FLV-EXT-DATA:ephemeral', 0, 0),
      swap: f.swap === '' || f.swap === undefined ? 0 : int('swap', 0),
      is_public: f['os-flavor-access:is_public'] === false ? 0 : 1,
      description: typeof f.description === 'string' ? f.description : null,
      extra_specs: '{}',
      created_at: new Date().toISOString(),
    };
    await this.store.insertFlavor(row);
    return row;
  }

  async setExtraSpecs(ctx: RequestContext, flavorId: string, specs: unknown, replace = false): Promise<Record<string, string>> {
    this.enforce(ctx, 'flavor_manage');
    const f = await this.flavor(ctx, flavorId);
    if (!specs || typeof specs !== 'object' || Array.isArray(specs)) throw new BadRequestError("Invalid input for field/attribute extra_specs: must be an object.");
    for (const [k, v] of Object.entries(specs)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new BadRequestError(`Invalid extra spec ${k}: values must be strings.`);
    }
    const merged = { ...(replace ? {} : JSON.parse(f.extra_specs)), ...Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, String(v)])) };
    await this.store.updateFlavor(flavorId, { extra_specs: JSON.stringify(merged) });
    return merged;
  }

  async deleteExtraSpec(ctx: RequestContext, flavorId: string, key: string): Promise<void> {
    this.enforce(ctx, 'flavor_manage');
    const f = await this.flavor(ctx, flavorId);
    const specs = JSON.parse(f.extra_specs) as Record<string, string>;
    if (!(key in specs)) throw new NotFoundError(`Flavor ${flavorId} has no extra specs with key ${key}.`);
    delete specs[key];
    await this.store.updateFlavor(flavorId, { extra_specs: JSON.stringify(specs) });
  }

  async seedFlavors(): Promise<void> {
    const defaults: [string, string, number, number, number][] = [
      ['1', 'm1.tiny', 64, 1, 1],
      ['2', 'm1.small', 256, 1, 5],
      ['3', 'm1.medium', 512, 2, 10],
      ['4', 'm1.large', 1024, 4, 20],
    ];
    const existing = new Set((await this.store.flavors()).map((f) => f.name));
    for (const [id, name, ram, vcpus, disk] of defaults) {
      if (existing.has(name)) continue;
      await this.store
        .insertFlavor({ id, name, ram, vcpus, disk, ephemeral: 0, swap: 0, is_public: 1, description: null, extra_specs: '{}', created_at: new Date().toISOString() })
        .catch((err) => {
          if (!(err instanceof ConflictError)) throw err;
        });
    }
  }

  // ---- key pairs

  async createKeypair(ctx: RequestContext, body: Body): Promise<{ row: KeypairRow; privateKey?: string }> {
    this.enforce(ctx, 'keypairs:create');
    const k = (body.keypair ?? {}) as Body;
    const name = k.name;
    if (typeof name !== 'string' || !/^[\w .@-]{1,255}$/.test(name)) {
      throw new BadRequestError("Invalid input for field/attribute name. Keypair name must be 1-255 characters of letters, digits, spaces, '.', '_', '-', '@'.");
    }
    const quota = (await this.quotas(this.project(ctx))).key_pairs!;
    if (quota >= 0 && (await this.store.keypairs(ctx.userId)).length >= quota) {
      throw new OverQuotaError('Quota exceeded, too many key pairs.', 'key_pairs');
    }
    let publicKey: string;
    let privateKey: string | undefined;
    if (k.public_key !== undefined) {
      if (typeof k.public_key !== 'string') throw new BadRequestError('Keypair data is invalid: public_key must be a string');
      publicKey = k.public_key.trim();
    } else {
      ({ publicKey, privateKey } = generateKeypair(`Generated-by-hafen`));
    }
    const row: KeypairRow = { user_id: ctx.userId, name, public_key: publicKey, fingerprint: fingerprint(publicKey), type: 'ssh', created_at: new Date().toISOString() };
    await this.store.insertKeypair(row);
    return { row, ...(privateKey ? { privateKey } : {}) };
  }

  async keypair(ctx: RequestContext, name: string): Promise<KeypairRow> {
    this.enforce(ctx, 'keypairs:show');
    const k = await this.store.keypair(ctx.userId, name);
    if (!k) throw new NotFoundError(`Keypair ${name} not found for user ${ctx.userId}`);
    return k;
  }

  async deleteKeypair(ctx: RequestContext, name: string): Promise<void> {
    this.enforce(ctx, 'keypairs:delete');
    if (!(await this.store.deleteKeypair(ctx.userId, name))) throw new NotFoundError(`Keypair ${name} not found for user ${ctx.userId}`);
  }

  // ---- quotas

  async quotas(projectId: string): Promise<Record<string, number>> {
    return { ...DEFAULT_QUOTAS, ...(await this.store.quotaOverrides(projectId)) };
  }

  async setQuotas(ctx: RequestContext, projectId: string, body: Body): Promise<Record<string, number>> {
    this.enforce(ctx, 'quotas:update');
    const q = (body.quota_set ?? {}) as Body;
    for (const [k, v] of Object.entries(q)) {
      if (k === 'force' || k === 'id') continue;
      if (!(k in DEFAULT_QUOTAS)) throw new BadRequestError(`Bad key(s) ${k} in quota_set`);
      const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
      if (!Number.isInteger(n) || (n as number) < -1) throw new BadRequestError(`Invalid input for field/attribute ${k}. Value: ${String(v)}. must be an integer >= -1`);
      await this.store.setQuota(projectId, k, n as number);
    }
    return this.quotas(projectId);
  }

  async usage(projectId: string): Promise<Record<string, number>> {
    const used = await this.store.projectUsage(projectId);
    return { ...used, server_groups: (await this.store.serverGroups(projectId)).length };
  }

  // ---- server groups

  async createServerGroup(ctx: RequestContext, body: Body): Promise<ServerGroupRow> {
    this.enforce(ctx, 'server_groups:create');
    const g = (body.server_group ?? {}) as Body;
    const policies = Array.isArray(g.policies) ? g.policies : g.policy !== undefined ? [g.policy] : [];
    const policy = policies[0];
    if (typeof g.name !== 'string' || !g.name) throw new BadRequestError("Invalid input for field/attribute name. 'name' is a required property");
    if (policies.length !== 1 || !['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'].includes(String(policy))) {
      throw new BadRequestError('Invalid input for field/attribute policies: one of affinity, anti-affinity, soft-affinity, soft-anti-affinity.');
    }
    const projectId = this.project(ctx);
    const quota = (await this.quotas(projectId)).server_groups!;
    if (quota >= 0 && (await this.store.serverGroups(projectId)).length >= quota) throw new OverQuotaError('Quota exceeded, too many server groups.', 'server_groups');
    const row: ServerGroupRow = { id: randomUUID(), name: g.name, project_id: projectId, user_id: ctx.userId, policy: String(policy), created_at: new Date().toISOString() };
    await this.store.insertServerGroup(row);
    return row;
  }

  async serverGroup(ctx: RequestContext, id: string): Promise<ServerGroupRow> {
    const g = await this.store.serverGroup(id);
    if (!g || (g.project_id !== ctx.scope.kind && g.project_id !== (ctx.scope.kind === 'project' ? ctx.scope.projectId : '') && !this.isAdmin(ctx))) {
      throw new NotFoundError(`Server group ${id} could not be found.`);
    }
    return g;
  }

  /** Server group delete with Nova's policy, for other services (orchestration). */
  async deleteServerGroup(ctx: RequestContext, id: string): Promise<void> {
    const g = await this.serverGroup(ctx, id);
    this.enforce(ctx, 'server_groups:delete');
    await this.store.deleteServerGroup(g.id);
  }

  async groupMembers(groupId: string): Promise<string[]> {
    return this.store.groupMemberIds(groupId);
  }

  // ---- servers: reading

  /** The server if the caller may see it; 404 otherwise, whether it exists or not. */
  async server(ctx: RequestContext, id: string): Promise<ServerRow> {
    const s = await this.store.server(id);
    if (!s || (s.project_id !== (ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined) && !this.isAdmin(ctx))) {
      throw new NotFoundError(`Instance ${id} could not be found.`);
    }
    return s;
  }

  async list(ctx: RequestContext, q: Record<string, string>): Promise<ServerRow[]> {
    this.enforce(ctx, 'servers:index');
    const all = this.isAdmin(ctx) && (q.all_tenants === '1' || q.all_tenants === 'true' || q.all_tenants === 'True' || q.all_tenants === '');
    const projectId = all ? (q.project_id || undefined) : q.project_id && this.isAdmin(ctx) ? q.project_id : this.project(ctx);
    let changesSince: string | undefined;
    if (q['changes-since']) {
      const t = new Date(q['changes-since']);
      if (Number.isNaN(t.getTime())) throw new BadRequestError(`Invalid changes-since value: ${q['changes-since']}`);
      changesSince = t.toISOString();
    }
    let limit: number | undefined;
    if (q.limit !== undefined) {
      limit = Number(q.limit);
      if (!Number.isInteger(limit) || limit < 0) throw new BadRequestError('Invalid input for query parameters limit. Value: ' + q.limit);
    }
    let after: ServerRow | undefined;
    if (q.marker) {
      after = await this.store.server(q.marker);
      if (!after || (projectId !== undefined && after.project_id !== projectId)) throw new BadRequestError(`marker [${q.marker}] not found`);
    }
    const sqlFilter = {
      ...(projectId !== undefined ? { projectId } : {}),
      ...(q.image ? { imageId: q.image } : {}),
      ...(q.flavor ? { flavorId: q.flavor } : {}),
      ...(q.host && this.isAdmin(ctx) ? { hostId: q.host } : {}),
      ...(changesSince ? { changesSince } : {}),
      ...(after ? { after } : {}),
    };
    // Name (a regex) and status are matched here; without them the page is cut in SQL.
    if (!q.name && !q.status) return this.store.serversPage({ ...sqlFilter, ...(limit !== undefined ? { limit } : {}) });
    let rows = await this.store.serversPage(sqlFilter);
    if (q.name) {
      let re: RegExp;
      try {
        re = new RegExp(q.name);
      } catch {
        throw new BadRequestError(`Invalid name filter: ${q.name}`);
      }
      rows = rows.filter((r) => re.test(r.name));
    }
    if (q.status) rows = rows.filter((r) => novaStatus(r) === q.status!.toUpperCase());
    return limit !== undefined ? rows.slice(0, limit) : rows;
  }

  // ---- servers: boot

  async create(ctx: RequestContext, body: Body, requestId: string): Promise<ServerRow[]> {
    this.enforce(ctx, 'servers:create');
    const projectId = this.project(ctx);
    const s = body.server as Body | undefined;
    if (!s || typeof s !== 'object') throw new BadRequestError("Invalid input for field/attribute server. 'server' is a required property");
    const hints = (body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {}) as Body;
    if (typeof s.name !== 'string' || !s.name.trim() || s.name.length > 255) throw new BadRequestError("Invalid input for field/attribute name. Value: None. 'name' is a required property");
    if (typeof s.imageRef !== 'string' || !s.imageRef) throw new BadRequestError('Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid. (imageRef is required)');
    if (typeof s.flavorRef !== 'string' && typeof s.flavorRef !== 'number') throw new BadRequestError("Invalid input for field/attribute flavorRef. 'flavorRef' is a required property");
    const minCount = intField(s.min_count, 'min_count', 1);
    const maxCount = intField(s.max_count, 'max_count', minCount);
    if (maxCount < minCount) throw new BadRequestError('min_count must be <= max_count');
    const flavorId = String(s.flavorRef).replace(/^.*\/flavors\//, '');
    const flavor = await this.store.flavor(flavorId);
    if (!flavor || (!flavor.is_public && !this.isAdmin(ctx))) throw new BadRequestError(`Flavor ${flavorId} could not be found.`);
    const imageId = s.imageRef.replace(/^.*\/images\//, '');
    let image: ImageRecord;
    try {
      image = await this.images.get(ctx, imageId);
    } catch (err) {
      if (err instanceof NotFoundError) throw new BadRequestError(`Image ${imageId} could not be found.`);
      throw err;
    }
    if (image.container_format !== 'docker') throw new BadRequestError(`Image ${imageId} is not a docker image (container_format=${image.container_format}); hafen servers are containers.`);
    if (image.status !== 'active') throw new BadRequestError(`Image ${imageId} is not active.`);
    if (flavor.ram < image.min_ram) throw new BadRequestError(`Flavor's memory is too small for requested image.`);
    let keyName: string | null = null;
    if (s.key_name !== undefined && s.key_name !== null) {
      if (typeof s.key_name !== 'string' || !(await this.store.keypair(ctx.userId, s.key_name))) throw new BadRequestError(`Invalid key_name provided.`);
      keyName = s.key_name;
    }
    const metadata = s.metadata ?? {};
    if (typeof metadata !== 'object' || Array.isArray(metadata) || Object.values(metadata as object).some((v) => typeof v !== 'string')) {
      throw new BadRequestError('Invalid input for field/attribute metadata: must be an object of strings.');
    }
    let userData: string | null = null;
    if (s.user_data !== undefined && s.user_data !== null) {
      if (typeof s.user_data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s.user_data.replace(/\s/g, ''))) throw new BadRequestError('Invalid input for field/attribute user_data: must be base64.');
      userData = s.user_data;
    }
    const networks = s.networks ?? 'auto';
    if (networks !== 'auto' && networks !== 'none' && !Array.isArray(networks)) throw new BadRequestError('Invalid input for field/attribute networks.');
    if (Array.isArray(networks)) {
      if (!this.network && networks.length > 0) throw new BadRequestError('Choosing networks needs the network service.');
      for (const n of networks as Record<string, unknown>[]) {
        if (!n || typeof n !== 'object' || (typeof n.uuid !== 'string' && typeof n.port !== 'string')) {
          throw new BadRequestError('Invalid input for field/attribute networks: each needs a uuid or a port.');
        }
        if (n.fixed_ip !== undefined && !/^\d+\.\d+\.\d+\.\d+$/.test(String(n.fixed_ip))) throw new BadRequestError(`Invalid fixed IP address ${String(n.fixed_ip)}.`);
      }
      if (networks.length > 1) throw new BadRequestError('hafen servers have one network interface at boot; attach more later.');
    }
    let container = parseContainerOptions(s['hafen:container']);
    if (s.config_drive !== undefined && typeof s.config_drive !== 'boolean' && s.config_drive !== 'True' && s.config_drive !== 'False') throw new BadRequestError('Invalid input for field/attribute config_drive: must be a boolean.');
    // As in Nova, a config drive when asked for (config_drive=true) or when there is something to
    // deliver (a key, user data, metadata); config_drive=false keeps it off unless a key or user data need it.
    if (s.config_drive === false || s.config_drive === 'False') container = { ...(container ?? {}), configDrive: false };
    if (s.config_drive === true || s.config_drive === 'True') container = { ...(container ?? {}), configDrive: true };
    const groupId = typeof hints.group === 'string' ? hints.group : null;
    if (groupId) await this.serverGroup(ctx, groupId);
    const securityGroups = Array.isArray(s.security_groups) ? (s.security_groups as { name?: string }[]).map((g) => String(g?.name ?? 'default')) : ['default'];
    const az = typeof s.availability_zone === 'string' && s.availability_zone ? s.availability_zone : null;
    const now = new Date().toISOString();
    const rows: ServerRow[] = [];
    for (let i = 0; i < maxCount; i++) {
      rows.push({
        id: randomUUID(),
        name: maxCount > 1 ? `${s.name}-${i + 1}` : s.name,
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
        networks: JSON.stringify(networks),
        addresses: '{}',
        security_groups: JSON.stringify(securityGroups),
        server_group_id: groupId,
        description: typeof s.description === 'string' ? s.description : null,
        created_at: now,
        updated_at: now,
        launched_at: null,
        deleted: 0,
        vcpus: flavor.vcpus,
        memory_mib: flavor.ram,
        disk_gib: flavor.disk,
      });
    }
    const quotas = await this.quotas(projectId);
    let over = await this.store.insertServersWithinQuota(projectId, rows, { instances: quotas.instances!, cores: quotas.cores!, ram: quotas.ram! }, this.dialect === 'postgres');
    if (over && minCount < maxCount) {
      // Boot as many as fit, down to min_count.
      for (let n = maxCount - 1; n >= minCount && over; n--) {
        rows.length = n;
        over = await this.store.insertServersWithinQuota(projectId, rows, { instances: quotas.instances!, cores: quotas.cores!, ram: quotas.ram! }, this.dialect === 'postgres');
      }
    }
    if (over) {
      throw new OverQuotaError(
        `Quota exceeded for ${over.over}: Requested ${over.requested}, but already used ${over.used} of ${over.limit} ${over.over}`,
        over.over,
      );
    }
    for (const row of rows) {
      if (container) await this.store.setContainerOptions(row.id, JSON.stringify(container));
      await this.recordAction(row, 'create', requestId, ctx);
      this.track(this.build(ctx, row, image, flavor, hints));
    }
    return rows;
  }

  private readonly slots = new Map<string, Slots>();
  private spawnSlots(hostId: string): Slots {
    let slots = this.slots.get(hostId);
    if (!slots) this.slots.set(hostId, (slots = new Slots(SPAWNS_PER_HOST)));
    return slots;
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Waits for every build and action under way (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Every schedulable host (one with an agent here) with its allocations, from the ledger. */
  private async hostStates(): Promise<HostState[]> {
    const hosts = await this.store.hostsRecent();
    const allocations = this.store.hostAllocations();
    const states: HostState[] = [];
    for (const h of hosts) {
      if (!this.drivers.has(h.id)) continue;
      const a = allocations.get(h.id);
      states.push({
        host: h,
        up: this.hostIsUp(h),
        usedVcpus: a?.vcpus ?? 0,
        usedRamMiB: a?.ramMiB ?? 0,
        usedDiskGiB: a?.diskGiB ?? 0,
        serverIds: a?.serverIds ?? NONE,
        groupIds: a?.groupIds ?? NONE,
      });
    }
    return states;
  }

  /** Scheduling decisions are serialised so that two boots never both take a host's last room. */
  private schedule(row: ServerRow, request: SchedulingRequest): Promise<HostState> {
    const decision = this.scheduling.then(async () => {
      const t0 = performance.now();
      const states = await this.hostStates();
      const chosen = chooseHost(states, request);
      this.onSchedulingDecision?.(performance.now() - t0, states.length);
      await this.store.updateServer(row.id, { host_id: chosen.host.id, task_state: 'spawning' });
      return chosen;
    });
    this.scheduling = decision.catch(() => undefined);
    return decision;
  }

  private async build(ctx: RequestContext, row: ServerRow, image: ImageRecord, flavor: FlavorRow, hints: Body): Promise<void> {
    const tried: string[] = [];
    const group = row.server_group_id ? await this.store.serverGroup(row.server_group_id) : undefined;
    const listOf = (v: unknown) => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < this.options.maxAttempts; attempt++) {
      let hostId: string | undefined;
      try {
        const placedMembers = group ? (await this.store.groupMemberIds(group.id, true)).filter((id) => id !== row.id) : [];
        const chosen = await this.schedule(row, {
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
          ratios: this.options.ratios,
        });
        hostId = chosen.host.id;
        tried.push(hostId);
        const driver = this.driverOf(hostId);
        await driver.ensureImage(image.id, image.docker_image_id ?? '', () => this.images.openData(ctx, image.id));
        if (!(await this.store.server(row.id))) return; // deleted meanwhile
        const bindings = await this.bindNics(ctx, row, hostId);
        const spec = await this.specFor(row, image, flavor, bindings[0]);
        // An engine starts containers fastest a few at a time; more at once only adds latency.
        const state = await this.spawnSlots(hostId).run(() => driver.spawn(spec));
        if (this.network) await this.network.serverRunning(row.id);
        const ok = await this.store.updateServer(
          row.id,
          {
            vm_state: 'active',
            task_state: null,
            power_state: powerCode(state.power),
            launched_at: new Date().toISOString(),
            addresses: JSON.stringify(
              this.network
                ? await this.network.serverAddresses(row.id)
                : state.ip
                  ? { private: [{ version: 4, addr: state.ip, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': state.mac }] }
                  : {},
            ),
          },
          { task_state: 'spawning' },
        );
        // A delete that came in during the build owns the server now; it removes the container.
        if (!ok) await driver.destroy(row.id);
        await this.finishAction(row.id, 'create', 'Success');
        return;
      } catch (err) {
        if ((err as Error).name === 'NoValidHost') {
          // After failed attempts, the failure that made us retry is the one worth showing.
          if (lastError) lastError = new Error(`Exceeded maximum number of retries: no other host can take the server. Last error: ${lastError.message}`);
          else lastError = err as Error;
          break;
        }
        lastError = err as Error;
        if (hostId) await this.driverOf(hostId).destroy(row.id).catch(() => undefined);
        await this.network?.unbindPorts(ctx, row.id).catch(() => undefined);
        await this.store.updateServer(row.id, { host_id: null, task_state: 'scheduling' });
      }
    }
    await this.store.updateServer(row.id, {
      vm_state: 'error',
      task_state: null,
      power_state: POWER.NOSTATE,
      host_id: null,
      fault: JSON.stringify({ code: 500, message: lastError?.message ?? 'Build failed', created: new Date().toISOString() }),
    });
    await this.finishAction(row.id, 'create', 'Error');
  }

  /** The server's addresses now (floating IPs come and go), as Nova shows them. */
  async addresses(row: ServerRow): Promise<unknown> {
    return (await this.addressesOf([row])).get(row.id);
  }

  /** addresses() for many servers: one read of the network service for all. */
  async addressesOf(rows: ServerRow[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    const live = this.network ? rows.filter((r) => r.vm_state !== 'building' && r.vm_state !== 'error') : [];
    const fromNetwork = live.length ? await this.network!.serversAddresses(live.map((r) => r.id)) : new Map();
    for (const r of rows) out.set(r.id, fromNetwork.get(r.id) ?? JSON.parse(r.addresses));
    return out;
  }

  /** One default-network look-up per project at a time, so concurrent first boots make one network. */
  private readonly defaultNetworks = new Map<string, Promise<string>>();
  private defaultNetwork(ctx: RequestContext, projectId: string): Promise<string> {
    let p = this.defaultNetworks.get(projectId);
    if (!p) {
      p = this.network!.defaultNetworkId(ctx).finally(() => this.defaultNetworks.delete(projectId));
      this.defaultNetworks.set(projectId, p);
    }
    return p;
  }

  /** Ports for the server on its host: what it asked for, its project's default network, or none. */
  private async bindNics(ctx: RequestContext, row: ServerRow, hostId: string): Promise<PortBinding[]> {
    if (!this.network) return [];
    const asked = JSON.parse(row.networks) as 'auto' | 'none' | { uuid?: string; port?: string; fixed_ip?: string }[];
    if (asked === 'none') return [];
    const nics: NicRequest[] =
      asked === 'auto' || asked.length === 0
        ? [{ networkId: await this.defaultNetwork(ctx, row.project_id) }]
        : asked.map((n) => (n.port ? { portId: n.port } : { networkId: n.uuid!, ...(n.fixed_ip ? { fixedIp: n.fixed_ip } : {}) }));
    return this.network.bindPorts(ctx, row.id, hostId, nics, { projectId: row.project_id });
  }

  private async specFor(row: ServerRow, image: ImageRecord, flavor: FlavorRow, binding?: PortBinding): Promise<ServerSpec> {
    const specs = JSON.parse(flavor.extra_specs) as Record<string, string>;
    const key = row.key_name ? await this.store.keypair(row.user_id, row.key_name) : undefined;
    const commandLine = image.properties.os_command_line;
    const slot = await this.store.projectNetworkSlot(row.project_id);
    const metaData = {
      uuid: row.id,
      name: row.name,
      hostname: row.name,
      availability_zone: row.availability_zone ?? 'nova',
      project_id: row.project_id,
      meta: JSON.parse(row.metadata),
      public_keys: key ? { [key.name]: key.public_key } : {},
      keys: key ? [{ name: key.name, type: key.type, data: key.public_key }] : [],
      launch_index: 0,
    };
    const options = await this.store.containerOptions(row.id).then((o) => (o ? (JSON.parse(o) as ContainerOptions) : null));
    for (const v of options?.namedVolumes ?? []) v.volume = engineVolumeName(row.project_id, v.name);
    const hasMetadata = Object.keys(JSON.parse(row.metadata) as object).length > 0;
    const wantDrive = Boolean(key || row.user_data || options?.configDrive === true || (hasMetadata && options?.configDrive !== false));
    const configDrive: Record<string, string> = wantDrive ? { 'openstack/latest/meta_data.json': JSON.stringify(metaData) } : {};
    if (row.user_data) configDrive['openstack/latest/user_data'] = Buffer.from(row.user_data, 'base64').toString('utf8');
    const networks = JSON.parse(row.networks) as unknown;
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
      env: (JSON.parse(image.properties.docker_env ?? '[]') as string[]),
      network: binding
        ? interfaceSpec(binding)
        : networks === 'none' || this.network
          ? null
          : {
              // Engine network names carry a slot number, never a project id.
              name: `hafen-p${slot}`,
              subnet: `10.${200 + Math.floor(slot / 256)}.${slot % 256}.0/24`,
              gateway: `10.${200 + Math.floor(slot / 256)}.${slot % 256}.1`,
              internal: true,
              ip: null,
              mac: null,
            },
      configDrive,
      authorizedKeys: key ? `${key.public_key}\n` : null,
      container: options,
    };
  }

  // ---- interfaces (os-interface)

  /** Attaches and detaches on one server run one at a time, so "one interface per network" holds. */
  private readonly interfaceQueues = new Map<string, Promise<unknown>>();
  private serialisedOn<T>(serverId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.interfaceQueues.get(serverId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.interfaceQueues.set(serverId, settled);
    void settled.then(() => {
      if (this.interfaceQueues.get(serverId) === settled) this.interfaceQueues.delete(serverId);
    });
    return next;
  }

  private networkOrRefuse(): NetworkClient {
    if (!this.network) throw new BadRequestError('Interfaces need the network service.');
    return this.network;
  }

  async interfaces(ctx: RequestContext, id: string): Promise<PortBinding[]> {
    this.enforce(ctx, 'os_interface:index');
    const row = await this.server(ctx, id);
    return this.networkOrRefuse().bindingsOf(row.id);
  }

  async interfaceOf(ctx: RequestContext, id: string, portId: string): Promise<PortBinding> {
    this.enforce(ctx, 'os_interface:show');
    const row = await this.server(ctx, id);
    const b = (await this.networkOrRefuse().bindingsOf(row.id)).find((x) => x.portId === portId);
    if (!b) throw new NotFoundError(`Instance ${id} has no interface with port ${portId}.`);
    return b;
  }

  /**
   * Plugs a port (given, or made on a network with an optional fixed IP, or on the project's default
   * network) into the server. All or nothing: if the host cannot plug it, the port is unbound again.
   */
  async attachInterface(ctx: RequestContext, id: string, body: Body, requestId: string): Promise<PortBinding> {
    this.enforce(ctx, 'os_interface:create');
    const nic = parseInterfaceAttachment(body);
    const network = this.networkOrRefuse();
    return this.serialisedOn(id, async () => {
      const row = await this.server(ctx, id);
      this.assertUnlocked(ctx, row);
      this.assertInterfaceState(row, 'attach_interface');
      const driver = this.driverOf(row.host_id);
      if (!driver.capabilities.interfaceHotplug) throw new ConflictError(`The host of instance ${id} cannot attach interfaces to running servers.`);
      const before = await network.bindingsOf(id);
      if (nic && 'portId' in nic && before.some((b) => b.portId === nic.portId)) throw new ConflictError(`Port ${nic.portId} is still in use.`);
      const request: NicRequest = nic ?? { networkId: await this.defaultNetwork(ctx, row.project_id) };
      const [binding] = await network.bindPorts(ctx, id, row.host_id!, [request], { projectId: row.project_id });
      try {
        if (before.some((b) => b.networkId === binding!.networkId)) {
          throw new ConflictError(`Instance ${id} already has an interface on network ${binding!.networkId}; hafen servers take one interface per network.`);
        }
        await driver.attachInterface(id, interfaceSpec(binding!));
      } catch (err) {
        await network.unbindPort(ctx, id, binding!.portId).catch(() => undefined);
        throw hostFailure(err, `Failed to attach network adapter device to ${id}`);
      }
      await network.serverRunning(id);
      await this.recordAction(row, 'attach_interface', requestId, ctx, true);
      return binding!;
    });
  }

  /** Unplugs the port from the server, then deletes it (made for the server) or releases it (given). */
  async detachInterface(ctx: RequestContext, id: string, portId: string, requestId: string): Promise<void> {
    this.enforce(ctx, 'os_interface:delete');
    const network = this.networkOrRefuse();
    await this.serialisedOn(id, async () => {
      const row = await this.server(ctx, id);
      this.assertUnlocked(ctx, row);
      this.assertInterfaceState(row, 'detach_interface');
      const binding = (await network.bindingsOf(id)).find((b) => b.portId === portId);
      if (!binding) throw new NotFoundError(`Port ${portId} is not attached to instance ${id}.`);
      await this.driverOf(row.host_id)
        .detachInterface(id, binding.engineNetwork.name)
        .catch((err: unknown) => Promise.reject(hostFailure(err, `Failed to detach network adapter device from ${id}`)));
      await network.unbindPort(ctx, id, portId);
      await this.recordAction(row, 'detach_interface', requestId, ctx, true);
    });
  }

  private assertInterfaceState(row: ServerRow, action: string): void {
    if (!['active', 'paused', 'stopped'].includes(row.vm_state)) throw new ConflictError(`Cannot '${action}' instance ${row.id} while it is in vm_state ${row.vm_state}`);
    if (row.task_state) throw new ConflictError(`Cannot '${action}' instance ${row.id} while it is in task_state ${row.task_state}`);
  }

  // ---- servers: changes and actions

  async update(ctx: RequestContext, id: string, body: Body): Promise<ServerRow> {
    this.enforce(ctx, 'servers:update');
    const row = await this.server(ctx, id);
    this.assertUnlocked(ctx, row);
    const s = (body.server ?? {}) as Body;
    const changes: Partial<ServerRow> = {};
    if (s.name !== undefined) {
      if (typeof s.name !== 'string' || !s.name.trim() || s.name.length > 255) throw new BadRequestError('Invalid input for field/attribute name.');
      changes.name = s.name;
    }
    if (s.description !== undefined) changes.description = s.description === null ? null : String(s.description);
    await this.store.updateServer(id, changes);
    return (await this.store.server(id))!;
  }

  async setMetadata(ctx: RequestContext, id: string, metadata: unknown, replace: boolean): Promise<Record<string, string>> {
    this.enforce(ctx, 'servers:update');
    const row = await this.server(ctx, id);
    this.assertUnlocked(ctx, row);
    if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata) || Object.values(metadata).some((v) => typeof v !== 'string')) {
      throw new BadRequestError('Invalid input for field/attribute metadata: must be an object of strings.');
    }
    const merged = { ...(replace ? {} : JSON.parse(row.metadata)), ...(metadata as Record<string, string>) };
    await this.store.updateServer(id, { metadata: JSON.stringify(merged) });
    return merged;
  }

  async deleteMetadata(ctx: RequestContext, id: string, key: string): Promise<void> {
    const row = await this.server(ctx, id);
    this.assertUnlocked(ctx, row);
    const md = JSON.parse(row.metadata) as Record<string, string>;
    if (!(key in md)) throw new NotFoundError(`Metadata item was not found`);
    delete md[key];
    await this.store.updateServer(id, { metadata: JSON.stringify(md) });
  }

  private assertUnlocked(ctx: RequestContext, row: ServerRow): void {
    if (row.locked && !this.isAdmin(ctx)) throw new ConflictError(`Instance ${row.id} is locked`);
  }

  async delete(ctx: RequestContext, id: string, requestId: string, force = false): Promise<void> {
    this.enforce(ctx, force ? 'servers:force_delete' : 'servers:delete');
    const row = await this.server(ctx, id);
    this.assertUnlocked(ctx, row);
    await this.store.updateServer(id, { task_state: 'deleting' });
    await this.recordAction(row, 'delete', requestId, ctx);
    this.track(this.finishDelete(row, ctx));
  }

  private async finishDelete(row: Pick<ServerRow, 'id' | 'host_id'>, ctx?: RequestContext): Promise<void> {
    try {
      if (row.host_id && this.drivers.has(row.host_id)) {
        const driver = this.driverOf(row.host_id);
        await this.spawnSlots(row.host_id).run(() => driver.destroy(row.id));
      }
      if (this.network && ctx) await this.network.unbindPorts(ctx, row.id);
      await this.store.markDeleted(row.id);
      await this.store.deleteContainerOptions(row.id);
    } catch (err) {
      await this.store.updateServer(row.id, {
        vm_state: 'error',
        task_state: null,
        fault: JSON.stringify({ code: 500, message: `Delete failed: ${(err as Error).message}`, created: new Date().toISOString() }),
      });
    }
  }

  /** One server action (POST /servers/{id}/action); returns a body for actions that answer one. */
  async action(ctx: RequestContext, id: string, body: Body, requestId: string): Promise<unknown> {
    const keys = Object.keys(body ?? {});
    if (keys.length !== 1) throw new BadRequestError('There is either no action or more than one action in the request body.');
    const name = keys[0]!;
    const arg = (body as Record<string, unknown>)[name];
    const row = await this.server(ctx, id);
    const st = novaStatus(row);
    const conflict = (action: string) => new ConflictError(`Cannot '${action}' instance ${id} while it is in vm_state ${row.vm_state}`);
    const need = (action: string, states: VmState[]) => {
      if (!states.includes(row.vm_state)) throw conflict(action);
      if (row.task_state) throw new ConflictError(`Cannot '${action}' instance ${id} while it is in task_state ${row.task_state}`);
    };
    const power = async (action: string, states: VmState[], task: string, op: Parameters<ComputeDriver['power']>[1], to: VmState) => {
      this.enforce(ctx, `servers:${action}`);
      this.assertUnlocked(ctx, row);
      need(action, states);
      if (!(await this.store.updateServer(id, { task_state: task }, { task_state: null }))) throw conflict(action);
      await this.recordAction(row, action, requestId, ctx);
      this.track(
        (async () => {
          try {
            const state = await this.driverOf(row.host_id).power(id, op);
            await this.store.updateServer(id, { vm_state: to, task_state: null, power_state: to === 'suspended' ? POWER.SUSPENDED : powerCode(state.power) });
            await this.finishAction(id, action, 'Success');
          } catch (err) {
            await this.store.updateServer(id, { task_state: null, fault: JSON.stringify({ code: 500, message: (err as Error).message, created: new Date().toISOString() }) });
            await this.finishAction(id, action, 'Error');
          }
        })(),
      );
    };
    switch (name) {
      case 'os-start':
        return power('start', ['stopped'], 'powering-on', 'start', 'active');
      case 'os-stop':
        return power('stop', ['active', 'error'], 'powering-off', 'stop', 'stopped');
      case 'reboot': {
        const type = (arg as { type?: string } | null)?.type;
        if (type !== 'SOFT' && type !== 'HARD') throw new BadRequestError("Invalid input for field/attribute type. Value: " + String(type) + ". 'SOFT' or 'HARD' expected");
        return power('reboot', type === 'HARD' ? ['active', 'stopped', 'error'] : ['active'], type === 'HARD' ? 'rebooting_hard' : 'rebooting', type === 'HARD' ? 'hard-reboot' : 'reboot', 'active');
      }
      case 'pause':
        return power('pause', ['active'], 'pausing', 'pause', 'paused');
      case 'unpause':
        return power('unpause', ['paused'], 'unpausing', 'unpause', 'active');
      // A suspended container is frozen like a paused one (cgroup freezer), shown as SUSPENDED.
      case 'suspend':
        return power('suspend', ['active'], 'suspending', 'pause', 'suspended');
      case 'resume':
        return power('resume', ['suspended'], 'resuming', 'unpause', 'active');
      case 'lock':
        this.enforce(ctx, 'servers:lock');
        await this.store.updateServer(id, { locked: 1 });
        await this.recordAction(row, 'lock', requestId, ctx, true);
        return undefined;
      case 'unlock':
        this.enforce(ctx, 'servers:lock');
        await this.store.updateServer(id, { locked: 0 });
        await this.recordAction(row, 'unlock', requestId, ctx, true);
        return undefined;
      case 'os-getConsoleOutput': {
        this.enforce(ctx, 'servers:console_output');
        if (!row.host_id || st === 'BUILD' || st === 'ERROR') throw new ConflictError(`Cannot 'get_console_output' instance ${id} while it is in vm_state ${row.vm_state}`);
        const length = (arg as { length?: unknown } | null)?.length;
        let tail: number | null = null;
        if (length !== undefined && length !== null) {
          const n = typeof length === 'string' ? Number(length) : length;
          if (!Number.isInteger(n) || (n as number) < -1) throw new BadRequestError('Invalid input for field/attribute length.');
          tail = (n as number) < 0 ? null : (n as number);
        }
        return { output: await this.driverOf(row.host_id).consoleLog(id, tail) };
      }
      case 'forceDelete':
        await this.delete(ctx, id, requestId, true);
        return undefined;
      case 'createImage': {
        this.enforce(ctx, 'servers:create_image');
        need('createImage', ['active', 'stopped', 'paused', 'suspended']);
        if (!this.driverOf(row.host_id).capabilities.snapshot) throw new ConflictError(`The host of instance ${id} cannot snapshot servers.`);
        const a = (arg ?? {}) as Body;
        if (typeof a.name !== 'string' || !a.name) throw new BadRequestError("Invalid input for field/attribute name. 'name' is a required property");
        await this.store.updateServer(id, { task_state: 'image_snapshot' });
        await this.recordAction(row, 'createImage', requestId, ctx);
        try {
          const data = await this.driverOf(row.host_id).snapshot(id, a.name);
          const image = await this.images.createFromStream(ctx, { name: a.name, container_format: 'docker', disk_format: 'raw', properties: { ...(a.metadata as Record<string, string> | undefined), image_type: 'snapshot', instance_uuid: id } }, data);
          await this.finishAction(id, 'createImage', 'Success');
          return { image_id: image.id };
        } finally {
          await this.store.updateServer(id, { task_state: null });
        }
      }
      case 'rebuild': {
        this.enforce(ctx, 'servers:rebuild');
        this.assertUnlocked(ctx, row);
        need('rebuild', ['active', 'stopped', 'error']);
        const a = (arg ?? {}) as Body;
        const imageId = String(a.imageRef ?? '').replace(/^.*\/images\//, '');
        if (!imageId) throw new BadRequestError("Invalid input for field/attribute imageRef. 'imageRef' is a required property");
        let image: ImageRecord;
        try {
          image = await this.images.get(ctx, imageId);
        } catch (err) {
          if (err instanceof NotFoundError) throw new BadRequestError(`Image ${imageId} could not be found.`);
          throw err;
        }
        if (image.container_format !== 'docker') throw new BadRequestError(`Image ${imageId} is not a docker image.`);
        const flavor = JSON.parse(row.flavor) as FlavorRow;
        if (!(await this.store.updateServer(id, { task_state: 'rebuilding', image_id: imageId, ...(typeof a.name === 'string' ? { name: a.name } : {}) }, { task_state: null }))) throw conflict('rebuild');
        await this.recordAction(row, 'rebuild', requestId, ctx);
        this.track(
          (async () => {
            try {
              const driver = this.driverOf(row.host_id);
              await driver.ensureImage(image.id, image.docker_image_id ?? '', () => this.images.openData(ctx, image.id));
              await driver.destroy(id);
              const bindings = this.network ? await this.network.bindingsOf(id) : [];
              const state = await driver.spawn(await this.specFor((await this.store.server(id))!, image, flavor, bindings[0]));
              // The new container gets the interfaces attached to the old one after boot.
              for (const b of bindings.slice(1)) await driver.attachInterface(id, interfaceSpec(b));
              if (this.network) await this.network.serverRunning(id);
              await this.store.updateServer(id, { vm_state: 'active', task_state: null, power_state: powerCode(state.power), fault: null });
              await this.finishAction(id, 'rebuild', 'Success');
            } catch (err) {
              await this.store.updateServer(id, { vm_state: 'error', task_state: null, fault: JSON.stringify({ code: 500, message: (err as Error).message, created: new Date().toISOString() }) });
              await this.finishAction(id, 'rebuild', 'Error');
            }
          })(),
        );
        return { rebuilt: id };
      }
      case 'resize': {
        this.enforce(ctx, 'servers:resize');
        this.assertUnlocked(ctx, row);
        need('resize', ['active', 'stopped']);
        const flavorId = String((arg as Body | null)?.flavorRef ?? '').replace(/^.*\/flavors\//, '');
        const flavor = await this.store.flavor(flavorId);
        if (!flavor) throw new BadRequestError(`Flavor ${flavorId} could not be found.`);
        const old = JSON.parse(row.flavor) as FlavorRow;
        if (old.id === flavor.id) throw new BadRequestError('When resizing, instances must change flavor!');
        const quotas = await this.quotas(row.project_id);
        const usage = await this.usage(row.project_id);
        for (const [k, delta] of [['cores', flavor.vcpus - old.vcpus], ['ram', flavor.ram - old.ram]] as const) {
          if (delta > 0 && quotas[k]! >= 0 && usage[k]! + delta > quotas[k]!) throw new OverQuotaError(`Quota exceeded for ${k}: Requested ${delta}, but already used ${usage[k]} of ${quotas[k]} ${k}`, k);
        }
        const host = (await this.hostStates()).find((h) => h.host.id === row.host_id);
        if (host && (host.host.memory_mib * this.options.ratios.ram - host.usedRamMiB < flavor.ram - old.ram || host.host.vcpus * this.options.ratios.cpu - host.usedVcpus < flavor.vcpus - old.vcpus)) {
          throw new ConflictError('No valid host was found: the server\'s host has no room for the new flavor.');
        }
        await this.driverOf(row.host_id).resize(id, { memoryMiB: flavor.ram, vcpus: flavor.vcpus, pidsLimit: Number(JSON.parse(flavor.extra_specs)['hafen:pids_limit'] ?? 1024) });
        await this.store.updateServer(id, { vm_state: 'resized', task_state: null, flavor: JSON.stringify(flavor), flavor_id: flavor.id, old_flavor: JSON.stringify({ ...old, _vm_state: row.vm_state }) });
        await this.recordAction(row, 'resize', requestId, ctx, true);
        return undefined;
      }
      case 'confirmResize': {
        this.enforce(ctx, 'servers:resize');
        if (row.vm_state !== 'resized') throw new ConflictError(`Cannot 'confirmResize' instance ${id} while it is in vm_state ${row.vm_state}`);
        const old = JSON.parse(row.old_flavor ?? '{}') as { _vm_state?: VmState };
        await this.store.updateServer(id, { vm_state: old._vm_state ?? 'active', old_flavor: null });
        await this.recordAction(row, 'confirmResize', requestId, ctx, true);
        return undefined;
      }
      case 'revertResize': {
        this.enforce(ctx, 'servers:resize');
        if (row.vm_state !== 'resized') throw new ConflictError(`Cannot 'revertResize' instance ${id} while it is in vm_state ${row.vm_state}`);
        const old = JSON.parse(row.old_flavor ?? '{}') as FlavorRow & { _vm_state?: VmState };
        const { _vm_state, ...flavor } = old;
        await this.driverOf(row.host_id).resize(id, { memoryMiB: flavor.ram, vcpus: flavor.vcpus, pidsLimit: Number(JSON.parse(flavor.extra_specs ?? '{}')['hafen:pids_limit'] ?? 1024) });
        await this.store.updateServer(id, { vm_state: _vm_state ?? 'active', flavor: JSON.stringify(flavor), flavor_id: flavor.id, old_flavor: null });
        await this.recordAction(row, 'revertResize', requestId, ctx, true);
        return undefined;
      }
      default:
        throw new BadRequestError(`There is no such action: ${name}`);
    }
  }

  // ---- instance actions

  private async recordAction(row: ServerRow, action: string, requestId: string, ctx: RequestContext, done = false): Promise<void> {
    const now = new Date().toISOString();
    await this.store.addAction({
      id: randomUUID(),
      server_id: row.id,
      action,
      request_id: requestId,
      user_id: ctx.userId,
      project_id: row.project_id,
      start_time: now,
      message: null,
      events: JSON.stringify([{ event: `compute_${action}`, start_time: now, finish_time: done ? now : null, result: done ? 'Success' : null }]),
    });
  }

  private async finishAction(serverId: string, action: string, result: 'Success' | 'Error'): Promise<void> {
    const a = (await this.store.actions(serverId)).find((x) => x.action === action);
    if (!a) return;
    const events = (JSON.parse(a.events) as { finish_time: string | null; result: string | null }[]).map((e) => (e.finish_time ? e : { ...e, finish_time: new Date().toISOString(), result }));
    await this.store.setActionEvents(a.id, JSON.stringify(events), result === 'Error' ? 'Error' : null);
  }

  // ---- reconciliation

  /**
   * Level-triggered: compares the rows with what each connected engine runs and converges. A dead
   * container shows SHUTOFF, a missing one ERROR with a fault, a labelled container without a row
   * is removed. Builds and deletes cut short by a restart are finished or failed cleanly.
   */
  async reconcile(opts: { afterRestart?: boolean } = {}): Promise<void> {
    // One pass at a time: a slow pass makes the next tick wait for it rather than overlap.
    if (this.reconciling) return this.reconciling;
    this.reconciling = this.reconcileOnce(opts).finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  private reconciling: Promise<void> | undefined;

  private async reconcileOnce(opts: { afterRestart?: boolean }): Promise<void> {
    if (opts.afterRestart) {
      for (const s of await this.store.serverStates()) {
        if (s.task_state === 'deleting') {
          await this.finishDelete(s, ownerContext(s));
        } else if (s.vm_state === 'building') {
          if (s.host_id && this.drivers.has(s.host_id)) await this.driverOf(s.host_id).destroy(s.id);
          await this.store.updateServer(s.id, { vm_state: 'error', task_state: null, host_id: null, fault: JSON.stringify({ code: 500, message: 'The build was interrupted by a restart of the controller.', created: new Date().toISOString() }) });
        } else if (s.task_state) {
          await this.store.updateServer(s.id, { task_state: null });
        }
      }
    }
    // Hosts are asked side by side, each with a deadline: one engine that hangs must not keep the
    // others from reporting. Those that answer get one heartbeat; then the rows are read once.
    const reports = await Promise.all(
      [...this.drivers].map(async ([hostId, driver]) => {
        try {
          return { hostId, driver, running: await withDeadline(driver.listServers(), Math.max(1000, this.config.hostDownAfterMs / 2)) };
        } catch {
          return undefined; // engine unreachable: the stale heartbeat marks the host down
        }
      }),
    );
    const answered = reports.filter((r): r is NonNullable<typeof r> => r !== undefined);
    await this.store.heartbeats(answered.map((r) => r.hostId));
    const since = this.store.allocationVersion();
    const rows = await this.store.serverStates();
    this.store.refreshAllocations(rows, since);
    const byHost = new Map<string, ServerStateRow[]>();
    for (const r of rows) {
      if (!r.host_id) continue;
      let list = byHost.get(r.host_id);
      if (!list) byHost.set(r.host_id, (list = []));
      list.push(r);
    }
    await Promise.all(answered.map((r) => this.reconcileHost(r.driver, r.running, byHost.get(r.hostId) ?? [])));
  }

  private async reconcileHost(driver: ComputeDriver, running: { serverId: string; power: PowerState }[], hostRows: ServerStateRow[]): Promise<void> {
    const rows = new Map(hostRows.map((s) => [s.id, s]));
    const seen = new Set<string>();
    for (const c of running) {
      seen.add(c.serverId);
      const row = rows.get(c.serverId) ?? (await this.store.server(c.serverId));
      if (!row) {
        await driver.destroy(c.serverId);
        continue;
      }
      if (row.task_state || row.vm_state === 'building') continue;
      const want = powerCode(c.power);
      if (c.power === 'shutdown' || c.power === 'crashed') {
        if (row.vm_state !== 'stopped' || row.power_state !== want) await this.store.updateServer(row.id, { vm_state: 'stopped', power_state: want }, { task_state: null });
      } else if (c.power === 'running' && row.vm_state === 'stopped') {
        await this.store.updateServer(row.id, { vm_state: 'active', power_state: want }, { task_state: null });
      }
    }
    for (const row of rows.values()) {
      if (seen.has(row.id) || row.task_state || row.vm_state === 'building' || row.vm_state === 'error') continue;
      // The host was asked before the rows were read: a server that became ACTIVE in between is not missing.
      if ((await driver.state(row.id).catch(() => undefined))?.power !== 'missing') continue;
      await this.store.updateServer(
        row.id,
        { vm_state: 'error', power_state: POWER.NOSTATE, fault: JSON.stringify({ code: 500, message: 'The container of this server disappeared from its host.', created: new Date().toISOString() }) },
        { task_state: null },
      );
    }
  }
}

/** The server's owner as a request context, for clean-up the controller does on its own after a restart. */
function ownerContext(s: Pick<ServerRow, 'user_id' | 'project_id'>): RequestContext {
  return {
    userId: s.user_id,
    userName: '',
    userDomainId: 'default',
    userDomainName: 'Default',
    scope: { kind: 'project', projectId: s.project_id, projectName: '', projectDomainId: 'default', projectDomainName: 'Default' },
    roles: ['member', 'reader'],
    auditId: 'reconcile',
    issuedAt: new Date(),
    expiresAt: new Date(Date.now() + 60_000),
    methods: [],
    token: '',
  };
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** A host's failure as Nova reports it (500, its own words); the engine's reason stays in `cause`, for the log. */
class HostFailure extends HafenError {
  override readonly name = 'HostFailure';
  readonly status = 500;
}

function hostFailure(err: unknown, message: string): Error {
  if (err instanceof HafenError) return err;
  return new HostFailure(message, { cause: err });
}

/** What the host needs to plug a port in. */
function interfaceSpec(b: PortBinding): InterfaceSpec {
  return {
    name: b.engineNetwork.name,
    subnet: b.engineNetwork.subnet,
    gateway: b.engineNetwork.gateway,
    internal: b.engineNetwork.internal,
    ip: b.fixedIps[0]?.ipAddress ?? null,
    mac: b.macAddress,
  };
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * Nova 2.1's interfaceAttachment body: a port, or a network with at most one fixed IP, or nothing
 * (null: the project's default network). Unknown keys are refused, as Nova's schema does.
 */
export function parseInterfaceAttachment(body: Body): NicRequest | null {
  const bad = (msg: string) => new BadRequestError(`Invalid input for field/attribute interfaceAttachment. ${msg}`);
  for (const k of Object.keys(body ?? {})) if (k !== 'interfaceAttachment') throw bad(`Additional properties are not allowed ('${k}' was unexpected)`);
  const a = body?.interfaceAttachment;
  if (a === undefined) return null;
  if (!a || typeof a !== 'object' || Array.isArray(a)) throw bad('It must be an object.');
  const att = a as Body;
  for (const k of Object.keys(att)) if (!['port_id', 'net_id', 'fixed_ips'].includes(k)) throw bad(`Additional properties are not allowed ('${k}' was unexpected)`);
  for (const k of ['port_id', 'net_id'] as const) {
    if (att[k] !== undefined && (typeof att[k] !== 'string' || !UUID.test(att[k] as string))) throw new BadRequestError(`Invalid input for field/attribute ${k}. Value: ${String(att[k])}. '${String(att[k])}' is not a 'uuid'`);
  }
  let fixedIp: string | undefined;
  if (att.fixed_ips !== undefined) {
    const list = att.fixed_ips;
    if (!Array.isArray(list) || list.length !== 1) throw new BadRequestError('Invalid input for field/attribute fixed_ips. It must be a list of one address.');
    const item = list[0] as Body | null;
    if (!item || typeof item !== 'object' || Object.keys(item).some((k) => k !== 'ip_address') || typeof item.ip_address !== 'string' || !isIpv4(item.ip_address)) {
      throw new BadRequestError(`Invalid input for field/attribute fixed_ips. Value: ${JSON.stringify(list)}. Each needs one ip_address, an IPv4 address.`);
    }
    fixedIp = item.ip_address;
  }
  if (att.port_id !== undefined && att.net_id !== undefined) throw new BadRequestError('Must not input both network_id and port_id');
  if (fixedIp !== undefined && att.net_id === undefined) throw new BadRequestError('Must input network_id when request IP address');
  if (att.port_id !== undefined) return { portId: att.port_id as string };
  if (att.net_id !== undefined) return { networkId: att.net_id as string, ...(fixedIp ? { fixedIp } : {}) };
  return null;
}

function isIpv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

const NONE: ReadonlySet<string> = new Set();

function intField(v: unknown, name: string, def: number): number {
  if (v === undefined || v === null) return def;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (!Number.isInteger(n) || (n as number) < 1) throw new BadRequestError(`Invalid input for field/attribute ${name}. Value: ${String(v)}. must be an integer >= 1`);
  return n as number;
}

export function powerCode(p: PowerState): number {
  switch (p) {
    case 'running':
      return POWER.RUNNING;
    case 'paused':
      return POWER.PAUSED;
    case 'shutdown':
      return POWER.SHUTDOWN;
    case 'crashed':
      return POWER.CRASHED;
    case 'missing':
      return POWER.NOSTATE;
    default: {
      const never: never = p;
      return never;
    }
  }
}

export function novaStatus(r: ServerRow): string {
  switch (r.vm_state) {
    case 'building':
      return 'BUILD';
    case 'active':
      if (r.task_state === 'rebooting') return 'REBOOT';
      if (r.task_state === 'rebooting_hard') return 'HARD_REBOOT';
      if (r.task_state === 'rebuilding') return 'REBUILD';
      return 'ACTIVE';
    case 'stopped':
      return 'SHUTOFF';
    case 'paused':
      return 'PAUSED';
    case 'suspended':
      return 'SUSPENDED';
    case 'error':
      return 'ERROR';
    case 'deleted':
      return 'DELETED';
    case 'resized':
      return 'VERIFY_RESIZE';
    default: {
      const never: never = r.vm_state;
      return never;
    }
  }
}

/** Splits `os_command_line` as a shell would for plain words and quotes (no expansion). */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}
