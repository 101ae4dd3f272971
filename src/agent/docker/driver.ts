// The Docker driver: servers are containers on one engine, run with hafen's isolation profile, with
// their config drive and SSH keys on read-only volumes. Engine ids and names never leave this file.
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { engineClient, isLocalEngine } from '../../host/engine-client.ts';
import { applyLocalHostGuard, applyRemoteHostGuard, bridgePrefix, cloudTag, type HostGuard } from './host-guard.ts';
import { writeTar } from '../../host/tar-writer.ts';
import { ensureEngineNetwork, type EngineNetworkSpec } from '../net/engine-network.ts';
import { forgetHelperImage, helperImage, loadUntagged } from './helper-image.ts';
import { createInfrastructure } from './infrastructure.ts';
import { BadRequestError, ConflictError } from '../../platform/errors.ts';
import { plugExtraInterface, unplugExtraInterface } from '../net/extra-interface.ts';
import type { ArchiveStat, ComputeDriver, DriverCapabilities, ExecResult, HostCapacity, HostConfinement, InterfaceSpec, LogOptions, PowerState, ProcessStream, ProcessTable, ServerInspect, ServerSpec, ServerState, ServerStats, TtySize } from '../driver.ts';
import { tenantInspect } from './inspect.ts';
import { DockerVerbs } from './verbs.ts';
import { API_HOST_ALIAS } from '../../platform/http/api-host.ts';
import { CLOUD_LABEL as LABEL_CLOUD, MANAGED_LABEL as LABEL_MANAGED, SERVER_LABEL as LABEL_SERVER } from '../labels.ts';

/** Engine names of tenants' shared volumes: a prefix and a hash of project and name, no tenant data. */
export const NAMED_VOLUME_PREFIX = 'hafen-vol-';

/** Docker's default capability set without NET_RAW and MKNOD: what a tenant container may hold. */
export const TENANT_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'AUDIT_WRITE', 'SETFCAP'];
/** Docker's default set, of which tenant containers lose the rest. */
const DOCKER_DEFAULT_CAPABILITIES = [...TENANT_CAPABILITIES, 'MKNOD', 'NET_RAW'];

export const containerName = (serverId: string) => `hafen-${serverId}`;
const configVolume = (serverId: string) => `hafen-cfg-${serverId}`;
const keysVolume = (serverId: string) => `hafen-keys-${serverId}`;

function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

async function ignoreMissing<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err) || (err as { statusCode?: number }).statusCode === 304) return undefined;
    throw err;
  }
}

export interface DockerDriverOptions {
  /**
   * This cloud's id: its mark on its containers (listServers reports only those, and unmarked ones made
   * before marks), on its bridges and on its host guard. A driver without it cannot start servers.
   */
  cloudId?: string;
  /**
   * The port of the controller's wait-condition signal listener, given only where one listens on the
   * gateways of this engine's bridges (the controller's own host): servers then resolve `hafen-api` to
   * their gateway and the host guard lets that port through. Elsewhere nothing of the host is reachable.
   */
  signalPort?: number;
}

/** How often a driver makes sure its host's guard is still in place (at the next boot after this long). */
const GUARD_RECHECK_MS = 60_000;
/**
 * How long an engine network this driver made sure of is taken as there without asking the engine
 * again (a boot that finds it gone after all makes it again and retries once).
 */
const NETWORK_RECHECK_MS = 60_000;

export class DockerDriver implements ComputeDriver {
  readonly capabilities: DriverCapabilities = {
    pause: true, snapshot: true, liveResize: true, consoleLog: true, interfaceHotplug: true,
    exec: true, attach: true, archive: true, stats: true, logs: true, commit: true, inspect: true,
  };
  private readonly docker: Docker;
  private readonly verbs: DockerVerbs;
  /** Image loads under way, so that concurrent boots of one image load it once. */
  private readonly loading = new Map<string, Promise<void>>();
  /**
   * Our image id -> the engine's id (content digest) that ensureImage made available, and how to
   * read its data again: a boot of an image found here asks the engine nothing before its create (a
   * create that finds the image gone after all loads it again and is tried once more).
   */
  private readonly engineImages = new Map<string, { digest: string; data: () => Promise<Readable> }>();
  private readonly local: boolean;
  private guarded: { at: number; done: Promise<void> } | undefined;
  /**
   * The volumes each server this driver spawned mounts (shared named ones, its config drive's), so
   * that its destroy removes the container at once instead of asking the engine first; a server
   * spawned before this driver started is inspected first as before.
   */
  private readonly volumesOf = new Map<string, { named: string[]; own: string[] }>();
  /** Engine networks made sure of, by name: when, and the spec they were made sure of with. */
  private readonly networksReady = new Map<string, { at: number; spec: string }>();

