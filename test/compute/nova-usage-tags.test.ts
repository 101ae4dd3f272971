// Nova's server tags (2.26), usage reports (os-simple-tenant-usage), quota classes, diagnostics,
// external events, the usage audit log and os-hosts, on a cloud of fake hosts: through Debian's openstack CLI
// where it has the call, over HTTP otherwise; another project sees none of it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { waitFor } from '../helpers/compute.ts';
import { novaCalls } from '../helpers/nova.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

describe('Nova server tags, usage, quota classes, diagnostics and events', () => {
  let t: TestCloud;
  let demo: string;
  let admin: string;
  let other: { projectId: string; token: string };
  let demoProject: string;
  const ids: Record<string, string> = {};
  const { get, send, os, json, active } = novaCalls({ cloud: () => t, token: () => demo, admin: () => admin, version: '2.79' });

  before(async () => {
    t = await startTestCloud('nova-usage-tags', { HAFEN_FAKE_HOSTS: '2' });
    demo = await t.token('demo');
    admin = await t.token('admin');
    other = await memberOfNewProject(t, 'usage-other');
    demoProject = (await t.request('GET', '/identity/v3/auth/tokens', { token: demo, headers: { 'x-subject-token': demo } })).body.token.project.id;
    const img = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'bb', container_format: 'docker', disk_format: 'raw' } });
    const up = await t.request('PUT', `/image/v2/images/${img.body.id}/file`, { token: demo, body: busyboxDockerArchive({ cmd: ['sleep', '3600'] }), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204);
    for (const [name, tags] of [['red', ['red', 'shared']], ['blue', ['blue', 'shared']], ['plain', []]] as const) {
      const r = await send('POST', '/servers', { server: { name, imageRef: img.body.id, flavorRef: '1', networks: 'none', ...(tags.length ? { tags } : {}) } }, '2.52');
      assert.equal(r.status, 202, r.text);
      ids[name] = r.body.server.id;
    }
    for (const id of Object.values(ids)) await active(id);
  });
  after(async () => t?.close());

  it('keeps tags given at create, filters lists by them and changes them through the CLI', async () => {
    assert.deepEqual((await get(`/servers/${ids.red}`)).body.server.tags, ['red', 'shared']);
    assert.equal((await get(`/servers/${ids.red}/tags`, '2.25')).status, 404, 'no tags resource before 2.26');
    const names = async (args: string[]) => (await json(['--os-compute-api-version', '2.26', 'server', 'list', ...args])).map((s: { Name: string }) => s.Name).sort();
    assert.deepEqual(await names(['--tags', 'shared']), ['blue', 'red']);
    assert.deepEqual(await names(['--tags', 'shared', '--tags', 'red']), ['red']);
    assert.deepEqual(await names(['--not-tags', 'shared']), ['plain']);
    assert.deepEqual((await get('/servers?tags-any=red,blue')).body.servers.map((s: { name: string }) => s.name).sort(), ['blue', 'red']);
    assert.deepEqual((await get('/servers?not-tags-any=red,blue')).body.servers.map((s: { name: string }) => s.name), ['plain']);
    assert.deepEqual((await get('/servers?not-tags=red,shared')).body.servers.map((s: { name: string }) => s.name).sort(), ['blue', 'plain']);

    await os(['--os-compute-api-version', '2.26', 'server', 'set', '--tag', 'web', '--tag', 'prod', 'plain']);
    assert.deepEqual((await get(`/servers/${ids.plain}/tags`)).body.tags, ['prod', 'web']);
    await os(['--os-compute-api-version', '2.26', 'server', 'unset', '--tag', 'prod', 'plain']);
    assert.deepEqual((await json(['--os-compute-api-version', '2.26', 'server', 'show', 'plain'])).tags, ['web']);

    // One tag at a time: 201 with a Location when new, 204 when there, 204/404 on a check.
    const added = await send('PUT', `/servers/${ids.plain}/tags/db`, undefined);
    assert.equal(added.status, 201);
    assert.match(String(added.headers.get('location')), new RegExp(`/servers/${ids.plain}/tags/db$`));
    assert.equal((await send('PUT', `/servers/${ids.plain}/tags/db`, undefined)).status, 204);
    assert.equal((await get(`/servers/${ids.plain}/tags/db`)).status, 204);
    assert.equal((await get(`/servers/${ids.plain}/tags/nope`)).status, 404);
    assert.equal((await send('DELETE', `/servers/${ids.plain}/tags/nope`, undefined)).status, 404);
    // Bad tags and too many are 400; the set is replaced whole or not at all.
    assert.equal((await send('PUT', `/servers/${ids.plain}/tags`, { tags: ['a,b'] })).status, 400);
    const many = Array.from({ length: 51 }, (_, i) => `t${i}`);
    const tooMany = await send('PUT', `/servers/${ids.plain}/tags`, { tags: many });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.badRequest.message, /per-server limit 50/);
    assert.deepEqual((await get(`/servers/${ids.plain}/tags`)).body.tags, ['db', 'web']);
    const full = await send('PUT', `/servers/${ids.plain}/tags`, { tags: many.slice(0, 50) });
    assert.equal(full.status, 200);
    assert.equal(full.body.tags.length, 50);
    assert.equal((await send('PUT', `/servers/${ids.plain}/tags/one-more`, undefined)).status, 400);
    assert.equal((await send('DELETE', `/servers/${ids.plain}/tags`, undefined)).status, 204);
    assert.deepEqual((await get(`/servers/${ids.plain}/tags`)).body.tags, []);

    // Another project: every tag verb on demo's server is 404, and its filters see only its own.
    for (const [m, p, body] of [['GET', '/tags'], ['PUT', '/tags', { tags: ['x'] }], ['DELETE', '/tags'], ['GET', '/tags/red'], ['PUT', '/tags/x'], ['DELETE', '/tags/red']] as const) {
      const r = await send(m, `/servers/${ids.red}${p}`, body, '2.79', other.token);
      assert.equal(r.status, 404, `${m} ${p}: ${r.text}`);
    }
    assert.deepEqual((await get('/servers?tags=red', '2.79', other.token)).body.servers, []);
    assert.deepEqual((await get(`/servers/${ids.red}/tags`)).body.tags, ['red', 'shared']);
  });

  it('reports usage per project (openstack usage list / show), admins for all and members for their own', async () => {
    const start = new Date(Date.now() - 3_600_000).toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const list = await json(['usage', 'list', '--start', start, '--end', tomorrow], 'hafen-admin');
    const mine = list.find((u: { Project: string }) => u.Project === demoProject || u.Project === 'demo');
    assert.ok(mine, JSON.stringify(list));
    // The CLI's JSON has the servers' usages themselves under "Servers" (its table shows their count).
    const servers = (v: unknown) => (Array.isArray(v) ? v.length : v);
    assert.equal(servers(mine.Servers), 3);
    const shown = await json(['usage', 'show', '--start', start, '--end', tomorrow]);
    assert.equal(servers(shown.Servers), 3, JSON.stringify(shown));

    // Over HTTP: the servers' hours within the period, weighted by their flavor; deleted ones until they ended.
    await send('DELETE', `/servers/${ids.blue}`, undefined);
    await waitFor('blue deleted', async () => ((await get(`/servers/${ids.blue}`)).status === 404 ? true : undefined));
    const from = new Date(Date.now() - 3_600_000).toISOString().slice(0, 19);
    const r = await get(`/os-simple-tenant-usage/${demoProject}?start=${from}`, '2.1');
    assert.equal(r.status, 200, r.text);
    const u = r.body.tenant_usage;
    assert.equal(u.server_usages.length, 3);
    const blue = u.server_usages.find((s: { instance_id: string }) => s.instance_id === ids.blue);
    assert.equal(blue.state, 'terminated');
    assert.ok(blue.ended_at, 'a deleted server has ended');
    assert.equal(blue.flavor, 'm1.tiny');
    const red = u.server_usages.find((s: { instance_id: string }) => s.instance_id === ids.red);
    assert.equal(red.state, 'active');
    assert.equal(red.ended_at, null);
    assert.ok(red.hours > 0 && red.hours < 1, String(red.hours));
    assert.ok(Math.abs(u.total_vcpus_usage - u.server_usages.reduce((n: number, s: { hours: number; vcpus: number }) => n + s.hours * s.vcpus, 0)) < 1e-9);
    assert.match(u.start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    // 2.40 pages the servers, with a link to the next page.
    const page = await get(`/os-simple-tenant-usage/${demoProject}?start=${from}&limit=2`, '2.40');
    assert.equal(page.status, 200, page.text);
    assert.equal(page.body.tenant_usage.server_usages.length, 2);
    const nextHref = page.body.tenant_usage_links[0].href as string;
    const rest = await get(`/os-simple-tenant-usage/${demoProject}?${nextHref.split('?')[1]}`, '2.40');
    assert.equal(rest.body.tenant_usage.server_usages.length, 1);

    // Errors: a start after the end, a malformed time; members may not list all or read another project.
    assert.equal((await get(`/os-simple-tenant-usage/${demoProject}?start=2030-01-01T00:00:00&end=2029-01-01T00:00:00`)).status, 400);
    assert.equal((await get(`/os-simple-tenant-usage/${demoProject}?start=yesterday`)).status, 400);
    assert.equal((await get('/os-simple-tenant-usage')).status, 403);
    assert.equal((await get(`/os-simple-tenant-usage/${demoProject}`, '2.79', other.token)).status, 403);
    const empty = await get(`/os-simple-tenant-usage/${other.projectId}?start=${from}`, '2.79', other.token);
    assert.deepEqual(empty.body.tenant_usage, {});
  });

  it('sets the default quota class through the CLI, and projects without their own limits follow it', async () => {
    const before = await json(['quota', 'show', '--class', 'default'], 'hafen-admin');
    assert.equal(before.instances, 10, JSON.stringify(before));
    await os(['quota', 'set', '--class', '--instances', '3', 'default'], 'hafen-admin');
    assert.equal((await json(['quota', 'show', '--class', 'default'], 'hafen-admin')).instances, 3);
    assert.equal((await get(`/os-quota-sets/${other.projectId}`, '2.79', other.token)).body.quota_set.instances, 3);
    assert.equal((await get(`/os-quota-sets/${other.projectId}/defaults`)).body.quota_set.instances, 3);
    const v21 = (await get('/os-quota-class-sets/default', '2.1')).body.quota_class_set;
    assert.equal(v21.floating_ips, -1, 'network quotas are in the class before 2.50');
    assert.equal(v21.server_groups, undefined);
    const v250 = (await get('/os-quota-class-sets/default', '2.50')).body.quota_class_set;
    assert.equal(v250.floating_ips, undefined);
    assert.equal(v250.server_groups, 10);
    assert.equal((await send('PUT', '/os-quota-class-sets/default', { quota_class_set: { instances: 5 } })).status, 403, 'members may not');
    assert.equal((await send('PUT', '/os-quota-class-sets/default', { quota_class_set: { instances: -2 } }, '2.79', admin)).status, 400);
    await os(['quota', 'set', '--class', '--instances', '10', 'default'], 'hafen-admin');
  });

  it('answers diagnostics, external events and the audit log to admins only', async () => {
    const d = await get(`/servers/${ids.red}/diagnostics`, '2.48', admin);
    assert.equal(d.status, 200, d.text);
    assert.equal(d.body.state, 'running');
    assert.equal(d.body.num_cpus, 1);
    assert.ok(typeof d.body.memory_details.maximum === 'number');
    assert.ok(Array.isArray(d.body.nic_details) && Array.isArray(d.body.disk_details));
    const shown = await json(['server', 'show', '--diagnostics', ids.red], 'hafen-admin');
    assert.ok('memory' in shown || 'memory_details' in shown, JSON.stringify(shown));
    assert.equal((await get(`/servers/${ids.red}/diagnostics`)).status, 403);

    const ev = await send('POST', '/os-server-external-events', { events: [{ name: 'network-changed', server_uuid: ids.red }, { name: 'network-vif-plugged', server_uuid: 'no-such-server', tag: 'p1' }] }, '2.79', admin);
    assert.equal(ev.status, 207, ev.text);
    assert.deepEqual(
      ev.body.events.map((e: { code: number; status: string }) => [e.code, e.status]),
      [
        [200, 'completed'],
        [404, 'completed'],
      ],
    );
    assert.equal((await send('POST', '/os-server-external-events', { events: [{ name: 'network-changed', server_uuid: 'nope' }] }, '2.79', admin)).status, 404);
    assert.equal((await send('POST', '/os-server-external-events', { events: [{ name: 'reboot', server_uuid: ids.red }] }, '2.79', admin)).status, 400);
    assert.equal((await send('POST', '/os-server-external-events', { events: [{ name: 'network-changed', server_uuid: ids.red }] })).status, 403);

    const log = await get('/os-instance_usage_audit_log', '2.1', admin);
    assert.equal(log.status, 200);
    assert.equal(log.body.instance_usage_audit_logs.num_hosts, 2);
    assert.equal(log.body.instance_usage_audit_logs.num_hosts_not_run, 2);
    assert.equal((await get('/os-instance_usage_audit_log')).status, 403);
  });
  it('serves os-hosts until 2.43: hosts, their use per project, enable and disable; power actions 501', async () => {
    const list = await get('/os-hosts', '2.1', admin);
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.hosts.length, 2);
    assert.ok(list.body.hosts.every((h: { service: string; zone: string }) => h.service === 'compute' && h.zone === 'nova'));
    assert.equal((await get('/os-hosts', '2.43', admin)).status, 404, 'gone from 2.43');
    assert.equal((await get('/os-hosts', '2.1')).status, 403);
    const redHost = (await get(`/servers/${ids.red}`, '2.1', admin)).body.server['OS-EXT-SRV-ATTR:host'] as string;
    const shown = await get(`/os-hosts/${redHost}`, '2.1', admin);
    assert.equal(shown.status, 200, shown.text);
    const rows = shown.body.host.map((r: { resource: { project: string; cpu: number } }) => r.resource);
    assert.deepEqual(rows.slice(0, 3).map((r: { project: string }) => r.project), ['(total)', '(used_now)', '(used_max)']);
    const mine = rows.find((r: { project: string }) => r.project === demoProject);
    assert.ok(mine && mine.cpu >= 1, JSON.stringify(rows));
    assert.equal(rows[1].cpu, rows.slice(3).reduce((n: number, r: { cpu: number }) => n + r.cpu, 0));
    assert.equal((await get('/os-hosts/no-such-host', '2.1', admin)).status, 404);
    const off = await send('PUT', `/os-hosts/${redHost}`, { status: 'disable' }, '2.1', admin);
    assert.deepEqual(off.body, { host: redHost, status: 'disabled' });
    const svc = (await get('/os-services', '2.1', admin)).body.services.find((x: { host: string }) => x.host === redHost);
    assert.equal(svc.status, 'disabled');
    assert.equal((await send('PUT', `/os-hosts/${redHost}`, { status: 'enable' }, '2.1', admin)).body.status, 'enabled');
    assert.equal((await send('PUT', `/os-hosts/${redHost}`, { maintenance_mode: 'enable' }, '2.1', admin)).status, 501);
    assert.equal((await send('PUT', `/os-hosts/${redHost}`, { status: 'sideways' }, '2.1', admin)).status, 400);
    const reboot = await get(`/os-hosts/${redHost}/reboot`, '2.1', admin);
    assert.equal(reboot.status, 501);
    assert.equal(reboot.body.notImplemented.code, 501);
  });
});
