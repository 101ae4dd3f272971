// Issue 11.3, played as an attacker holding one project's token: a port's device_owner compute:*/
// network:*, device_id and binding:* belong to admins and the services; which ports a server has comes
// from compute's bindings alone. A port that names another project's server (made by a tenant, refused,
// or by an admin, allowed) shows nowhere in that server, opens nothing in its firewall, and a rebuild
// does not plug the server into it. Real engine, the real openstack CLI.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { startComputeCloud } from '../helpers/compute.ts';
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
  const json = async (args: string[], cloud = 'hafen-demo', env: Record<string, string> = {}) => JSON.parse(await t.openstack([...args, '-f', 'json'], cloud, env));
  const attacker = (args: string[]) => t.openstack(args, '', attackerEnv);
  const attackerJson = (args: string[]) => json(args, '', attackerEnv);
  /** Whether the host gets the victim's page on its fixed address (its firewall admits only its default group). */
  const hostReaches = async (ip: string) => {
    try {
      const r = await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(1500) });
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
    const c = await startComputeCloud('network-bindings');
    t = c.t;
    docker = engineClient(c.socket);
    const tar = path.join(t.dataDir, 'web.tar');
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh', '-c', 'mkdir -p /www && echo victim-page > /www/index.html && exec httpd -f -p 80 -h /www'] }));
    await t.openstack(['image', 'create', '--public', '--container-format', 'docker', '--disk-format', 'raw', '--file', tar, 'web'], 'hafen-admin');
    nets.victim = (await json(['network', 'create', 'vnet'])).id;
    await t.openstack(['subnet', 'create', '--network', 'vnet', '--subnet-range', '10.83.0.0/24', 'vnet-sub']);
    const server = await json(['server', 'create', '--image', 'web', '--flavor', 'm1.tiny', '--network', 'vnet', '--wait', 'victim']);
    const ports = await json(['port', 'list', '--server', server.id]);
    assert.equal(ports.length, 1);
    victim = { id: server.id, ip: ports[0]['Fixed IP Addresses'][0].ip_address, port: ports[0].ID };
    const m = await memberOfNewProject(t, 'binder');
    attackerEnv = { OS_CLOUD: '', OS_AUTH_URL: `${t.url}/identity/v3`, OS_USERNAME: 'binder-user', OS_PASSWORD: 'pw-binder-secret', OS_PROJECT_NAME: 'binder', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3' };
    nets.attacker = (await attackerJson(['network', 'create', 'anet'])).id;
    await attacker(['subnet', 'create', '--network', 'anet', '--subnet-range', '10.84.0.0/24', 'anet-sub']);
    nets.admin = (await json(['network', 'create', 'adnet'], 'hafen-admin')).id;
    await t.openstack(['subnet', 'create', '--network', 'adnet', '--subnet-range', '10.85.0.0/24', 'adnet-sub'], 'hafen-admin');
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
});
