// Passes hosts with enough memory left after the allocation ratio.
import type { HostFilter } from '../types.ts';

export const ramFilter: HostFilter = {
  name: 'RamFilter',
  passes: (h, r) => h.host.memory_mib * r.ratios.ram - h.usedRamMiB >= r.ramMiB,
};
