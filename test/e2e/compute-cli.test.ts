// test: exclusive (floating IPs put addresses, NAT chains and routing rules into the host's own namespace, which every file sees)
// The compute flows of issue 5 through Debian's real `openstack` CLI, on a real engine, and the
// isolation profile checked on the real containers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import type Docker from 'dockerode';

describe('compute through the openstack CLI', () => {
  let t: TestCloud;
  let docker: Docker;
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  const status = async (name: string) => (await json(['server', 'show', name])).status as string;
  const until = (name: string, want: string) => waitFor(`${name} ${want}`, async () => ((await status(name)) === want ? true : undefined));

  before(async () => {
    const c = await startComputeCloud('compute-cli');
    t = c.t;
    docker = engineClient(c.socket);
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', c.imageTar, 'busybox']);
  });
  after(async () => {
    for (const s of await json(['server', 'list', '--all-projects'], 'hafen-admin').catch(() => [])) await os(['server', 'delete', '--wait', s.ID], 'hafen-admin').catch(() => undefined);
    await t.close();
  });

  it('boots a server with a key pair and shows it', async () => {
    const key = await os(['keypair', 'create', 'k']);
    assert.match(key, /BEGIN RSA PRIVATE KEY/);
    assert.deepEqual((await json(['keypair', 'list'])).map((k: { Name: string }) => k.Name), ['k']);
    const s = await json(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--key-name', 'k', '--wait', 'demo']);
    assert.equal(s.status, 'ACTIVE');
    assert.match((Object.values(s.addresses)[0] as string[])[0]!, /^10\.\d+\.\d+\.\d+$/);
    const list = await json(['server', 'list']);
    assert.deepEqual(list.map((x: { Name: string; Status: string }) => [x.Name, x.Status]), [['demo', 'ACTIVE']]);
    const log = await os(['console', 'log', 'show', 'demo']);
    assert.match(log, /booted/);
  });

  it('boots on a chosen network and port, with Neutron addresses and a floating IP', async () => {
    await os(['network', 'create', 'appnet']);
    await os(['subnet', 'create', '--network', 'appnet', '--subnet-range', '10.77.0.0/24', 'appsub']);
    await os(['router', 'create', 'approuter']);
    await os(['router', 'set', '--external-gateway', 'public', 'approuter']);
    await os(['router', 'add', 'subnet', 'approuter', 'appsub']);
    const s = await json(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--network', 'appnet', '--wait', 'onnet']);
    assert.match(s.addresses.appnet[0], /^10\.77\.0\.\d+$/);
    const port = await json(['port', 'create', '--network', 'appnet', '--fixed-ip', 'subnet=appsub,ip-address=10.77.0.50', 'myport']);
    const p = await json(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--nic', `port-id=${port.id}`, '--wait', 'onport']);
    assert.deepEqual(p.addresses.appnet, ['10.77.0.50']);
    const fip = await json(['floating', 'ip', 'create', 'public']);
    await os(['server', 'add', 'floating', 'ip', 'onport', fip.floating_ip_address]);
    const shown = await json(['server', 'show', 'onport']);
    assert.ok(shown.addresses.appnet.includes(fip.floating_ip_address), JSON.stringify(shown.addresses));
    for (const name of ['onnet', 'onport']) await os(['server', 'delete', '--wait', name]);
    // The port made for onnet went with it; the port given to onport is free again.
    assert.deepEqual(await json(['port', 'list', '--network', 'appnet', '--device-owner', 'compute:nova']), []);
    const mine = await json(['port', 'show', 'myport']);
    assert.equal(mine.device_id, '');
  });

  it('runs the container with the isolation profile and delivers keys and metadata read-only', async () => {
    const id = (await json(['server', 'show', 'demo'])).id;
    const info = await docker.getContainer(`hafen-${id}`).inspect();
    const hc = info.HostConfig;
    assert.equal(hc.Privileged, false);
    assert.deepEqual(hc.CapDrop, ['ALL']);
    for (const cap of ['SYS_ADMIN', 'NET_ADMIN', 'MKNOD', 'NET_RAW']) assert.ok(!(hc.CapAdd ?? []).includes(cap), cap);
    assert.ok((hc.SecurityOpt ?? []).includes('no-new-privileges'));
    assert.equal(hc.Memory, 64 * 2 ** 20);
    assert.equal(hc.NanoCpus, 1e9);
    assert.equal(hc.PidsLimit, 1024);
    assert.equal(hc.PidMode, '');
    assert.equal(hc.IpcMode, 'private');
    assert.deepEqual(hc.Devices ?? [], []);
    for (const m of info.Mounts) {
      assert.equal(m.Type, 'volume', `no host mounts: ${m.Source}`);
      assert.equal(m.RW, false);
    }
    assert.equal(info.Config.Labels['hafen.server_id'], id);
    assert.doesNotMatch(info.Name, new RegExp((await json(['project', 'show', 'demo'], 'hafen-admin')).id));
    const exec = async (cmd: string[]) => {
      const e = await docker.getContainer(`hafen-${id}`).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const stream = await e.start({});
      const chunks: Buffer[] = [];
      await new Promise((r) => {
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', r);
      });
      return Buffer.concat(chunks).toString('utf8');
    };
    const keys = await exec(['cat', '/root/.ssh/authorized_keys']);
    assert.match(keys, /^.*ssh-rsa AAAA/);
    const meta = await exec(['cat', '/mnt/config/openstack/latest/meta_data.json']);
    assert.match(meta, new RegExp(`"uuid":"${id}"`));
    assert.match(await exec(['sh', '-c', 'echo x > /root/.ssh/authorized_keys 2>&1 || echo refused']), /Read-only|refused/);
  });

  it('stops, starts, reboots, pauses, suspends, locks and records events', async () => {
    await os(['server', 'stop', 'demo']);
    await until('demo', 'SHUTOFF');
    await os(['server', 'start', 'demo']);
    await until('demo', 'ACTIVE');
    await os(['server', 'reboot', '--wait', 'demo']);
    await os(['server', 'pause', 'demo']);
    await until('demo', 'PAUSED');
    await assert.rejects(os(['server', 'pause', 'demo']), /409|Cannot 'pause'/);
    await os(['server', 'unpause', 'demo']);
    await until('demo', 'ACTIVE');
    await os(['server', 'suspend', 'demo']);
    await until('demo', 'SUSPENDED');
    await os(['server', 'resume', 'demo']);
    await until('demo', 'ACTIVE');
    // `locked` is shown from 2.9 (the CLI's novaclient speaks 2.1 unless told); the reason from 2.73.
    await os(['--os-compute-api-version', '2.73', 'server', 'lock', '--reason', 'hands off', 'demo']);
    assert.ok(!('locked' in (await json(['server', 'show', 'demo']))));
    const locked = await json(['--os-compute-api-version', '2.73', 'server', 'show', 'demo']);
    assert.equal(locked.locked, true);
    assert.equal(locked.locked_reason, 'hands off');
    await assert.rejects(os(['server', 'stop', 'demo']), /locked/);
    await os(['server', 'unlock', 'demo']);
    await os(['server', 'set', '--name', 'demo2', '--property', 'role=web', 'demo']);
    const renamed = await json(['server', 'show', 'demo2']);
    assert.deepEqual(renamed.properties, { role: 'web' });
    const events = await json(['server', 'event', 'list', 'demo2']);
    const actions = events.map((e: { Action: string }) => e.Action);
    for (const a of ['create', 'stop', 'start', 'reboot', 'pause', 'unpause', 'suspend', 'resume', 'lock', 'unlock']) assert.ok(actions.includes(a), a);
  });

  it('resizes with confirm and revert, rebuilds and snapshots', async () => {
    await os(['server', 'resize', '--flavor', 'm1.small', 'demo2']);
    await until('demo2', 'VERIFY_RESIZE');
    const id = (await json(['server', 'show', 'demo2'])).id;
    assert.equal((await docker.getContainer(`hafen-${id}`).inspect()).HostConfig.Memory, 256 * 2 ** 20);
    await os(['server', 'resize', 'revert', 'demo2']);
    await until('demo2', 'ACTIVE');
    assert.equal((await docker.getContainer(`hafen-${id}`).inspect()).HostConfig.Memory, 64 * 2 ** 20);
    await os(['server', 'resize', '--flavor', 'm1.small', 'demo2']);
    await until('demo2', 'VERIFY_RESIZE');
    await os(['server', 'resize', 'confirm', 'demo2']);
    await until('demo2', 'ACTIVE');
    assert.match((await json(['server', 'show', 'demo2'])).flavor, /m1.small/);
    const snap = await json(['server', 'image', 'create', '--name', 'snap1', '--wait', 'demo2']);
    assert.equal(snap.name, 'snap1');
    const img = await json(['image', 'show', 'snap1']);
    assert.equal(img.status, 'active');
    assert.equal(img.container_format, 'docker');
    await os(['server', 'rebuild', '--image', 'snap1', '--wait', 'demo2']);
    assert.equal(await status('demo2'), 'ACTIVE');
    assert.match((await json(['server', 'show', 'demo2'])).image, /snap1/);
  });

  it('manages flavors, quotas, server groups, hypervisors and compute services as admin', async () => {
    await os(['flavor', 'create', '--ram', '128', '--vcpus', '1', '--disk', '1', '--property', 'hafen:pids_limit=64', 'c1.pids'], 'hafen-admin');
    const flavors = await json(['flavor', 'list'], 'hafen-admin');
    assert.ok(flavors.some((f: { Name: string }) => f.Name === 'c1.pids'));
    await os(['flavor', 'set', '--property', 'hafen:read_only_root=true', 'c1.pids'], 'hafen-admin');
    assert.deepEqual((await json(['flavor', 'show', 'c1.pids'], 'hafen-admin')).properties, { 'hafen:pids_limit': '64', 'hafen:read_only_root': 'true' });
    await assert.rejects(os(['flavor', 'create', '--ram', '1', 'nope']), /403|not authorized/i);
    const demoProject = (await json(['project', 'show', 'demo'], 'hafen-admin')).id;
    await os(['quota', 'set', '--instances', '3', demoProject], 'hafen-admin');
    const quota = await json(['quota', 'show', demoProject], 'hafen-admin');
    assert.equal(quota.instances, 3);
    const group = await json(['server', 'group', 'create', '--policy', 'anti-affinity', 'spread']);
    // The CLI's openstacksdk speaks 2.64 here: one policy, not a list.
    assert.equal(group.policy, 'anti-affinity');
    const hv = await json(['hypervisor', 'list'], 'hafen-admin');
    assert.equal(hv.length, 1);
    assert.equal(hv[0].State, 'up');
    const shown = await json(['hypervisor', 'show', hv[0]['Hypervisor Hostname']], 'hafen-admin');
    assert.ok(shown.vcpus >= 1);
    const services = await json(['compute', 'service', 'list'], 'hafen-admin');
    assert.equal(services[0].Binary, 'nova-compute');
    await os(['compute', 'service', 'set', '--disable', services[0].Host, 'nova-compute'], 'hafen-admin');
    assert.equal((await json(['compute', 'service', 'list'], 'hafen-admin'))[0].Status, 'disabled');
    await os(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--wait', 'nohost']).catch(() => undefined);
    await os(['compute', 'service', 'set', '--enable', services[0].Host, 'nova-compute'], 'hafen-admin');
    const failed = await json(['server', 'show', 'nohost']);
    assert.equal(failed.status, 'ERROR');
    assert.match(JSON.stringify(failed.fault), /ComputeFilter/);
    await os(['server', 'delete', '--wait', 'nohost']);
  });

  it('deletes servers and leaves no container behind', async () => {
    const id = (await json(['server', 'show', 'demo2'])).id;
    await os(['server', 'delete', '--wait', 'demo2']);
    assert.deepEqual(await json(['server', 'list']), []);
    await assert.rejects(docker.getContainer(`hafen-${id}`).inspect(), /404|no such container/i);
    await os(['keypair', 'delete', 'k']);
    assert.deepEqual(await json(['keypair', 'list']), []);
  });
});
