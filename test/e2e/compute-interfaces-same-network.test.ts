// Two interfaces of one server on one network, through Debian's real `openstack` CLI on a real
// engine: at create (--nic net-id=N --nic net-id=N) and by attaching a second port. The further one
// is a veth hafen makes (the engine plugs a container into a network once): both addresses answer
// another server, anti-spoofing holds on it, it comes back after stop/start, and it leaves no veth
// on the host when it goes. Another project's port is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { runTool } from '../../src/agent/net/run.ts';

interface Link {
  ifindex: number;
  ifname: string;
  address: string;
  link_index?: number;
  addr_info?: { family: string; local: string }[];
}

describe('two interfaces on one network through the openstack CLI', () => {
  let t: TestCloud;
  let docker: Docker;
  let token: string;
  let peerIp: string;
  const netIds: string[] = [];
  const C = '/compute/v2.1';
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  const pidOf = async (serverId: string) => (await docker.getContainer(`hafen-${serverId}`).inspect()).State.Pid;
  const inNs = (pid: number, args: string[]) => runTool('nsenter', ['-t', String(pid), '-n', ...args]);
  /** The container's interfaces with their IPv4 addresses, as the kernel has them. */
  const linksOf = async (serverId: string) => JSON.parse(await inNs(await pidOf(serverId), ['ip', '-j', 'addr', 'show'])) as Link[];
  const ipv4 = (l: Link) => (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local);
  const hostLinks = async () => JSON.parse(await runTool('ip', ['-j', 'link', 'show'])) as Link[];
  /** Whether `to` answers a ping from the peer server's namespace (the host's busybox, run there). */
  const pingFrom = async (pid: number, to: string, source?: string) =>
    inNs(pid, ['busybox', 'ping', '-c', '1', '-W', '2', ...(source ? ['-I', source] : []), to]).then(() => true, () => false);
  const answers = (pid: number, to: string) => waitFor(`${to} answers`, async () => ((await pingFrom(pid, to)) ? true : undefined), 60_000);
  const status = (name: string, want: string) => waitFor(`${name} ${want}`, async () => ((await json(['server', 'show', name])).status === want ? true : undefined), 60_000);
  const portsOf = async (serverId: string) => (await json(['port', 'list', '--server', serverId, '--long'])) as { ID: string; 'MAC Address': string; 'Fixed IP Addresses': { ip_address: string }[] }[];

  before(async () => {
    const c = await startComputeCloud('compute-ifs-same');
    t = c.t;
    docker = engineClient(c.socket);
    token = await t.token('demo');
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', c.imageTar, 'busybox']);
    for (const [name, cidr] of [['same', '10.83.0.0/24'], ['side', '10.84.0.0/24']] as const) {
      netIds.push((await json(['network', 'create', name])).id);
      await os(['subnet', 'create', '--network', name, '--subnet-range', cidr, `${name}-sub`]);
    }
    const peer = await json(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--nic', 'net-id=same', '--wait', 'peer']);
    peerIp = (await portsOf(peer.id))[0]!['Fixed IP Addresses'][0]!.ip_address;
  });
  after(async () => {
    for (const s of await json(['server', 'list', '--all-projects'], 'hafen-admin').catch(() => [])) await os(['server', 'delete', '--wait', s.ID], 'hafen-admin').catch(() => undefined);
    // The engine networks go too: the shared engine refuses another cloud's network on the same range.
    for (const id of netIds) await docker.getNetwork(`hafen-net-${id}`).remove().catch(() => undefined);
    await t.close();
  });

  it('boots with one network twice: both addresses answer, anti-spoofing holds, stop/start keeps both, delete leaves no veth', async () => {
    const s = await json(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--nic', 'net-id=same', '--nic', 'net-id=same', '--nic', 'net-id=side', '--wait', 'dup']);
    assert.equal(s.status, 'ACTIVE');
    const ports = await portsOf(s.id);
    assert.equal(ports.length, 3, JSON.stringify(ports));
    const sameNet = (await json(['network', 'show', 'same'])).id;
    const onSame = await json(['port', 'list', '--server', s.id, '--network', sameNet, '--long']);
    assert.equal(onSame.length, 2);
    const shown = await json(['server', 'show', 'dup']);
    assert.equal(shown.addresses.same.length, 2, JSON.stringify(shown.addresses));
    assert.equal(shown.addresses.side.length, 1);
    // In the order asked: eth0 and eth1 on `same` (eth1 hafen's, with the port's MAC), then `side`.
    const links = await linksOf(s.id);
    const byName = new Map(links.map((l) => [l.ifname, l]));
    const ip0 = ipv4(byName.get('eth0')!)[0]!;
    const ip1 = ipv4(byName.get('eth1')!)[0]!;
    assert.match(ip0, /^10\.83\.0\.\d+$/);
    assert.match(ip1, /^10\.83\.0\.\d+$/);
    assert.notEqual(ip0, ip1);
    assert.match(ipv4(byName.get('eth2')!)[0] ?? '', /^10\.84\.0\.\d+$/, JSON.stringify(links.map((l) => [l.ifname, ipv4(l)])));
    const port1 = ports.find((p) => p['Fixed IP Addresses'][0]!.ip_address === ip1)!;
    assert.equal(byName.get('eth1')!.address, port1['MAC Address']);
    // The subnet's route stays on the first interface.
    const routes = await inNs(await pidOf(s.id), ['ip', '-4', 'route', 'show']);
    assert.doesNotMatch(routes, /dev eth1/, routes);
    // The host end sits on the network's bridge, named with the cloud's mark.
    const hostEnd = (await hostLinks()).find((l) => l.ifindex === byName.get('eth1')!.link_index);
    assert.match(hostEnd?.ifname ?? '', /^hv[0-9a-f]{12}$/);

    const peerPid = await pidOf((await json(['server', 'show', 'peer'])).id);
    await t.cloud.network.dataplane?.settled();
    await answers(peerPid, ip0);
    await answers(peerPid, ip1);

    // Anti-spoofing on the second interface: out of eth1, its own address passes and a spoofed one
    // (added as an attacker with NET_ADMIN would; tenants have no NET_ADMIN) is dropped.
    const pid = await pidOf(s.id);
    const rules = await inNs(pid, ['iptables-save', '-t', 'filter']);
    assert.match(rules, new RegExp(`-A OUTPUT -s ${ip1.replace(/\./g, '\\.')}(/32)? `));
    await inNs(pid, ['ip', 'addr', 'add', '10.83.0.250/32', 'dev', 'eth1']);
    await inNs(pid, ['ip', 'route', 'add', `${peerIp}/32`, 'dev', 'eth1']);
    try {
      assert.equal(await pingFrom(pid, peerIp, ip1), true, 'its own address leaves eth1');
      assert.equal(await pingFrom(pid, peerIp, '10.83.0.250'), false, 'a spoofed source is dropped');
    } finally {
      await inNs(pid, ['ip', 'route', 'del', `${peerIp}/32`, 'dev', 'eth1']);
      await inNs(pid, ['ip', 'addr', 'del', '10.83.0.250/32', 'dev', 'eth1']);
    }

    // The engine does not keep a veth hafen made across a restart of the container: start plugs it again.
    await os(['server', 'stop', 'dup']);
    await status('dup', 'SHUTOFF');
    await waitFor('the old veth gone', async () => ((await hostLinks()).some((l) => l.ifname === hostEnd!.ifname) ? undefined : true));
    await os(['server', 'start', 'dup']);
    await status('dup', 'ACTIVE');
    const again = new Map((await linksOf(s.id)).map((l) => [l.ifname, ipv4(l)]));
    assert.deepEqual([...again.values()].flat().sort(), [ip0, ip1, '127.0.0.1', ipv4(byName.get('eth2')!)[0]!].sort(), JSON.stringify([...again]));
    await answers(peerPid, ip1);

    await os(['server', 'delete', '--wait', 'dup']);
    await waitFor('no veth of the server left on the host', async () => ((await hostLinks()).some((l) => l.ifname === hostEnd!.ifname) ? undefined : true));
    assert.deepEqual(await json(['port', 'list', '--device-id', s.id]), [], 'the ports made for it are gone');
  });

  it('attaches and detaches a second port on a network the server has; another project\'s port is refused', async () => {
    const solo = await json(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--nic', 'net-id=same', '--wait', 'solo']);
    const p2 = await json(['port', 'create', '--network', 'same', '--fixed-ip', 'subnet=same-sub,ip-address=10.83.0.77', 'p2']);
    await os(['server', 'add', 'port', 'solo', 'p2']);
    const ports = await portsOf(solo.id);
    assert.deepEqual(ports.map((p) => p.ID).sort(), [ports.find((p) => p.ID !== p2.id)!.ID, p2.id].sort());
    assert.equal(ports.length, 2);
    const eth1 = (await linksOf(solo.id)).find((l) => l.ifname === 'eth1')!;
    assert.deepEqual(ipv4(eth1), ['10.83.0.77']);
    assert.equal(eth1.address, p2.mac_address);
    const listed = await t.request('GET', `${C}/servers/${solo.id}/os-interface`, { token });
    assert.equal(listed.body.interfaceAttachments.length, 2);
    const hostEnd = (await hostLinks()).find((l) => l.ifindex === eth1.link_index)!;
    const peerPid = await pidOf((await json(['server', 'show', 'peer'])).id);
    await t.cloud.network.dataplane?.settled();
    await answers(peerPid, '10.83.0.77');

    // Another project's port answers 404, as an unknown one, and stays as it was.
    const stranger = await memberOfNewProject(t, 'same-stranger');
    const net = await t.request('POST', '/network/v2.0/networks', { token: stranger.token, body: { network: { name: 'theirs' } } });
    await t.request('POST', '/network/v2.0/subnets', { token: stranger.token, body: { subnet: { network_id: net.body.network.id, cidr: '10.85.0.0/24', ip_version: 4 } } });
    const theirs = await t.request('POST', '/network/v2.0/ports', { token: stranger.token, body: { port: { network_id: net.body.network.id } } });
    assert.equal(theirs.status, 201, theirs.text);
    const refused = await t.request('POST', `${C}/servers/${solo.id}/os-interface`, { token, body: { interfaceAttachment: { port_id: theirs.body.port.id } } });
    assert.equal(refused.status, 404, refused.text);
    await assert.rejects(os(['server', 'add', 'port', 'solo', theirs.body.port.id]));
    const still = await t.request('GET', `/network/v2.0/ports/${theirs.body.port.id}`, { token: stranger.token });
    assert.equal(still.body.port.device_id, '');
    assert.equal((await portsOf(solo.id)).length, 2);

    await os(['server', 'remove', 'port', 'solo', 'p2']);
    assert.equal((await linksOf(solo.id)).some((l) => ipv4(l).includes('10.83.0.77')), false);
    await waitFor('the veth gone from the host', async () => ((await hostLinks()).some((l) => l.ifname === hostEnd.ifname) ? undefined : true));
    assert.equal((await json(['port', 'show', 'p2'])).device_id, '');
    assert.equal((await portsOf(solo.id)).length, 1);
    assert.equal(await pingFrom(peerPid, '10.83.0.77'), false);
    await os(['server', 'delete', '--wait', 'solo']);
    await os(['port', 'delete', 'p2']);
  });
});
