// Zun's containers: create and run (checked per microversion as Zun checks them, within Zun's
// quotas and then compute's), list, show, update, rename and delete. A container is a compute
// workload of kind `container`; this file keeps what Zun adds to it.
import { listPage } from './paging.ts';
import { randomInt, randomUUID } from 'node:crypto';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, isNotFound } from '../platform/errors.ts';
import type { ContainerOptions } from '../agent/driver.ts';
import type { ContainerNic, WorkloadState } from './clients.ts';
import type { ZunCore, Located } from './core.ts';
import { isUuid } from './core.ts';
import { InvalidParamInVersion, InvalidValue, ValidationError } from './errors.ts';
import { resolveImage } from './images.ts';
import type { Quotas } from './quotas.ts';
import type { Registries } from './registries.ts';
import type { ContainerCreateT, ContainerUpdateT, ListQueryT, NetT } from './schemas.ts';
import { BOOL_TRUE } from './schemas.ts';
import { assertState, zunState } from './states.ts';
import type { ContainerRow } from './store.ts';
import type { ContainerSpec } from './views.ts';

export const DEFAULT_CPU = 1;
export const DEFAULT_MEMORY_MIB = 512;
const CPU_RANGE = [0.01, 1024] as const;
const MEMORY_RANGE = [4, 1 << 20] as const;
const DISK_RANGE = [0, 1024] as const;
/** The most file content a create may inject (bind mounts of content), decoded. */
const MAX_INJECTED_BYTES = 4 << 20;
const MAX_LIST = 1000;

export const isTrue = (v: string | boolean | undefined) => v === true || (typeof v === 'string' && BOOL_TRUE.includes(v));

/** The request's minor version (1.x). */
export type Minor = number;

const GREEK = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'nu', 'xi', 'omicron', 'pi', 'rho', 'sigma', 'tau', 'upsilon', 'phi', 'chi', 'psi', 'omega'];
/** Zun's generated names: a Greek letter, a number and `-container`. */
export const generatedName = (suffix = 'container') => `${GREEK[randomInt(GREEK.length)]}-${randomInt(1, 25)}-${suffix}`;

/** Words of a command line as a shell splits them (quotes and backslashes, no expansion). */
export function shellSplit(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new InvalidValue('No closing quotation in the command.');
  if (inWord) out.push(cur);
  return out;
}

function number(v: string | number | null | undefined, field: string, range: readonly [number, number], def: number): number {
  if (v === undefined || v === null) return def;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n < range[0] || n > range[1]) throw new ValidationError(`Invalid input for field/attribute ${field}. Value: ${v}. must be between ${range[0]} and ${range[1]}`);
  return n;
}

export class ContainerService {
  constructor(private readonly core: ZunCore, private readonly quotas: Quotas, private readonly registries: Registries) {}

  // ---- create / run