  constructor(readonly endpoint: string, private readonly options: DockerDriverOptions = {}) {
    this.docker = engineClient(endpoint);
    this.verbs = new DockerVerbs(this.docker, containerName);
    this.local = isLocalEngine(endpoint);
  }

  /** What the host guard of this cloud on this host is made of. */
  get hostGuard(): HostGuard {
    const tag = this.tag;
    return {
      tag,
      // Hosts in a swarm carry overlay networks' outside traffic on docker_gwbridge.
      interfaces: [`${bridgePrefix(tag)}+`, ...(this.local ? [] : ['docker_gwbridge'])],
      allowTcpPorts: this.apiAlias ? [this.options.signalPort!] : [],
    };
  }

  private get tag(): string {
    if (!this.options.cloudId) throw new Error('this Docker driver has no cloud id: it cannot start servers');
    return cloudTag(this.options.cloudId);
  }

  /** Whether servers get `hafen-api` in /etc/hosts: only where the controller's signal listener answers it. */
  private get apiAlias(): boolean {
    return this.local && !!this.options.signalPort;
  }

  /**
   * Makes sure tenant containers on this host cannot reach the host itself (see host-guard.ts) before
   * any of them joins a network; checked again at the next boot a minute later. Failing, no server starts.
   */
  private ensureHostGuard(): Promise<void> {
    if (this.guarded && Date.now() - this.guarded.at < GUARD_RECHECK_MS) return this.guarded.done;
    const guard = this.hostGuard;
    const done = this.local ? applyLocalHostGuard(guard) : applyRemoteHostGuard(this.docker, guard);
    const entry = { at: Date.now(), done };
    this.guarded = entry;
    done.catch(() => {
      if (this.guarded === entry) this.guarded = undefined;
    });
    return done.catch((err: Error) => {
      throw new Error(`the host guard could not be installed on ${this.local ? 'this host' : 'the engine\'s host'}: ${err.message}`);
    });
  }

  /** ensureEngineNetwork, skipped when this driver made sure of the same network less than a minute ago. */
  private async ensureNetwork(nic: InterfaceSpec): Promise<void> {
    const net = this.engineNetwork(nic);
    const spec = JSON.stringify(net);
    const ready = this.networksReady.get(net.name);
    if (ready && ready.spec === spec && Date.now() - ready.at < NETWORK_RECHECK_MS) return;
    await ensureEngineNetwork(this.docker, net);
    this.networksReady.set(net.name, { at: Date.now(), spec });
  }

  /** The engine network of an interface, on a bridge named with this cloud's mark. */
  private engineNetwork(nic: InterfaceSpec): EngineNetworkSpec {
    const suffix = createHash('sha256').update(nic.name).digest('hex').slice(0, 7);
    return { name: nic.name, subnet: nic.subnet, gateway: nic.gateway, internal: nic.internal, mtu: 1500, bridgeName: `${bridgePrefix(this.tag)}${suffix}`, cloudId: this.options.cloudId! };
  }

  private get cloudLabel(): Record<string, string> {
    return this.options.cloudId ? { [LABEL_CLOUD]: this.options.cloudId } : {};
  }

  async capacity(): Promise<HostCapacity> {
    const info = await this.docker.info();
    return {
      vcpus: info.NCPU,
      memoryMiB: Math.floor(info.MemTotal / 2 ** 20),
      diskGiB: 100,
      architecture: info.Architecture === 'aarch64' ? 'aarch64' : 'x86_64',
      hostname: info.Name,
      confinement: confinementOf(info),
    };
  }

