// A host asked for by name (Zun's `host`, admins only): only that host, when a request names one.
import type { HostFilter } from '../types.ts';

export const requestedHostFilter: HostFilter = {
  name: 'RequestedHostFilter',
  passes: (h, r) => !r.requestedHost || h.host.hostname === r.requestedHost || h.host.id === r.requestedHost,
  judges: (r) => Boolean(r.requestedHost),
};
