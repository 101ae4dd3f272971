// The NetworkClient compute uses: ports bound all-or-nothing, released or deleted on unbind,
// the project's default network made once, and addresses in Nova's shape with floating IPs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import type { RequestContext } from '../../src/platform/auth/context.ts';

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
});
