// New CPU and memory for a running (or stopped) workload without a flavor (Zun's update of cpu and
// memory): checked against Nova's quotas of its kind and its host's room, applied in place, and
// charged to the ledger as whole CPUs.
import type { RequestContext } from '../../platform/auth/context.ts';
import { ConflictError, OverQuotaError } from '../../platform/errors.ts';
import type { ContainerOptions } from '../../agent/driver.ts';
import type { Quotas } from '../quotas.ts';
import { assertUnlocked } from '../servers.ts';
import type { FlavorRow, ServerRow } from '../tables.ts';
import { need, type ActionParts } from './types.ts';

export async function resizeLive({ core, hosts }: ActionParts, quotas: Quotas, ctx: RequestContext, row: ServerRow, cpus: number, memoryMiB: number): Promise<void> {
  core.enforce(ctx, 'servers:resize');
  assertUnlocked(core, ctx, row);
  need(row, 'resize', ['active', 'stopped', 'paused']);
  const old = JSON.parse(row.flavor) as FlavorRow;
  const flavor: FlavorRow = { ...old, vcpus: Math.max(1, Math.ceil(cpus)), ram: memoryMiB };
  const limits = await quotas.of(row.project_id);
  const usage: Record<string, number> = await core.store.projectUsage(row.project_id, row.kind);
  for (const [k, delta] of [['cores', flavor.vcpus - old.vcpus], ['ram', flavor.ram - old.ram]] as const) {
    if (delta > 0 && limits[k]! >= 0 && usage[k]! + delta > limits[k]!) throw new OverQuotaError(`Quota exceeded for ${k}: Requested ${delta}, but already used ${usage[k]} of ${limits[k]} ${k}`, k);
  }
  const host = (await hosts.states()).find((h) => h.host.id === row.host_id);
  const { ratios } = core.options;
  if (host && (host.host.memory_mib * ratios.ram - host.usedRamMiB < flavor.ram - old.ram || host.host.vcpus * ratios.cpu - host.usedVcpus < flavor.vcpus - old.vcpus)) {
    throw new ConflictError("No valid host was found: the workload's host has no room for the new size.");
  }
  const options = JSON.parse((await core.store.containerOptions(row.id)) ?? '{}') as ContainerOptions;
  const pidsLimit = Number((JSON.parse(old.extra_specs ?? '{}') as Record<string, string>)['hafen:pids_limit'] ?? 1024);
  await hosts.driverOf(row.host_id).resize(row.id, { memoryMiB, vcpus: cpus, pidsLimit });
  await core.store.setContainerOptions(row.id, JSON.stringify({ ...options, cpus }));
  await core.store.updateServer(row.id, { flavor: JSON.stringify(flavor) });
}
