// Zun's capsules (/v1/capsules): a pod of containers from Zun's template (`kind: capsule`,
// metadata, spec.containers, restartPolicy, volumes). Its first container holds the pod's one
// Neutron port and network namespace; the others join that namespace (compute places them on its
// host), so they reach each other on localhost. Quotas count the capsule whole, and a capsule that
// cannot be placed whole is taken apart again: no container and no port of it stays.
import { listPage } from './paging.ts';
import { randomUUID } from 'node:crypto';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { RequestContext } from '../platform/auth/context.ts';
import { ConflictError, isNotFound } from '../platform/errors.ts';
import type { ContainerOptions } from '../agent/driver.ts';
import type { ContainerNic } from './clients.ts';
import { DEFAULT_CPU, DEFAULT_MEMORY_MIB, generatedName, isTrue, type ContainerService } from './containers.ts';
import { isUuid, type Located, type ZunCore } from './core.ts';
import { CapsuleNotFound, InvalidCapsuleTemplate, InvalidValue, ValidationError } from './errors.ts';
import { resolveImage } from './images.ts';
import type { Quotas } from './quotas.ts';
import { CapsuleTemplate, type CapsuleContainerT, type CapsuleCreateT, type CapsuleListQueryT, type CapsuleTemplateT } from './schemas.ts';
import { zunState } from './states.ts';
import type { CapsuleRow, ContainerRow } from './store.ts';
import { zunTime, type ContainerSpec } from './views.ts';

const templateCheck = TypeCompiler.Compile(CapsuleTemplate);
/** Zun's VALID_CAPSULE_RESTART_POLICY. */
const RESTART_POLICY = { Always: 'always', OnFailure: 'on-failure', Never: 'no' } as const;
const MAX_LIST = 1000;

/** Zun's capsule statuses, and `Deleting` while one is taken apart. */
export type CapsuleStatus = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown' | 'Deleting';

interface Member {
  row: ContainerRow;
  options: ContainerOptions;
}

/** The template as Zun checks it: a JSON string is parsed first; then the schema, the kind and the spec. */
export function parseCapsuleTemplate(template: string | Record<string, unknown>): CapsuleTemplateT {
  let tpl: unknown = template;
  if (typeof template === 'string') {
    try {
      tpl = JSON.parse(template);
    } catch (err) {
      throw new InvalidValue(`Failed to parse string to json: ${(err as Error).message}`);
    }
  }
  if (!templateCheck.Check(tpl)) {
    const e = templateCheck.Errors(tpl).First();
    const field = (e?.path ?? '').split('/').filter(Boolean).join('.');
    throw new ValidationError(`Invalid input for field/attribute template${field ? `.${field}` : ''}. ${e?.message ?? ''}`.trim());
  }
  if (tpl.kind !== 'capsule' && tpl.kind !== 'Capsule') throw new InvalidCapsuleTemplate('kind fields need to be set as capsule or Capsule');
  const init = tpl.spec.initContainers;
  if (init !== undefined && init !== null && !(Array.isArray(init) && init.length === 0)) throw new InvalidCapsuleTemplate('initContainers are not supported on this cloud.');
  return tpl;
}

/** Zun's capsule command: `command` then `args`, or `args` alone. */
const commandOf = (c: CapsuleContainerT): string[] | null => {
  const all = [...(c.command ?? []), ...(c.args ?? [])];
  return all.length ? all : null;
};

export class Capsules {
  /** Capsules whose containers are being placed (a delete waits for that to end). */
  private readonly launching = new Set<string>();
  private readonly dismantling = new Set<string>();

  constructor(private readonly core: ZunCore, private readonly quotas: Quotas, private readonly containers: ContainerService) {}

  // ---- create

