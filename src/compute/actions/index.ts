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

export class ServerActions {
  private readonly handlers: Record<string, ServerAction>;

  constructor(
    private readonly parts: ActionParts,
    quotas: Quotas,
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
