// Zun's container statuses as seen through compute's workload state, and which statuses each verb
// accepts (zun/common/utils.py VALID_STATES): one place for both, so views and checks agree.
import type { ContainerRow } from './store.ts';
import type { WorkloadState } from './clients.ts';
import { InvalidStateException } from './errors.ts';

export type ZunStatus = 'Creating' | 'Created' | 'Running' | 'Stopped' | 'Paused' | 'Restarting' | 'Rebuilding' | 'Deleting' | 'Error' | 'Unknown';

export interface ZunState {
  status: ZunStatus;
  statusReason: string | null;
  /** Zun's task_state names (container_starting, ...), null when none. */
  taskState: string | null;
}

const TASKS: Record<string, string> = {
  scheduling: 'container_creating',
  spawning: 'container_creating',
  'powering-on': 'container_starting',
  'powering-off': 'container_stopping',
  rebooting: 'container_rebooting',
  rebooting_hard: 'container_rebooting',
  pausing: 'container_pausing',
  unpausing: 'container_unpausing',
  rebuilding: 'container_rebuilding',
  deleting: 'container_deleting',
};

/** The status Zun shows for a container, from its row and its workload (undefined: the workload is gone). */
export function zunState(row: ContainerRow, w: WorkloadState | undefined): ZunState {
  const own = row.task_state;
  if (own === 'container_deleting' || w?.taskState === 'deleting') return { status: 'Deleting', statusReason: null, taskState: 'container_deleting' };
  if (!w) return { status: 'Error', statusReason: row.status_reason ?? 'The container is gone from compute.', taskState: null };
  const task = own ?? (w.taskState ? (TASKS[w.taskState] ?? w.taskState) : null);
  if (w.vmState === 'error') return { status: 'Error', statusReason: row.status_reason ?? w.fault ?? 'The container failed.', taskState: task };
  if (w.hostId && !w.hostUp) return { status: 'Unknown', statusReason: `The host of the container (${w.hostId}) does not answer.`, taskState: task };
  if (w.vmState === 'building') return { status: 'Creating', statusReason: null, taskState: task ?? 'container_creating' };
  if (w.taskState === 'rebuilding' || own === 'container_rebuilding') return { status: 'Rebuilding', statusReason: null, taskState: 'container_rebuilding' };
  if (w.taskState === 'rebooting' || w.taskState === 'rebooting_hard') return { status: 'Restarting', statusReason: null, taskState: 'container_rebooting' };
  switch (w.vmState) {
    case 'active':
    case 'resized':
      return { status: 'Running', statusReason: null, taskState: task };
    case 'paused':
    case 'suspended':
      return { status: 'Paused', statusReason: null, taskState: task };
    case 'stopped':
      return { status: row.started ? 'Stopped' : 'Created', statusReason: null, taskState: task };
    default:
      return { status: 'Unknown', statusReason: `compute reports ${w.vmState}`, taskState: task };
  }
}

/** Zun's VALID_STATES: the statuses each verb accepts. */
export const VALID_STATES: Record<string, ZunStatus[]> = {
  commit: ['Running', 'Stopped', 'Paused'],
  delete: ['Created', 'Error', 'Stopped'],
  delete_force: ['Created', 'Creating', 'Error', 'Running', 'Stopped', 'Unknown', 'Restarting', 'Rebuilding', 'Deleting', 'Paused'],
  delete_after_stop: ['Running', 'Created', 'Error', 'Stopped'],
  start: ['Created', 'Stopped', 'Error'],
  stop: ['Running'],
  reboot: ['Created', 'Running', 'Stopped', 'Error'],
  rebuild: ['Created', 'Running', 'Stopped', 'Error'],
  pause: ['Running'],
  unpause: ['Paused'],
  kill: ['Running'],
  execute: ['Running'],
  execute_resize: ['Running'],
  update: ['Created', 'Running', 'Stopped', 'Paused'],
  attach: ['Running'],
  resize: ['Running'],
  top: ['Running'],
  get_archive: ['Created', 'Paused', 'Running', 'Stopped'],
  put_archive: ['Created', 'Paused', 'Running', 'Stopped'],
  logs: ['Created', 'Error', 'Paused', 'Running', 'Stopped', 'Unknown'],
  stats: ['Running'],
  add_security_group: ['Created', 'Running', 'Stopped', 'Paused'],
  remove_security_group: ['Created', 'Running', 'Stopped', 'Paused'],
  resize_container: ['Created', 'Running', 'Stopped', 'Paused'],
  network_attach: ['Created', 'Running', 'Stopped', 'Paused'],
  network_detach: ['Created', 'Running', 'Stopped', 'Paused'],
};

export function assertState(uuid: string, state: ZunState, action: string): void {
  const allowed = VALID_STATES[action];
  if (allowed && !allowed.includes(state.status)) throw new InvalidStateException(uuid, action, state.status);
}
