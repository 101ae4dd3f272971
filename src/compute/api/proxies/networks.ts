// os-networks and os-tenant-networks: Neutron's networks in nova-network's shape (until 2.36); the
// calls that only nova-network could carry out answer 410 Gone, as Nova answers them since Ussuri.
import { contextOf } from '../../../platform/auth/context.ts';
import type { ComputeRoutes } from '../index.ts';
import { AnyBody, ProxyIdParams, ProxyQuery } from './schemas.ts';
import { GoneError, servedUntil } from './gates.ts';
import { networkView, tenantNetworkView } from './views.ts';

export function networkRoutes({ app, compute }: ComputeRoutes): void {
  const proxies = compute.networkProxies;
  const gone = async () => {
    throw new GoneError();
  };

  app.get('/v2.1/os-networks', { schema: { querystring: ProxyQuery } }, async (request) => {
    servedUntil(request);
    const ctx = contextOf(request);
    const admin = compute.isAdmin(ctx);
    return { networks: (await proxies.networks(ctx)).map((n) => networkView(n, admin)) };
  });
  app.get('/v2.1/os-networks/:id', { schema: { params: ProxyIdParams, querystring: ProxyQuery } }, async (request) => {
    servedUntil(request);
    const ctx = contextOf(request);
    return { network: networkView(await proxies.network(ctx, request.params.id), compute.isAdmin(ctx)) };
  });
  app.post('/v2.1/os-networks', { schema: { body: AnyBody } }, gone);
  app.post('/v2.1/os-networks/add', { schema: { body: AnyBody } }, gone);
  app.delete('/v2.1/os-networks/:id', { schema: { params: ProxyIdParams } }, gone);
  // disassociate, associate_host, disassociate_host, disassociate_project
  app.post('/v2.1/os-networks/:id/action', { schema: { params: ProxyIdParams, body: AnyBody } }, gone);

  app.get('/v2.1/os-tenant-networks', { schema: { querystring: ProxyQuery } }, async (request) => {
    servedUntil(request);
    return { networks: (await proxies.networks(contextOf(request))).map(tenantNetworkView) };
  });
  app.get('/v2.1/os-tenant-networks/:id', { schema: { params: ProxyIdParams, querystring: ProxyQuery } }, async (request) => {
    servedUntil(request);
    return { network: tenantNetworkView(await proxies.network(contextOf(request), request.params.id)) };
  });
  app.post('/v2.1/os-tenant-networks', { schema: { body: AnyBody } }, gone);
  app.delete('/v2.1/os-tenant-networks/:id', { schema: { params: ProxyIdParams } }, gone);
}
