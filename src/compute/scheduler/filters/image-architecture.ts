// Passes hosts whose architecture runs the image's.
import type { HostFilter } from '../types.ts';

export const imageArchitectureFilter: HostFilter = {
  name: 'ImagePropertiesFilter',
  passes: (h, r) => !r.imageArchitecture || r.imageArchitecture === h.host.architecture,
  judges: (r) => Boolean(r.imageArchitecture),
};
