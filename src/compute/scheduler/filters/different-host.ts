// The different_host hint: only hosts that run none of the named servers.
import type { HostFilter } from '../types.ts';

export const differentHostFilter: HostFilter = {
  name: 'DifferentHostFilter',
  passes: (h, r) => r.differentHost.every((id) => !h.serverIds.has(id)),
  judges: (r) => r.differentHost.length > 0,
};
