// Issue 11.3, played as an attacker holding one project's token: a port's device_owner compute:*/
// network:*, device_id and binding:* belong to admins and the services; which ports a server has comes
// from compute's bindings alone. A port that names another project's server (made by a tenant, refused,
// or by an admin, allowed) shows nowhere in that server, opens nothing in its firewall, and a rebuild
// does not plug the server into it. Issue 11.9: a server booted with security groups gets them on its
// port, so a restrictive group keeps its other ports closed. Real engine, the real openstack CLI.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { startComputeCloud } from '../helpers/compute.ts';
import { claimTestSubnet } from '../helpers/subnets.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

describe('port bindings belong to compute (attack)', () => {
  let t: TestCloud;
  let docker: Docker;
  let victim: { id: string; ip: string; port: string };
  let attackerEnv: Record<string, string>;
  const nets: Record<string, string> = {};
  let vCidr: string;
  let aCidr: string;
  let adCidr: string;
  const json = async (args: string[], cloud = 'hafen-demo', env: Record<string, string> = {}) => JSON.parse(await t.openstack([...args, '-f', 'json'], cloud, env));
  const attacker = (args: string[]) => t.openstack(args, '', attackerEnv);
  const attackerJson = (args: string[]) => json(args, '', attackerEnv);
  /** Whether the host gets the victim's page on its fixed address (its firewall admits only its default group). */
  const hostReaches = async (ip: string, port = 80) => {
    try {
      const r = await fetch(`http://${ip}:${port}/`, { signal: AbortSignal.timeout(1500) });
      return (await r.text()).includes('victim-page');
    } catch {
      return false;
    }
  };
  const settle = async () => {
    await new Promise((r) => setTimeout(r, 200));
    await t.cloud.network.dataplane?.settled();
  };
  const engineNetworks = async (serverId: string) => Object.keys((await docker.getContainer(`hafen-${serverId}`).inspect()).NetworkSettings.Networks ?? {}).sort();

  before(async () => {
    // /24s no other test file on the shared engine (or bridge on this machine) holds.
    [vCidr, aCidr, adCidr] = [(await claimTestSubnet()).cidr, (await claimTestSubnet()).cidr, (await claimTestSubnet()).cidr];
    const c = await startComputeCloud('network-bindings');
    t = c.t;
    docker = engineClient(c.socket);
    const tar = path.join(t.dataDir, 'web.tar');
    // httpd on 80 and on 8080: a group that opens 80 alone must keep 8080 closed.
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh', '-c', 'mkdir -p /www && echo victim-page > /www/index.html && httpd -p 8080 -h /www && exec httpd -f -p 80 -h /www'] }));
    await t.openstack(['image', 'create', '--public', '--container-format', 'docker', '--disk-format', 'raw', '--file', tar, 'web'], 'hafen-admin');
    nets.victim = (await json(['network', 'create', 'vnet'])).id;
    await t.openstack(['subnet', 'create', '--network', 'vnet', '--subnet-range', vCidr, 'vnet-sub']);
    const server = await json(['server', 'create', '--image', 'web', '--flavor', 'm1.tiny', '--network', 'vnet', '--wait', 'victim']);
    const ports = await json(['port', 'list', '--server', server.id]);
    assert.equal(ports.length, 1);
    victim = { id: server.id, ip: ports[0]['Fixed IP Addresses'][0].ip_address, port: ports[0].ID };
    await memberOfNewProject(t, 'binder');
    attackerEnv = { OS_CLOUD: '', OS_AUTH_URL: `${t.url}/identity/v3`, OS_USERNAME: 'binder-user', OS_PASSWORD: 'pw-binder-secret', OS_PROJECT_NAME: 'binder', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    nets.attacker = (await attackerJson(['network', 'create', 'anet'])).id;
    await attacker(['subnet', 'create', '--network', 'anet', '--subnet-range', aCidr, 'anet-sub']);
    nets.admin = (await json(['network', 'create', 'adnet'], 'hafen-admin')).id;
    await t.openstack(['subnet', 'create', '--network', 'adnet', '--subnet-range', adCidr, 'adnet-sub'], 'hafen-admin');
    await settle();
  });
  after(async () => {
    for (const s of await json(['server', 'list', '--all-projects'], 'hafen-admin').catch(() => [])) await t.openstack(['server', 'delete', '--wait', s.ID], 'hafen-admin').catch(() => undefined);
    for (const id of Object.values(nets)) await docker.getNetwork(`hafen-net-${id}`).remove().catch(() => undefined);
    await t.close();
  });

  it('the victim serves, and its default group keeps the host out', async () => {
    const exec = await docker.getContainer(`hafen-${victim.id}`).exec({ Cmd: ['sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 127.0.0.1 80'], AttachStdout: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    let out = '';
    await new Promise((r) => stream.on('data', (d: Buffer) => (out += d.toString())).on('end', r).on('close', r));
    assert.match(out, /victim-page/, 'httpd answers inside the victim');
    assert.equal(await hostReaches(victim.ip), false);
  });

  it('a tenant cannot name another project\'s server in a port: create and update answer 403', async () => {
    await assert.rejects(attacker(['port', 'create', '--network', 'anet', '--device-owner', 'compute:nova', '--device', victim.id, '--disable-port-security', 'evil']), /403|disallowed by policy|not authorized/i);
    await assert.rejects(attacker(['port', 'create', '--network', 'anet', '--device-owner', 'network:router_interface', 'evil-router']), /403|disallowed by policy|not authorized/i);
    await assert.rejects(attacker(['port', 'create', '--network', 'anet', '--host', 'anywhere', 'evil-host']), /403|disallowed by policy|not authorized/i);
    const plain = await attackerJson(['port', 'create', '--network', 'anet', '--disable-port-security', 'plain']);
    await assert.rejects(attacker(['port', 'set', '--device-owner', 'compute:nova', '--device', victim.id, plain.id]), /403|disallowed by policy|not authorized/i);
    await assert.rejects(attacker(['port', 'set', '--device', victim.id, plain.id]), /403|disallowed by policy|not authorized/i);
    const shown = await attackerJson(['port', 'show', plain.id]);
    assert.equal(shown.device_id, '');
    assert.equal(shown.device_owner, '');
    // An ordinary device_owner of the tenant's own is fine, as in Neutron.
    const own = await attackerJson(['port', 'create', '--network', 'anet', '--device-owner', 'my:thing', 'owned']);
    assert.equal(own.device_owner, 'my:thing');
    // Nothing of this reached the victim.
    assert.deepEqual(Object.keys((await json(['server', 'show', victim.id])).addresses), ['vnet']);
    await settle();
    assert.equal(await hostReaches(victim.ip), false);
  });

  it('a port whose fields name the server (an admin may write them) is not one of its ports', async () => {
    // The fields alone, written by an admin on the admin's network with port security off.
    const forged = await json(['port', 'create', '--network', 'adnet', '--device-owner', 'compute:nova', '--device', victim.id, '--disable-port-security', 'forged'], 'hafen-admin');
    assert.equal(forged.device_id, victim.id);
    await settle();
    const shown = await json(['server', 'show', victim.id]);
    assert.deepEqual(Object.keys(shown.addresses), ['vnet'], JSON.stringify(shown.addresses));
    const ifs = await t.request('GET', `/compute/v2.1/servers/${victim.id}/os-interface`, { token: await t.token('demo') });
    assert.deepEqual(ifs.body.interfaceAttachments.map((i: { port_id: string }) => i.port_id), [victim.port]);
    assert.equal(await hostReaches(victim.ip), false, 'the forged port\'s accept-all did not replace the victim\'s firewall');
    // A rebuild plugs the server into its own ports alone.
    await t.openstack(['server', 'rebuild', '--image', 'web', '--wait', victim.id]);
    assert.deepEqual(await engineNetworks(victim.id), [`hafen-net-${nets.victim}`]);
    await settle();
    assert.equal(await hostReaches(victim.ip), false);
    await t.openstack(['port', 'delete', forged.id], 'hafen-admin');
  });

  it('a given port must be the server\'s project\'s own', async () => {
    const foreign = await attackerJson(['port', 'create', '--network', 'anet', 'foreign']);
    const r = await t.request('POST', `/compute/v2.1/servers/${victim.id}/os-interface`, { token: await t.token('demo'), body: { interfaceAttachment: { port_id: foreign.id } } });
    assert.equal(r.status, 404, r.text);
    const admin = await t.request('POST', `/compute/v2.1/servers/${victim.id}/os-interface`, { token: await t.token('admin'), body: { interfaceAttachment: { port_id: foreign.id } } });
    assert.ok(admin.status >= 400, `an admin cannot bind another project's port to the server either: ${admin.status} ${admin.text}`);
    assert.equal((await attackerJson(['port', 'show', foreign.id])).device_id, '');
    assert.deepEqual(await engineNetworks(victim.id), [`hafen-net-${nets.victim}`]);
  });

  it('boots a server with the security groups it asks for: a group opening port 80 leaves 8080 closed (11.9)', async () => {
    await t.openstack(['security', 'group', 'create', 'web-only']);
    await t.openstack(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '80', '--remote-ip', '0.0.0.0/0', 'web-only']);
    const group = await json(['security', 'group', 'show', 'web-only']);
    const server = await json(['server', 'create', '--image', 'web', '--flavor', 'm1.tiny', '--network', 'vnet', '--security-group', 'web-only', '--wait', 'web']);
    const [port] = await json(['port', 'list', '--server', server.id, '--long']);
    const shown = await json(['port', 'show', port.ID]);
    assert.deepEqual(shown.security_group_ids ?? shown.security_groups, [group.id], 'the port carries the group asked for, not default');
    const ip = shown.fixed_ips[0].ip_address;
    await settle();
    for (let i = 0; i < 20 && !(await hostReaches(ip)); i++) await settle();
    assert.equal(await hostReaches(ip), true, 'port 80 is open to everyone');
    assert.equal(await hostReaches(ip, 8080), false, 'port 8080 is not');
    // The victim, booted with the default group, stays closed to the host on both.
    assert.equal(await hostReaches(victim.ip, 8080), false);
    const unknown = await t.request('POST', '/compute/v2.1/servers', { token: await t.token('demo'), body: { server: { name: 'nogroup', imageRef: (await json(['image', 'show', 'web'])).id, flavorRef: '1', networks: [{ uuid: nets.victim }], security_groups: [{ name: 'no-such-group' }] } } });
    if (unknown.status === 202) {
      // Accepted: the boot must fail rather than fall back to another group.
      let status = '';
      for (let i = 0; i < 100 && status !== 'ERROR' && status !== 'ACTIVE'; i++) {
        status = (await json(['server', 'show', unknown.body.server.id])).status;
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.equal(status, 'ERROR');
    } else assert.equal(unknown.status, 400, unknown.text);
    await t.openstack(['server', 'delete', '--wait', 'web']);
  });
});
