// Passes hosts in the requested availability zone.
import type { HostFilter } from '../types.ts';

export const availabilityZoneFilter: HostFilter = {
  name: 'AvailabilityZoneFilter',
  passes: (h, r) => !r.availabilityZone || h.host.availability_zone === r.availabilityZone || h.host.hostname === r.availabilityZone.split(':')[1],
  judges: (r) => Boolean(r.availabilityZone),
};
