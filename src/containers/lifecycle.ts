// A container's lifecycle actions as Zun takes them: start, stop, reboot, pause, unpause, kill and
// rebuild, each checked against Zun's states, recorded as a container action with its event, and
// carried out by compute in the background (202).
import { constants } from 'node:os';
import type { RequestContext } from '../platform/auth/context.ts';
import type { PowerVerb } from './clients.ts';
import type { ZunCore } from './core.ts';
import { InvalidValue } from './errors.ts';
import { resolveImage } from './images.ts';
import { assertState } from './states.ts';

/** Zun's signal spellings (SIGTERM, TERM, sigterm, term, 15) to the name an engine takes; None is SIGKILL. */
export function signalName(raw: string | undefined): string {
  if (raw === undefined || raw === 'None') return 'SIGKILL';
  const signals = constants.signals as Record<string, number>;
  if (/^\d+$/.test(raw)) {
    const name = Object.keys(signals).find((k) => signals[k] === Number(raw));
    if (!name) throw new InvalidValue(`Invalid signal ${raw}.`);
    return name;
  }
  const upper = raw.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!(name in signals)) throw new InvalidValue(`Invalid signal ${raw}.`);
  return name;
}

export class Lifecycle {
  constructor(private readonly core: ZunCore) {}

  async power(ctx: RequestContext, ident: string, verb: PowerVerb, requestId: string): Promise<void> {
    const core = this.core;
    const l = await core.locate(ctx, ident);
    core.enforce(ctx, `container:${verb}`, { project_id: l.row.project_id });
    assertState(l.row.uuid, l.state, verb);
    const actionId = await core.startAction(ctx, l.row, verb, requestId, `compute__do_container_${verb}`);
    if (verb === 'start' || verb === 'reboot') await core.store.updateContainer(l.row.uuid, { started: 1 });
    try {
      const { settled } = await core.clients.compute.power(ctx, l.row.uuid, verb, requestId);
      core.track(settled.then(async () => {
        const w = await core.workloadOf(ctx, l.row);
        const failed = w?.vmState === 'error' || (verb === 'start' && w?.vmState !== 'active');
        await core.finishAction(l.row.uuid, actionId, failed ? new Error(w?.fault ?? `${verb} failed`) : undefined, verb !== 'start');
      }, (err: Error) => core.finishAction(l.row.uuid, actionId, err, verb !== 'start')));
    } catch (err) {
      await core.finishAction(l.row.uuid, actionId, err as Error, verb !== 'start');
      throw err;
    }
  }

  async kill(ctx: RequestContext, ident: string, signal: string | undefined, requestId: string): Promise<void> {
    const core = this.core;
    const l = await core.locate(ctx, ident);
    core.enforce(ctx, 'container:kill', { project_id: l.row.project_id });
    assertState(l.row.uuid, l.state, 'kill');
    const name = signalName(signal);
    const actionId = await core.startAction(ctx, l.row, 'kill', requestId, 'compute__do_container_kill');
    try {
      await core.clients.compute.kill(ctx, l.row.uuid, name, requestId);
      await core.finishAction(l.row.uuid, actionId, undefined, true);
    } catch (err) {
      await core.finishAction(l.row.uuid, actionId, err as Error, true);
      throw err;
    }
  }

  /** Rebuilds from the same image, or another one; a container that ran runs again. */
  async rebuild(ctx: RequestContext, ident: string, image: string | undefined, imageDriver: 'glance' | 'docker' | undefined, requestId: string): Promise<void> {
    const core = this.core;
    const l = await core.locate(ctx, ident);
    core.enforce(ctx, 'container:rebuild', { project_id: l.row.project_id });
    assertState(l.row.uuid, l.state, 'rebuild');
    const driver = imageDriver ?? (l.row.image_driver as 'glance' | 'docker');
    const resolved = await resolveImage(core.clients.images, ctx, image ?? l.row.image, driver);
    const run = l.state.status === 'Running';
    if (!(await core.store.updateContainer(l.row.uuid, { task_state: 'container_rebuilding', image: image ?? l.row.image, image_id: resolved.id, image_driver: driver }, { task_state: l.row.task_state }))) {
      throw new InvalidValue(`Container ${l.row.uuid} is changing; try again.`);
    }
    const actionId = await core.startAction(ctx, l.row, 'rebuild', requestId, 'compute__do_container_rebuild');
    try {
      const { settled } = await core.clients.compute.rebuild(ctx, l.row.uuid, resolved.id, run, requestId);
      core.track(settled.then(async () => {
        await core.store.updateContainer(l.row.uuid, { task_state: null });
        const w = await core.workloadOf(ctx, l.row);
        await core.finishAction(l.row.uuid, actionId, w?.vmState === 'error' ? new Error(w.fault ?? 'rebuild failed') : undefined, true);
      }, async (err: Error) => {
        await core.store.updateContainer(l.row.uuid, { task_state: null });
        await core.finishAction(l.row.uuid, actionId, err, true);
      }));
    } catch (err) {
      await core.store.updateContainer(l.row.uuid, { task_state: null });
      await core.finishAction(l.row.uuid, actionId, err as Error, true);
      throw err;
    }
  }
}
