// IPAM's pure parts: subnet layout as Neutron fills it in and refuses it, and the allocator's choice of
// addresses over a ledger (a small in-memory one standing in for the table's key).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressAllocator, layoutSubnet, parseCidr, type AddressLedger, type SubnetAddressing } from './ipam.ts';

class Ledger implements AddressLedger {
  readonly held = new Map<string, string>();
  reads = 0;
  async claimAddress(subnetId: string, ip: string, owner: string): Promise<boolean> {
    const key = `${subnetId} ${ip}`;
    if (this.held.has(key)) return false;
    this.held.set(key, owner);
    return true;
  }
  async addressesIn(subnetId: string): Promise<string[]> {
    this.reads++;
    return [...this.held.keys()].filter((k) => k.startsWith(`${subnetId} `)).map((k) => k.split(' ')[1]!);
  }
  release(subnetId: string, ip: string): void {
    this.held.delete(`${subnetId} ${ip}`);
  }
}

const subnet = (cidr: string, pools = layoutSubnet(cidr, undefined, undefined).allocation_pools): SubnetAddressing => ({ id: 's1', network_id: 'n1', cidr, gateway_ip: layoutSubnet(cidr, undefined, undefined).gateway_ip, pools });

describe('subnet layout', () => {
  it('fills in the gateway and the pool around it', () => {
    assert.deepEqual(layoutSubnet('10.0.0.0/24', undefined, undefined), { cidr: '10.0.0.0/24', gateway_ip: '10.0.0.1', allocation_pools: [{ start: '10.0.0.2', end: '10.0.0.254' }] });
    assert.deepEqual(layoutSubnet('10.0.0.0/24', '10.0.0.100', undefined).allocation_pools, [{ start: '10.0.0.1', end: '10.0.0.99' }, { start: '10.0.0.101', end: '10.0.0.254' }]);
    assert.deepEqual(layoutSubnet('10.0.0.0/24', null, undefined), { cidr: '10.0.0.0/24', gateway_ip: null, allocation_pools: [{ start: '10.0.0.1', end: '10.0.0.254' }] });
  });

  it('refuses what Neutron refuses, with its error types', () => {
    const type = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as Error).name;
      }
      return 'none';
    };
    assert.equal(type(() => layoutSubnet('10.0.0.0/33', undefined, undefined)), 'InvalidInput');
    assert.equal(type(() => layoutSubnet('10.0.0.0/24', '10.1.0.1', undefined)), 'GatewayIpNotInSubnet');
    assert.equal(type(() => layoutSubnet('10.0.0.0/24', undefined, [{ start: '10.0.1.1', end: '10.0.1.9' }])), 'OutOfBoundsAllocationPool');
    assert.equal(type(() => layoutSubnet('10.0.0.0/24', undefined, [{ start: '10.0.0.1', end: '10.0.0.9' }])), 'GatewayConflictWithAllocationPools');
    assert.equal(type(() => layoutSubnet('10.0.0.0/24', undefined, [{ start: '10.0.0.5', end: '10.0.0.9' }, { start: '10.0.0.8', end: '10.0.0.20' }])), 'OverlappingAllocationPools');
    assert.equal(parseCidr('10.0.0.7/24')!.text, '10.0.0.0/24');
  });
});

describe('address allocator', () => {
  it('hands out the lowest free address, and freed ones again', async () => {
    const ledger = new Ledger();
    const ipam = new AddressAllocator();
    const s = subnet('10.0.0.0/29');
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await ipam.allocate(ledger, s, `p${i}`, `p${i}`));
    assert.deepEqual(got, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    await assert.rejects(ipam.allocate(ledger, s, 'p5', 'p5'), { name: 'IpAddressGenerationFailure' });
    ledger.release('s1', '10.0.0.4');
    ipam.released('s1', '10.0.0.4');
    assert.equal(await ipam.allocate(ledger, s, 'p6', 'p6'), '10.0.0.4');
  });

  it('reads the ledger once, and skips addresses another controller took meanwhile', async () => {
    const ledger = new Ledger();
    const ipam = new AddressAllocator();
    const s = subnet('10.0.0.0/24');
    assert.equal(await ipam.allocate(ledger, s, 'a', 'a'), '10.0.0.2');
    await ledger.claimAddress('s1', '10.0.0.3', 'elsewhere');
    await ledger.claimAddress('s1', '10.0.0.4', 'elsewhere');
    assert.equal(await ipam.allocate(ledger, s, 'b', 'b'), '10.0.0.5');
    assert.equal(ledger.reads, 1);
  });

  it('reads the ledger again when its map runs dry, to see addresses freed elsewhere', async () => {
    const ledger = new Ledger();
    const ipam = new AddressAllocator(0);
    const s = subnet('10.0.0.0/30');
    assert.equal(await ipam.allocate(ledger, s, 'a', 'a'), '10.0.0.2');
    ledger.release('s1', '10.0.0.2'); // freed by another controller: this allocator was not told
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await ipam.allocate(ledger, s, 'b', 'b'), '10.0.0.2');
  });

  it('checks a requested address: in the subnet, not the gateway (unless a router asks), not taken', async () => {
    const ledger = new Ledger();
    const ipam = new AddressAllocator();
    const s = subnet('10.0.0.0/24');
    await assert.rejects(ipam.allocate(ledger, s, 'a', 'a', '10.0.1.5'), { name: 'InvalidIpForSubnet' });
    await assert.rejects(ipam.allocate(ledger, s, 'a', 'a', '10.0.0.255'), { name: 'InvalidIpForSubnet' });
    await assert.rejects(ipam.allocate(ledger, s, 'a', 'a', '10.0.0.1'), { name: 'IpAddressInUse' });
    assert.equal(await ipam.allocate(ledger, s, 'router', 'router', '10.0.0.1', true), '10.0.0.1');
    assert.equal(await ipam.allocate(ledger, s, 'a', 'a', '10.0.0.9'), '10.0.0.9');
    await assert.rejects(ipam.allocate(ledger, s, 'b', 'b', '10.0.0.9'), { name: 'IpAddressInUse' });
    // The automatic choice skips what was asked for by hand.
    for (let i = 2; i < 9; i++) await ipam.allocate(ledger, s, `p${i}`, `p${i}`);
    assert.equal(await ipam.allocate(ledger, s, 'next', 'next'), '10.0.0.10');
  });

  it('stays cheap on a large subnet: 10,000 addresses from a /16 with one read of the ledger', async () => {
    const ledger = new Ledger();
    const ipam = new AddressAllocator();
    const s = subnet('10.1.0.0/16');
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) await ipam.allocate(ledger, s, `p${i}`, `p${i}`);
    assert.equal(ledger.held.size, 10_000);
    assert.equal(ledger.reads, 1);
    assert.ok(performance.now() - t0 < 5000);
  });
});