  async create(ctx: RequestContext, body: ContainerCreateT, run: boolean, minor: Minor, requestId: string): Promise<Located> {
    const core = this.core;
    core.enforce(ctx, 'container:create');
    const projectId = core.project(ctx);
    const since = (field: keyof ContainerCreateT, min: number) => {
      if (body[field] !== undefined && minor < min) throw new InvalidParamInVersion(field, `1.${minor}`, `1.${min}`);
    };
    // What later versions added is unknown to earlier ones, as Zun's schemas say it.
    for (const [field, min] of [['host', 39], ['entrypoint', 40]] as const) {
      if (body[field] !== undefined && minor < min) throw new ValidationError(`Additional properties are not allowed ('${field}' was unexpected)`);
    }
    since('nets', 2);
    since('auto_remove', 3);
    since('runtime', 5);
    since('hostname', 9);
    since('mounts', 11);
    since('privileged', 21);
    since('healthcheck', 22);
    since('exposed_ports', 24);
    since('cpu_policy', 28);
    since('registry', 31);
    let command: string[] | null = null;
    if (body.command !== undefined && body.command !== null) {
      if (minor >= 20 && !Array.isArray(body.command)) throw new ValidationError(`Invalid input for field/attribute command. Value: ${JSON.stringify(body.command)}. '${String(body.command)}' is not of type 'array', 'null'`);
      if (minor < 20 && Array.isArray(body.command)) throw new ValidationError(`Invalid input for field/attribute command. Value: ${JSON.stringify(body.command)}. is not of type 'string', 'null'`);
      command = Array.isArray(body.command) ? body.command : shellSplit(body.command);
    }
    if (minor >= 20 && body.security_groups?.length && body.exposed_ports) {
      throw new ValidationError(`Invalid input for field/attribute. security_groups and exposed_ports cannot be given together (Zun manages the security group of exposed ports).`);
    }
    if (body.runtime !== undefined && body.runtime !== null) {
      core.enforce(ctx, 'container:create:runtime');
      if (body.runtime !== 'runc') throw new InvalidValue(`Runtime ${body.runtime} is not configured on this cloud (runc is).`);
    }
    if (isTrue(body.privileged)) core.enforce(ctx, 'container:create:privileged');
    if (body.image_pull_policy) core.enforce(ctx, 'container:create:image_pull_policy');
    if (body.host) core.enforce(ctx, 'container:create:requested_destination');
    if (body.cpu_policy === 'dedicated') throw new InvalidValue('The dedicated CPU policy needs hosts with CPU pinning, which this cloud has none of.');

    const cpu = number(body.cpu, 'cpu', CPU_RANGE, DEFAULT_CPU);
    const memory = Math.floor(number(body.memory, 'memory', MEMORY_RANGE, DEFAULT_MEMORY_MIB));
    const disk = Math.floor(number(body.disk, 'disk', DISK_RANGE, 0));
    const interactive = isTrue(body.interactive);
    // From 1.20 to 1.35 a container is given a tty when it is interactive; from 1.36 tty is its own field.
    const tty = minor >= 36 ? isTrue(body.tty) : minor >= 20 ? interactive : isTrue(body.tty);
    const driver = body.image_driver && body.image_driver !== 'None' ? body.image_driver : 'docker';
    const image = await resolveImage(core.clients.images, ctx, body.image, driver);

    const restart = restartPolicyOf(body.restart_policy ?? null);
    const autoRemove = body.auto_remove === true;
    if (autoRemove && restart && restart.Name !== 'no') throw new ConflictError('Conflicting options: auto_remove and a restart policy other than "no".');
    if (body.hostname && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(body.hostname)) throw new InvalidValue(`Invalid hostname ${body.hostname}.`);
    const exposed = body.exposed_ports ? exposedPorts(body.exposed_ports) : null;
    const files = injectedFiles(body.mounts ?? []);
    let registryId: string | null = null;
    if (body.registry) registryId = (await this.registries.find(ctx, body.registry)).uuid;
    const nics = await this.nicsFor(ctx, body.nets ?? []);
    const groupIds = [...new Set(body.security_groups ?? [])];
    const securityGroupIds = await Promise.all(groupIds.map((g) => core.clients.network.securityGroupId(ctx, g).catch((err: unknown) => {
      if (isNotFound(err)) throw new InvalidValue(`Security group ${g} not found.`);
      throw err;
    })));

    const env = Object.entries(body.environment ?? {}).map(([k, v]) => {
      if (k.includes('=') || /\s/.test(k)) throw new InvalidValue(`Invalid environment variable name ${k}.`);
      return `${k}=${v}`;
    });
    const spec: ContainerSpec = {
      command,
      entrypoint: body.entrypoint ?? null,
      workdir: body.workdir ?? null,
      environment: body.environment ?? {},
      labels: body.labels ?? {},
      restart_policy: restart,
      interactive,
      tty,
      hostname: body.hostname ?? null,
      auto_remove: autoRemove,
      auto_heal: isTrue(body.auto_heal),
      healthcheck: body.healthcheck ?? null,
      exposed_ports: exposed ? Object.fromEntries(exposed.map((p) => [`${p.port}/${p.protocol}`, {}])) : null,
      runtime: body.runtime ?? null,
      cpu_policy: body.cpu_policy ?? 'shared',
      image_pull_policy: body.image_pull_policy ?? null,
      registry_id: registryId,
      availability_zone: body.availability_zone ?? null,
      host: body.host ?? null,
    };
    const options: ContainerOptions = {
      start: run,
      cpus: cpu,
      env,
      ...(command && command.length ? { command } : {}),
      ...(spec.entrypoint ? { entrypoint: spec.entrypoint } : {}),
      ...(spec.workdir ? { workingDir: spec.workdir } : {}),
      ...(spec.hostname ? { hostname: spec.hostname } : {}),
      labels: spec.labels,
      tty,
      openStdin: interactive,
      ...(restart ? { restartPolicy: { name: restart.Name as 'no', ...(restart.Name === 'on-failure' ? { maximumRetryCount: Number(restart.MaximumRetryCount) } : {}) } } : {}),
      ...(spec.healthcheck?.cmd
        ? { healthcheck: { test: ['CMD-SHELL', spec.healthcheck.cmd], ...(spec.healthcheck.interval ? { intervalS: spec.healthcheck.interval } : {}), ...(spec.healthcheck.timeout ? { timeoutS: spec.healthcheck.timeout } : {}), ...(spec.healthcheck.retries ? { retries: spec.healthcheck.retries } : {}) } }
        : {}),
      ...(Object.keys(files).length ? { files } : {}),
      configDrive: false,
    };

    const uuid = randomUUID();
    const now = new Date().toISOString();
    const row: ContainerRow = {
      uuid,
      project_id: projectId,
      user_id: ctx.userId,
      name: body.name ?? generatedName(),
      image: body.image,
      image_id: image.id,
      image_driver: driver,
      cpu,
      memory,
      disk,
      spec: JSON.stringify(spec),
      security_groups: JSON.stringify(securityGroupIds),
      exposed_group_id: null,
      started: run ? 1 : 0,
      task_state: null,
      status_reason: null,
      capsule_id: null,
      created_at: now,
      updated_at: now,
    };
    // Zun's quotas are counted from these rows: the check and the insert are one step per project.
    await this.quotas.reserve(ctx, projectId, { containers: 1, cpu, memory, disk }, () => core.store.insertContainer(row));
    let exposedGroup: string | null = null;
    try {
      if (exposed) {
        exposedGroup = await core.clients.network.createExposedGroup(ctx, `zun-${uuid}`, exposed);
        await core.store.updateContainer(uuid, { exposed_group_id: exposedGroup, security_groups: JSON.stringify([exposedGroup]) });
      }
      const actionId = await core.startAction(ctx, row, 'create', requestId, 'compute__do_container_create');
      const booted = await core.clients.compute.boot(
        ctx,
        {
          id: uuid,
          name: row.name,
          imageId: image.id,
          cpu,
          memoryMiB: memory,
          diskGiB: disk,
          nics,
          securityGroupIds: exposedGroup ? [exposedGroup] : securityGroupIds,
          availabilityZone: spec.availability_zone,
          host: spec.host,
          hints: hintsOf(body.hints ?? null),
          options,
        },
        requestId,
      );
      core.track(booted.settled.then(async () => {
        const w = await core.workloadOf(ctx, row).catch(() => undefined);
        const failed = !w || w.vmState === 'error';
        await core.finishAction(uuid, actionId, failed ? new Error(w?.fault ?? 'The container could not be created.') : undefined, false);
      }));
      return { row: (await core.store.container(uuid)) ?? row, workload: booted.state, state: { status: 'Creating', statusReason: null, taskState: 'container_creating' } };
    } catch (err) {
      if (exposedGroup) await core.clients.network.deleteSecurityGroup(ctx, exposedGroup).catch(() => undefined);
      await core.store.deleteContainer(uuid);
      throw err;
    }
  }