  ensureImage(imageId: string, digest: string, data: () => Promise<Readable>): Promise<void> {
    if (this.engineImages.get(imageId)?.digest === digest) return Promise.resolve();
    const key = `${imageId}@${digest}`;
    let p = this.loading.get(key);
    if (!p) {
      p = this.loadImage(imageId, digest, data).finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  /**
   * `digest` is the image's config digest, recorded by the image service at upload: the engine's
   * id of the image, which names every layer by its content. Presence is decided by that id alone
   * and the archive is loaded without its tags, so no name an uploader chose (another image's,
   * hafen's helper's) is ever set on the engine, and an image id never stands for other content.
   */
  private async loadImage(imageId: string, digest: string, data: () => Promise<Readable>): Promise<void> {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`image ${imageId} has no content digest; it cannot be loaded`);
    if (!(await ignoreMissing(this.docker.getImage(digest).inspect()))) {
      const loaded = await loadUntagged(this.docker, await data());
      if (loaded !== digest) throw new Error(`the data of image ${imageId} loaded as ${loaded}, not as its recorded ${digest}`);
    }
    this.engineImages.set(imageId, { digest, data });
  }

  async spawn(spec: ServerSpec): Promise<ServerState> {
    try {
      return await this.create(spec);
    } catch (err) {
      await this.destroy(spec.serverId);
      throw err;
    }
  }

  private async create(spec: ServerSpec): Promise<ServerState> {
    if (spec.infrastructure) {
      await createInfrastructure(this.docker, spec, spec.infrastructure, containerName(spec.serverId), { [LABEL_SERVER]: spec.serverId, [LABEL_MANAGED]: 'true', ...this.cloudLabel });
      return this.state(spec.serverId);
    }
    const loaded = this.engineImages.get(spec.imageId);
    if (!loaded) throw new Error(`image ${spec.imageId} was not made available on this host (ensureImage)`);
    const image = loaded.digest;
    if (spec.network) {
      await this.ensureHostGuard();
      await this.ensureNetwork(spec.network);
    }
    const binds: string[] = [];
    for (const v of spec.container?.namedVolumes ?? []) {
      if (!v.volume?.startsWith(NAMED_VOLUME_PREFIX)) throw new Error(`named volume ${v.name} has no engine volume`);
      await this.docker.createVolume({ Name: v.volume, Labels: { [LABEL_MANAGED]: 'true', ...this.cloudLabel } });
      binds.push(`${v.volume}:${v.target}`);
    }
    const hasConfig = Object.keys(spec.configDrive).length > 0;
    // The volumes are filled by a helper while the server's container is being created.
    let filling: Promise<void> = Promise.resolve();
    if (hasConfig || spec.authorizedKeys) {
      filling = this.fillVolumes(spec);
      if (hasConfig) binds.push(`${configVolume(spec.serverId)}:/mnt/config:ro`);
      if (spec.authorizedKeys) binds.push(`${keysVolume(spec.serverId)}:/root/.ssh:ro`);
    }
    this.volumesOf.set(spec.serverId, {
      named: (spec.container?.namedVolumes ?? []).map((v) => v.volume!),
      own: [...(hasConfig ? [configVolume(spec.serverId)] : []), ...(spec.authorizedKeys ? [keysVolume(spec.serverId)] : [])],
    });
    // Settled either way, so a failed create never leaves the helper's promise unobserved.
    const filled = filling.then(() => undefined, (err: unknown) => err);
    const c = spec.container;
    // A capsule's later containers join its first container's network namespace: no interface,
    // hostname, resolver or host entries of their own (the engine refuses them in that mode).
    if (c?.networkOf !== undefined && (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(c.networkOf) || spec.network)) {
      throw new Error(`a container joining the network of ${c.networkOf} has no interface of its own`);
    }
    const joined = c?.networkOf ? `container:${containerName(c.networkOf)}` : null;
    const options: Docker.ContainerCreateOptions = {
      name: containerName(spec.serverId),
      Image: image,
      ...(joined ? {} : { Hostname: c?.hostname ?? spec.hostname }),
      ...(c?.command ? { Cmd: c.command } : spec.command ? { Cmd: spec.command } : {}),
      ...(c?.entrypoint ? { Entrypoint: c.entrypoint } : {}),
      ...(c?.user ? { User: c.user } : {}),
      ...(c?.volumes?.length ? { Volumes: Object.fromEntries(c.volumes.map((v) => [v, {}])) } : {}),
      ...(c?.workingDir ? { WorkingDir: c.workingDir } : {}),
      ...(c?.healthcheck ? { Healthcheck: { Test: c.healthcheck.test, ...(c.healthcheck.intervalS ? { Interval: c.healthcheck.intervalS * 1e9 } : {}), ...(c.healthcheck.timeoutS ? { Timeout: c.healthcheck.timeoutS * 1e9 } : {}), ...(c.healthcheck.retries ? { Retries: c.healthcheck.retries } : {}), ...(c.healthcheck.startPeriodS ? { StartPeriod: c.healthcheck.startPeriodS * 1e9 } : {}) } } : {}),
      Env: [...spec.env, ...(c?.env ?? [])],
      // hafen's own labels come last: a tenant's labels never rename or hide a container.
      Labels: { ...Object.fromEntries(Object.entries(c?.labels ?? {}).filter(([k]) => !k.startsWith('hafen.'))), [LABEL_SERVER]: spec.serverId, [LABEL_MANAGED]: 'true', ...this.cloudLabel },
      Tty: c?.tty ?? false,
      OpenStdin: c?.openStdin ?? true,
      ...(spec.network?.mac ? { MacAddress: spec.network.mac } : {}),
      HostConfig: {
        Memory: spec.memoryMiB * 2 ** 20,
        MemorySwap: spec.memoryMiB * 2 ** 20,
        NanoCpus: Math.round((c?.cpus ?? spec.vcpus) * 1e9),
        PidsLimit: spec.pidsLimit,
        ...(spec.cpuset || c?.cpuset ? { CpusetCpus: spec.cpuset ?? c!.cpuset } : {}),
        ...(c?.cpuShares ? { CpuShares: c.cpuShares } : {}),
        ...(c?.dnsSearch?.length && !joined ? { DnsSearch: c.dnsSearch } : {}),
        ReadonlyRootfs: spec.readOnlyRoot || c?.readOnly === true,
        Privileged: false,
        CapDrop: ['ALL'],
        CapAdd: TENANT_CAPABILITIES.filter((cap) => !(c?.capDrop ?? []).map((x) => x.toUpperCase().replace(/^CAP_/, '')).includes(cap)),
        SecurityOpt: ['no-new-privileges'],
        Binds: binds,
        NetworkMode: joined ?? (spec.network ? spec.network.name : 'none'),
        // The cloud's API as the server sees it: its network's gateway, where the controller answers
        // wait-condition signals for the engines on its own host (and only there: elsewhere no alias).
        ...(spec.network && this.apiAlias ? { ExtraHosts: [`${API_HOST_ALIAS}:${spec.network.gateway}`] } : {}),
        RestartPolicy: c?.restartPolicy ? { Name: c.restartPolicy.name, ...(c.restartPolicy.name === 'on-failure' && c.restartPolicy.maximumRetryCount ? { MaximumRetryCount: c.restartPolicy.maximumRetryCount } : {}) } : { Name: 'no' },
        IpcMode: 'private',
        PidMode: '',
        UsernsMode: '',
        Devices: [],
      },
      ...(spec.network
        ? { NetworkingConfig: { EndpointsConfig: { [spec.network.name]: { IPAMConfig: spec.network.ip ? { IPv4Address: spec.network.ip } : {}, ...(c?.aliases?.length ? { Aliases: c.aliases } : {}) } } } }
        : {}),
    };
    // The network was taken as there (ensureNetwork) but is gone (the engine says so at create or at
    // start, by its version): it is made again and the step tried once more.
    const network = spec.network;
    const againIfNetworkGone = async <T>(step: () => Promise<T>): Promise<T> => {
      try {
        return await step();
      } catch (err) {
        if (!network || !isNotFound(err) || !/network \S+ not found/i.test(String((err as Error).message))) throw err;
        this.networksReady.delete(network.name);
        await this.ensureNetwork(network);
        return step();
      }
    };
    // The image was taken as there (ensureImage) but is gone (removed behind hafen's back): loaded again, once.
    const againIfImageGone = async <T>(step: () => Promise<T>): Promise<T> => {
      try {
        return await step();
      } catch (err) {
        if (!isNotFound(err) || !/no such image/i.test(String((err as Error).message))) throw err;
        this.engineImages.delete(spec.imageId);
        await this.ensureImage(spec.imageId, loaded.digest, loaded.data);
        return step();
      }
    };
    const container = await againIfImageGone(() => againIfNetworkGone(() => this.docker.createContainer(options))).catch(async (err) => {
      await filled;
      throw err;
    });
    const fillError = await filled;
    if (fillError) throw fillError;
    const files = Object.entries(c?.files ?? {});
    if (files.length > 0) {
      const entries = files.map(([p, content]) => ({ type: 'file' as const, path: p.replace(/^\/+/, ''), content: Buffer.from(content, 'base64') }));
      await container.putArchive(writeTar(entries), { path: '/' });
    }
    // The state is what was just done, as `docker run -d` knows it: the engine answers a start only
    // once the process runs (one that ends at once is shown stopped by compute's next reconcile).
    if (c?.start === false) return { power: 'shutdown', ip: spec.network?.ip ?? null, mac: spec.network?.mac ?? null, exitCode: null };
    await againIfNetworkGone(() => container.start());
    return { power: 'running', ip: spec.network?.ip ?? null, mac: spec.network?.mac ?? null, exitCode: null };
  }

  /**
   * Writes the config drive and authorized_keys into two volumes through a short-lived helper
   * container (never started) of hafen's own helper image, so nothing of the tenant's image (its
   * labels, volumes, entrypoint) comes with it.
   */
  private async fillVolumes(spec: ServerSpec): Promise<void> {
    const create = async () => this.docker.createContainer({
      Image: await helperImage(this.docker),
      Entrypoint: ['/bin/true'],
      Cmd: [],
      Labels: { [LABEL_MANAGED]: 'true', 'hafen.helper_for': spec.serverId, ...this.cloudLabel },
      HostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        Binds: [`${configVolume(spec.serverId)}:/mnt/config`, `${keysVolume(spec.serverId)}:/root/.ssh`],
      },
    });
    const helper = await create().catch((err: unknown) => {
      // The helper image was removed behind hafen's back: load it again, once.
      if (!isNotFound(err)) throw err;
      forgetHelperImage(this.docker);
      return create();
    });
    try {
      const entries = Object.entries(spec.configDrive).map(([p, content]) => ({ type: 'file' as const, path: `mnt/config/${p.replace(/^\/+/, '')}`, content: Buffer.from(content) }));
      if (spec.authorizedKeys) entries.push({ type: 'file', path: 'root/.ssh/authorized_keys', content: Buffer.from(spec.authorizedKeys) });
      await helper.putArchive(writeTar(entries), { path: '/' });
    } finally {
      await helper.remove({ force: true });
    }
  }

