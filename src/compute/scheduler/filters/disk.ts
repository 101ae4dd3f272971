// Passes hosts with enough disk left after the allocation ratio.
import type { HostFilter } from '../types.ts';

export const diskFilter: HostFilter = {
  name: 'DiskFilter',
  passes: (h, r) => h.host.disk_gib * r.ratios.disk - h.usedDiskGiB >= r.diskGiB,
};
