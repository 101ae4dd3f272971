// The same_host hint: only hosts that run every named server.
import type { HostFilter } from '../types.ts';

export const sameHostFilter: HostFilter = {
  name: 'SameHostFilter',
  passes: (h, r) => r.sameHost.every((id) => h.serverIds.has(id)),
  judges: (r) => r.sameHost.length > 0,
};
