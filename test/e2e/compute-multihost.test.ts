// Compute across three real Docker hosts (nested engines, each with its own in-process agent):
// spreading, anti-affinity, a host going down, and rescheduling after a failed build.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { startTestHosts, type NestedHostSet } from '../helpers/hosts.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { waitFor } from '../helpers/compute.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { hostIdFor } from '../../src/compute/index.ts';
import { memberOfNewProject } from '../helpers/projects.ts';

describe('compute on three hosts', () => {
  let hosts: NestedHostSet;
  let t: TestCloud;
  let token: string;
  let admin: string;
  let imageId: string;
  const C = '/compute/v2.1';

  const boot = async (name: string, extra: Record<string, unknown> = {}, hints?: Record<string, unknown>, as = token) => {
    const r = await t.request('POST', `${C}/servers`, { token: as, body: { server: { name, imageRef: imageId, flavorRef: '1', ...extra }, ...(hints ? { 'os:scheduler_hints': hints } : {}) } });
    assert.equal(r.status, 202, r.text);
    return r.body.server.id as string;
  };
  const settled = (id: string) =>
    waitFor(`${id} settled`, async () => {
      const s = (await t.request('GET', `${C}/servers/${id}`, { token: admin })).body.server;
      return s && (s.status === 'ACTIVE' || s.status === 'ERROR') ? s : undefined;
    }, 60_000);

  before(async () => {
    await testEngineSocket();
    hosts = await startTestHosts(3);
    t = await startTestCloud('compute-multihost', {
      HAFEN_DOCKER_HOSTS: hosts.hosts.map((h) => h.endpoint).join(','),
      HAFEN_RECONCILE_INTERVAL: '1',
      HAFEN_HOST_DOWN_AFTER: '10',
    });
    token = await t.token('demo');
    admin = await t.token('admin');
    const tar = path.join(t.dataDir, 'bb.tar');
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sleep', '3600'] }));
    const img = await t.request('POST', '/image/v2/images', { token, body: { name: 'bb', container_format: 'docker', disk_format: 'raw' } });
    imageId = img.body.id;
    await t.request('PUT', `/image/v2/images/${imageId}/file`, { token, body: fs.readFileSync(tar), headers: { 'content-type': 'application/octet-stream' } });
    await t.request('PATCH', `/image/v2/images/${imageId}`, { token, body: [{ op: 'replace', path: '/visibility', value: 'community' }], headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' } });
  });
  after(async () => {
    await t?.close();
    await hosts?.teardown();
  });

  it('sees three hypervisors and spreads servers across them', async () => {
    const hv = (await t.request('GET', `${C}/os-hypervisors`, { token: admin })).body.hypervisors;
    assert.equal(hv.length, 3);
    assert.ok(hv.every((h: { state: string }) => h.state === 'up'));
    const ids = [await boot('s1'), await boot('s2'), await boot('s3')];
    const placed = await Promise.all(ids.map(settled));
    assert.ok(placed.every((s) => s.status === 'ACTIVE'), JSON.stringify(placed.map((s) => s.fault)));
    assert.equal(new Set(placed.map((s) => s['OS-EXT-SRV-ATTR:host'])).size, 3, 'one server per host');
    for (const id of ids) await t.request('DELETE', `${C}/servers/${id}`, { token });
  });

  it('keeps anti-affinity group members apart and refuses a fourth', async () => {
    const g = await t.request('POST', `${C}/os-server-groups`, { token, body: { server_group: { name: 'apart', policies: ['anti-affinity'] } } });
    const group = g.body.server_group.id;
    const ids = [];
    for (const n of ['a1', 'a2', 'a3']) {
      ids.push(await boot(n, {}, { group }));
      await settled(ids[ids.length - 1]!);
    }
    const placed = await Promise.all(ids.map(settled));
    assert.equal(new Set(placed.map((s) => s['OS-EXT-SRV-ATTR:host'])).size, 3);
    const fourth = await settled(await boot('a4', {}, { group }));
    assert.equal(fourth.status, 'ERROR');
    assert.match(fourth.fault.message, /ServerGroupAntiAffinityFilter/);
    for (const id of [...ids, fourth.id]) await t.request('DELETE', `${C}/servers/${id}`, { token });
  });

  it('reschedules a build that fails on its first hosts', async () => {
    // The two hosts the scheduler tries first cannot make the server's network: its address range
    // is taken there by a network made behind hafen's back (outside 10.96.0.0/12, where default
    // networks are placed at random, so no earlier server's network is in the way).
    const fresh = await memberOfNewProject(t, 'retry-project');
    const net = await t.request('POST', '/network/v2.0/networks', { token: fresh.token, body: { network: { name: 'retry-net' } } });
    const sub = await t.request('POST', '/network/v2.0/subnets', { token: fresh.token, body: { subnet: { network_id: net.body.network.id, cidr: '10.150.0.0/24', ip_version: 4 } } });
    assert.equal(sub.status, 201, sub.text);
    const order = [...hosts.hosts].sort((a, b) => hostIdFor(a.endpoint).localeCompare(hostIdFor(b.endpoint)));
    for (const h of order.slice(0, 2)) {
      await engineClient(h.endpoint).createNetwork({ Name: 'blocker', IPAM: { Config: [{ Subnet: '10.150.0.0/16' }] } });
    }
    try {
      const r = await t.request('POST', `${C}/servers`, { token: fresh.token, body: { server: { name: 'retry', imageRef: imageId, flavorRef: '1', networks: [{ uuid: net.body.network.id }] } } });
      assert.equal(r.status, 202, r.text);
      const s = await settled(r.body.server.id);
      assert.equal(s.status, 'ACTIVE', JSON.stringify(s.fault));
      assert.equal(s['OS-EXT-SRV-ATTR:host'], hostIdFor(order[2]!.endpoint));
      await t.request('DELETE', `${C}/servers/${s.id}`, { token: fresh.token });
    } finally {
      for (const h of order.slice(0, 2)) await engineClient(h.endpoint).getNetwork('blocker').remove();
    }
  });

  it('marks a host down when its engine stops answering and boots elsewhere', async () => {
    const victim = hosts.hosts[0]!;
    const victimId = hostIdFor(victim.endpoint);
    // Forcing a host is an admin's right (Nova's forced_host policy).
    const onVictim = await settled(await boot('doomed', { availability_zone: `nova:${victimId}` }, undefined, admin));
    assert.equal(onVictim['OS-EXT-SRV-ATTR:host'], victimId);
    const outer = engineClient(await testEngineSocket());
    await outer.getContainer(victim.containerId).pause();
    try {
      await waitFor('host down', async () => {
        const hv = (await t.request('GET', `${C}/os-hypervisors`, { token: admin })).body.hypervisors;
        return hv.find((h: { hypervisor_hostname: string; state: string }) => h.hypervisor_hostname === victimId && h.state === 'down') ? true : undefined;
      }, 60_000);
      const services = (await t.request('GET', `${C}/os-services`, { token: admin })).body.services;
      assert.equal(services.find((s: { host: string }) => s.host === victimId).state, 'down');
      // host_status is shown from microversion 2.16.
      const marked = (await t.request('GET', `${C}/servers/${onVictim.id}`, { token: admin, headers: { 'openstack-api-version': 'compute 2.16' } })).body.server;
      assert.equal(marked.host_status, 'DOWN');
      const ids = [await boot('elsewhere-1'), await boot('elsewhere-2')];
      const placed = await Promise.all(ids.map(settled));
      for (const s of placed) {
        assert.equal(s.status, 'ACTIVE', JSON.stringify(s.fault));
        assert.notEqual(s['OS-EXT-SRV-ATTR:host'], victimId);
      }
      for (const id of ids) await t.request('DELETE', `${C}/servers/${id}`, { token });
    } finally {
      await outer.getContainer(victim.containerId).unpause();
    }
    await t.request('DELETE', `${C}/servers/${onVictim.id}`, { token: admin });
  });
});
