// Lock and unlock: a locked server takes no changes from non-admins.
import type { ServerAction } from './types.ts';

export const lock: ServerAction = async ({ core, actions }, { ctx, row, requestId }) => {
  core.enforce(ctx, 'servers:lock');
  await core.store.updateServer(row.id, { locked: 1 });
  await actions.record(row, 'lock', requestId, ctx, true);
  return undefined;
};

export const unlock: ServerAction = async ({ core, actions }, { ctx, row, requestId }) => {
  core.enforce(ctx, 'servers:lock');
  await core.store.updateServer(row.id, { locked: 0 });
  await actions.record(row, 'unlock', requestId, ctx, true);
  return undefined;
};
