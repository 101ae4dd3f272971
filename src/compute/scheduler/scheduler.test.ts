// The scheduler's filters and weighers on hand-made host states: each filter keeps exactly the hosts
// it should, the weighers spread by free RAM and follow soft group policies, ties go to the first
// host name, and an empty candidate list names the filter that emptied it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseHost, defaultFilters } from './scheduler.ts';
import type { HostState, SchedulingRequest } from './types.ts';
import type { HostRow } from '../tables.ts';

const host = (name: string, o: Partial<HostRow> = {}, used: Partial<Omit<HostState, 'host'>> = {}): HostState => ({
  host: {
    id: `id-${name}`, hostname: name, endpoint: '', vcpus: 4, memory_mib: 4096, disk_gib: 40, architecture: 'x86_64',
    availability_zone: 'nova', enabled: 1, disabled_reason: null, heartbeat_at: '', created_at: '', number: 1, uuid: `u-${name}`, forced_down: 0, ...o,
  },
  up: true,
  usedVcpus: 0,
  usedRamMiB: 0,
  usedDiskGiB: 0,
  serverIds: new Set(),
  groupIds: new Set(),
  ...used,
});

const request = (o: Partial<SchedulingRequest> = {}): SchedulingRequest => ({
  vcpus: 1, ramMiB: 512, diskGiB: 1, availabilityZone: null, imageArchitecture: null, group: null, groupHasMembers: false,
  sameHost: [], differentHost: [], ignoreHosts: [], ratios: { cpu: 1, ram: 1, disk: 1 }, ...o,
});

/** The hosts one filter (by Nova's name) keeps. */
const kept = (filter: string, hosts: HostState[], r: SchedulingRequest) => {
  const f = defaultFilters.find((x) => x.name === filter);
  assert.ok(f, `no filter ${filter}`);
  return hosts.filter((h) => f.passes(h, r)).map((h) => h.host.hostname);
};

describe('scheduler filters', () => {
  it('keeps hosts that are up and enabled (ComputeFilter), not yet tried (RetryFilter), and the one asked for', () => {
    const hosts = [host('a'), host('b', { enabled: 0 }), { ...host('c'), up: false }];
    assert.deepEqual(kept('ComputeFilter', hosts, request()), ['a']);
    assert.deepEqual(kept('RetryFilter', hosts, request({ ignoreHosts: ['id-a'] })), ['b', 'c']);
    assert.deepEqual(kept('RequestedHostFilter', hosts, request({ requestedHost: 'b' })), ['b']);
    assert.deepEqual(kept('RequestedHostFilter', hosts, request({ requestedHost: 'id-c' })), ['c']);
    assert.deepEqual(kept('RequestedHostFilter', hosts, request()), ['a', 'b', 'c']);
  });

  it('counts RAM, vCPUs and disk against the allocation ratios, the last unit included', () => {
    const full = host('full', {}, { usedRamMiB: 3584, usedVcpus: 3, usedDiskGiB: 39 });
    const over = host('over', {}, { usedRamMiB: 3585, usedVcpus: 4, usedDiskGiB: 40 });
    const r = request({ ramMiB: 512, vcpus: 1, diskGiB: 1 });
    assert.deepEqual(kept('RamFilter', [full, over], r), ['full']);
    assert.deepEqual(kept('VcpuFilter', [full, over], r), ['full']);
    assert.deepEqual(kept('DiskFilter', [full, over], r), ['full']);
    const overcommit = request({ ratios: { cpu: 2, ram: 1.5, disk: 1 } });
    assert.deepEqual(kept('VcpuFilter', [over], overcommit), ['over']);
    assert.deepEqual(kept('RamFilter', [over], overcommit), ['over']);
  });

  it('keeps the zone asked for, or a host named as zone:host, and hosts of the image architecture', () => {
    const hosts = [host('a', { availability_zone: 'az1' }), host('b', { availability_zone: 'az2', architecture: 'aarch64' })];
    assert.deepEqual(kept('AvailabilityZoneFilter', hosts, request({ availabilityZone: 'az2' })), ['b']);
    assert.deepEqual(kept('AvailabilityZoneFilter', hosts, request({ availabilityZone: 'az9:a' })), ['a']);
    assert.deepEqual(kept('ImagePropertiesFilter', hosts, request({ imageArchitecture: 'aarch64' })), ['b']);
    assert.deepEqual(kept('ImagePropertiesFilter', hosts, request()), ['a', 'b']);
  });

  it('follows affinity and anti-affinity groups and the same_host/different_host hints', () => {
    const g = { id: 'g1', policy: 'affinity' as const };
    const withMember = host('with', {}, { groupIds: new Set(['g1']), serverIds: new Set(['s1', 's2']) });
    const without = host('without', {}, { serverIds: new Set(['s3']) });
    const hosts = [withMember, without];
    assert.deepEqual(kept('ServerGroupAffinityFilter', hosts, request({ group: g, groupHasMembers: true })), ['with']);
    assert.deepEqual(kept('ServerGroupAffinityFilter', hosts, request({ group: g, groupHasMembers: false })), ['with', 'without']);
    assert.deepEqual(kept('ServerGroupAntiAffinityFilter', hosts, request({ group: { id: 'g1', policy: 'anti-affinity' } })), ['without']);
    assert.deepEqual(kept('ServerGroupAntiAffinityFilter', hosts, request({ group: { id: 'g1', policy: 'soft-anti-affinity' } })), ['with', 'without']);
    assert.deepEqual(kept('SameHostFilter', hosts, request({ sameHost: ['s1', 's2'] })), ['with']);
    assert.deepEqual(kept('SameHostFilter', hosts, request({ sameHost: ['s1', 's3'] })), []);
    assert.deepEqual(kept('DifferentHostFilter', hosts, request({ differentHost: ['s1'] })), ['without']);
  });
});

