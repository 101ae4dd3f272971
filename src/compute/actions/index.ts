// Server actions (POST /servers/{id}/action): one handler per action, chosen by the body's one key.
import type { RequestContext } from '../../platform/auth/context.ts';
import { BadRequestError } from '../../platform/errors.ts';
import type { Quotas } from '../quotas.ts';
import type { ServerActionBody } from '../schemas.ts';
import type { WorkloadKind } from '../tables.ts';
import { consoleOutput } from './console.ts';
import { lock, unlock } from './lock.ts';
import { pause, reboot, resume, start, stop, suspend, unpause } from './power.ts';
import { rebuild } from './rebuild.ts';
import { confirmResize, resize, revertResize } from './resize.ts';
import { createImage } from './snapshot.ts';
import type { ActionParts, ServerAction } from './types.ts';
import { signal } from './signal.ts';
import { resizeLive } from './resize-live.ts';

export class ServerActions {
  private readonly handlers: Record<string, ServerAction>;

  constructor(
    private readonly parts: ActionParts,
    private readonly quotas: Quotas,
  ) {
    this.handlers = {
      'os-start': start,
      'os-stop': stop,
      reboot,
      pause,
      unpause,
      suspend,
      resume,
      lock,
      unlock,
      'os-getConsoleOutput': consoleOutput,
      forceDelete: async ({ servers }, { ctx, row, requestId }) => servers.delete(ctx, row.id, requestId, true, row.kind),
      createImage,
      rebuild,
      resize: resize(quotas),
      confirmResize,
      revertResize,
    };
  }

  /** Not Nova's: a signal to the workload's main process (Zun's kill). */
  async signal(ctx: RequestContext, id: string, name: string, requestId: string, kind: WorkloadKind): Promise<void> {
    await signal(this.parts, ctx, await this.parts.core.server(ctx, id, kind), name, requestId);
  }

  /** Not Nova's: new CPU and memory in place for a workload without a flavor (Zun's update). */
  async resizeLive(ctx: RequestContext, id: string, cpus: number, memoryMiB: number, kind: WorkloadKind): Promise<void> {
    await resizeLive(this.parts, this.quotas, ctx, await this.parts.core.server(ctx, id, kind), cpus, memoryMiB);
  }

  /** Not Nova's: rebuild from an image, the new container started or not (Zun runs it again when it ran). */
  async rebuildWorkload(ctx: RequestContext, id: string, imageId: string, start: boolean, requestId: string, kind: WorkloadKind): Promise<void> {
    const row = await this.parts.core.server(ctx, id, kind);
    const options = JSON.parse((await this.parts.core.store.containerOptions(id)) ?? '{}') as Record<string, unknown>;
    await this.parts.core.store.setContainerOptions(id, JSON.stringify({ ...options, start }));
    await rebuild(this.parts, { ctx, row, arg: { imageRef: imageId }, requestId });
  }

  /** Runs the one action of the body; answers a body for actions that answer one. */
  async run(ctx: RequestContext, id: string, body: ServerActionBody, requestId: string, kind: WorkloadKind = 'server'): Promise<unknown> {
    const keys = Object.keys(body ?? {});
    if (keys.length !== 1) throw new BadRequestError('There is either no action or more than one action in the request body.');
    const name = keys[0]!;
    const row = await this.parts.core.server(ctx, id, kind);
    const handler = Object.hasOwn(this.handlers, name) ? this.handlers[name] : undefined;
    if (!handler) throw new BadRequestError(`There is no such action: ${name}`);
    return handler(this.parts, { ctx, row, arg: (body as Record<string, unknown>)[name], requestId });
  }
}