  async create(ctx: RequestContext, body: CapsuleCreateT, requestId: string): Promise<CapsuleRow> {
    const core = this.core;
    core.enforce(ctx, 'capsule:create');
    const projectId = core.project(ctx);
    const tpl = parseCapsuleTemplate(body.template as string | Record<string, unknown>);
    const policy = RESTART_POLICY[(tpl.spec.restartPolicy ?? tpl.restartPolicy ?? 'Always') as keyof typeof RESTART_POLICY];
    const uuid = randomUUID();

    // emptyDir volumes: an engine volume of the capsule's, shared by the containers that mount it.
    const volumes = new Map<string, string>();
    for (const v of tpl.spec.volumes ?? []) {
      if (volumes.has(v.name)) throw new InvalidCapsuleTemplate(`volume ${v.name} is defined twice.`);
      if (v.cinder !== undefined) throw new InvalidValue('Cinder volumes need the block storage service, which this cloud does not run; emptyDir volumes are supported.');
      if (v.emptyDir === undefined) throw new InvalidCapsuleTemplate(`volume ${v.name} needs a source (emptyDir).`);
      if (v.emptyDir?.medium === 'Memory') throw new InvalidValue('emptyDir volumes of medium Memory (tmpfs) are not supported; leave medium empty.');
      volumes.set(v.name, `zun-capsule-${uuid}-${v.name}`);
    }
    for (const c of tpl.spec.containers) {
      if (c.imagePullPolicy) core.enforce(ctx, 'container:create:image_pull_policy');
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name)) throw new InvalidCapsuleTemplate(`volume mount ${m.name} names no volume of the capsule.`);
        if (!m.mountPath.startsWith('/') || m.mountPath.includes('\0') || m.mountPath.split('/').includes('..')) throw new InvalidValue(`Invalid mountPath ${m.mountPath}: an absolute path is expected.`);
      }
    }
    const images = await Promise.all(tpl.spec.containers.map((c) => resolveImage(core.clients.images, ctx, c.image, 'docker')));
    const nics = await this.containers.nicsFor(ctx, tpl.nets ?? []);

    const now = new Date().toISOString();
    const name = tpl.metadata.name ?? generatedName('capsule');
    const labels = tpl.metadata.labels ?? {};
    const restart = { Name: policy, MaximumRetryCount: '0' };
    const members: Member[] = tpl.spec.containers.map((c, i) => {
      const cpu = c.resources?.requests?.cpu ?? c.resources?.limits?.cpu ?? DEFAULT_CPU;
      const memory = c.resources?.requests?.memory ?? c.resources?.limits?.memory ?? DEFAULT_MEMORY_MIB;
      const command = commandOf(c);
      const env = Object.entries(c.env ?? {}).map(([k, v]) => {
        if (k.includes('=') || /\s/.test(k)) throw new InvalidValue(`Invalid environment variable name ${k}.`);
        return `${k}=${v}`;
      });
      const interactive = isTrue(c.stdin);
      const tty = isTrue(c.tty);
      const spec: ContainerSpec = {
        command,
        entrypoint: null,
        workdir: c.workDir ?? null,
        environment: c.env ?? {},
        labels,
        restart_policy: restart,
        interactive,
        tty,
        hostname: null,
        auto_remove: false,
        auto_heal: false,
        healthcheck: null,
        exposed_ports: null,
        runtime: null,
        cpu_policy: 'shared',
        image_pull_policy: c.imagePullPolicy ? c.imagePullPolicy.toLowerCase() : null,
        registry_id: null,
        availability_zone: tpl.availabilityZone ?? null,
        host: null,
      };
      const row: ContainerRow = {
        uuid: randomUUID(),
        project_id: projectId,
        user_id: ctx.userId,
        name: c.name ?? `capsule-${name}-${generatedName()}`,
        image: c.image,
        image_id: images[i]!.id,
        image_driver: 'docker',
        cpu,
        memory,
        disk: 0,
        spec: JSON.stringify(spec),
        security_groups: '[]',
        exposed_group_id: null,
        started: 1,
        task_state: null,
        status_reason: null,
        capsule_id: uuid,
        created_at: now,
        updated_at: now,
      };
      const options: ContainerOptions = {
        start: true,
        cpus: cpu,
        env,
        ...(command ? { command } : {}),
        ...(c.workDir ? { workingDir: c.workDir } : {}),
        labels,
        tty,
        openStdin: interactive,
        restartPolicy: { name: policy },
        ...(c.volumeMounts?.length ? { namedVolumes: c.volumeMounts.map((m) => ({ name: volumes.get(m.name)!, target: m.mountPath })) } : {}),
        configDrive: false,
      };
      return { row, options };
    });
    const capsule: CapsuleRow = {
      uuid,
      project_id: projectId,
      user_id: ctx.userId,
      name,
      template: JSON.stringify(tpl),
      containers: JSON.stringify(members.map((m) => m.row.uuid)),
      status: 'Pending',
      status_reason: null,
      cpu: members.reduce((s, m) => s + m.row.cpu, 0),
      memory: members.reduce((s, m) => s + m.row.memory, 0),
      restart_policy: policy,
      labels: JSON.stringify(labels),
      annotations: JSON.stringify(tpl.metadata.annotations ?? {}),
      created_at: now,
      updated_at: now,
    };
    // The capsule counts whole against Zun's quotas: all its containers, in one step with its rows.
    await this.quotas.reserve(ctx, projectId, { containers: members.length, cpu: capsule.cpu, memory: capsule.memory, disk: 0 }, async () => {
      await core.store.insertCapsule(capsule);
      for (const m of members) await core.store.insertContainer(m.row);
    });
    this.launching.add(uuid);
    core.track(this.launch(ctx, capsule, members, nics, requestId).finally(() => this.launching.delete(uuid)));
    return capsule;
  }

  /** Places the first container (with the pod's port), then the others in its network namespace. */
  private async launch(ctx: RequestContext, capsule: CapsuleRow, members: Member[], nics: ContainerNic[], requestId: string): Promise<void> {
    const az = capsule.template ? ((JSON.parse(capsule.template) as CapsuleTemplateT).availabilityZone ?? null) : null;
    try {
      const [first, ...rest] = members;
      await this.bootMember(ctx, first!, nics, undefined, az, requestId);
      const results = await Promise.allSettled(rest.map((m) => this.bootMember(ctx, m, [], first!.row.uuid, az, requestId)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      await this.core.store.updateCapsule(capsule.uuid, { status: 'Running' });
    } catch (err) {
      // Nothing of a capsule that could not be placed whole stays: its containers go, and their port.
      await Promise.allSettled(members.map((m) => this.removeMember(ctx, m.row, requestId)));
      await this.core.store.updateCapsule(capsule.uuid, { status: 'Failed', status_reason: `The capsule could not be placed whole: ${(err as Error).message}` });
    }
  }

  private async bootMember(ctx: RequestContext, m: Member, nics: ContainerNic[], networkOf: string | undefined, az: string | null, requestId: string): Promise<void> {
    const core = this.core;
    const actionId = await core.startAction(ctx, m.row, 'create', requestId, 'compute__do_container_create');
    let error: Error | undefined;
    try {
      const booted = await core.clients.compute.boot(
        ctx,
        { id: m.row.uuid, name: m.row.name, imageId: m.row.image_id, cpu: m.row.cpu, memoryMiB: m.row.memory, diskGiB: 0, nics, securityGroupIds: [], availabilityZone: az, host: null, hints: {}, options: m.options, ...(networkOf ? { networkOf } : {}) },
        requestId,
      );
      await booted.settled;
      const w = await core.workloadOf(ctx, m.row);
      if (!w || w.vmState === 'error') error = new Error(w?.fault ?? `container ${m.row.name} could not be created`);
    } catch (err) {
      error = err as Error;
    }
    await core.finishAction(m.row.uuid, actionId, error, false).catch(() => undefined);
    if (error) throw error;
  }

  /** Removes a member's workload (waiting until it is gone) and then its row; repeatable. */
  private async removeMember(ctx: RequestContext, row: ContainerRow, requestId: string): Promise<void> {
    const core = this.core;
    const w = await core.workloadOf(ctx, row).catch(() => undefined);
    if (w) {
      try {
        const { settled } = await core.clients.compute.delete(ctx, row.uuid, requestId);
        await settled;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    await core.store.deleteContainer(row.uuid);
  }

  // ---- reading

  /** A capsule of the caller's project by uuid or name (any project's for an admin with all_projects); others are unknown. */
  async find(ctx: RequestContext, ident: string, allProjects = false): Promise<CapsuleRow> {
    const core = this.core;
    const project = allProjects && core.isAdmin(ctx) ? undefined : core.project(ctx);
    if (isUuid(ident)) {
      const row = await core.store.capsule(ident.toLowerCase());
      if (row && (project === undefined || row.project_id === project)) return row;
    }
    const named = await core.store.capsulesNamed(ident, project);
    if (named.length > 1) throw new ConflictError('Multiple capsules exist with same name. Please use the capsule uuid instead.');
    if (!named[0]) throw new CapsuleNotFound(ident);
    return named[0];
  }

  async show(ctx: RequestContext, ident: string): Promise<CapsuleRow> {
    const c = await this.find(ctx, ident);
    this.core.enforce(ctx, 'capsule:get', { project_id: c.project_id });
    return c;
  }

  async list(ctx: RequestContext, q: CapsuleListQueryT): Promise<{ items: CapsuleRow[]; next: string | null }> {
    const core = this.core;
    core.enforce(ctx, 'capsule:get_all');
    const all = isTrue(q.all_projects);
    if (all) core.enforce(ctx, 'capsule:get_all_all_projects');
    const { limit, dir } = listPage(q);
    const projectId = all ? undefined : core.project(ctx);
    let after: CapsuleRow | undefined;
    if (q.marker) {
      after = await core.store.capsule(q.marker);
      if (!after || (projectId !== undefined && after.project_id !== projectId)) throw new CapsuleNotFound(q.marker);
    }
    const page = Math.min(limit ?? MAX_LIST, MAX_LIST);
    const items = await core.store.capsules(projectId, page, after, dir);
    const next = limit !== undefined && items.length === page && items.length > 0 ? `${core.base}/capsules?limit=${page}&marker=${items[items.length - 1]!.uuid}` : null;
    return { items, next };
  }

  /** The capsule's status from its own record while it is placed or taken apart, else from its containers. */
  private async status(ctx: RequestContext, c: CapsuleRow, members: Located[]): Promise<{ status: CapsuleStatus; reason: string | null }> {
    if (c.status === 'Deleting' || c.status === 'Failed' || c.status === 'Pending') return { status: c.status, reason: c.status_reason };
    const statuses = members.map((m) => m.state.status);
    if (members.length === 0) return { status: 'Failed', reason: 'The capsule has no containers.' };
    if (statuses.includes('Unknown')) return { status: 'Unknown', reason: members.find((m) => m.state.status === 'Unknown')!.state.statusReason };
    if (statuses.some((s) => s === 'Running' || s === 'Restarting' || s === 'Paused' || s === 'Rebuilding')) return { status: 'Running', reason: null };
    if (statuses.includes('Creating')) return { status: 'Pending', reason: null };
    const errored = members.find((m) => m.state.status === 'Error');
    if (errored) return { status: 'Failed', reason: `${errored.row.name}: ${errored.state.statusReason ?? 'failed'}` };
    // Every container ended: the capsule succeeded when each exited with 0.
    for (const m of members) {
      const code = await this.core.clients.compute.exitCode(ctx, m.row.uuid);
      if (code !== 0) return { status: 'Failed', reason: `${m.row.name} exited with ${code ?? 'an unknown code'}` };
    }
    return { status: 'Succeeded', reason: null };
  }

  /** Zun's capsule view (capsules_view.format_capsule), its containers in Zun's container view. */
  async view(ctx: RequestContext, c: CapsuleRow, minor: number): Promise<Record<string, unknown>> {
    const core = this.core;
    const uuids = JSON.parse(c.containers) as string[];
    const rows = new Map((await core.store.containersOf(uuids)).map((r) => [r.uuid, r]));
    const states = rows.size ? await core.clients.compute.states(ctx, [...rows.keys()]) : new Map();
    const members: Located[] = uuids.filter((u) => rows.has(u)).map((u) => {
      const row = rows.get(u)!;
      const w = states.get(u);
      // A container of a capsule being placed that compute has not been asked for yet is still being created.
      const state = !w && c.status === 'Pending' ? { status: 'Creating' as const, statusReason: null, taskState: 'container_creating' } : zunState(row, w);
      return { row, workload: w, state };
    });
    const { status, reason } = await this.status(ctx, c, members);
    const admin = core.isAdmin(ctx);
    const view: Record<string, unknown> = {
      uuid: c.uuid,
      links: [
        { href: `${core.base}/capsules/${c.uuid}`, rel: 'self' },
        { href: `${core.base.replace(/\/v1$/, '')}/capsules/${c.uuid}`, rel: 'bookmark' },
      ],
      user_id: c.user_id,
      project_id: c.project_id,
      created_at: zunTime(c.created_at),
      updated_at: zunTime(c.updated_at),
      addresses: members[0]?.workload?.addresses ?? {},
      status,
      status_reason: reason,
      restart_policy: { Name: c.restart_policy, MaximumRetryCount: '0' },
      name: c.name,
      labels: JSON.parse(c.labels) as Record<string, string>,
      memory: String(c.memory),
      cpu: c.cpu,
      init_containers: [],
      containers: await Promise.all(members.map((m) => core.view(ctx, m))),
    };
    if (admin) {
      const hostId = members[0]?.workload?.hostId;
      view.host = hostId ? ((await core.clients.compute.hosts(ctx)).find((h) => h.id === hostId)?.hostname ?? hostId) : null;
    }
    if (minor < 32) Object.assign(view, { volumes_info: {}, containers_uuids: uuids, init_containers_uuids: [], capsule_version: '' });
    return view;
  }

  // ---- delete

  async delete(ctx: RequestContext, ident: string, allProjects: boolean, requestId: string): Promise<void> {
    const core = this.core;
    if (allProjects) core.enforce(ctx, 'capsule:delete_all_projects');
    const c = await this.find(ctx, ident, allProjects);
    core.enforce(ctx, 'capsule:delete', { project_id: c.project_id });
    if (this.launching.has(c.uuid)) throw new ConflictError(`Cannot delete capsule ${c.uuid} in Pending state: its containers are being placed.`);
    if (this.dismantling.has(c.uuid)) return;
    await core.store.updateCapsule(c.uuid, { status: 'Deleting', status_reason: null });
    this.dismantling.add(c.uuid);
    core.track(this.dismantle(ctx, c, requestId).finally(() => this.dismantling.delete(c.uuid)));
  }

  /** The later containers first, then the one holding the namespace and port, then the capsule. */
  private async dismantle(ctx: RequestContext, c: CapsuleRow, requestId: string): Promise<void> {
    const uuids = JSON.parse(c.containers) as string[];
    const rows = new Map((await this.core.store.containersOf(uuids)).map((r) => [r.uuid, r]));
    const [first, ...rest] = uuids.map((u) => rows.get(u)).filter((r): r is ContainerRow => !!r);
    try {
      const removed = await Promise.allSettled(rest.map((r) => this.removeMember(ctx, r, requestId)));
      const failed = removed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (first) await this.removeMember(ctx, first, requestId);
      await this.core.store.deleteCapsule(c.uuid);
    } catch (err) {
      await this.core.store.updateCapsule(c.uuid, { status_reason: `Delete failed: ${(err as Error).message}` });
    }
  }
}
