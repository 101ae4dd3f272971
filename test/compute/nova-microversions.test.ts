// Nova's microversions 2.1-2.79 and its admin APIs on a cloud of fake hosts (no engine): bodies as
// each version describes them (HTTP), and aggregates, zones, flavor access and compute services
// through Debian's real openstack CLI (whose openstacksdk negotiates the newest version it knows).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { NOVA as C, novaCalls } from '../helpers/nova.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

describe('Nova microversions and admin APIs', () => {
  let t: TestCloud;
  let demo: string;
  let admin: string;
  let imageId: string;
  const { get, send, os, json, active } = novaCalls({ cloud: () => t, token: () => demo, admin: () => admin, version: '2.1' });

  before(async () => {
    t = await startTestCloud('nova-microversions', { HAFEN_FAKE_HOSTS: '3' });
    demo = await t.token('demo');
    admin = await t.token('admin');
    const img = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'bb', container_format: 'docker', disk_format: 'raw' } });
    imageId = img.body.id;
    const up = await t.request('PUT', `/image/v2/images/${imageId}/file`, { token: demo, body: busyboxDockerArchive({ cmd: ['sleep', '3600'] }), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204);
  });
  after(async () => t?.close());

  it('negotiates 2.1 to 2.79 and says so in its version documents and headers', async () => {
    const root = await t.request('GET', '/compute/');
    assert.equal(root.status, 200);
    assert.equal(root.body.versions[0].version, '2.79');
    assert.equal(root.body.versions[0].min_version, '2.1');
    const plain = await get('/flavors');
    assert.equal(plain.headers.get('openstack-api-version'), 'compute 2.1');
    assert.match(String(plain.headers.get('vary')), /OpenStack-API-Version/);
    const latest = await get('/flavors', 'latest');
    assert.equal(latest.headers.get('openstack-api-version'), 'compute 2.79');
    const legacy = await t.request('GET', `${C}/flavors`, { token: demo, headers: { 'x-openstack-nova-api-version': '2.53' } });
    assert.equal(legacy.headers.get('x-openstack-nova-api-version'), '2.53');
    const tooNew = await get('/flavors', '2.80');
    assert.equal(tooNew.status, 406);
    assert.match(tooNew.body.notAcceptable.message, /maximum is 2\.79/);
  });

  it('shows servers, key pairs and server groups with the fields of the version asked for', async () => {
    // 2.19 descriptions: refused before, kept from then on.
    const early = await send('POST', '/servers', { server: { name: 'd', imageRef: imageId, flavorRef: '1', networks: 'none', description: 'x' } });
    assert.equal(early.status, 400);
    assert.match(early.body.badRequest.message, /description/);
    // 2.37: networks is required.
    const noNets = await send('POST', '/servers', { server: { name: 'd', imageRef: imageId, flavorRef: '1' } }, '2.37');
    assert.equal(noNets.status, 400);
    const created = await send('POST', '/servers', { server: { name: 'mv', imageRef: imageId, flavorRef: '1', networks: 'none', description: 'about mv' } }, '2.37');
    assert.equal(created.status, 202, created.text);
    assert.equal(created.body.server.adminPass, undefined, 'no password was set');
    const id = created.body.server.id as string;
    await active(id);

    const v21 = (await get(`/servers/${id}`)).body.server;
    for (const field of ['locked', 'host_status', 'description', 'tags', 'locked_reason']) assert.ok(!(field in v21), `${field} not at 2.1`);
    assert.equal(v21.flavor.id, '1');
    assert.equal((await get(`/servers/${id}`, '2.9')).body.server.locked, false);
    const v279 = (await get(`/servers/${id}`, '2.79')).body.server;
    assert.equal(v279.description, 'about mv');
    assert.deepEqual(v279.tags, []);
    assert.equal(v279.locked_reason, null);
    assert.equal(v279.flavor.original_name, 'm1.tiny');
    assert.equal(v279.flavor.id, undefined, 'the flavor embedded from 2.47');
    assert.ok(!('host_status' in v279), 'host_status is for admins');
    assert.equal((await get(`/servers/${id}`, '2.16', admin)).body.server.host_status, 'UP');
    assert.ok(!('host_status' in (await get(`/servers/${id}`, '2.15', admin)).body.server));
    // Rebuild: description from 2.19, user data from 2.57, both kept on the server.
    assert.equal((await send('POST', `/servers/${id}/action`, { rebuild: { imageRef: imageId, description: 'x' } })).status, 400);
    assert.equal((await send('POST', `/servers/${id}/action`, { rebuild: { imageRef: imageId, user_data: 'aGk=' } }, '2.56')).status, 400);
    const rebuilt = await send('POST', `/servers/${id}/action`, { rebuild: { imageRef: imageId, description: 'rebuilt', user_data: 'aGk=', metadata: { role: 'web' } } }, '2.57');
    assert.equal(rebuilt.status, 202, rebuilt.text);
    assert.equal(rebuilt.body.server.description, 'rebuilt');
    assert.deepEqual(rebuilt.body.server.metadata, { role: 'web' });
    await active(id);
    assert.equal((await get(`/servers/${id}`, '2.3', admin)).body.server['OS-EXT-SRV-ATTR:user_data'], 'aGk=');
    // 2.38: a status Nova does not have is a 400 instead of an empty list.
    assert.deepEqual((await get('/servers?status=BOGUS')).body.servers, []);
    assert.equal((await get('/servers?status=BOGUS', '2.38')).status, 400);

    // Key pairs: 2.2 answers 201/204 and shows the type.
    const k21 = await send('POST', '/os-keypairs', { keypair: { name: 'k21' } });
    assert.equal(k21.status, 200);
    assert.ok(!('type' in k21.body.keypair));
    const k22 = await send('POST', '/os-keypairs', { keypair: { name: 'k22', type: 'ssh' } }, '2.2');
    assert.equal(k22.status, 201);
    assert.equal(k22.body.keypair.type, 'ssh');
    assert.equal((await send('POST', '/os-keypairs', { keypair: { name: 'k0', type: 'ssh' } })).status, 400, 'type is unknown at 2.1');
    assert.equal((await send('DELETE', '/os-keypairs/k21', undefined)).status, 202);
    assert.equal((await send('DELETE', '/os-keypairs/k22', undefined, '2.2')).status, 204);

    // Server groups: project_id from 2.13, one policy and rules from 2.64.
    const g21 = (await send('POST', '/os-server-groups', { server_group: { name: 'g21', policies: ['affinity'] } })).body.server_group;
    assert.deepEqual(g21.policies, ['affinity']);
    assert.ok(!('project_id' in g21));
    assert.ok('project_id' in (await get(`/os-server-groups/${g21.id}`, '2.13')).body.server_group);
    const g264 = await send('POST', '/os-server-groups', { server_group: { name: 'g264', policy: 'anti-affinity', rules: { max_server_per_host: 1 } } }, '2.64');
    assert.equal(g264.status, 200, g264.text);
    assert.equal(g264.body.server_group.policy, 'anti-affinity');
    assert.ok(!('policies' in g264.body.server_group));
    assert.equal((await send('POST', '/os-server-groups', { server_group: { name: 'x', policies: ['affinity'] } }, '2.64')).status, 400);
    assert.equal((await send('POST', '/os-server-groups', { server_group: { name: 'x', policies: ['soft-affinity'] } }, '2.14')).status, 400);
    for (const g of [g21.id, g264.body.server_group.id]) await send('DELETE', `/os-server-groups/${g}`, undefined);
    await send('DELETE', `/servers/${id}`, undefined);
  });

  it('shows hypervisors and services by integer id before 2.53 and by uuid from then on', async () => {
    const old = (await get('/os-hypervisors', '2.1', admin)).body.hypervisors;
    assert.equal(old.length, 3);
    assert.ok(old.every((h: { id: unknown }) => Number.isInteger(h.id)));
    const hv = (await get('/os-hypervisors/detail', '2.53', admin)).body.hypervisors;
    assert.ok(hv.every((h: { id: unknown }) => typeof h.id === 'string' && /^[0-9a-f-]{36}$/.test(h.id as string)));
    assert.equal(typeof hv[0].cpu_info, 'object', 'cpu_info is an object from 2.28');
    assert.equal(typeof (await get('/os-hypervisors/detail', '2.27', admin)).body.hypervisors[0].cpu_info, 'string');
    assert.equal((await get(`/os-hypervisors/${hv[0].id}`, '2.53', admin)).body.hypervisor.hypervisor_hostname, hv[0].hypervisor_hostname);
    assert.equal((await get(`/os-hypervisors/${old[0].id}`, '2.1', admin)).body.hypervisor.id, old[0].id);
    const withServers = await get(`/os-hypervisors?hypervisor_hostname_pattern=${hv[0].hypervisor_hostname}&with_servers=true`, '2.53', admin);
    assert.deepEqual(withServers.body.hypervisors.map((h: { id: string }) => h.id), [hv[0].id]);
    assert.ok(Array.isArray(withServers.body.hypervisors[0].servers));
    assert.equal((await get(`/os-hypervisors/${hv[0].hypervisor_hostname}/search`, '2.53', admin)).status, 404, 'gone from 2.53');
    const stats = (await get('/os-hypervisors/statistics', '2.1', admin)).body.hypervisor_statistics;
    assert.equal(stats.count, 3);
    for (const k of ['free_ram_mb', 'free_disk_gb', 'disk_available_least', 'current_workload']) assert.equal(typeof stats[k], 'number', k);
    assert.equal((await get('/os-hypervisors', '2.53')).status, 403, 'admins only');

    const services21 = (await get('/os-services', '2.1', admin)).body.services;
    assert.ok(services21.every((s: { id: unknown; forced_down?: unknown }) => Number.isInteger(s.id) && !('forced_down' in s)));
    const services = (await get('/os-services', '2.53', admin)).body.services;
    assert.equal(services[0].forced_down, false);
    // 2.53: one update by uuid (404 on that path before), forced_down marks the host down.
    assert.equal((await send('PUT', `/os-services/${services[0].id}`, { forced_down: true }, '2.52', admin)).status, 404);
    const down = await send('PUT', `/os-services/${services[0].id}`, { forced_down: true }, '2.53', admin);
    assert.equal(down.status, 200, down.text);
    assert.equal(down.body.service.forced_down, true);
    assert.equal(down.body.service.state, 'down');
    assert.equal((await get(`/os-hypervisors/${hv.find((h: { hypervisor_hostname: string }) => h.hypervisor_hostname === services[0].host).id}`, '2.53', admin)).body.hypervisor.state, 'down');
    assert.equal((await send('PUT', `/os-services/${services[0].id}`, { disabled_reason: 'x' }, '2.53', admin)).status, 400);
    // 2.11-2.52: the host-named force-down.
    const up = await send('PUT', '/os-services/force-down', { host: services[0].host, binary: 'nova-compute', forced_down: false }, '2.11', admin);
    assert.equal(up.status, 200, up.text);
    assert.equal((await get('/os-services', '2.53', admin)).body.services[0].state, 'up');
    assert.equal((await send('PUT', `/os-services/${services[0].id}`, { status: 'disabled' }, '2.53')).status, 403);
    assert.deepEqual((await get('/os-migrations', '2.1', admin)).body, { migrations: [] });
  });

  it('boots on a requested host from 2.74, for admins only', async () => {
    const hosts = (await get('/os-hypervisors', '2.1', admin)).body.hypervisors.map((h: { hypervisor_hostname: string }) => h.hypervisor_hostname).sort();
    const body = (extra: Record<string, unknown>) => ({ server: { name: 'req', imageRef: imageId, flavorRef: '1', networks: 'none', ...extra } });
    assert.equal((await send('POST', '/servers', body({ host: hosts[2] }), '2.73', admin)).status, 400, 'unknown before 2.74');
    assert.equal((await send('POST', '/servers', body({ host: hosts[2] }), '2.74')).status, 403, 'admins only');
    const unknown = await send('POST', '/servers', body({ host: 'nowhere' }), '2.74', admin);
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.badRequest.message, /Compute host nowhere could not be found/);
    const r = await send('POST', '/servers', body({ hypervisor_hostname: hosts[2] }), '2.74', admin);
    assert.equal(r.status, 202, r.text);
    assert.equal((await active(r.body.server.id))['OS-EXT-SRV-ATTR:host'], hosts[2]);
    await send('DELETE', `/servers/${r.body.server.id}`, undefined, '2.1', admin);
  });

  it('groups hosts into aggregates and availability zones through the openstack CLI, and boots into a zone', async () => {
    const hosts = (await json(['hypervisor', 'list'], 'hafen-admin')).map((h: { 'Hypervisor Hostname': string }) => h['Hypervisor Hostname']).sort();
    const agg = await json(['aggregate', 'create', '--zone', 'az-fast', 'fast'], 'hafen-admin');
    assert.equal(agg.availability_zone, 'az-fast');
    await os(['aggregate', 'add', 'host', 'fast', hosts[1]], 'hafen-admin');
    await os(['aggregate', 'set', '--property', 'ssd=true', 'fast'], 'hafen-admin');
    const shown = await json(['aggregate', 'show', 'fast'], 'hafen-admin');
    assert.deepEqual(shown.hosts, [hosts[1]]);
    assert.equal(shown.properties.ssd, 'true');
    assert.match(JSON.stringify(await json(['aggregate', 'list'], 'hafen-admin')), /"fast"/);
    await assert.rejects(os(['aggregate', 'add', 'host', 'fast', 'no-such-host'], 'hafen-admin'), /404|could not be found/i);
    await assert.rejects(os(['aggregate', 'list']), /403|not authorized|disallowed/i);
    await assert.rejects(os(['aggregate', 'create', 'fast'], 'hafen-admin'), /409|already exists/i);
    const zones = (await json(['availability', 'zone', 'list', '--compute'])).map((z: { 'Zone Name': string }) => z['Zone Name']);
    assert.ok(zones.includes('az-fast') && zones.includes('nova'), JSON.stringify(zones));

    // `--nic none` is a 2.37 body (networks: "none"), which the CLI's novaclient then sends.
    const s = await json(['--os-compute-api-version', '2.37', 'server', 'create', '--image', 'bb', '--flavor', 'm1.tiny', '--nic', 'none', '--availability-zone', 'az-fast', 'zoned']);
    const placed = await active(s.id);
    assert.equal(placed['OS-EXT-SRV-ATTR:host'], hosts[1]);
    assert.equal(placed['OS-EXT-AZ:availability_zone'], 'az-fast');
    await os(['server', 'delete', '--wait', 'zoned']);

    await assert.rejects(os(['aggregate', 'delete', 'fast'], 'hafen-admin'), /400|still has hosts/i);
    await os(['aggregate', 'remove', 'host', 'fast', hosts[1]], 'hafen-admin');
    assert.ok(!(await json(['availability', 'zone', 'list', '--compute'])).some((z: { 'Zone Name': string }) => z['Zone Name'] === 'az-fast'), 'the zone left with its last host');
    await os(['aggregate', 'delete', 'fast'], 'hafen-admin');
    assert.deepEqual(await json(['aggregate', 'list'], 'hafen-admin'), []);
  });

  it('gives projects private flavors (os-flavor-access) and refuses them to others', async () => {
    await os(['flavor', 'create', '--private', '--ram', '64', '--vcpus', '1', '--disk', '1', 'secret.tiny'], 'hafen-admin');
    const flavorId = (await json(['flavor', 'show', 'secret.tiny'], 'hafen-admin')).id as string;
    const boot = () => send('POST', '/servers', { server: { name: 'p', imageRef: imageId, flavorRef: flavorId, networks: 'none' } });
    const refused = await boot();
    assert.equal(refused.status, 400, 'a private flavor without access');
    assert.ok(!(await json(['flavor', 'list'])).some((f: { Name: string }) => f.Name === 'secret.tiny'));
    await os(['flavor', 'set', '--project', 'demo', 'secret.tiny'], 'hafen-admin');
    const access = await json(['flavor', 'show', 'secret.tiny'], 'hafen-admin');
    assert.equal(access.access_project_ids.length, 1);
    assert.ok((await json(['flavor', 'list'])).some((f: { Name: string }) => f.Name === 'secret.tiny'), 'listed for the project given access');
    const booted = await boot();
    assert.equal(booted.status, 202, booted.text);
    await active(booted.body.server.id);
    await send('DELETE', `/servers/${booted.body.server.id}`, undefined);
    // 2.7: access to a public flavor is a conflict.
    assert.equal((await send('POST', '/flavors/1/action', { addTenantAccess: { tenant: 'x' } }, '2.7', admin)).status, 409);
    assert.equal((await send('POST', `/flavors/${flavorId}/action`, { addTenantAccess: { tenant: 'x' } }, '2.7')).status, 403, 'admins only');
    await os(['flavor', 'unset', '--project', 'demo', 'secret.tiny'], 'hafen-admin');
    assert.equal((await boot()).status, 400, 'access removed');
    // 2.55 descriptions and 2.61 extra specs in the flavor.
    assert.ok(!('description' in (await get(`/flavors/${flavorId}`, '2.54', admin)).body.flavor));
    const described = await send('PUT', `/flavors/${flavorId}`, { flavor: { description: 'small and secret' } }, '2.55', admin);
    assert.equal(described.status, 200, described.text);
    assert.equal(described.body.flavor.description, 'small and secret');
    assert.deepEqual((await get(`/flavors/${flavorId}`, '2.61', admin)).body.flavor.extra_specs, {});
    await os(['flavor', 'delete', 'secret.tiny'], 'hafen-admin');
  });

  it('forces compute services down and up, and disables them, through the openstack CLI', async () => {
    const [svc] = await json(['compute', 'service', 'list'], 'hafen-admin');
    await os(['compute', 'service', 'set', '--down', svc.Host, 'nova-compute'], 'hafen-admin');
    const down = (await json(['compute', 'service', 'list', '--long'], 'hafen-admin')).find((s: { Host: string }) => s.Host === svc.Host);
    assert.equal(down.State, 'down');
    assert.equal(down['Forced Down'], true);
    await os(['compute', 'service', 'set', '--up', svc.Host, 'nova-compute'], 'hafen-admin');
    await os(['compute', 'service', 'set', '--disable', '--disable-reason', 'maintenance', svc.Host, 'nova-compute'], 'hafen-admin');
    const disabled = (await json(['compute', 'service', 'list', '--long'], 'hafen-admin')).find((s: { Host: string }) => s.Host === svc.Host);
    assert.equal(disabled.Status, 'disabled');
    assert.equal(disabled['Disabled Reason'], 'maintenance');
    assert.equal(disabled.State, 'up');
    await os(['compute', 'service', 'set', '--enable', svc.Host, 'nova-compute'], 'hafen-admin');
  });
});
