// Free RAM: positive multiplier spreads servers, negative packs them.
import type { HostWeigher } from '../types.ts';

export const ramWeigher: HostWeigher = {
  name: 'RAMWeigher',
  weigh: (h, r) => h.host.memory_mib * r.ratios.ram - h.usedRamMiB,
};
