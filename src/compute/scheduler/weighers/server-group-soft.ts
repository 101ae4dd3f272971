// Soft server group policies (2.15): a soft-affinity member prefers a host that runs the group's
// members already, a soft-anti-affinity member one that runs none, where the filters left room.
import type { HostWeigher } from '../types.ts';

export const softAffinityWeigher: HostWeigher = {
  name: 'ServerGroupSoftAffinityWeigher',
  weigh: (h, r) => (r.group?.policy === 'soft-affinity' && h.groupIds.has(r.group.id) ? 1 : 0),
  judges: (r) => r.group?.policy === 'soft-affinity',
};

export const softAntiAffinityWeigher: HostWeigher = {
  name: 'ServerGroupSoftAntiAffinityWeigher',
  weigh: (h, r) => (r.group?.policy === 'soft-anti-affinity' && h.groupIds.has(r.group.id) ? -1 : 0),
  judges: (r) => r.group?.policy === 'soft-anti-affinity',
};
