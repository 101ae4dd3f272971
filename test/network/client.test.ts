// The NetworkClient compute uses: ports bound all-or-nothing, released or deleted on unbind,
// the project's default network made once, and addresses in Nova's shape with floating IPs; a burst
// of boots' ports (one grouped transaction on SQLite) keeps the quota and fails a clash alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { requireProject, type RequestContext } from '../../src/platform/auth/context.ts';

describe('network client for compute', () => {
  let t: TestCloud;
  let ctx: RequestContext;
  let token: string;
  before(async () => {
    t = await startTestCloud('network-client');
    token = await t.token('demo');
    ctx = await t.cloud.identity.tokens.validate(token);
  });
  after(async () => t.close());

  it('binds ports on the default network, shows addresses as Nova does and cleans up on unbind', async () => {
    const client = t.cloud.network.client;
    const netId = await client.defaultNetworkId(ctx);
    assert.equal(await client.defaultNetworkId(ctx), netId, 'made once');
    const own = (await t.request('POST', '/network/v2.0/ports', { token, body: { port: { network_id: netId, name: 'given' } } })).body.port;
    const bindings = await client.bindPorts(ctx, 'server-1', 'host-a', [{ networkId: netId }, { portId: own.id }]);
    assert.equal(bindings.length, 2);
    assert.equal(bindings[0]!.engineNetwork.name, `hafen-net-${netId}`);
    assert.equal(bindings[0]!.engineNetwork.internal, true);
    assert.match(bindings[0]!.engineNetwork.subnet, /^10\.\d+\.\d+\.0\/24$/);
    assert.equal(bindings[1]!.portId, own.id);
    const addresses = await client.serverAddresses('server-1');
    assert.deepEqual(addresses.default!.map((a) => a.addr).sort(), bindings.map((b) => b.fixedIps[0]!.ipAddress).sort());
    assert.equal(addresses.default![0]!['OS-EXT-IPS:type'], 'fixed');
    // A port bound to another server cannot be claimed; the call leaves nothing behind.
    const before = (await t.request('GET', '/network/v2.0/ports', { token })).body.ports.length;
    await assert.rejects(client.bindPorts(ctx, 'server-2', 'host-a', [{ networkId: netId }, { portId: own.id }]), /PortInUse|already has an attached device/);
    assert.equal((await t.request('GET', '/network/v2.0/ports', { token })).body.ports.length, before);
    // Interface detach of the given port releases it; the made one stays bound.
    await client.unbindPort(ctx, 'server-1', own.id);
    assert.deepEqual((await client.bindingsOf('server-1')).map((b) => b.portId), [bindings[0]!.portId]);
    await client.bindPorts(ctx, 'server-1', 'host-a', [{ portId: own.id }]);
    await client.unbindPorts(ctx, 'server-1');
    const ports = (await t.request('GET', '/network/v2.0/ports', { token })).body.ports;
    assert.deepEqual(ports.map((p: { id: string }) => p.id), [own.id], 'the port compute made is gone, the given one stays');
    assert.equal(ports[0].device_id, '');
    await client.unbindPorts(ctx, 'server-1');
  });

  it("binds a burst of servers' ports in one turn: the quota holds and an address clash fails its server alone", async () => {
    const client = t.cloud.network.client;
    const admin = await t.token('admin');
    const net = (await t.request('POST', '/network/v2.0/networks', { token, body: { network: { name: 'burst' } } })).body.network;
    const sub = await t.request('POST', '/network/v2.0/subnets', { token, body: { subnet: { network_id: net.id, ip_version: 4, cidr: '10.77.0.0/24' } } });
    assert.equal(sub.status, 201, sub.text);
    const existing = (await t.request('GET', '/network/v2.0/ports', { token })).body.ports.length;
    const quota = await t.request('PUT', `/network/v2.0/quotas/${requireProject(ctx)}`, { token: admin, body: { quota: { port: existing + 4 } } });
    assert.equal(quota.status, 200, quota.text);
    // Six servers at once (called in one turn): two ask for the same address, and only four ports fit.
    const asked = ['burst-1', 'burst-2', 'burst-3', 'burst-4', 'burst-5', 'burst-6'];
    const results = await Promise.allSettled(asked.map((id, i) => client.bindPorts(ctx, id, 'host-a', [{ networkId: net.id, ...(i < 2 ? { fixedIp: '10.77.0.50' } : {}) }])));
    const bound = results.filter((r) => r.status === 'fulfilled');
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).name).sort();
    assert.equal(bound.length, 4);
    assert.deepEqual(errors, ['IpAddressInUse', 'OverQuota']);
    assert.equal([results[0], results[1]].filter((r) => r.status === 'fulfilled').length, 1, 'one of the two got the address');
    const addresses = bound.map((r) => r.value[0]!.fixedIps[0]!.ipAddress);
    assert.equal(new Set(addresses).size, 4);
    assert.ok(addresses.includes('10.77.0.50'));
    const ports = (await t.request('GET', `/network/v2.0/ports?network_id=${net.id}`, { token })).body.ports;
    assert.equal(ports.length, 4, 'nothing left of the failed ones');
    for (const id of asked) await client.unbindPorts(ctx, id);
    assert.equal((await t.request('GET', `/network/v2.0/ports?network_id=${net.id}`, { token })).body.ports.length, 0);
  });
});