  async destroy(serverId: string): Promise<void> {
    const container = this.docker.getContainer(containerName(serverId));
    const known = this.volumesOf.get(serverId);
    if (known) {
      // Spawned here: its container and volumes are known, so the container goes at once, as
      // `docker rm -f -v` would, then the volumes. Nothing else carries its label (tenants' labels
      // never start with hafen.); anything made behind this driver's back is found by compute's
      // reconcile, which removes labelled containers without a row (through the path below).
      await ignoreMissing(container.remove({ force: true, v: true }));
      await this.removeVolumes(known.named, known.own);
      this.volumesOf.delete(serverId);
      return;
    }
    const info = await ignoreMissing(container.inspect());
    // The container, and side by side anything else labelled for this server (a container made behind our back).
    const [, labelled] = await Promise.all([
      info ? ignoreMissing(container.remove({ force: true, v: true })) : undefined,
      this.docker.listContainers({ all: true, filters: { label: [`${LABEL_SERVER}=${serverId}`] } }),
    ]);
    await Promise.all(labelled.filter((c) => c.Id !== info?.Id).map((c) => ignoreMissing(this.docker.getContainer(c.Id).remove({ force: true, v: true }))));
    const named = (info?.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name?.startsWith(NAMED_VOLUME_PREFIX)).map((m) => m.Name!);
    // The config drive's volumes: the ones the container mounted, or both names when there is no
    // container (a spawn cut short may have filled them before its container was made).
    const own = [configVolume(serverId), keysVolume(serverId)];
    await this.removeVolumes(named, info ? own.filter((name) => info.Mounts?.some((m) => m.Name === name)) : own);
  }

