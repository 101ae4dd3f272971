// The capacity ledger: sums per host kept exact through placements, moves and removals, group
// membership counted per member, and a refresh from rows that keeps writes newer than its read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HostLedger } from './ledger.ts';
import type { AllocationRow } from './tables.ts';

const row = (id: string, host: string | null, o: Partial<AllocationRow> = {}): AllocationRow => ({ id, host_id: host, server_group_id: null, vcpus: 1, memory_mib: 512, disk_gib: 1, ...o });

describe('host ledger', () => {
  it('sums each host\'s servers, moves and removes them, and forgets an emptied host', () => {
    const l = new HostLedger();
    l.set('s1', row('s1', 'h1'));
    l.set('s2', row('s2', 'h1', { vcpus: 2, memory_mib: 1024, disk_gib: 10 }));
    l.set('s3', row('s3', null));
    const h1 = l.hosts().get('h1')!;
    assert.deepEqual([h1.vcpus, h1.ramMiB, h1.diskGiB, h1.servers], [3, 1536, 11, 2]);
    assert.deepEqual([...h1.serverIds].sort(), ['s1', 's2']);
    assert.equal(l.hosts().size, 1, 'a server without a host takes no host\'s room');
    l.set('s2', row('s2', 'h2', { vcpus: 2, memory_mib: 1024, disk_gib: 10 }));
    assert.deepEqual([l.hosts().get('h1')!.vcpus, l.hosts().get('h2')!.vcpus], [1, 2]);
    l.set('s1', undefined);
    assert.equal(l.hosts().has('h1'), false);
  });

  it('keeps a group on a host while any member stays there', () => {
    const l = new HostLedger();
    l.set('a', row('a', 'h', { server_group_id: 'g' }));
    l.set('b', row('b', 'h', { server_group_id: 'g' }));
    l.set('c', row('c', 'h'));
    l.set('a', undefined);
    assert.ok(l.hosts().get('h')!.groupIds.has('g'));
    l.set('b', undefined);
    assert.equal(l.hosts().get('h')!.groupIds.has('g'), false);
  });

  it('refreshes from rows but keeps what was written after the rows were read', () => {
    const l = new HostLedger();
    l.set('old', row('old', 'h1'));
    const mark = l.version();
    // Written while the rows were being read: the read does not have them yet.
    l.set('new', row('new', 'h2', { vcpus: 4 }));
    l.set('old', undefined);
    l.refresh([row('old', 'h1'), row('other', 'h1', { vcpus: 2 })], mark);
    assert.equal(l.hosts().get('h2')!.vcpus, 4, 'the newer placement stays');
    assert.equal(l.hosts().get('h1')!.vcpus, 2, 'the newer removal stays; rows not written since are taken');
    // A later refresh from rows that have caught up takes them as they are.
    l.refresh([row('other', 'h1', { vcpus: 2 })], l.version());
    assert.equal(l.hosts().has('h2'), false);
  });

  it('keeps a claim through refreshes until its row is written', () => {
    const l = new HostLedger();
    l.claim(row('c', 'h1', { vcpus: 3 }));
    // Rows read after the claim, before its write committed: the row has no host yet.
    l.refresh([], l.version());
    assert.equal(l.hosts().get('h1')!.vcpus, 3, 'the claim stays');
    l.set('c', row('c', 'h1', { vcpus: 3 }));
    l.refresh([row('c', 'h1', { vcpus: 3 })], l.version());
    assert.equal(l.hosts().get('h1')!.vcpus, 3);
    // Once written, the rows decide again.
    l.refresh([], l.version());
    assert.equal(l.hosts().has('h1'), false);
    // A delete between a claim and its write's answer has the last word.
    l.claim(row('d', 'h2'));
    l.set('d', undefined);
    l.settle('d', row('d', 'h2'));
    assert.equal(l.hosts().has('h2'), false);
  });
});