  /** Zun's nets as compute NICs; none: the project's oldest own network, else the oldest shared one. */
  async nicsFor(ctx: RequestContext, nets: NetT[]): Promise<ContainerNic[]> {
    const network = this.core.clients.network;
    const visible = await network.networks(ctx);
    const projectId = this.core.project(ctx);
    if (nets.length === 0) {
      const byAge = (a: { createdAt: string }, b: { createdAt: string }) => a.createdAt.localeCompare(b.createdAt);
      const own = visible.filter((n) => n.projectId === projectId && !n.external).sort(byAge)[0];
      const shared = visible.filter((n) => n.shared && !n.external).sort(byAge)[0];
      const chosen = own ?? shared;
      if (!chosen) throw new ConflictError('There is no neutron network available');
      return [{ networkId: chosen.id }];
    }
    const nics: ContainerNic[] = [];
    for (const n of nets) {
      if ((n.network === undefined) === (n.port === undefined)) throw new ValidationError(`Invalid input for field/attribute nets. Value: ${JSON.stringify(n)}. Each needs one of network and port.`);
      if (n['v6-fixed-ip']) throw new InvalidValue('IPv6 addresses are not supported on this cloud.');
      if (n.port !== undefined) {
        const port = await network.port(ctx, n.port);
        if (!port) throw new InvalidValue(`Neutron port ${n.port} could not be found.`);
        nics.push({ portId: port.id });
        continue;
      }
      const matches = visible.filter((x) => x.id === n.network || x.name === n.network);
      if (matches.length > 1) throw new ConflictError(`Multiple neutron networks exist with same name. Please use the uuid instead.`);
      const net = matches[0];
      if (!net) throw new InvalidValue(`Neutron network ${n.network} could not be found.`);
      if (net.external && !net.shared && !this.core.isAdmin(ctx)) throw new ConflictError(`It is not allowed to create an interface on external network ${net.id}`);
      nics.push({ networkId: net.id, ...(n['v4-fixed-ip'] ? { fixedIp: n['v4-fixed-ip'] } : {}) });
    }
    return nics;
  }

