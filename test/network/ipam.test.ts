// IPAM under concurrency: 50 ports created at once on a small subnet each get their own address,
// the pool running dry answers IpAddressGenerationFailure, and deleted ports return their addresses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { testPostgresUrl } from '../helpers/postgres.ts';

// PostgreSQL runs the creates on ten connections at once: the ledger's key, not luck, keeps them apart.
for (const dialect of ['sqlite', 'postgres'] as const)
describe(`network IPAM on ${dialect}`, () => {
  let t: TestCloud;
  let token: string;
  before(async () => {
    t = await startTestCloud(`network-ipam-${dialect}`, dialect === 'postgres' ? { HAFEN_DATABASE_URL: await testPostgresUrl() } : {});
    token = await t.token('demo');
  });
  after(async () => t.close());

  it('gives 50 concurrent ports 50 distinct addresses and refuses the 61st on a 60-address pool', async () => {
    const net = (await t.request('POST', '/network/v2.0/networks', { token, body: { network: { name: 'ipam' } } })).body.network;
    const sub = await t.request('POST', '/network/v2.0/subnets', {
      token,
      body: { subnet: { network_id: net.id, ip_version: 4, cidr: '10.30.0.0/24', allocation_pools: [{ start: '10.30.0.10', end: '10.30.0.69' }] } },
    });
    assert.equal(sub.status, 201, sub.text);
    const made = await Promise.all(
      Array.from({ length: 50 }, () => t.request('POST', '/network/v2.0/ports', { token, body: { port: { network_id: net.id } } })),
    );
    assert.deepEqual(made.map((r) => r.status), Array(50).fill(201));
    const ips = made.map((r) => r.body.port.fixed_ips[0].ip_address as string);
    assert.equal(new Set(ips).size, 50);
    for (const ip of ips) {
      const last = Number(ip.split('.')[3]);
      assert.ok(last >= 10 && last <= 69, ip);
    }
    const rest = await Promise.all(Array.from({ length: 11 }, () => t.request('POST', '/network/v2.0/ports', { token, body: { port: { network_id: net.id } } })));
    assert.equal(rest.filter((r) => r.status === 201).length, 10);
    const refused = rest.find((r) => r.status === 409)!;
    assert.equal(refused.body.NeutronError.type, 'IpAddressGenerationFailure');
    // Give one address back; the next port gets exactly it.
    const freed = made[7]!.body.port;
    assert.equal((await t.request('DELETE', `/network/v2.0/ports/${freed.id}`, { token })).status, 204);
    const again = await t.request('POST', '/network/v2.0/ports', { token, body: { port: { network_id: net.id } } });
    assert.equal(again.body.port.fixed_ips[0].ip_address, freed.fixed_ips[0].ip_address);
    // Pagination walks all 60 ports in pages of 25 with next links.
    let url: string | undefined = `/network/v2.0/ports?network_id=${net.id}&limit=25&fields=id&fields=fixed_ips`;
    const seen: string[] = [];
    while (url) {
      const page: { body: { ports: { id: string; name?: string }[]; ports_links?: { rel: string; href: string }[] } } = await t.request('GET', url, { token });
      seen.push(...page.body.ports.map((p) => p.id));
      assert.equal(page.body.ports[0]?.name, undefined, 'fields= selects');
      const next = page.body.ports_links?.find((l) => l.rel === 'next')?.href;
      url = next ? next.slice(t.url.length) : undefined;
    }
    assert.equal(new Set(seen).size, 60);
    const inUse = await t.request('DELETE', `/network/v2.0/networks/${net.id}`, { token });
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body.NeutronError.type, 'NetworkInUse');
  });
});
