// The control plane at scale: a cloud with 1,000 simulated hosts (the fake driver, HAFEN_FAKE_HOSTS)
// on real SQLite, 2,000 servers booted through the Nova API. All reach ACTIVE, the scheduler spreads
// them over the hosts, the ledger matches what the hosts hold, and quotas hold under racing boots;
// on PostgreSQL too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { waitFor } from '../helpers/compute.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { FakeDriver } from '../../src/agent/fake/driver.ts';
import { loadConfig } from '../../src/config.ts';
import { testPostgresUrl } from '../helpers/postgres.ts';

const HOSTS = 1000;
// 2,000 keeps the file well inside the runner's time limit on a busy 2-core machine.
const SERVERS = 2000;
const C = '/compute/v2.1';

async function pool<T>(items: T[], concurrency: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('compute control plane on 1,000 fake hosts', () => {
  let t: TestCloud;
  let demo: string;
  let admin: string;
  let projectId: string;
  let imageId: string;
  const boot = (body: Record<string, unknown>) => t.request('POST', `${C}/servers`, { token: demo, body: { server: { name: 'sim', imageRef: imageId, flavorRef: '1', networks: 'none', ...body } } });
  /** Every page of a server list, following Nova's `servers_links` (a page holds at most 1,000). */
  const listAll = async (path: string, token: string) => {
    const out: Record<string, any>[] = [];
    let url: string | undefined = `${C}${path}`;
    while (url) {
      const page = await t.request('GET', url, { token });
      assert.equal(page.status, 200, page.text);
      out.push(...page.body.servers);
      const next = (page.body.servers_links as { rel: string; href: string }[] | undefined)?.find((l) => l.rel === 'next')?.href;
      url = next ? next.slice(next.indexOf(C)) : undefined;
    }
    return out;
  };
  const fakeHosts = () => {
    const hosts: FakeDriver[] = [];
    for (let i = 1; i <= HOSTS; i++) {
      const d = t.cloud.compute.service.hosts.driver(`fake-${String(i).padStart(5, '0')}`);
      assert.ok(d instanceof FakeDriver, `fake-${i} has a fake driver`);
      hosts.push(d);
    }
    return hosts;
  };

  before(async () => {
    t = await startTestCloud('simulation', { HAFEN_FAKE_HOSTS: String(HOSTS), HAFEN_RECONCILE_INTERVAL: '2' });
    demo = await t.token('demo');
    admin = await t.token('admin');
    projectId = (await t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': demo } })).body.token.project.id;
    const img = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'bb', container_format: 'docker', disk_format: 'raw' } });
    imageId = img.body.id;
    const archive = path.join(t.dataDir, 'bb.tar');
    fs.writeFileSync(archive, busyboxDockerArchive({ cmd: ['sleep', '3600'] }));
    const up = await t.request('PUT', `/image/v2/images/${imageId}/file`, { token: demo, body: fs.readFileSync(archive), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204);
  });
  after(async () => t.close());

  it('registers the configured fake hosts and no others; none without the setting', async () => {
    assert.equal(loadConfig({}).fakeHosts, 0);
    assert.throws(() => loadConfig({ HAFEN_FAKE_HOSTS: '-1' }), /HAFEN_FAKE_HOSTS/);
    const hv = await t.request('GET', `${C}/os-hypervisors/detail`, { token: admin });
    assert.equal(hv.status, 200);
    assert.equal(hv.body.hypervisors.length, HOSTS);
    assert.ok(hv.body.hypervisors.every((h: { hypervisor_hostname: string; state: string; vcpus: number; memory_mb: number }) => /^fake-\d{5}$/.test(h.hypervisor_hostname) && h.state === 'up' && h.vcpus === 16 && h.memory_mb === 65536));
  });

  it('boots 2,000 servers through the API: all ACTIVE, spread over the hosts, ledger = hosts', async () => {
    // The demo project's default quota (10 instances) is raised by the admin first.
    const q = await t.request('PUT', `${C}/os-quota-sets/${projectId}`, { token: admin, body: { quota_set: { instances: SERVERS, cores: SERVERS, ram: SERVERS * 64 } } });
    assert.equal(q.status, 200, q.text);
    assert.equal((await boot({ max_count: 11 })).status, 202, 'quota raised above the default');
    // Batches and single boots, 16 requests at a time, up to 5 short of the quota.
    const batches: number[] = [...Array.from({ length: 20 }, () => 50), ...Array.from({ length: SERVERS - 5 - 11 - 1000 }, () => 1)];
    let posted = 0;
    await pool(batches, 16, async (n) => {
      const r = await boot(n > 1 ? { min_count: n, max_count: n } : {});
      assert.equal(r.status, 202, r.text);
      posted += n;
    });
    assert.equal(posted, SERVERS - 16);
    // 20 boots race for the last 5 slots: exactly 5 get in, the others are refused in Nova's words.
    const race = await Promise.all(Array.from({ length: 20 }, () => boot({})));
    assert.equal(race.filter((r) => r.status === 202).length, 5);
    for (const r of race.filter((x) => x.status !== 202)) {
      assert.equal(r.status, 403);
      assert.match(r.body.forbidden.message, /Quota exceeded for instances/);
    }
    assert.equal((await boot({})).status, 403);

    await waitFor('no server in BUILD', async () => ((await t.request('GET', `${C}/servers?status=BUILD`, { token: demo })).body.servers.length === 0 ? true : undefined), 300_000);
    const servers = (await listAll('/servers/detail?all_tenants=1', admin)) as { id: string; status: string; 'OS-EXT-SRV-ATTR:host': string }[];
    assert.equal(servers.length, SERVERS);
    assert.deepEqual([...new Set(servers.map((s) => s.status))], ['ACTIVE']);
    // Identical hosts and the RAM weigher: every host gets its share, none more than one above it.
    const perHost = new Map<string, number>();
    for (const s of servers) perHost.set(s['OS-EXT-SRV-ATTR:host'], (perHost.get(s['OS-EXT-SRV-ATTR:host']) ?? 0) + 1);
    assert.equal(perHost.size, HOSTS);
    assert.ok(Math.max(...perHost.values()) - Math.min(...perHost.values()) <= 1, `spread ${Math.min(...perHost.values())}..${Math.max(...perHost.values())}`);
    // What the hosts really hold equals the rows, host by host.
    const hosts = fakeHosts();
    assert.equal(hosts.reduce((n, h) => n + h.serverCount, 0), SERVERS);
    for (const [i, h] of hosts.entries()) assert.equal(h.serverCount, perHost.get(`fake-${String(i + 1).padStart(5, '0')}`) ?? 0);
    const stats = await t.request('GET', `${C}/os-hypervisors/statistics`, { token: admin });
    assert.equal(stats.body.hypervisor_statistics.running_vms, SERVERS);
    assert.equal(stats.body.hypervisor_statistics.memory_mb_used, SERVERS * 64);
    const usage = await t.request('GET', `${C}/os-quota-sets/${projectId}/detail`, { token: admin });
    assert.deepEqual([usage.body.quota_set.instances.in_use, usage.body.quota_set.cores.in_use, usage.body.quota_set.ram.in_use], [SERVERS, SERVERS, SERVERS * 64]);
  });

  it('pages through a long list in SQL order and frees the ledger on delete', async () => {
    const seen = new Set<string>();
    let marker: string | undefined;
    for (;;) {
      const page = await t.request('GET', `${C}/servers/detail?limit=1000${marker ? `&marker=${marker}` : ''}`, { token: demo });
      assert.equal(page.status, 200);
      const ids = (page.body.servers as { id: string }[]).map((s) => s.id);
      for (const id of ids) seen.add(id);
      if (ids.length < 1000) break;
      marker = ids[ids.length - 1];
    }
    assert.equal(seen.size, SERVERS);
    const doomed = [...seen].slice(0, 500);
    await pool(doomed, 16, async (id) => {
      assert.equal((await t.request('DELETE', `${C}/servers/${id}`, { token: demo })).status, 204);
    });
    await t.cloud.compute.service.settle();
    const stats = await t.request('GET', `${C}/os-hypervisors/statistics`, { token: admin });
    assert.equal(stats.body.hypervisor_statistics.running_vms, SERVERS - 500);
    assert.equal(fakeHosts().reduce((n, h) => n + h.serverCount, 0), SERVERS - 500);
    // The freed room can be booted into again, within the quota.
    assert.equal((await boot({ min_count: 500, max_count: 500 })).status, 202);
    assert.equal((await boot({})).status, 403);
    await t.cloud.compute.service.settle();
    // A reconcile pass against the fake hosts changes nothing: every server stays ACTIVE.
    await t.cloud.compute.service.reconcile();
    const listed = (await listAll('/servers/detail', demo)) as { status: string; fault?: { message: string } }[];
    const statuses = listed.map((s) => s.status);
    assert.equal(statuses.length, SERVERS);
    assert.deepEqual([...new Set(statuses)], ['ACTIVE'], JSON.stringify(listed.filter((s) => s.status !== 'ACTIVE').slice(0, 3)));
  });
});

