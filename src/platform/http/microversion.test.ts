import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpServer, mountService } from './server.ts';
import { novaError } from './envelopes.ts';
import { atLeast, atMost, registerMicroversions, requestedMicroversion } from './microversion.ts';

async function app(options: Partial<Parameters<typeof registerMicroversions>[1]> = {}) {
  const server = createHttpServer({ logLevel: 'silent', maxJsonBodyBytes: 1024 });
  await mountService(server, {
    prefix: '/svc',
    renderError: novaError,
    register: (scope) => {
      registerMicroversions(scope, { service: 'compute', min: '2.1', max: '2.79', legacyHeader: 'X-OpenStack-Nova-API-Version', unversionedPaths: ['/'], ...options });
      scope.get('/', async (request) => ({ root: true, v: request.microversion }));
      scope.get('/thing', async (request) => ({ v: request.microversion, new: atLeast(request, '2.47'), old: atMost(request, '2.35') }));
    },
  });
  return server;
}

test('no header serves the minimum and says so', async () => {
  const server = await app();
  const res = await server.inject({ url: '/svc/thing' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { v: { major: 2, minor: 1 }, new: false, old: true });
  assert.equal(res.headers['openstack-api-version'], 'compute 2.1');
  assert.equal(res.headers['x-openstack-nova-api-version'], '2.1');
  assert.equal(res.headers.vary, 'OpenStack-API-Version, X-OpenStack-Nova-API-Version');
});

test('the service entry of a list, latest, and the legacy header', async () => {
  const server = await app();
  let res = await server.inject({ url: '/svc/thing', headers: { 'openstack-api-version': 'volume 3.5, compute 2.53' } });
  assert.deepEqual(res.json(), { v: { major: 2, minor: 53 }, new: true, old: false });
  assert.equal(res.headers['openstack-api-version'], 'compute 2.53');
  res = await server.inject({ url: '/svc/thing', headers: { 'openstack-api-version': 'compute latest' } });
  assert.equal(res.headers['openstack-api-version'], 'compute 2.79');
  res = await server.inject({ url: '/svc/thing', headers: { 'x-openstack-nova-api-version': '2.35' } });
  assert.deepEqual(res.json(), { v: { major: 2, minor: 35 }, new: false, old: true });
  // another service's entry alone: the minimum (Nova ignores it)
  res = await server.inject({ url: '/svc/thing', headers: { 'openstack-api-version': 'volume 3.5' } });
  assert.equal(res.headers['openstack-api-version'], 'compute 2.1');
});

test('outside the range is 406, malformed is 400, both in the API envelope', async () => {
  const server = await app();
  let res = await server.inject({ url: '/svc/thing', headers: { 'openstack-api-version': 'compute 2.80' } });
  assert.equal(res.statusCode, 406);
  assert.equal(res.json().notAcceptable.message, 'Version 2.80 is not supported by the API. Minimum is 2.1 and maximum is 2.79.');
  res = await server.inject({ url: '/svc/thing', headers: { 'openstack-api-version': 'compute 3.0' } });
  assert.equal(res.statusCode, 406);
  res = await server.inject({ url: '/svc/thing', headers: { 'openstack-api-version': 'compute 2.0' } });
  assert.equal(res.statusCode, 406);
  res = await server.inject({ url: '/svc/thing', headers: { 'openstack-api-version': 'compute two' } });
  assert.equal(res.statusCode, 400);
  assert.match(res.json().badRequest.message, /Invalid API version request string two/);
});

test('unversioned paths answer whatever is asked; announceRange and refuseOtherServices', async () => {
  const server = await app({ service: 'container-infra', min: '1.1', max: '1.10', legacyHeader: undefined, announceRange: true, refuseOtherServices: true });
  let res = await server.inject({ url: '/svc/', headers: { 'openstack-api-version': 'container-infra 9.9' } });
  assert.equal(res.statusCode, 200);
  res = await server.inject({ url: '/svc/thing', headers: { 'openstack-api-version': 'container-infra 1.10' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['openstack-api-version'], 'container-infra 1.10');
  assert.equal(res.headers['openstack-api-minimum-version'], 'container-infra 1.1');
  assert.equal(res.headers['openstack-api-maximum-version'], 'container-infra 1.10');
  res = await server.inject({ url: '/svc/thing', headers: { 'openstack-api-version': 'compute 2.1' } });
  assert.equal(res.statusCode, 406);
});

test('requestedMicroversion reads only the named service', () => {
  assert.deepEqual(requestedMicroversion({ 'openstack-api-version': 'container 1.40' }, { service: 'container' }), { text: '1.40' });
  assert.equal(requestedMicroversion({ 'openstack-api-version': 'container-infra 1.4' }, { service: 'container' }), undefined);
  assert.deepEqual(requestedMicroversion({}, { service: 'compute', legacyHeader: 'X-OpenStack-Nova-API-Version' }), undefined);
});