describe('choosing a host', () => {
  it('spreads by free RAM and breaks ties by host name', () => {
    const busy = host('a', {}, { usedRamMiB: 2048 });
    assert.equal(chooseHost([busy, host('c'), host('b')], request()).host.hostname, 'b');
    assert.equal(chooseHost([busy, host('b', {}, { usedRamMiB: 1024 })], request()).host.hostname, 'b');
  });

  it('prefers the group\'s host for soft-affinity and another for soft-anti-affinity, over free RAM', () => {
    const member = host('a', {}, { groupIds: new Set(['g']), usedRamMiB: 2048 });
    const empty = host('b');
    assert.equal(chooseHost([member, empty], request({ group: { id: 'g', policy: 'soft-affinity' }, groupHasMembers: true })).host.hostname, 'a');
    const spread = host('a', {}, { groupIds: new Set(['g']) });
    const fuller = host('b', {}, { usedRamMiB: 2048 });
    assert.equal(chooseHost([spread, fuller], request({ group: { id: 'g', policy: 'soft-anti-affinity' }, groupHasMembers: true })).host.hostname, 'b');
    // When every host has a member, soft anti-affinity still places the server (it is soft).
    assert.equal(chooseHost([spread], request({ group: { id: 'g', policy: 'soft-anti-affinity' }, groupHasMembers: true })).host.hostname, 'a');
  });

  it('answers NoValidHost naming the filter that removed the last candidates', () => {
    const log: string[] = [];
    assert.throws(
      () => chooseHost([host('a', {}, { usedRamMiB: 4000 }), host('b', {}, { usedRamMiB: 4000 })], request(), defaultFilters, undefined, (m) => log.push(m)),
      (err: Error) => err.name === 'NoValidHost' && /RamFilter removed the last 2 candidate host\(s\)/.test(err.message),
    );
    assert.ok(log.includes('ComputeFilter: 2 -> 2 hosts'));
    assert.ok(log.includes('RamFilter: 2 -> 0 hosts'));
  });
});