  /** A destroyed server's volumes: shared named ones unless another container still mounts them, its own. */
  private async removeVolumes(named: string[], own: string[]): Promise<void> {
    // Shared named volumes go with the last server that mounts them: the engine refuses (409) while one does.
    for (const v of named) {
      await ignoreMissing(this.docker.getVolume(v).remove()).catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 409) throw err;
      });
    }
    for (const v of own) await ignoreMissing(this.docker.getVolume(v).remove());
  }

  async power(serverId: string, action: 'start' | 'stop' | 'reboot' | 'hard-reboot' | 'pause' | 'unpause'): Promise<ServerState> {
    const c = this.docker.getContainer(containerName(serverId));
    switch (action) {
      case 'start':
        await ignoreMissing(c.start());
        break;
      case 'stop':
        await ignoreMissing(c.stop({ t: 5 }));
        break;
      case 'reboot':
        await c.restart({ t: 5 });
        break;
      case 'hard-reboot':
        await ignoreMissing(c.kill());
        await c.start();
        break;
      case 'pause':
        await c.pause();
        break;
      case 'unpause':
        await c.unpause();
        break;
      default: {
        const never: never = action;
        throw new Error(`unknown power action ${String(never)}`);
      }
    }
    return this.state(serverId);
  }

  async state(serverId: string): Promise<ServerState> {
    const info = await ignoreMissing(this.docker.getContainer(containerName(serverId)).inspect());
    if (!info) return { power: 'missing', ip: null, mac: null, exitCode: null };
    const net = Object.values(info.NetworkSettings.Networks ?? {})[0];
    return {
      power: powerOf(info.State),
      ip: net?.IPAddress || null,
      mac: net?.MacAddress || null,
      exitCode: info.State.Running ? null : info.State.ExitCode,
    };
  }

  async resize(serverId: string, limits: { memoryMiB: number; vcpus: number; pidsLimit: number }): Promise<void> {
    await this.docker.getContainer(containerName(serverId)).update({
      Memory: limits.memoryMiB * 2 ** 20,
      MemorySwap: limits.memoryMiB * 2 ** 20,
      NanoCpus: Math.round(limits.vcpus * 1e9),
      PidsLimit: limits.pidsLimit,
    });
  }

  async consoleLog(serverId: string, tailLines: number | null): Promise<string> {
    const raw = (await this.docker.getContainer(containerName(serverId)).logs({
      stdout: true,
      stderr: true,
      follow: false,
      ...(tailLines !== null ? { tail: tailLines } : {}),
    })) as unknown as Buffer;
    return demux(raw);
  }

  snapshot(serverId: string, name: string): Promise<Readable> {
    return this.verbs.committedArchive(serverId, `hafen/snapshot-${serverId}`, name.replace(/[^\w.-]/g, '_').slice(0, 100) || 'latest');
  }

  signal(serverId: string, signal: string): Promise<void> {
    return this.verbs.signal(serverId, signal);
  }

  // ---- the container verbs (verbs.ts)

  exec(serverId: string, command: string[], options: { maxOutputBytes: number }): Promise<ExecResult> {
    return this.verbs.exec(serverId, command, options);
  }

  createExec(serverId: string, command: string[], options: { tty: boolean }): Promise<string> {
    return this.verbs.createExec(serverId, command, options);
  }

  startExec(serverId: string, execId: string): Promise<ProcessStream> {
    return this.verbs.startExec(serverId, execId);
  }

  resizeExec(serverId: string, execId: string, size: TtySize): Promise<void> {
    return this.verbs.resizeExec(serverId, execId, size);
  }

  attach(serverId: string): Promise<ProcessStream> {
    return this.verbs.attach(serverId);
  }

  resizeTty(serverId: string, size: TtySize): Promise<void> {
    return this.verbs.resizeTty(serverId, size);
  }

  logs(serverId: string, options: LogOptions): Promise<Readable> {
    return this.verbs.logs(serverId, options);
  }

  archiveGet(serverId: string, path: string): Promise<{ stat: ArchiveStat; data: Readable }> {
    return this.verbs.archiveGet(serverId, path);
  }

  archivePut(serverId: string, path: string, data: Readable): Promise<void> {
    return this.verbs.archivePut(serverId, path, data);
  }

  stats(serverId: string): Promise<ServerStats> {
    return this.verbs.stats(serverId);
  }

  top(serverId: string, psArgs: string | null): Promise<ProcessTable> {
    return this.verbs.top(serverId, psArgs);
  }

  commit(serverId: string): Promise<Readable> {
    return this.verbs.committedArchive(serverId, `hafen/commit-${serverId}`, randomBytes(8).toString('hex'));
  }

  async inspect(serverId: string): Promise<ServerInspect> {
    return tenantInspect(await this.verbs.inspect(serverId), serverId);
  }

  async attachInterface(serverId: string, nic: InterfaceSpec): Promise<void> {
    const c = this.docker.getContainer(containerName(serverId));
    const info = await c.inspect();
    // The engine refuses a second network next to `none`.
    if (info.HostConfig.NetworkMode === 'none') throw new ConflictError(`Server ${serverId} was booted without networking (networks: none) and cannot take interfaces.`);
    const endpoint = info.NetworkSettings.Networks?.[nic.name];
    if (endpoint) {
      // Plugged already (a re-plug after a start): nothing to do. Otherwise the engine has its one
      // endpoint of the container on this network, and hafen makes the further ones itself.
      if (nic.ip && endpointAddress(endpoint) === nic.ip) return;
      return this.plugExtraInterface(info, nic);
    }
    await this.ensureHostGuard();
    await ensureEngineNetwork(this.docker, this.engineNetwork(nic));
    try {
      // Engine API 1.41 sets a MAC only when the container is created: an attached interface gets the engine's.
      // The engine names the interface by a counter of its own, which may land on an ethN hafen made
      // (it says "file exists"): its counter moved on, so asking again takes the next name.
      for (let attempt = 0; ; attempt++) {
        try {
          await this.docker.getNetwork(nic.name).connect({ Container: info.Id, EndpointConfig: { IPAMConfig: nic.ip ? { IPv4Address: nic.ip } : {} } });
          break;
        } catch (err) {
          if (attempt >= 8 || !/file exists/i.test(String((err as Error).message))) throw err;
        }
      }
    } catch (err) {
      await this.detachInterface(serverId, nic.name).catch(() => undefined);
      throw err;
    }
  }

  /**
   * A further interface on a network the server has (see net/extra-interface.ts): made in the
   * container's namespace on this host through nsenter, and only here (an engine reached over TCP is on
   * another host). A server that is not running gets it when it starts (compute plugs its ports again).
   */
  private async plugExtraInterface(info: Docker.ContainerInspectInfo, nic: InterfaceSpec): Promise<void> {
    if (!this.local) throw new BadRequestError('A second interface on one network is made on the engine\'s own host, and this host\'s engine is reached over the network: give the server one interface per network on this host.');
    if (!nic.ip) throw new BadRequestError('A second interface on one network needs a fixed IP.');
    if (!info.State.Running || !info.State.Pid) return;
    const net = (await this.docker.getNetwork(nic.name).inspect()) as { Id: string; Driver: string; Options?: Record<string, string> };
    if (net.Driver !== 'bridge') throw new BadRequestError('A second interface on one network is made only on bridge networks.');
    await plugExtraInterface(info.State.Pid, {
      hostName: extraInterfaceName(this.tag, info.Id, nic.ip),
      bridge: net.Options?.['com.docker.network.bridge.name'] ?? `br-${net.Id.slice(0, 12)}`,
      mac: nic.mac,
      ip: nic.ip,
      prefixLength: Number(nic.subnet.split('/')[1] ?? 32),
      mtu: this.engineNetwork(nic).mtu,
    });
  }

  async detachInterface(serverId: string, networkName: string, address?: string | null): Promise<void> {
    if (address) {
      const info = await ignoreMissing(this.docker.getContainer(containerName(serverId)).inspect());
      if (!info) return;
      const endpoint = info.NetworkSettings.Networks?.[networkName];
      const own = endpoint ? endpointAddress(endpoint) : undefined;
      // Not the engine's endpoint: one hafen made (gone with the namespace when the server is not running).
      if (!endpoint || (own && own !== address)) {
        if (this.local && info.State.Running && info.State.Pid) await unplugExtraInterface(info.State.Pid, address);
        return;
      }
    }
    try {
      await this.docker.getNetwork(networkName).disconnect({ Container: containerName(serverId), Force: true });
    } catch (err) {
      // Gone already: the container, the network, or the container's endpoint on it.
      if (isNotFound(err) || /is not connected to (the )?network/i.test(String((err as Error).message))) return;
      throw err;
    }
  }

  async listServers(): Promise<{ serverId: string; power: PowerState }[]> {
    const mine = (c: { Labels: Record<string, string> }) => !this.options.cloudId || c.Labels[LABEL_CLOUD] === undefined || c.Labels[LABEL_CLOUD] === this.options.cloudId;
    const list = (await this.docker.listContainers({ all: true, filters: { label: [LABEL_SERVER] } })).filter(mine);
    return list.map((c) => ({ serverId: c.Labels[LABEL_SERVER]!, power: powerOfStatus(c.State) }));
  }
}

