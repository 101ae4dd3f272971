// A server's states as Nova names them: power state codes, and the status a client sees for each
// vm_state/task_state pair.
import type { PowerState } from '../agent/driver.ts';
import type { ServerRow } from './tables.ts';

export const POWER = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6, SUSPENDED: 7 } as const;

export type NovaStatus = 'BUILD' | 'ACTIVE' | 'REBOOT' | 'HARD_REBOOT' | 'REBUILD' | 'SHUTOFF' | 'PAUSED' | 'SUSPENDED' | 'ERROR' | 'DELETED' | 'VERIFY_RESIZE';

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

export function novaStatus(r: Pick<ServerRow, 'vm_state' | 'task_state'>): NovaStatus {
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

/** A fault as the row keeps it (JSON), for a server that went to ERROR. */
export function faultJson(message: string, code = 500): string {
  return JSON.stringify({ code, message, created: new Date().toISOString() });
}
