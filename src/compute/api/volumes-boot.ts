// Nova's `os-volumes_boot`: the name `/servers` had when a server booted from a volume, still routed
// by Nova to the servers' own handlers for list, create, show, update, delete and actions. Each of
// those server routes is registered a second time under that name, with the same schema and handler.
import type { RouteOptions } from 'fastify';
import type { ComputeScope } from './index.ts';

const SERVERS = '/v2.1/servers';
const ALIASED = new Set([SERVERS, `${SERVERS}/detail`, `${SERVERS}/:id`, `${SERVERS}/:id/action`]);

/** Call before the server routes are registered: each aliased one is then registered twice. */
export function volumesBootAlias(app: ComputeScope): void {
  app.addHook('onRoute', function (route: RouteOptions & { routePath: string }) {
    if (!ALIASED.has(route.routePath)) return;
    this.route({
      method: route.method,
      url: `/v2.1/os-volumes_boot${route.routePath.slice(SERVERS.length)}`,
      ...(route.schema ? { schema: route.schema } : {}),
      ...(route.config ? { config: route.config } : {}),
      handler: route.handler,
    });
  });
}