/**
 * The confinement of this driver's tenant containers on an engine, from `docker info`: its security
 * options (seccomp profile, AppArmor, SELinux, userns; the remap's first id is the last part of its
 * data root, `<uid>.<gid>`) and the profile hafen gives every tenant container.
 */
export function confinementOf(info: { SecurityOptions?: string[]; DockerRootDir?: string; PidsLimit?: boolean }): HostConfinement {
  const options = (info.SecurityOptions ?? []).map((o) => Object.fromEntries(o.split(',').map((kv) => kv.split('=') as [string, string])));
  const named = (n: string) => options.find((o) => o.name === n);
  const remap = named('userns') ? /\/(\d+)\.(\d+)\/?$/.exec(info.DockerRootDir ?? '') : null;
  return {
    seccomp: named('seccomp') ? (named('seccomp')!.profile ?? 'default') : null,
    apparmor: named('apparmor') ? 'docker-default' : null,
    selinux: !!named('selinux'),
    usernsRemap: remap ? { uid: Number(remap[1]), gid: Number(remap[2]) } : null,
    capabilities: [...TENANT_CAPABILITIES],
    droppedCapabilities: DOCKER_DEFAULT_CAPABILITIES.filter((c) => !TENANT_CAPABILITIES.includes(c)),
    noNewPrivileges: true,
    pidsLimit: info.PidsLimit !== false,
    hostGuard: true,
  };
}

