// resize, confirmResize, revertResize: the new flavor's limits applied to the running container
// (`docker update`), checked against the project's quota and the host's room; the old flavor kept
// until the resize is confirmed or reverted.
import { BadRequestError, ConflictError, OverQuotaError } from '../../platform/errors.ts';
import { assertUnlocked } from '../servers.ts';
import type { FlavorRow, VmState } from '../tables.ts';
import type { Quotas } from '../quotas.ts';
import { need, type ServerAction } from './types.ts';

const pidsLimitOf = (f: Pick<FlavorRow, 'extra_specs'>) => Number((JSON.parse(f.extra_specs ?? '{}') as Record<string, string>)['hafen:pids_limit'] ?? 1024);

export const resize =
  (quotas: Quotas): ServerAction =>
  async ({ core, hosts, actions, flavors }, { ctx, row, arg, requestId }) => {
    const id = row.id;
    core.enforce(ctx, 'servers:resize');
    assertUnlocked(core, ctx, row);
    need(row, 'resize', ['active', 'stopped']);
    const flavorId = String((arg as Record<string, unknown> | null)?.flavorRef ?? '').replace(/^.*\/flavors\//, '');
    // Only to a flavor the project may use: a private flavor without access is as good as unknown.
    const flavor = await flavors.usable(ctx, flavorId);
    if (!flavor) throw new BadRequestError(`Flavor ${flavorId} could not be found.`);
    const old = JSON.parse(row.flavor) as FlavorRow;
    if (old.id === flavor.id) throw new BadRequestError('When resizing, instances must change flavor!');
    const limits = await quotas.of(row.project_id);
    const usage = await quotas.usage(row.project_id);
    for (const [k, delta] of [['cores', flavor.vcpus - old.vcpus], ['ram', flavor.ram - old.ram]] as const) {
      if (delta > 0 && limits[k]! >= 0 && usage[k]! + delta > limits[k]!) throw new OverQuotaError(`Quota exceeded for ${k}: Requested ${delta}, but already used ${usage[k]} of ${limits[k]} ${k}`, k);
    }
    const host = (await hosts.states()).find((h) => h.host.id === row.host_id);
    const { ratios } = core.options;
    if (host && (host.host.memory_mib * ratios.ram - host.usedRamMiB < flavor.ram - old.ram || host.host.vcpus * ratios.cpu - host.usedVcpus < flavor.vcpus - old.vcpus)) {
      throw new ConflictError("No valid host was found: the server's host has no room for the new flavor.");
    }
    await hosts.driverOf(row.host_id).resize(id, { memoryMiB: flavor.ram, vcpus: flavor.vcpus, pidsLimit: pidsLimitOf(flavor) });
    await core.store.updateServer(id, { vm_state: 'resized', task_state: null, flavor: JSON.stringify(flavor), flavor_id: flavor.id, old_flavor: JSON.stringify({ ...old, _vm_state: row.vm_state }) });
    await actions.record(row, 'resize', requestId, ctx, true);
    return undefined;
  };

export const confirmResize: ServerAction = async ({ core, actions }, { ctx, row, requestId }) => {
  core.enforce(ctx, 'servers:resize');
  if (row.vm_state !== 'resized') throw new ConflictError(`Cannot 'confirmResize' instance ${row.id} while it is in vm_state ${row.vm_state}`);
  const old = JSON.parse(row.old_flavor ?? '{}') as { _vm_state?: VmState };
  await core.store.updateServer(row.id, { vm_state: old._vm_state ?? 'active', old_flavor: null });
  await actions.record(row, 'confirmResize', requestId, ctx, true);
  return undefined;
};

export const revertResize: ServerAction = async ({ core, hosts, actions }, { ctx, row, requestId }) => {
  core.enforce(ctx, 'servers:resize');
  if (row.vm_state !== 'resized') throw new ConflictError(`Cannot 'revertResize' instance ${row.id} while it is in vm_state ${row.vm_state}`);
  const old = JSON.parse(row.old_flavor ?? '{}') as FlavorRow & { _vm_state?: VmState };
  const { _vm_state, ...flavor } = old;
  await hosts.driverOf(row.host_id).resize(row.id, { memoryMiB: flavor.ram, vcpus: flavor.vcpus, pidsLimit: pidsLimitOf(flavor) });
  await core.store.updateServer(row.id, { vm_state: _vm_state ?? 'active', flavor: JSON.stringify(flavor), flavor_id: flavor.id, old_flavor: null });
  await actions.record(row, 'revertResize', requestId, ctx, true);
  return undefined;
};
