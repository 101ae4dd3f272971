// Server group anti-affinity: no two members on one host.
import type { HostFilter } from '../types.ts';

export const antiAffinityFilter: HostFilter = {
  name: 'ServerGroupAntiAffinityFilter',
  passes: (h, r) => r.group?.policy !== 'anti-affinity' || !h.groupIds.has(r.group.id),
  judges: (r) => r.group?.policy === 'anti-affinity',
};