function powerOf(state: { Running: boolean; Paused: boolean; Status: string; ExitCode: number; OOMKilled: boolean }): PowerState {
  if (state.Paused) return 'paused';
  if (state.Running) return 'running';
  if (state.Status === 'dead' || state.OOMKilled) return 'crashed';
  return 'shutdown';
}

function powerOfStatus(status: string): PowerState {
  if (status === 'paused') return 'paused';
  if (status === 'running') return 'running';
  if (status === 'dead') return 'crashed';
  return 'shutdown';
}

/** The address of a container's endpoint: the one asked for (kept while stopped), else the one it got. */
function endpointAddress(e: { IPAddress?: string; IPAMConfig?: { IPv4Address?: string } | null }): string | undefined {
  return e.IPAMConfig?.IPv4Address || e.IPAddress || undefined;
}

/** The host end of a hafen-made interface: this cloud's tag and a hash of container and address (15 characters at most). */
function extraInterfaceName(tag: string, containerId: string, ip: string): string {
  return `hv${tag}${createHash('sha256').update(`${containerId} ${ip}`).digest('hex').slice(0, 6)}`;
}

/** Docker's multiplexed log stream (8-byte frame headers) to plain text. */
function demux(buf: Buffer): string {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2 || buf[i] === 0) && buf[i + 1] === 0) {
    const len = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  if (i === 0) return buf.toString('utf8');
  return Buffer.concat(out).toString('utf8');
}
