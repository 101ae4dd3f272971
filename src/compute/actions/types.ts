// What a server action gets: the request (caller, server row, the action's argument, request id)
// and compute's parts; and the state checks every action makes, in Nova's words.
import type { RequestContext } from '../../platform/auth/context.ts';
import { ConflictError } from '../../platform/errors.ts';
import type { ComputeCore } from '../core.ts';
import type { Flavors } from '../flavors.ts';
import type { Hosts } from '../hosts.ts';
import type { InstanceActions } from '../instance-actions.ts';
import type { Servers } from '../servers.ts';
import type { ServerRow, VmState } from '../tables.ts';

export interface ActionParts {
  core: ComputeCore;
  hosts: Hosts;
  actions: InstanceActions;
  servers: Servers;
  flavors: Flavors;
}

export interface ActionRequest {
  ctx: RequestContext;
  row: ServerRow;
  /** The value under the action's name in the body. */
  arg: unknown;
  requestId: string;
}

/** Runs one action; answers a body for the actions that have one, undefined for a bare 202. */
export type ServerAction = (parts: ActionParts, req: ActionRequest) => Promise<unknown>;

export function conflict(row: ServerRow, action: string): ConflictError {
  return new ConflictError(`Cannot '${action}' instance ${row.id} while it is in vm_state ${row.vm_state}`);
}

/** The server must be in one of `states` with no task under way. */
export function need(row: ServerRow, action: string, states: VmState[]): void {
  if (!states.includes(row.vm_state)) throw conflict(row, action);
  if (row.task_state) throw new ConflictError(`Cannot '${action}' instance ${row.id} while it is in task_state ${row.task_state}`);
}
