// How Zun shows its resources (zun/api/controllers/v1/views): a container with Zun's field names
// and types (memory a string of MiB, restart_policy values strings), actions with their events.
import type { ActionRow, ContainerRow } from './store.ts';
import type { WorkloadState } from './clients.ts';
import type { ZunState } from './states.ts';

/** What a container was created with, beyond its own columns (Zun's wire names). */
export interface ContainerSpec {
  command: string[] | null;
  entrypoint: string[] | null;
  workdir: string | null;
  environment: Record<string, string>;
  labels: Record<string, string>;
  restart_policy: { Name: string; MaximumRetryCount: string } | null;
  interactive: boolean;
  tty: boolean;
  hostname: string | null;
  auto_remove: boolean;
  auto_heal: boolean;
  healthcheck: { cmd?: string; interval?: number | null; retries?: number | null; timeout?: number | null } | null;
  /** Exposed ports as Zun keeps them: {"80/tcp": {}}. */
  exposed_ports: Record<string, Record<string, never>> | null;
  runtime: string | null;
  cpu_policy: string;
  image_pull_policy: string | null;
  registry_id: string | null;
  availability_zone: string | null;
  /** The host asked for (admins), if any. */
  host: string | null;
}

export const specOf = (row: ContainerRow): ContainerSpec => JSON.parse(row.spec) as ContainerSpec;

/** Zun's datetime as pecan renders it: ISO 8601 with seconds and +00:00. */
export function zunTime(iso: string | null): string | null {
  if (!iso) return null;
  return `${iso.slice(0, 19)}+00:00`;
}

/** Zun's action times (utils.strtime): microseconds, no zone. */
function actionTime(iso: string | null): string | null {
  if (!iso) return null;
  return `${iso.slice(0, 19)}.${iso.slice(20, 23).padEnd(6, '0')}`;
}

export interface ViewOptions {
  /** Where links point: the API's /v1 base. */
  base: string;
  /** Admins also see host, runtime, privileged and image_pull_policy. */
  admin: boolean;
  hostName: string | null;
}

export function containerView(row: ContainerRow, w: WorkloadState | undefined, state: ZunState, o: ViewOptions): Record<string, unknown> {
  const s = specOf(row);
  const ports = Object.keys(s.exposed_ports ?? {}).map((p) => Number(p.split('/')[0]));
  const view: Record<string, unknown> = {
    uuid: row.uuid,
    links: [
      { href: `${o.base}/containers/${row.uuid}`, rel: 'self' },
      { href: `${o.base.replace(/\/v1$/, '')}/containers/${row.uuid}`, rel: 'bookmark' },
    ],
    user_id: row.user_id,
    project_id: row.project_id,
    name: row.name,
    image: row.image,
    command: s.command,
    status: state.status,
    status_reason: state.statusReason,
    task_state: state.taskState,
    cpu: row.cpu,
    memory: String(row.memory),
    environment: s.environment,
    workdir: s.workdir,
    ports,
    hostname: s.hostname,
    labels: s.labels,
    addresses: w?.addresses ?? {},
    restart_policy: s.restart_policy,
    status_detail: statusDetail(state.status, w),
    interactive: s.interactive,
    tty: s.tty,
    image_driver: row.image_driver,
    security_groups: JSON.parse(row.security_groups) as string[],
    auto_remove: s.auto_remove,
    disk: row.disk,
    auto_heal: s.auto_heal,
    healthcheck: s.healthcheck ?? {},
    cpu_policy: s.cpu_policy,
    registry_id: s.registry_id,
    entrypoint: s.entrypoint,
    created_at: zunTime(row.created_at),
    updated_at: zunTime(row.updated_at),
  };
  if (o.admin) {
    view.host = o.hostName;
    view.runtime = s.runtime ?? 'runc';
    view.privileged = false;
    view.image_pull_policy = s.image_pull_policy;
  }
  return view;
}

/** Docker's short state words, as Zun's status_detail carries them. */
function statusDetail(status: string, w: WorkloadState | undefined): string | null {
  if (!w) return null;
  if (status === 'Running' && w.launchedAt) return `Up ${ago(w.launchedAt)}`;
  if (status === 'Paused') return 'Paused';
  if (status === 'Stopped') return 'Exited';
  if (status === 'Created') return 'Created';
  return null;
}

function ago(iso: string): string {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} seconds`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes`;
  return `${Math.floor(s / 3600)} hours`;
}

interface ActionEvent {
  event: string;
  start_time: string;
  finish_time: string | null;
  result: string | null;
  traceback: string | null;
}

export function actionView(a: ActionRow, withFinishTime: boolean): Record<string, unknown> {
  return {
    action: a.action,
    container_uuid: a.container_uuid,
    message: a.message,
    project_id: a.project_id,
    request_id: a.request_id,
    start_time: actionTime(a.start_time),
    user_id: a.user_id,
    ...(withFinishTime ? { finish_time: actionTime(a.finish_time) } : {}),
  };
}

export function eventsView(a: ActionRow, showTraceback: boolean): Record<string, unknown>[] {
  return (JSON.parse(a.events) as ActionEvent[]).map((e) => ({
    event: e.event,
    start_time: actionTime(e.start_time),
    finish_time: actionTime(e.finish_time),
    result: e.result,
    traceback: showTraceback ? e.traceback : null,
  }));
}
