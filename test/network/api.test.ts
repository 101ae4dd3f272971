// Neutron API details the CLI flows do not reach: tags, fields= on show, fixed IP changes, in-use
// conflicts, default group rules, external-network and remote-group checks, version discovery.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';

describe('network API details', () => {
  let t: TestCloud;
  let token: string;
  const api = (method: string, p: string, body?: unknown) => t.request(method, `/network${p}`, { token, body });

  before(async () => {
    t = await startTestCloud('network-api');
    token = await t.token('demo');
  });
  after(async () => t.close());

  it('answers version discovery and extensions', async () => {
    const v = await t.request('GET', '/network/');
    assert.equal(v.body.versions[0].id, 'v2.0');
    const ext = await api('GET', '/v2.0/extensions');
    assert.ok(ext.body.extensions.some((e: { alias: string }) => e.alias === 'security-group'));
    const missing = await api('GET', '/v2.0/networks/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.NeutronError.type, 'NetworkNotFound');
  });

  it('tags, fields and fixed IP changes', async () => {
    const net = (await api('POST', '/v2.0/networks', { network: { name: 'd1' } })).body.network;
    const sub = (await api('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.40.0.0/24', host_routes: [{ destination: '10.41.0.0/16', nexthop: '10.40.0.254' }] } })).body.subnet;
    assert.deepEqual(sub.allocation_pools, [{ start: '10.40.0.2', end: '10.40.0.254' }]);
    assert.equal((await api('PUT', `/v2.0/networks/${net.id}/tags/red`)).status, 201);
    assert.deepEqual((await api('GET', `/v2.0/networks/${net.id}/tags`)).body.tags, ['red']);
    assert.equal((await api('GET', `/v2.0/networks/${net.id}/tags/blue`)).status, 404);
    assert.deepEqual(Object.keys((await api('GET', `/v2.0/networks/${net.id}?fields=name&fields=id`)).body.network).sort(), ['id', 'name']);
    const port = (await api('POST', '/v2.0/ports', { port: { network_id: net.id } })).body.port;
    const moved = await api('PUT', `/v2.0/ports/${port.id}`, { port: { fixed_ips: [{ ip_address: '10.40.0.99' }] } });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual(moved.body.port.fixed_ips.map((f: { ip_address: string }) => f.ip_address), ['10.40.0.99']);
    // The old address is free again.
    const p2 = (await api('POST', '/v2.0/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: port.fixed_ips[0].ip_address }] } })).body.port;
    assert.equal(p2.fixed_ips[0].ip_address, port.fixed_ips[0].ip_address);
    const inUse = await api('DELETE', `/v2.0/subnets/${sub.id}`);
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body.NeutronError.type, 'SubnetInUse');
    const wrongSubnetIp = await api('POST', '/v2.0/ports', { port: { network_id: net.id, fixed_ips: [{ subnet_id: sub.id, ip_address: '10.99.0.5' }] } });
    assert.equal(wrongSubnetIp.body.NeutronError.type, 'InvalidIpForSubnet');
    await api('DELETE', `/v2.0/ports/${port.id}`);
    await api('DELETE', `/v2.0/ports/${p2.id}`);
    assert.equal((await api('DELETE', `/v2.0/networks/${net.id}`)).status, 204);
  });

  it('default group rules, group in use, remote groups and external checks', async () => {
    const groups = (await api('GET', '/v2.0/security-groups')).body.security_groups;
    const def = groups.find((g: { name: string }) => g.name === 'default');
    const ingress = def.security_group_rules.filter((r: { direction: string }) => r.direction === 'ingress');
    assert.deepEqual(ingress.map((r: { remote_group_id: string; ethertype: string }) => [r.ethertype, r.remote_group_id]).sort(), [['IPv4', def.id], ['IPv6', def.id]]);
    assert.equal((await api('DELETE', `/v2.0/security-groups/${def.id}`)).body.NeutronError.type, 'SecurityGroupCannotRemoveDefault');
    const both = await api('POST', '/v2.0/security-group-rules', { security_group_rule: { security_group_id: def.id, direction: 'ingress', remote_group_id: def.id, remote_ip_prefix: '10.0.0.0/8' } });
    assert.equal(both.body.NeutronError.type, 'SecurityGroupRemoteGroupAndRemoteIpPrefix');
    // As Neutron: a port beyond 65535 is an invalid port value, min above max an invalid range.
    const badPort = await api('POST', '/v2.0/security-group-rules', { security_group_rule: { security_group_id: def.id, direction: 'ingress', protocol: 'udp', port_range_min: 0, port_range_max: 70000 } });
    assert.equal(badPort.body.NeutronError.type, 'SecurityGroupInvalidPortValue');
    assert.equal(badPort.body.NeutronError.message, 'Invalid value for port 70000');
    const badRange = await api('POST', '/v2.0/security-group-rules', { security_group_rule: { security_group_id: def.id, direction: 'ingress', protocol: 'udp', port_range_min: 90, port_range_max: 80 } });
    assert.equal(badRange.body.NeutronError.type, 'SecurityGroupInvalidPortRange');
    const net = (await api('POST', '/v2.0/networks', { network: { name: 'd2' } })).body.network;
    const notExternal = await api('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: net.id } });
    assert.equal(notExternal.status, 400);
    const shared = await api('POST', '/v2.0/networks', { network: { name: 'd3', shared: true } });
    assert.equal(shared.status, 403);
    await api('DELETE', `/v2.0/networks/${net.id}`);
  });
});
