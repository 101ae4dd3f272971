// Lock and unlock: a locked server takes no changes from non-admins. As Nova records `locked_by`,
// an admin's lock (here: a lock by anyone with the admin role) is lifted by admins only.
import { ForbiddenError } from '../../platform/errors.ts';
import type { ServerAction } from './types.ts';

export const lock: ServerAction = async ({ core, actions }, { ctx, row, arg, requestId }) => {
  core.enforce(ctx, 'servers:lock');
  const reason = (arg as { locked_reason?: string } | null | undefined)?.locked_reason ?? null;
  // Locking a locked server changes nothing (who locked it stays who locked it).
  if (!row.locked) await core.store.updateServer(row.id, { locked: 1, locked_by: core.isAdmin(ctx) ? 'admin' : 'owner', locked_reason: reason });
  await actions.record(row, 'lock', requestId, ctx, true);
  return undefined;
};

export const unlock: ServerAction = async ({ core, actions }, { ctx, row, requestId }) => {
  core.enforce(ctx, 'servers:lock');
  if (row.locked && row.locked_by === 'admin' && !core.isAdmin(ctx)) {
    throw new ForbiddenError("Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed.");
  }
  await core.store.updateServer(row.id, { locked: 0, locked_by: null, locked_reason: null });
  await actions.record(row, 'unlock', requestId, ctx, true);
  return undefined;
};