  // ---- reading

  async show(ctx: RequestContext, ident: string, allProjects: boolean): Promise<Located> {
    if (allProjects) this.core.enforce(ctx, 'container:get_one_all_projects');
    const located = await this.core.locate(ctx, ident, allProjects);
    this.core.enforce(ctx, 'container:get_one', { project_id: located.row.project_id });
    return located;
  }

  async list(ctx: RequestContext, q: ListQueryT): Promise<{ items: Located[]; next: string | null }> {
    const core = this.core;
    core.enforce(ctx, 'container:get_all');
    const all = isTrue(q.all_projects);
    if (all) core.enforce(ctx, 'container:get_all_all_projects');
    const { limit, dir } = listPage(q);
    if (q.sort_key !== undefined && !['id', 'uuid', 'created_at', 'name'].includes(q.sort_key)) throw new InvalidValue(`The sort_key value ${q.sort_key} is an invalid field for sorting`);
    const projectId = all ? (q.project_id ?? undefined) : core.project(ctx);
    let after: ContainerRow | undefined;
    if (q.marker) {
      after = await core.store.container(q.marker);
      if (!after || (projectId !== undefined && after.project_id !== projectId)) throw new ContainerNotFoundMarker(q.marker);
    }
    const page = Math.min(limit ?? MAX_LIST, MAX_LIST);
    const rows = await core.store.containers({ ...(projectId !== undefined ? { projectId } : {}), limit: page, ...(after ? { after } : {}), sortDir: dir, ...(q.name ? { name: q.name } : {}) });
    const states = await core.clients.compute.states(ctx, rows.map((r) => r.uuid));
    let items = rows.map((row) => ({ row, workload: states.get(row.uuid), state: zunState(row, states.get(row.uuid)) }));
    if (q.status) items = items.filter((i) => i.state.status === q.status);
    if (q.image) items = items.filter((i) => i.row.image === q.image);
    if (q.user_id) items = items.filter((i) => i.row.user_id === q.user_id);
    if (q.task_state) items = items.filter((i) => i.state.taskState === q.task_state);
    if (q.memory) items = items.filter((i) => String(i.row.memory) === q.memory);
    const next = limit !== undefined && rows.length === page && rows.length > 0 ? `${core.base}/containers?limit=${page}&marker=${rows[rows.length - 1]!.uuid}` : null;
    return { items, next };
  }

  // ---- update, rename

