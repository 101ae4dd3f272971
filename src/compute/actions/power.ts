// Power actions: start, stop, reboot (soft: restart; hard: kill and start), pause and unpause,
// suspend and resume (the cgroup freezer, like pause, shown as SUSPENDED). The task is claimed in
// the row, the driver acts in the background, the result is recorded.
import type { ComputeDriver } from '../../agent/driver.ts';
import { BadRequestError } from '../../platform/errors.ts';
import { replugInterfaces } from '../interfaces.ts';
import { assertUnlocked } from '../servers.ts';
import { faultJson, POWER, powerCode } from '../states.ts';
import type { VmState } from '../tables.ts';
import { conflict, need, type ActionParts, type ActionRequest, type ServerAction } from './types.ts';

async function power(p: ActionParts, req: ActionRequest, action: string, states: VmState[], task: string, op: Parameters<ComputeDriver['power']>[1], to: VmState): Promise<undefined> {
  const { core, hosts, actions } = p;
  const { ctx, row, requestId } = req;
  const id = row.id;
  core.enforce(ctx, `servers:${action}`);
  assertUnlocked(core, ctx, row);
  need(row, action, states);
  if (!(await core.store.updateServer(id, { task_state: task }, { task_state: null }))) throw conflict(row, action);
  await actions.record(row, action, requestId, ctx);
  core.track(
    (async () => {
      try {
        const driver = hosts.driverOf(row.host_id);
        const state = await driver.power(id, op);
        if (state.power === 'running' && (op === 'start' || op === 'reboot' || op === 'hard-reboot')) await replugInterfaces(core, driver, id);
        await core.store.updateServer(id, { vm_state: to, task_state: null, power_state: to === 'suspended' ? POWER.SUSPENDED : powerCode(state.power) });
        await actions.finish(id, action, 'Success');
      } catch (err) {
        await core.store.updateServer(id, { task_state: null, fault: faultJson((err as Error).message) });
        await actions.finish(id, action, 'Error');
      }
    })(),
  );
  return undefined;
}

export const start: ServerAction = (p, req) => power(p, req, 'start', ['stopped'], 'powering-on', 'start', 'active');
export const stop: ServerAction = (p, req) => power(p, req, 'stop', ['active', 'error'], 'powering-off', 'stop', 'stopped');
export const pause: ServerAction = (p, req) => power(p, req, 'pause', ['active'], 'pausing', 'pause', 'paused');
export const unpause: ServerAction = (p, req) => power(p, req, 'unpause', ['paused'], 'unpausing', 'unpause', 'active');
export const suspend: ServerAction = (p, req) => power(p, req, 'suspend', ['active'], 'suspending', 'pause', 'suspended');
export const resume: ServerAction = (p, req) => power(p, req, 'resume', ['suspended'], 'resuming', 'unpause', 'active');

export const reboot: ServerAction = (p, req) => {
  const type = (req.arg as { type?: string } | null)?.type;
  if (type !== 'SOFT' && type !== 'HARD') throw new BadRequestError('Invalid input for field/attribute type. Value: ' + String(type) + ". 'SOFT' or 'HARD' expected");
  const hard = type === 'HARD';
  return power(p, req, 'reboot', hard ? ['active', 'stopped', 'error'] : ['active'], hard ? 'rebooting_hard' : 'rebooting', hard ? 'hard-reboot' : 'reboot', 'active');
};
