// Servers' addresses kept as JSON text: answered again only while the network's count of address
// changes reads the same, never kept when it moved during the read, and never kept without a count.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressTexts } from './address-texts.ts';
import type { NovaAddress } from '../network/client.ts';

/** A network side whose addresses and count the test sets; it counts the reads of addresses. */
function fakeNetwork(generation: number | undefined) {
  const net = {
    generation,
    addresses: new Map<string, Record<string, NovaAddress[]>>(),
    reads: [] as string[][],
    /** Runs once during the next read of addresses (a change committed meanwhile). */
    duringRead: undefined as (() => void) | undefined,
    async addressesGeneration() {
      return net.generation;
    },
    async serversAddresses(ids: string[]) {
      net.reads.push(ids);
      const during = net.duringRead;
      net.duringRead = undefined;
      const out = new Map(ids.map((id) => [id, net.addresses.get(id) ?? {}]));
      during?.();
      return out;
    },
  };
  return net;
}

const fixed = (addr: string): Record<string, NovaAddress[]> => ({ net: [{ version: 4, addr, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': 'fa:16:3e:00:00:01' }] });

describe('address texts', () => {
  it('answers kept texts while the count holds, and reads all again once it moves', async () => {
    const net = fakeNetwork(1);
    net.addresses.set('a', fixed('10.0.0.1'));
    const texts = new AddressTexts(net);
    assert.equal((await texts.of(['a', 'b'])).get('a'), JSON.stringify(fixed('10.0.0.1')));
    assert.equal((await texts.of(['a', 'b'])).get('b'), '{}');
    assert.deepEqual(net.reads, [['a', 'b']]);
    // Only what is not kept yet is read.
    await texts.of(['a', 'c']);
    assert.deepEqual(net.reads, [['a', 'b'], ['c']]);
    net.addresses.set('a', fixed('10.0.0.9'));
    net.generation = 2;
    assert.equal((await texts.of(['a'])).get('a'), JSON.stringify(fixed('10.0.0.9')));
    assert.deepEqual(net.reads.at(-1), ['a']);
  });

  it('keeps nothing read while the count moved', async () => {
    const net = fakeNetwork(5);
    net.addresses.set('a', fixed('10.0.0.1'));
    const texts = new AddressTexts(net);
    net.duringRead = () => {
      net.addresses.set('a', fixed('10.0.0.2'));
      net.generation = 6;
    };
    // What the read saw is answered, but not kept: the next answer reads again.
    assert.equal((await texts.of(['a'])).get('a'), JSON.stringify(fixed('10.0.0.1')));
    assert.equal((await texts.of(['a'])).get('a'), JSON.stringify(fixed('10.0.0.2')));
    assert.equal(net.reads.length, 2);
    await texts.of(['a']);
    assert.equal(net.reads.length, 2);
  });

  it('reads every time without a count (PostgreSQL), and when not asked to keep', async () => {
    const net = fakeNetwork(undefined);
    const texts = new AddressTexts(net);
    await texts.of(['a']);
    await texts.of(['a']);
    assert.equal(net.reads.length, 2);
    const counted = fakeNetwork(1);
    const kept = new AddressTexts(counted);
    await kept.of(['a']);
    counted.addresses.set('a', fixed('10.0.0.3'));
    // A show reads now (and leaves what lists keep as it is).
    assert.equal((await kept.of(['a'], false)).get('a'), JSON.stringify(fixed('10.0.0.3')));
    assert.equal((await kept.of(['a'])).get('a'), '{}');
    assert.equal(counted.reads.length, 2);
  });
});