  async update(ctx: RequestContext, ident: string, patch: ContainerUpdateT, requestId: string): Promise<Located> {
    const core = this.core;
    const l = await core.locate(ctx, ident);
    core.enforce(ctx, 'container:update', { project_id: l.row.project_id });
    assertState(l.row.uuid, l.state, 'update');
    const changes: Partial<ContainerRow> = {};
    if (patch.name !== undefined && patch.name !== null) {
      changes.name = patch.name;
      await core.clients.compute.rename(ctx, l.row.uuid, patch.name);
    }
    const cpu = patch.cpu !== undefined && patch.cpu !== null ? number(patch.cpu, 'cpu', CPU_RANGE, l.row.cpu) : undefined;
    const memory = patch.memory !== undefined && patch.memory !== null ? Math.floor(number(patch.memory, 'memory', MEMORY_RANGE, l.row.memory)) : undefined;
    if (patch.auto_heal !== undefined) changes.spec = JSON.stringify({ ...JSON.parse(l.row.spec), auto_heal: isTrue(patch.auto_heal) });
    if (cpu !== undefined || memory !== undefined) {
      const newCpu = cpu ?? l.row.cpu;
      const newMemory = memory ?? l.row.memory;
      // The deltas count against Zun's quotas (and compute's ledger and quotas check the host and Nova's).
      await this.quotas.reserve(ctx, l.row.project_id, { containers: 0, cpu: newCpu - l.row.cpu, memory: newMemory - l.row.memory, disk: 0 }, async () => {
        await core.clients.compute.resize(ctx, l.row.uuid, newCpu, newMemory);
        await core.store.updateContainer(l.row.uuid, { cpu: newCpu, memory: newMemory });
      });
    }
    if (Object.keys(changes).length) await core.store.updateContainer(l.row.uuid, changes);
    void requestId;
    return core.located(ctx, (await core.store.container(l.row.uuid))!);
  }

  async rename(ctx: RequestContext, ident: string, name: string): Promise<Located> {
    const core = this.core;
    const l = await core.locate(ctx, ident);
    core.enforce(ctx, 'container:rename', { project_id: l.row.project_id });
    if (l.row.name === name) throw new ConflictError('The new name for the container is the same as the old name.');
    await core.clients.compute.rename(ctx, l.row.uuid, name);
    await core.store.updateContainer(l.row.uuid, { name });
    return core.located(ctx, (await core.store.container(l.row.uuid))!);
  }

  // ---- delete

  async delete(ctx: RequestContext, ident: string, opts: { force: boolean; stop: boolean; allProjects: boolean }, minor: Minor, requestId: string): Promise<void> {
    const core = this.core;
    if (opts.allProjects) core.enforce(ctx, 'container:delete_all_projects');
    const l = await core.locate(ctx, ident, opts.allProjects);
    core.enforce(ctx, 'container:delete', { project_id: l.row.project_id });
    if (opts.force && !opts.stop) {
      if (minor < 7) throw new InvalidParamInVersion('force', `1.${minor}`, '1.7');
      core.enforce(ctx, 'container:delete_force');
      assertState(l.row.uuid, l.state, 'delete_force');
    } else if (opts.stop) {
      if (minor < 12) throw new InvalidParamInVersion('stop', `1.${minor}`, '1.12');
      assertState(l.row.uuid, l.state, 'delete_after_stop');
    } else {
      assertState(l.row.uuid, l.state, 'delete');
    }
    if (!(await core.store.updateContainer(l.row.uuid, { task_state: 'container_deleting' }, { task_state: l.row.task_state }))) {
      throw new ConflictError(`Container ${l.row.uuid} is changing; try again.`);
    }
    // Compute stops the container as it removes it: a stop first adds nothing but time.
    await this.remove(ctx, l.row, l.workload, requestId);
  }

