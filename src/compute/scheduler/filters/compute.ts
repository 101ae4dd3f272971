// Passes hosts that heartbeat and are enabled.
import type { HostFilter } from '../types.ts';

export const computeFilter: HostFilter = { name: 'ComputeFilter', passes: (h) => h.up && h.host.enabled === 1 };
