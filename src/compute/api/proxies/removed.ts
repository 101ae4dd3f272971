// What Nova answers for the APIs it removed (nova-network's fixed IPs, DNS, bulk floating IPs, fping,
// default rules, virtual interfaces; cells v1; certificates, cloudpipe, agents): 410 Gone at every
// version. And the proxies to services hafen has no counterpart of, until 2.36: bare metal nodes
// (Ironic) as Nova answers without Ironic, volumes and snapshots (Cinder) as a cloud without block storage.
import { BadRequestError, NotFoundError, NotImplementedError } from '../../../platform/errors.ts';
import { contextOf } from '../../../platform/auth/context.ts';
import type { ComputeRoutes } from '../index.ts';
import { GoneError, servedUntil } from './gates.ts';
import { AnyBody, ProxyIdParams, ProxyQuery } from './schemas.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Nova's routes of removed APIs (nova/api/openstack/compute/routes.py), each raising HTTPGone. */
const GONE: [Method, string][] = [
  ['GET', '/os-agents'], ['POST', '/os-agents'], ['PUT', '/os-agents/:id'], ['DELETE', '/os-agents/:id'],
  ['GET', '/os-cells'], ['POST', '/os-cells'], ['GET', '/os-cells/capacities'], ['GET', '/os-cells/detail'], ['GET', '/os-cells/info'],
  ['POST', '/os-cells/sync_instances'], ['GET', '/os-cells/:id'], ['PUT', '/os-cells/:id'], ['DELETE', '/os-cells/:id'], ['GET', '/os-cells/:id/capacities'],
  ['POST', '/os-certificates'], ['GET', '/os-certificates/:id'],
  ['GET', '/os-cloudpipe'], ['POST', '/os-cloudpipe'], ['PUT', '/os-cloudpipe/:id'],
  ['GET', '/os-fixed-ips/:id'], ['POST', '/os-fixed-ips/:id/action'],
  ['GET', '/os-floating-ip-dns'], ['PUT', '/os-floating-ip-dns/:id'], ['DELETE', '/os-floating-ip-dns/:id'],
  ['GET', '/os-floating-ip-dns/:domain/entries/:id'], ['PUT', '/os-floating-ip-dns/:domain/entries/:id'], ['DELETE', '/os-floating-ip-dns/:domain/entries/:id'],
  ['GET', '/os-floating-ips-bulk'], ['POST', '/os-floating-ips-bulk'], ['GET', '/os-floating-ips-bulk/:id'], ['PUT', '/os-floating-ips-bulk/:id'],
  ['GET', '/os-fping'], ['GET', '/os-fping/:id'],
  ['GET', '/os-security-group-default-rules'], ['POST', '/os-security-group-default-rules'],
  ['GET', '/os-security-group-default-rules/:id'], ['DELETE', '/os-security-group-default-rules/:id'],
  ['GET', '/servers/:id/os-virtual-interfaces'],
];

export function removedRoutes({ app, compute }: ComputeRoutes): void {
  const gone = async () => {
    throw new GoneError();
  };
  for (const [method, path] of GONE) {
    const schema = method === 'POST' || method === 'PUT' ? { body: AnyBody, querystring: ProxyQuery } : { querystring: ProxyQuery };
    app.route({ method, url: `/v2.1${path}`, schema, handler: gone });
  }

  // ---- Bare metal nodes: Nova's proxy to Ironic. Without Ironic the reads are 501; the writes were
  // never proxied (400, "use Ironic").
  const noIronic = async (request: Parameters<typeof servedUntil>[0]) => {
    servedUntil(request);
    compute.enforce(contextOf(request), 'hypervisors');
    throw new NotImplementedError('Ironic client unavailable, cannot access Ironic.');
  };
  const useIronic = (cmd: string) => async (request: Parameters<typeof servedUntil>[0]) => {
    servedUntil(request);
    compute.enforce(contextOf(request), 'hypervisors');
    throw new BadRequestError(`Command not supported. Please use Ironic command ${cmd} to perform this action.`);
  };
  app.get('/v2.1/os-baremetal-nodes', { schema: { querystring: ProxyQuery } }, noIronic);
  app.get('/v2.1/os-baremetal-nodes/:id', { schema: { params: ProxyIdParams, querystring: ProxyQuery } }, noIronic);
  app.post('/v2.1/os-baremetal-nodes', { schema: { body: AnyBody } }, useIronic('node-create'));
  app.delete('/v2.1/os-baremetal-nodes/:id', { schema: { params: ProxyIdParams } }, useIronic('node-delete'));
  app.post('/v2.1/os-baremetal-nodes/:id/action', { schema: { params: ProxyIdParams, body: AnyBody } }, async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    return useIronic(Object.hasOwn(body, 'remove_interface') ? 'port-delete' : 'port-create')(request);
  });

  // ---- Volumes and snapshots: Nova's proxy to Cinder. hafen has no block storage: none exist, none can be made.
  for (const [kind, collection, label] of [['volume', 'os-volumes', 'Volume'], ['snapshot', 'os-snapshots', 'Snapshot']] as const) {
    const list = async (request: Parameters<typeof servedUntil>[0]) => {
      servedUntil(request);
      return { [`${kind}s`]: [] };
    };
    const missing = async (request: Parameters<typeof servedUntil>[0] & { params: { id: string } }) => {
      servedUntil(request);
      throw new NotFoundError(`${label} ${request.params.id} could not be found.`);
    };
    app.get(`/v2.1/${collection}`, { schema: { querystring: ProxyQuery } }, list);
    app.get(`/v2.1/${collection}/detail`, { schema: { querystring: ProxyQuery } }, list);
    app.get(`/v2.1/${collection}/:id`, { schema: { params: ProxyIdParams, querystring: ProxyQuery } }, missing);
    app.delete(`/v2.1/${collection}/:id`, { schema: { params: ProxyIdParams } }, missing);
    app.post(`/v2.1/${collection}`, { schema: { body: AnyBody } }, async (request) => {
      servedUntil(request);
      throw new BadRequestError(`Block storage is not available in this cloud: no ${kind} can be created.`);
    });
  }
}
