// Server group affinity: every member on one host (the first member's, once there is one).
import type { HostFilter } from '../types.ts';

export const affinityFilter: HostFilter = {
  name: 'ServerGroupAffinityFilter',
  passes: (h, r) => r.group?.policy !== 'affinity' || !r.groupHasMembers || h.groupIds.has(r.group.id),
  judges: (r) => r.group?.policy === 'affinity' && r.groupHasMembers,
};
