// A detail list keeps each server's rendered view by the row's revision: what it answers must be what
// show answers, at every microversion and for every caller, after each kind of change (the row's,
// the tags', the network's, the host's), with text users gave in any script. Fake hosts, real SQLite.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { waitFor } from '../helpers/compute.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { serverDetails } from '../../src/compute/views.ts';
import { atLeast } from '../../src/platform/http/microversion.ts';
import type { FastifyRequest } from 'fastify';

const C = '/compute/v2.1';
const VERSIONS = ['2.1', '2.3', '2.16', '2.26', '2.47', '2.73', '2.79'];
const SHOW_VERSIONS = [...VERSIONS, '2.70', '2.71'];

describe('server detail lists kept by revision', () => {
  let t: TestCloud;
  let demo: string;
  let admin: string;
  let networkId: string;
  const ids: string[] = [];
  const at = (v: string) => ({ 'openstack-api-version': `compute ${v}` });
  const list = async (token: string, v: string, query = '') => {
    const r = await t.request('GET', `${C}/servers/detail${query}`, { token, headers: at(v) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/json');
    return r.body as { servers: Record<string, unknown>[]; servers_links?: { rel: string; href: string }[] };
  };
  /** Show's view of the server, less what only show answers (its groups, 2.71). */
  const shown = async (token: string, v: string, id: string) => {
    const r = await t.request('GET', `${C}/servers/${id}`, { token, headers: at(v) });
    assert.equal(r.status, 200, r.text);
    const { server_groups: _groups, ...rest } = r.body.server as Record<string, unknown>;
    return rest;
  };
  /** Every listed server (of `token`'s listing) equals its show at every version. */
  const sameAsShow = async (token: string, query = '') => {
    for (const v of VERSIONS) {
      const page = await list(token, v, query);
      assert.ok(page.servers.length > 0);
      for (const s of page.servers) assert.deepEqual(s, await shown(token, v, s.id as string), `${v} ${s.id}`);
    }
  };
  const byId = (page: { servers: Record<string, unknown>[] }, id: string) => page.servers.find((s) => s.id === id)!;

  before(async () => {
    t = await startTestCloud('server-list-views', { HAFEN_FAKE_HOSTS: '3' });
    demo = await t.token('demo');
    admin = await t.token('admin');
    const img = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'bb', container_format: 'docker', disk_format: 'raw' } });
    const archive = path.join(t.dataDir, 'bb.tar');
    fs.writeFileSync(archive, busyboxDockerArchive({ cmd: ['sleep', '3600'] }));
    assert.equal((await t.request('PUT', `/image/v2/images/${img.body.id}/file`, { token: demo, body: fs.readFileSync(archive), headers: { 'content-type': 'application/octet-stream' } })).status, 204);
    const net = await t.request('POST', '/network/v2.0/networks', { token: demo, body: { network: { name: 'views-net' } } });
    networkId = net.body.network.id;
    assert.equal((await t.request('POST', '/network/v2.0/subnets', { token: demo, body: { subnet: { network_id: networkId, ip_version: 4, cidr: '10.77.0.0/24' } } })).status, 201);
    // Names with quotes, backslashes and characters of several bytes in UTF-8.
    for (const name of ['plain', 'qu"ote\\d', 'grüße ☃ 𝄞']) {
      const r = await t.request('POST', `${C}/servers`, { token: demo, body: { server: { name, imageRef: img.body.id, flavorRef: '1', networks: [{ uuid: networkId }], metadata: { note: 'ünïcode "x"' } } } });
      assert.equal(r.status, 202, r.text);
      ids.push(r.body.server.id);
    }
    const none = await t.request('POST', `${C}/servers`, { token: demo, body: { server: { name: 'no-net', imageRef: img.body.id, flavorRef: '1', networks: 'none' } } });
    assert.equal(none.status, 202, none.text);
    ids.push(none.body.server.id);
    await waitFor('servers ACTIVE', async () => ((await list(demo, '2.1')).servers.every((s) => s.status === 'ACTIVE') ? true : undefined));
  });
  after(async () => t.close());

  it('answers what show answers, at every version, for the owner and for an admin', async () => {
    await sameAsShow(demo);
    await sameAsShow(admin, '?all_tenants=1');
    // The admin's view (host attributes) stays the admin's.
    const mine = await list(demo, '2.79');
    assert.equal(mine.servers.length, 4);
    for (const s of mine.servers) assert.equal(s['OS-EXT-SRV-ATTR:host'], undefined);
    const all = await list(admin, '2.79', '?all_tenants=1');
    assert.ok(all.servers.every((s) => typeof s['OS-EXT-SRV-ATTR:host'] === 'string' && s.host_status === 'UP'));
    assert.equal(byId(mine, ids[2]!).name, 'grüße ☃ 𝄞');
    assert.equal(byId(mine, ids[1]!).name, 'qu"ote\\d');
    // Another project lists none of them.
    const other = await memberOfNewProject(t, 'views-other');
    assert.deepEqual((await list(other.token, '2.79')).servers, []);
  });

  it('follows changes of the row, its tags, its network and its host', async () => {
    const id = ids[0]!;
    await list(demo, '2.79');
    assert.equal((await t.request('PUT', `${C}/servers/${id}`, { token: demo, body: { server: { name: 'renamed ☃' } } })).status, 200);
    assert.equal(byId(await list(demo, '2.79'), id).name, 'renamed ☃');
    assert.equal((await t.request('POST', `${C}/servers/${id}/metadata`, { token: demo, body: { metadata: { k: 'v' } } })).status, 200);
    assert.deepEqual(byId(await list(demo, '2.1'), id).metadata, { note: 'ünïcode "x"', k: 'v' });
    assert.equal((await t.request('PUT', `${C}/servers/${id}/tags/blue`, { token: demo, headers: at('2.26') })).status, 201);
    assert.deepEqual(byId(await list(demo, '2.26'), id).tags, ['blue']);
    assert.equal((await t.request('POST', `${C}/servers/${id}/action`, { token: demo, body: { 'os-stop': null } })).status, 202);
    await waitFor('stopped', async () => (byId(await list(demo, '2.79'), id).status === 'SHUTOFF' ? true : undefined));
    // The network's name is the addresses' key: read live, not kept with the view.
    assert.equal((await t.request('PUT', `/network/v2.0/networks/${networkId}`, { token: demo, body: { network: { name: 'renamed-net' } } })).status, 200);
    for (const s of (await list(demo, '2.1')).servers) if (s.id !== ids[3]) assert.deepEqual(Object.keys(s.addresses as object), ['renamed-net']);
    // A host put into maintenance shows so to admins at once.
    const host = byId(await list(admin, '2.79', '?all_tenants=1'), id)['OS-EXT-SRV-ATTR:host'] as string;
    const service = { host, binary: 'nova-compute' };
    assert.equal((await t.request('PUT', `${C}/os-services/disable`, { token: admin, body: service })).status, 200);
    assert.equal(byId(await list(admin, '2.79', '?all_tenants=1'), id).host_status, 'MAINTENANCE');
    await sameAsShow(demo);
    await sameAsShow(admin, '?all_tenants=1');
    assert.equal((await t.request('PUT', `${C}/os-services/enable`, { token: admin, body: service })).status, 200);
  });

  it('shows each server as its row renders now (kept views too), and another project none', async () => {
    const compute = t.cloud.compute.service;
    const base = `${t.cloud.config.publicUrl}/compute/v2.1`;
    /** Every server shown at every version equals serverDetails() of its row read now, for `token`. */
    const showsRowsAsTheyAre = async (token: string) => {
      const ctx = t.cloud.identity.tokens.validateNow!(token);
      for (const v of SHOW_VERSIONS) {
        const [major, minor] = v.split('.').map(Number);
        const request = { microversion: { major, minor } } as FastifyRequest;
        for (const id of ids) {
          const r = await t.request('GET', `${C}/servers/${id}`, { token, headers: at(v) });
          assert.equal(r.status, 200, r.text);
          assert.equal(r.headers.get('content-type'), 'application/json');
          const row = await compute.server(ctx, id);
          const [fresh] = await serverDetails(compute, ctx, [row], base, (w) => atLeast(request, w), true);
          assert.deepEqual(r.body, JSON.parse(JSON.stringify({ server: fresh })), `${v} ${id}`);
        }
      }
    };
    // Twice: rendered, then from the kept views.
    for (let i = 0; i < 2; i++) {
      await showsRowsAsTheyAre(demo);
      await showsRowsAsTheyAre(admin);
    }
    // In a server group (2.71 shows it), renamed, tagged, stopped and started: each change shows at once.
    const group = await t.request('POST', `${C}/os-server-groups`, { token: demo, body: { server_group: { name: 'views-g', policies: ['affinity'] } } });
    assert.equal(group.status, 200, group.text);
    const img = (await t.request('GET', `${C}/servers/${ids[0]}`, { token: demo })).body.server.image.id as string;
    const grouped = await t.request('POST', `${C}/servers`, { token: demo, body: { server: { name: 'grouped', imageRef: img, flavorRef: '1', networks: 'none' }, 'os:scheduler_hints': { group: group.body.server_group.id } } });
    assert.equal(grouped.status, 202, grouped.text);
    ids.push(grouped.body.server.id);
    await waitFor('grouped ACTIVE', async () => ((await t.request('GET', `${C}/servers/${grouped.body.server.id}`, { token: demo })).body.server.status === 'ACTIVE' ? true : undefined));
    assert.deepEqual((await t.request('GET', `${C}/servers/${grouped.body.server.id}`, { token: demo, headers: at('2.71') })).body.server.server_groups, [group.body.server_group.id]);
    const id = ids[3]!;
    assert.equal((await t.request('PUT', `${C}/servers/${id}`, { token: demo, body: { server: { name: 'shown ☃' } } })).status, 200);
    assert.equal((await t.request('GET', `${C}/servers/${id}`, { token: demo })).body.server.name, 'shown ☃');
    assert.equal((await t.request('PUT', `${C}/servers/${id}`, { token: demo, body: { server: { name: 'no-net' } } })).status, 200);
    assert.equal((await t.request('GET', `${C}/servers/${id}`, { token: demo })).body.server.name, 'no-net');
    assert.equal((await t.request('PUT', `${C}/servers/${id}/tags/green`, { token: demo, headers: at('2.26') })).status, 201);
    assert.deepEqual((await t.request('GET', `${C}/servers/${id}`, { token: demo, headers: at('2.26') })).body.server.tags, ['green']);
    assert.equal((await t.request('POST', `${C}/servers/${id}/action`, { token: demo, body: { 'os-stop': null } })).status, 202);
    await waitFor('stopped', async () => ((await t.request('GET', `${C}/servers/${id}`, { token: demo })).body.server.status === 'SHUTOFF' ? true : undefined));
    await showsRowsAsTheyAre(demo);
    await showsRowsAsTheyAre(admin);
    assert.equal((await t.request('POST', `${C}/servers/${id}/action`, { token: demo, body: { 'os-start': null } })).status, 202);
    await waitFor('started', async () => ((await t.request('GET', `${C}/servers/${id}`, { token: demo })).body.server.status === 'ACTIVE' ? true : undefined));
    // Another project's token: 404 for a server whose view is kept, as for one that does not exist.
    const other = await memberOfNewProject(t, 'views-show-other');
    for (const target of [id, '00000000-0000-0000-0000-000000000000']) {
      const r = await t.request('GET', `${C}/servers/${target}`, { token: other.token });
      assert.equal(r.status, 404, r.text);
      assert.ok(r.body.itemNotFound, r.text);
    }
    // A deleted server is gone from show at once, kept view or not.
    const gone = grouped.body.server.id as string;
    assert.equal((await t.request('DELETE', `${C}/servers/${gone}`, { token: demo })).status, 204);
    await waitFor('deleted', async () => ((await t.request('GET', `${C}/servers/${gone}`, { token: demo })).status === 404 ? true : undefined));
    ids.pop();
  });

  it('pages by marker and filters as before', async () => {
    const first = await list(demo, '2.1', '?limit=2');
    assert.equal(first.servers.length, 2);
    const next = first.servers_links?.find((l) => l.rel === 'next')?.href;
    assert.ok(next && next.includes(`marker=${first.servers[1]!.id}`) && next.includes('limit=2'));
    const second = await list(demo, '2.1', `?limit=2&marker=${first.servers[1]!.id}`);
    assert.equal(second.servers.length, 2);
    assert.deepEqual(new Set([...first.servers, ...second.servers].map((s) => s.id)), new Set(ids));
    const named = await list(demo, '2.1', '?name=^no-');
    assert.deepEqual(named.servers.map((s) => s.id), [ids[3]]);
    assert.deepEqual(named.servers[0], await shown(demo, '2.1', ids[3]!));
    assert.equal((await t.request('GET', `${C}/servers/detail?marker=00000000-0000-0000-0000-000000000000`, { token: demo })).status, 400);
  });

  it("answers serverDetails()' bytes, and a change of a server's addresses on the next list", async () => {
    const compute = t.cloud.compute.service;
    const base = `${t.cloud.config.publicUrl}/compute/v2.1`;
    /** Each version's list body is, byte for byte, the rows listed now rendered by serverDetails(). */
    const sameBytes = async (token: string, query = '') => {
      const ctx = t.cloud.identity.tokens.validateNow!(token);
      for (const v of VERSIONS) {
        const [major, minor] = v.split('.').map(Number);
        const request = { microversion: { major, minor } } as FastifyRequest;
        const at = (w: string) => atLeast(request, w);
        const r = await t.request('GET', `${C}/servers/detail${query}`, { token, headers: { 'openstack-api-version': `compute ${v}` } });
        assert.equal(r.status, 200, r.text);
        const rows = await compute.listing.list(ctx, query ? { all_tenants: '1' } : {}, 'server', at);
        assert.equal(r.text, JSON.stringify({ servers: await serverDetails(compute, ctx, rows, base, at) }), v);
      }
    };
    await sameBytes(demo);
    await sameBytes(admin, '?all_tenants=1');
    const id = ids[1]!;
    const addressesOf = async () => byId(await list(demo, '2.1'), id).addresses as Record<string, { addr: string; 'OS-EXT-IPS:type': string }[]>;
    const [netName] = Object.keys(await addressesOf());
    const port = (await t.request('GET', `/network/v2.0/ports?device_id=${id}`, { token: demo })).body.ports[0] as { id: string; fixed_ips: { subnet_id: string; ip_address: string }[] };
    // A fixed address added to the server's port shows on the next list, and goes again.
    const added = { subnet_id: port.fixed_ips[0]!.subnet_id, ip_address: '10.77.0.201' };
    assert.equal((await t.request('PUT', `/network/v2.0/ports/${port.id}`, { token: demo, body: { port: { fixed_ips: [...port.fixed_ips, added] } } })).status, 200);
    assert.ok((await addressesOf())[netName!]!.some((a) => a.addr === '10.77.0.201'));
    await sameBytes(demo);
    assert.equal((await t.request('PUT', `/network/v2.0/ports/${port.id}`, { token: demo, body: { port: { fixed_ips: port.fixed_ips } } })).status, 200);
    assert.ok(!(await addressesOf())[netName!]!.some((a) => a.addr === '10.77.0.201'));
    // A floating IP associated shows, and is gone on the next list once released.
    const pub = (await t.request('GET', '/network/v2.0/networks?name=public', { token: demo })).body.networks[0];
    const router = await t.request('POST', '/network/v2.0/routers', { token: demo, body: { router: { name: 'views-r', external_gateway_info: { network_id: pub.id } } } });
    assert.equal(router.status, 201, router.text);
    assert.equal((await t.request('PUT', `/network/v2.0/routers/${router.body.router.id}/add_router_interface`, { token: demo, body: { subnet_id: added.subnet_id } })).status, 200);
    const fip = await t.request('POST', '/network/v2.0/floatingips', { token: demo, body: { floatingip: { floating_network_id: pub.id, port_id: port.id } } });
    assert.equal(fip.status, 201, fip.text);
    const floating = (await addressesOf())[netName!]!.filter((a) => a['OS-EXT-IPS:type'] === 'floating');
    assert.deepEqual(floating.map((a) => a.addr), [fip.body.floatingip.floating_ip_address]);
    await sameBytes(demo);
    assert.equal((await t.request('DELETE', `/network/v2.0/floatingips/${fip.body.floatingip.id}`, { token: demo })).status, 204);
    assert.deepEqual((await addressesOf())[netName!]!.filter((a) => a['OS-EXT-IPS:type'] === 'floating'), []);
    await sameBytes(demo);
  });
});
