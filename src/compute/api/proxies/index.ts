// Nova's proxy APIs (to Neutron and Glance), served until microversion 2.35 as Nova serves them, and
// the APIs Nova removed with nova-network, cells v1 and the like, which answer 410 Gone at every version.
import type { ComputeRoutes } from '../index.ts';
import { floatingIpRoutes } from './floating-ips.ts';
import { imageRoutes } from './images.ts';
import { networkRoutes } from './networks.ts';
import { removedRoutes } from './removed.ts';
import { securityGroupRoutes } from './security-groups.ts';

export function proxyRoutes(routes: ComputeRoutes): void {
  networkRoutes(routes);
  securityGroupRoutes(routes);
  floatingIpRoutes(routes);
  imageRoutes(routes);
  removedRoutes(routes);
}