  /** Removes the workload (when there is one), then the exposed ports' group and the row. */
  async remove(ctx: RequestContext, row: ContainerRow, workload: WorkloadState | undefined, requestId: string): Promise<void> {
    const core = this.core;
    const finish = async () => {
      if (row.exposed_group_id) await core.clients.network.deleteSecurityGroup(ctx, row.exposed_group_id).catch(() => undefined);
      await core.store.deleteContainer(row.uuid);
    };
    if (!workload) return finish();
    try {
      const { settled } = await core.clients.compute.delete(ctx, row.uuid, requestId);
      core.track(settled.then(finish, async (err: Error) => {
        await core.store.updateContainer(row.uuid, { task_state: null, status_reason: `Delete failed: ${err.message}` });
      }));
    } catch (err) {
      if (isNotFound(err)) return finish();
      await core.store.updateContainer(row.uuid, { task_state: null });
      throw err;
    }
  }
}

class ContainerNotFoundMarker extends BadRequestError {
  override readonly name = 'ContainerNotFound';
  constructor(marker: string) {
    super(`Container ${marker} could not be found.`);
  }
}

/** Zun's restart policy with its count as a string; Zun's check_for_restart_policy. */
export function restartPolicyOf(p: { Name: string; MaximumRetryCount?: string | number | null } | null): { Name: string; MaximumRetryCount: string } | null {
  if (!p) return null;
  const count = p.MaximumRetryCount === undefined || p.MaximumRetryCount === null ? 0 : Number(p.MaximumRetryCount);
  if ((p.Name === 'unless-stopped' || p.Name === 'always') && count !== 0) throw new InvalidValue(`maximum retry count not valid with restart policy of ${p.Name}`);
  return { Name: p.Name, MaximumRetryCount: p.Name === 'no' ? '0' : String(count) };
}

/** Zun's build_exposed_ports: `port[/protocol]` keys, tcp by default. */
export function exposedPorts(ports: Record<string, unknown>): { port: number; protocol: 'tcp' | 'udp' }[] {
  return Object.keys(ports).map((key) => {
    const [port, protocol = 'tcp', ...rest] = key.split('/');
    if (rest.length || (protocol !== 'tcp' && protocol !== 'udp')) throw new InvalidValue(`value ${protocol} is an invalid protocol`);
    if (!/^\d{1,5}$/.test(port ?? '') || Number(port) < 1 || Number(port) > 65535) throw new InvalidValue(`value ${port} is invalid as publish port.`);
    return { port: Number(port), protocol };
  });
}

/** Bind mounts carry file content (1.23: base64 in `source`) written into the container; volumes need Cinder. */
export function injectedFiles(mounts: { type?: string; source?: string; destination?: string; size?: string | number }[]): Record<string, string> {
  const files: Record<string, string> = {};
  let total = 0;
  for (const m of mounts) {
    const type = m.type ?? 'volume';
    if (type === 'volume') throw new ValidationError('Volume mounts need the block storage service (Cinder), which this cloud does not run; bind mounts of file content are supported.');
    if (type !== 'bind') throw new ValidationError(`Invalid input for field/attribute mounts. Value: ${type}. The mount type is volume or bind.`);
    if (!m.destination || !m.destination.startsWith('/') || m.destination.endsWith('/') || m.destination.includes('\0') || m.destination.split('/').includes('..')) throw new ValidationError(`Invalid input for field/attribute mounts. Value: ${m.destination ?? 'None'}. A bind mount's destination is the absolute path of a file.`);
    const source = m.source ?? '';
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(source.replace(/\s/g, ''))) throw new ValidationError('Invalid input for field/attribute mounts: a bind mount\'s source is base64 file content.');
    total += Buffer.byteLength(source, 'base64');
    if (total > MAX_INJECTED_BYTES) throw new ValidationError(`Injected files are limited to ${MAX_INJECTED_BYTES} bytes in all.`);
    files[m.destination] = source.replace(/\s/g, '');
  }
  return files;
}

function hintsOf(h: Record<string, unknown> | null): { same_host?: string[]; different_host?: string[] } {
  const out: { same_host?: string[]; different_host?: string[] } = {};
  for (const k of ['same_host', 'different_host'] as const) {
    const v = h?.[k];
    if (v === undefined) continue;
    const list = Array.isArray(v) ? v : [v];
    if (list.some((x) => typeof x !== 'string' || !isUuid(x))) throw new InvalidValue(`Invalid hint ${k}: container uuids are expected.`);
    out[k] = list as string[];
  }
  return out;
}
