// os-floating-ips and os-floating-ip-pools (until 2.36), and the addFloatingIp/removeFloatingIp
// server actions (until 2.44): Neutron's floating IPs of the caller's project in Nova's shape.
import type { FastifyRequest } from 'fastify';
import { contextOf } from '../../../platform/auth/context.ts';
import type { ComputeService } from '../../service.ts';
import type { ComputeRoutes } from '../index.ts';
import { servedUntil } from './gates.ts';
import { FloatingIpCreateBody, ProxyIdParams, ProxyQuery } from './schemas.ts';
import { floatingIpView } from './views.ts';

/** The floating IP server actions, until 2.44. */
export type FloatingIpAction = { addFloatingIp: { address: string; fixed_address?: string } } | { removeFloatingIp: { address: string } };

/** Runs addFloatingIp or removeFloatingIp if that is the action asked for; false for any other action. */
export async function floatingIpAction(compute: ComputeService, request: FastifyRequest, id: string, body: Record<string, unknown>): Promise<boolean> {
  const add = body.addFloatingIp as { address: string; fixed_address?: string } | undefined;
  const remove = body.removeFloatingIp as { address: string } | undefined;
  if (!add && !remove) return false;
  servedUntil(request, '2.44');
  const ctx = contextOf(request);
  if (add) await compute.networkProxies.associate(ctx, id, add.address, add.fixed_address);
  else await compute.networkProxies.disassociate(ctx, id, remove!.address);
  return true;
}

export function floatingIpRoutes({ app, compute }: ComputeRoutes): void {
  const proxies = compute.networkProxies;

  app.get('/v2.1/os-floating-ip-pools', { schema: { querystring: ProxyQuery } }, async (request) => {
    servedUntil(request);
    return { floating_ip_pools: (await proxies.pools(contextOf(request))).map((n) => ({ name: (n.name as string) || n.id })) };
  });

  app.get('/v2.1/os-floating-ips', { schema: { querystring: ProxyQuery } }, async (request) => {
    servedUntil(request);
    const ctx = contextOf(request);
    const fips = await proxies.floatingIps(ctx);
    const nets = await proxies.networksById(ctx, fips.map((f) => f.floating_network_id as string));
    return { floating_ips: fips.map((f) => floatingIpView(f, nets.get(f.floating_network_id as string))) };
  });
  app.get('/v2.1/os-floating-ips/:id', { schema: { params: ProxyIdParams, querystring: ProxyQuery } }, async (request) => {
    servedUntil(request);
    const ctx = contextOf(request);
    const f = await proxies.floatingIp(ctx, request.params.id);
    const nets = await proxies.networksById(ctx, [f.floating_network_id as string]);
    return { floating_ip: floatingIpView(f, nets.get(f.floating_network_id as string)) };
  });
  app.post('/v2.1/os-floating-ips', { schema: { body: FloatingIpCreateBody } }, async (request) => {
    servedUntil(request);
    const ctx = contextOf(request);
    const f = await proxies.allocate(ctx, request.body?.pool);
    const nets = await proxies.networksById(ctx, [f.floating_network_id as string]);
    return { floating_ip: floatingIpView(f, nets.get(f.floating_network_id as string)) };
  });
  app.delete('/v2.1/os-floating-ips/:id', { schema: { params: ProxyIdParams } }, async (request, reply) => {
    servedUntil(request);
    await proxies.release(contextOf(request), request.params.id);
    reply.code(202).send();
  });
}
