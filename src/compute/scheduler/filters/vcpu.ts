// Passes hosts with enough vCPUs left after the allocation ratio.
import type { HostFilter } from '../types.ts';

export const vcpuFilter: HostFilter = {
  name: 'VcpuFilter',
  passes: (h, r) => h.host.vcpus * r.ratios.cpu - h.usedVcpus >= r.vcpus,
};