describe('compute control plane on fake hosts, on PostgreSQL', () => {
  let t: TestCloud;
  after(async () => t?.close());

  it('keeps the quota and the ledger exact under racing boots', async () => {
    t = await startTestCloud('simulation-pg', { HAFEN_DATABASE_URL: await testPostgresUrl(), HAFEN_FAKE_HOSTS: '20', HAFEN_RECONCILE_INTERVAL: '1' });
    const demo = await t.token('demo');
    const admin = await t.token('admin');
    const projectId = (await t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': demo } })).body.token.project.id;
    const img = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'bb', container_format: 'docker', disk_format: 'raw' } });
    assert.equal((await t.request('PUT', `/image/v2/images/${img.body.id}/file`, { token: demo, body: busyboxDockerArchive({ cmd: ['sleep', '3600'] }), headers: { 'content-type': 'application/octet-stream' } })).status, 204);
    assert.equal((await t.request('PUT', `${C}/os-quota-sets/${projectId}`, { token: admin, body: { quota_set: { instances: 200, cores: 400, ram: 200 * 256 } } })).status, 200);
    const boot = (flavorRef: string) => t.request('POST', `${C}/servers`, { token: demo, body: { server: { name: 'pg', imageRef: img.body.id, flavorRef, networks: 'none' } } });
    // 150 m1.tiny and 60 m1.small race for 200 instances: exactly 200 get in.
    const answers = await Promise.all([...Array.from({ length: 150 }, () => boot('1')), ...Array.from({ length: 60 }, () => boot('2'))]);
    assert.equal(answers.filter((r) => r.status === 202).length, 200);
    for (const r of answers.filter((x) => x.status !== 202)) assert.equal(r.status, 403, r.text);
    await t.cloud.compute.service.settle();
    const servers = (await t.request('GET', `${C}/servers/detail`, { token: demo })).body.servers as { status: string; flavor: { id: string } }[];
    assert.equal(servers.length, 200);
    assert.deepEqual([...new Set(servers.map((s) => s.status))], ['ACTIVE']);
    const smalls = servers.filter((s) => s.flavor.id === '2').length;
    const usage = (await t.request('GET', `${C}/os-quota-sets/${projectId}/detail`, { token: admin })).body.quota_set;
    assert.deepEqual([usage.instances.in_use, usage.cores.in_use, usage.ram.in_use], [200, 200, (200 - smalls) * 64 + smalls * 256]);
    const stats = (await t.request('GET', `${C}/os-hypervisors/statistics`, { token: admin })).body.hypervisor_statistics;
    assert.deepEqual([stats.count, stats.running_vms, stats.memory_mb_used], [20, 200, usage.ram.in_use]);
    // A reconcile pass rebuilds the ledger from the rows: the same figures.
    await t.cloud.compute.service.reconcile();
    const again = (await t.request('GET', `${C}/os-hypervisors/statistics`, { token: admin })).body.hypervisor_statistics;
    assert.deepEqual([again.running_vms, again.memory_mb_used], [200, usage.ram.in_use]);
  });
});
