// Rescheduling: hosts a failed build already tried are not tried again.
import type { HostFilter } from '../types.ts';

export const retryFilter: HostFilter = { name: 'RetryFilter', passes: (h, r) => !r.ignoreHosts.includes(h.host.id), judges: (r) => r.ignoreHosts.length > 0 };
