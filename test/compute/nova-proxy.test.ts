// Nova's proxy APIs (os-networks, os-tenant-networks, os-security-groups, os-floating-ips, images) below
// 2.36 and 404 from it, the floating IP actions until 2.44, the removed APIs' 410, and limits by
// version, on a cloud of fake hosts over HTTP; another project's tries answer 404 and change nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { waitFor } from '../helpers/compute.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { novaCalls } from '../helpers/nova.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

describe("Nova's proxy APIs", () => {
  let t: TestCloud;
  let demo: string;
  let admin: string;
  let other: { projectId: string; token: string };
  let netId: string;
  let serverId: string;
  let imageId: string;
  const { get, send } = novaCalls({ cloud: () => t, token: () => demo, admin: () => admin, version: '2.1' });
  const neutron = (method: string, path: string, body?: unknown, token = demo) => t.request(method, `/network/v2.0${path}`, { token, body });

  before(async () => {
    t = await startTestCloud('nova-proxy', { HAFEN_FAKE_HOSTS: '1' });
    demo = await t.token('demo');
    admin = await t.token('admin');
    other = await memberOfNewProject(t, 'proxy-other');
    const net = await neutron('POST', '/networks', { network: { name: 'proxnet' } });
    assert.equal(net.status, 201, net.text);
    netId = net.body.network.id;
    const sub = await neutron('POST', '/subnets', { subnet: { network_id: netId, cidr: '10.61.0.0/24', ip_version: 4 } });
    assert.equal(sub.status, 201, sub.text);
    const pub = (await neutron('GET', '/networks?name=public')).body.networks[0];
    const router = await neutron('POST', '/routers', { router: { name: 'proxr', external_gateway_info: { network_id: pub.id } } });
    assert.equal(router.status, 201, router.text);
    assert.equal((await neutron('PUT', `/routers/${router.body.router.id}/add_router_interface`, { subnet_id: sub.body.subnet.id })).status, 200);
    const img = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'proxy-img', container_format: 'docker', disk_format: 'raw', min_ram: 16, os_distro: 'busybox' } });
    imageId = img.body.id;
    const up = await t.request('PUT', `/image/v2/images/${imageId}/file`, { token: demo, body: busyboxDockerArchive({ cmd: ['sleep', '3600'] }), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204);
    const s = await send('POST', '/servers', { server: { name: 'px', imageRef: imageId, flavorRef: '1', networks: [{ uuid: netId }] } });
    assert.equal(s.status, 202, s.text);
    serverId = s.body.server.id;
    await waitFor('px ACTIVE', async () => {
      const b = (await get(`/servers/${serverId}`)).body.server;
      if (b.status === 'ERROR') throw new Error(JSON.stringify(b.fault));
      return b.status === 'ACTIVE' ? b : undefined;
    });
  });
  after(async () => t?.close());

  it('renders networks in the nova-network shape, answers 410 for nova-network calls and 404 from 2.36', async () => {
    const list = await get('/os-networks');
    assert.equal(list.status, 200, list.text);
    const mine = list.body.networks.find((n: { id: string }) => n.id === netId);
    assert.deepEqual(Object.keys(mine).sort(), ['broadcast', 'cidr', 'cidr_v6', 'dns1', 'dns2', 'gateway', 'gateway_v6', 'id', 'label', 'netmask', 'netmask_v6']);
    assert.equal(mine.label, 'proxnet');
    assert.equal(mine.cidr, null);
    const asAdmin = await get(`/os-networks/${netId}`, '2.1', admin);
    assert.equal(Object.keys(asAdmin.body.network).length, 32, 'admins see the admin fields too');
    assert.deepEqual((await get(`/os-tenant-networks/${netId}`)).body.network, { id: netId, cidr: 'None', label: 'proxnet' });
    // Another project: the network is unknown; its list does not have it.
    const theirs = await get(`/os-networks/${netId}`, '2.1', other.token);
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.itemNotFound.message, 'Network not found');
    assert.equal((await get(`/os-tenant-networks/${netId}`, '2.1', other.token)).status, 404);
    assert.ok(!(await get('/os-tenant-networks', '2.1', other.token)).body.networks.some((n: { id: string }) => n.id === netId));
    // From 2.36 the proxies are gone (404); nova-network's own calls are 410 at every version.
    assert.equal((await get('/os-networks', '2.36')).status, 404);
    assert.equal((await get('/os-tenant-networks', '2.36')).status, 404);
    for (const v of ['2.1', '2.79']) {
      const created = await send('POST', '/os-networks', { network: { label: 'x' } }, v);
      assert.equal(created.status, 410, created.text);
      assert.equal(created.body.computeFault.code, 410);
      assert.equal((await send('DELETE', `/os-networks/${netId}`, undefined, v)).status, 410);
      assert.equal((await send('POST', '/os-networks/add', { id: netId }, v)).status, 410);
      assert.equal((await send('POST', `/os-networks/${netId}/action`, { disassociate: null }, v)).status, 410);
      assert.equal((await send('POST', '/os-tenant-networks', { network: { label: 'x' } }, v)).status, 410);
    }
    assert.equal((await neutron('GET', `/networks/${netId}`)).status, 200, 'nothing was deleted');
  });

  it('manages security groups and rules in Nova shape with Neutron behind', async () => {
    const made = await send('POST', '/os-security-groups', { security_group: { name: 'web', description: 'web tier' } });
    assert.equal(made.status, 200, made.text);
    const g = made.body.security_group;
    assert.deepEqual(Object.keys(g).sort(), ['description', 'id', 'name', 'rules', 'tenant_id']);
    const rule = await send('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 80, to_port: 81, cidr: '10.0.0.0/8' } });
    assert.equal(rule.status, 200, rule.text);
    assert.deepEqual(rule.body.security_group_rule, { id: rule.body.security_group_rule.id, parent_group_id: g.id, ip_protocol: 'tcp', from_port: 80, to_port: 81, group: {}, ip_range: { cidr: '10.0.0.0/8' } });
    const byGroup = await send('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: g.id, ip_protocol: 'icmp', group_id: g.id } });
    assert.equal(byGroup.status, 200, byGroup.text);
    assert.deepEqual(byGroup.body.security_group_rule.group, { name: 'web', tenant_id: g.tenant_id });
    assert.equal(byGroup.body.security_group_rule.from_port, -1);
    // Nova's checks: a duplicate, a bad range, an unknown protocol, too little to build a rule.
    const dup = await send('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 80, to_port: 81, cidr: '10.0.0.0/8' } });
    assert.equal(dup.status, 400);
    assert.match(dup.body.badRequest.message, /already exists/);
    assert.match((await send('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 90, to_port: 80 } })).body.badRequest.message, /Former value cannot be greater/);
    assert.match((await send('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: g.id, ip_protocol: 'gre', from_port: 1, to_port: 2 } })).body.badRequest.message, /Invalid IP protocol gre/);
    assert.match((await send('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: g.id } })).body.badRequest.message, /Not enough parameters/);
    const shown = (await get(`/os-security-groups/${g.id}`)).body.security_group;
    assert.equal(shown.rules.length, 2, JSON.stringify(shown));
    const updated = await send('PUT', `/os-security-groups/${g.id}`, { security_group: { name: 'web2', description: 'renamed' } });
    assert.equal(updated.status, 200, updated.text);
    assert.equal((await neutron('GET', `/security-groups/${g.id}`)).body.security_group.name, 'web2');
    const names = (await get('/os-security-groups')).body.security_groups.map((x: { name: string }) => x.name);
    assert.deepEqual(names, ['default', 'web2']);
    assert.equal((await get(`/os-security-groups/not-a-uuid`)).status, 400);

    // The server's groups (every version).
    const sg = await get(`/servers/${serverId}/os-security-groups`, '2.79');
    assert.equal(sg.status, 200, sg.text);
    assert.deepEqual(sg.body.security_groups.map((x: { name: string }) => x.name), ['default']);
    assert.equal((await get(`/servers/${serverId}/os-security-groups`, '2.79', other.token)).status, 404);

    // Another project: every call on demo's group and rule is 404, and nothing changes.
    const o = other.token;
    assert.equal((await get(`/os-security-groups/${g.id}`, '2.1', o)).status, 404);
    assert.equal((await send('PUT', `/os-security-groups/${g.id}`, { security_group: { name: 'x', description: '' } }, '2.1', o)).status, 404);
    assert.equal((await send('DELETE', `/os-security-groups/${g.id}`, undefined, '2.1', o)).status, 404);
    assert.equal((await send('POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 1, to_port: 2 } }, '2.1', o)).status, 404);
    assert.equal((await send('DELETE', `/os-security-group-rules/${rule.body.security_group_rule.id}`, undefined, '2.1', o)).status, 404);
    assert.ok(!(await get('/os-security-groups', '2.1', o)).body.security_groups.some((x: { id: string }) => x.id === g.id));
    assert.equal((await get(`/os-security-groups/${g.id}`)).body.security_group.rules.length, 2);

    assert.equal((await get('/os-security-groups', '2.36')).status, 404);
    assert.equal((await send('DELETE', `/os-security-group-rules/${rule.body.security_group_rule.id}`, undefined)).status, 202);
    assert.equal((await send('DELETE', `/os-security-groups/${g.id}`, undefined)).status, 202);
    assert.equal((await neutron('GET', `/security-groups/${g.id}`)).status, 404);
  });

  it('adds a security group to a server\'s ports and removes it (addSecurityGroup, every version), through the openstack CLI', async () => {
    const group = (await neutron('POST', '/security-groups', { security_group: { name: 'extra' } })).body.security_group;
    const portGroups = async () => (await neutron('GET', `/ports?device_id=${serverId}`)).body.ports[0].security_groups.slice().sort();
    await t.openstack(['server', 'add', 'security', 'group', serverId, 'extra']);
    const defaultId = (await neutron('GET', '/security-groups?name=default')).body.security_groups[0].id;
    assert.deepEqual(await portGroups(), [defaultId, group.id].sort());
    // Adding it again changes nothing; a group the project lacks is 404.
    assert.equal((await send('POST', `/servers/${serverId}/action`, { addSecurityGroup: { name: 'extra' } }, '2.79')).status, 202);
    const missing = await send('POST', `/servers/${serverId}/action`, { addSecurityGroup: { name: 'nope' } });
    assert.equal(missing.status, 404, missing.text);
    assert.match(missing.body.itemNotFound.message, /Security group nope not found/);
    // Another project: its own group of the same name cannot go on demo's server, nor demo's on its.
    const theirs = (await neutron('POST', '/security-groups', { security_group: { name: 'extra' } }, other.token)).body.security_group;
    assert.equal((await send('POST', `/servers/${serverId}/action`, { addSecurityGroup: { name: theirs.id } }, '2.1', other.token)).status, 404);
    assert.equal((await send('POST', `/servers/${serverId}/action`, { removeSecurityGroup: { name: 'extra' } }, '2.1', other.token)).status, 404);
    assert.equal((await send('POST', `/servers/${serverId}/action`, { addSecurityGroup: { name: theirs.id } })).status, 404);
    assert.deepEqual(await portGroups(), [defaultId, group.id].sort());
    await t.openstack(['server', 'remove', 'security', 'group', serverId, 'extra']);
    assert.deepEqual(await portGroups(), [defaultId]);
    const notThere = await send('POST', `/servers/${serverId}/action`, { removeSecurityGroup: { name: 'extra' } });
    assert.equal(notThere.status, 400, notThere.text);
    assert.match(notThere.body.badRequest.message, /not associated with the instance/);
    assert.equal((await neutron('DELETE', `/security-groups/${group.id}`)).status, 204);
  });

  it('allocates, associates, disassociates and releases floating IPs', async () => {
    assert.deepEqual((await get('/os-floating-ip-pools')).body.floating_ip_pools, [{ name: 'public' }]);
    assert.equal((await send('POST', '/os-floating-ips', { pool: 'nope' })).status, 404);
    const made = await send('POST', '/os-floating-ips', {});
    assert.equal(made.status, 200, made.text);
    const f = made.body.floating_ip;
    assert.deepEqual({ ...f, id: 'x', ip: 'x' }, { id: 'x', ip: 'x', pool: 'public', fixed_ip: null, instance_id: null });
    // Another project cannot see, release or use it.
    const o = other.token;
    assert.equal((await get(`/os-floating-ips/${f.id}`, '2.1', o)).status, 404);
    assert.equal((await send('DELETE', `/os-floating-ips/${f.id}`, undefined, '2.1', o)).status, 404);
    assert.deepEqual((await get('/os-floating-ips', '2.1', o)).body.floating_ips, []);
    assert.equal((await send('POST', `/servers/${serverId}/action`, { addFloatingIp: { address: f.ip } }, '2.1', o)).status, 404);

    const add = await send('POST', `/servers/${serverId}/action`, { addFloatingIp: { address: f.ip } });
    assert.equal(add.status, 202, add.text);
    const shown = (await get(`/os-floating-ips/${f.id}`)).body.floating_ip;
    assert.equal(shown.instance_id, serverId);
    assert.match(shown.fixed_ip, /^10\.61\.0\./);
    assert.equal((await send('POST', `/servers/${serverId}/action`, { removeFloatingIp: { address: f.ip } }, '2.1', o)).status, 404);
    assert.equal((await get(`/os-floating-ips/${f.id}`)).body.floating_ip.instance_id, serverId, 'still associated');
    assert.equal((await send('POST', `/servers/${serverId}/action`, { removeFloatingIp: { address: f.ip } }, '2.44')).status, 404, 'gone from 2.44');
    assert.equal((await send('POST', `/servers/${serverId}/action`, { removeFloatingIp: { address: f.ip } }, '2.43')).status, 202);
    const again = await send('POST', `/servers/${serverId}/action`, { removeFloatingIp: { address: f.ip } });
    assert.equal(again.status, 409);
    assert.match(again.body.conflictingRequest.message, /is not associated with instance/);
    assert.equal((await send('POST', `/servers/${serverId}/action`, { addFloatingIp: { address: f.ip, fixed_address: '10.9.9.9' } })).status, 400);
    assert.equal((await get('/os-floating-ips', '2.36')).status, 404);
    assert.equal((await send('DELETE', `/os-floating-ips/${f.id}`, undefined)).status, 202);
    assert.equal((await neutron('GET', `/floatingips/${f.id}`)).status, 404);
  });

  it('shows Glance images in Nova shape with their metadata, and another project sees none of it', async () => {
    const list = await get('/images');
    assert.equal(list.status, 200, list.text);
    const basic = list.body.images.find((i: { id: string }) => i.id === imageId);
    assert.deepEqual(Object.keys(basic).sort(), ['id', 'links', 'name']);
    assert.equal(basic.links[2].type, 'application/vnd.openstack.image');
    const detail = (await get(`/images/${imageId}`)).body.image;
    assert.equal(detail.status, 'ACTIVE');
    assert.equal(detail.progress, 100);
    assert.equal(detail.minRam, 16);
    assert.equal(detail.minDisk, 0);
    assert.equal(detail.metadata.os_distro, 'busybox');
    assert.match(detail.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual((await get('/images/detail?name=proxy-img')).body.images.map((i: { id: string }) => i.id), [imageId]);
    const paged = await get('/images?limit=1');
    assert.equal(paged.body.images.length, 1);
    assert.match(paged.body.images_links[0].href, /marker=/);

    assert.equal((await send('POST', `/images/${imageId}/metadata`, { metadata: { tier: 'web' } })).body.metadata.tier, 'web');
    assert.deepEqual((await get(`/images/${imageId}/metadata/tier`)).body, { meta: { tier: 'web' } });
    assert.equal((await send('PUT', `/images/${imageId}/metadata/tier`, { meta: { tier: 'db' } })).status, 200);
    assert.equal((await send('PUT', `/images/${imageId}/metadata/tier`, { meta: { other: 'db' } })).status, 400);
    assert.equal((await t.request('GET', `/image/v2/images/${imageId}`, { token: demo })).body.tier, 'db');
    assert.deepEqual((await send('PUT', `/images/${imageId}/metadata`, { metadata: { only: '1' } }, '2.38')).body.metadata, { only: '1' });
    assert.deepEqual((await get(`/images/${imageId}/metadata`)).body.metadata, { only: '1' });
    assert.equal((await get(`/images/${imageId}/metadata`, '2.39')).status, 404);
    assert.equal((await send('DELETE', `/images/${imageId}/metadata/nope`, undefined)).status, 404);
    assert.equal((await send('DELETE', `/images/${imageId}/metadata/only`, undefined)).status, 204);

    // Another project: demo's private image is unknown on every path, and nothing changes.
    const o = other.token;
    assert.equal((await get(`/images/${imageId}`, '2.1', o)).status, 404);
    assert.equal((await get(`/images/${imageId}/metadata`, '2.1', o)).status, 404);
    assert.equal((await send('POST', `/images/${imageId}/metadata`, { metadata: { x: 'y' } }, '2.1', o)).status, 404);
    assert.equal((await send('DELETE', `/images/${imageId}`, undefined, '2.1', o)).status, 404);
    assert.ok(!(await get('/images', '2.1', o)).body.images.some((i: { id: string }) => i.id === imageId));
    // The public busybox image: visible to all, deleted by its owner only (Glance's 403 in Nova's words).
    const busybox = (await get('/images?name=busybox', '2.1', o)).body.images[0];
    if (busybox) assert.equal((await send('DELETE', `/images/${busybox.id}`, undefined, '2.1', o)).status, 403);

    assert.equal((await get('/images', '2.36')).status, 404);
    assert.equal((await t.request('GET', `/image/v2/images/${imageId}`, { token: demo })).status, 200);
  });

  it('serves openstacksdk compute proxy calls at 2.1: images, image metadata, a server\'s groups, floating IP actions', async () => {
    const f = (await send('POST', '/os-floating-ips', { pool: 'public' })).body.floating_ip;
    const c = t.cloud.identity.credentials.demo;
    const script = path.join(import.meta.dirname, 'python', 'nova_proxy_sdk.py');
    // Debian's python3 carries python3-openstacksdk; another python3 earlier on PATH may not.
    const { stdout } = await exec('/usr/bin/python3', [script, `${t.url}/identity/v3`, c.username, c.password, c.project, serverId, imageId, f.ip], {
      timeout: 120_000,
      env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`python failed: ${err.stderr || err.message}`);
    });
    const out = JSON.parse(stdout);
    assert.ok(out.image_ids.includes(imageId));
    assert.equal(out.min_ram, 16);
    assert.equal(out.metadata.sdk, 'yes');
    assert.equal(out.metadata_after.sdk, undefined);
    assert.deepEqual(out.groups, ['default']);
    assert.ok(out.addresses.includes(f.ip), JSON.stringify(out.addresses));
    assert.equal((await get(`/os-floating-ips/${f.id}`)).body.floating_ip.instance_id, null, 'removed again');
    assert.equal((await send('DELETE', `/os-floating-ips/${f.id}`, undefined)).status, 202);
  });

  it('answers the removed APIs with 410 and the proxies to absent services as Nova does without them', async () => {
    for (const [m, p] of [['GET', '/os-fping'], ['GET', '/os-cells'], ['GET', '/os-floating-ips-bulk'], ['GET', '/os-floating-ip-dns'], ['GET', '/os-security-group-default-rules'], ['GET', '/os-fixed-ips/1.2.3.4'], ['POST', '/os-cells'], ['GET', '/os-agents'], [
      'GET', `/servers/${serverId}/os-virtual-interfaces`]] as const) {
      const r = await send(m, p, m === 'POST' ? {} : undefined, '2.1', admin);
      assert.equal(r.status, 410, `${m} ${p}: ${r.text}`);
      assert.equal(r.body.computeFault.message, 'This resource is no longer available.  No forwarding address is given.');
    }
    assert.equal((await get('/os-baremetal-nodes', '2.1', admin)).status, 501);
    assert.equal((await get('/os-baremetal-nodes', '2.1')).status, 403);
    assert.equal((await get('/os-baremetal-nodes', '2.36', admin)).status, 404);
    assert.deepEqual((await get('/os-volumes')).body, { volumes: [] });
    assert.equal((await get('/os-snapshots/abc')).status, 404);
    assert.equal((await get('/os-volumes', '2.36')).status, 404);
  });

  it("serves os-volumes_boot as Nova's old name of /servers: list, create, show, update, action, delete, and another project's 404", async () => {
    const listed = (await get('/os-volumes_boot')).body.servers.map((s: { id: string }) => s.id);
    assert.ok(listed.includes(serverId), JSON.stringify(listed));
    assert.ok((await get('/os-volumes_boot/detail')).body.servers.some((s: { id: string; status: string }) => s.id === serverId && s.status === 'ACTIVE'));
    const made = await send('POST', '/os-volumes_boot', { server: { name: 'vb', imageRef: imageId, flavorRef: '1', networks: 'none' } }, '2.37');
    assert.equal(made.status, 202, made.text);
    const id = made.body.server.id as string;
    await waitFor('vb ACTIVE', async () => ((await get(`/os-volumes_boot/${id}`)).body.server.status === 'ACTIVE' ? true : undefined));
    assert.equal((await send('PUT', `/os-volumes_boot/${id}`, { server: { name: 'vb2' } })).body.server.name, 'vb2');
    assert.equal((await get(`/servers/${id}`)).body.server.name, 'vb2');
    assert.equal((await send('POST', `/os-volumes_boot/${id}/action`, { 'os-stop': null })).status, 202);
    await waitFor('vb SHUTOFF', async () => ((await get(`/servers/${id}`)).body.server.status === 'SHUTOFF' ? true : undefined));
    // The same tenancy as /servers: another project's token finds nothing under this name either.
    assert.equal((await get(`/os-volumes_boot/${id}`, '2.1', other.token)).status, 404);
    assert.equal((await send('DELETE', `/os-volumes_boot/${id}`, undefined, '2.1', other.token)).status, 404);
    assert.ok(!(await get('/os-volumes_boot', '2.1', other.token)).body.servers.some((s: { id: string }) => s.id === id));
    // Bad input is refused with the servers' own schema.
    const bad = await send('POST', '/os-volumes_boot', { server: { name: 'x' } });
    assert.equal(bad.status, 400, bad.text);
    assert.ok(bad.body.badRequest.message);
    assert.equal((await send('DELETE', `/os-volumes_boot/${id}`, undefined)).status, 204);
    await waitFor('vb gone', async () => ((await get(`/servers/${id}`)).status === 404 ? true : undefined));
    // Only the routes Nova aliases: a server's sub-resources are not served under the old name.
    assert.equal((await get(`/os-volumes_boot/${serverId}/metadata`)).status, 404);
  });

  it('shows the network limits until 2.36, maxImageMeta until 2.39 and the personality limits until 2.57', async () => {
    const l1 = (await get('/limits')).body.limits.absolute;
    for (const k of ['maxTotalFloatingIps', 'maxSecurityGroups', 'maxSecurityGroupRules', 'totalFloatingIpsUsed', 'totalSecurityGroupsUsed', 'maxImageMeta', 'maxPersonality']) assert.ok(k in l1, k);
    const l36 = (await get('/limits', '2.36')).body.limits.absolute;
    for (const k of ['maxTotalFloatingIps', 'maxSecurityGroups', 'maxSecurityGroupRules', 'totalFloatingIpsUsed', 'totalSecurityGroupsUsed']) assert.ok(!(k in l36), k);
    assert.ok('maxImageMeta' in l36);
    assert.ok(!('maxImageMeta' in (await get('/limits', '2.39')).body.limits.absolute));
    const l57 = (await get('/limits', '2.57')).body.limits.absolute;
    assert.ok(!('maxPersonality' in l57) && !('maxPersonalitySize' in l57));
    // Through the openstack CLI (novaclient at 2.1).
    const cli = JSON.parse(await t.openstack(['limits', 'show', '--absolute', '-f', 'json']));
    assert.ok(cli.some((r: { Name: string }) => r.Name === 'maxTotalFloatingIps'), JSON.stringify(cli));
  });
});
