// Interface attach, list and detach (os-interface) on running and stopped servers through Debian's
// real `openstack` CLI, checked on the real containers through the engine: the interface appears
// with the port's address, and goes again. Bad input and a failing engine leave nothing behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { engineClient } from '../../src/host/engine-client.ts';

const engineNetworkOf = (networkId: string) => `hafen-net-${networkId}`;

describe('server interfaces through the openstack CLI', () => {
  let t: TestCloud;
  let docker: Docker;
  let token: string;
  let serverId: string;
  const nets: Record<string, string> = {};
  /** An engine network that is not hafen's, holding a range a Neutron subnet will ask for. */
  let foreignNetwork: string | undefined;
  const C = '/compute/v2.1';
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  const container = () => docker.getContainer(`hafen-${serverId}`);
  /** The container's engine networks and addresses, as the engine reports them. */
  const endpoints = async () => {
    const info = await container().inspect();
    return Object.fromEntries(Object.entries(info.NetworkSettings.Networks ?? {}).map(([name, n]) => [name, n.IPAddress || n.IPAMConfig?.IPv4Address || '']));
  };
  /** IPv4 addresses inside the container (`ip -4 addr`), as its processes see them. */
  const addressesInside = async () => {
    const e = await container().exec({ Cmd: ['ip', '-4', '-o', 'addr'], AttachStdout: true, AttachStderr: true });
    const stream = await e.start({});
    const chunks: Buffer[] = [];
    await new Promise((r) => {
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', r);
    });
    return [...Buffer.concat(chunks).toString('latin1').matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!).filter((a) => a !== '127.0.0.1').sort();
  };
  const interfaces = async () => {
    const r = await t.request('GET', `${C}/servers/${serverId}/os-interface`, { token });
    assert.equal(r.status, 200, r.text);
    return r.body.interfaceAttachments as { port_id: string; net_id: string; mac_addr: string; port_state: string; fixed_ips: { ip_address: string; subnet_id: string }[] }[];
  };
  const portsOn = async (net: string) => (await json(['port', 'list', '--network', net])) as { ID: string; 'Fixed IP Addresses': unknown }[];

  before(async () => {
    const c = await startComputeCloud('compute-interfaces');
    t = c.t;
    docker = engineClient(c.socket);
    token = await t.token('demo');
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', c.imageTar, 'busybox']);
    for (const [name, cidr] of [['neta', '10.78.0.0/24'], ['netb', '10.79.0.0/24'], ['netbad', '10.81.0.0/24']] as const) {
      nets[name] = (await json(['network', 'create', name])).id;
      await os(['subnet', 'create', '--network', name, '--subnet-range', cidr, `${name}-sub`]);
    }
    serverId = (await json(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--wait', 'ifs'])).id;
  });
  after(async () => {
    for (const s of await json(['server', 'list', '--all-projects'], 'hafen-admin').catch(() => [])) await os(['server', 'delete', '--wait', s.ID], 'hafen-admin').catch(() => undefined);
    if (foreignNetwork) await docker.getNetwork(foreignNetwork).remove().catch(() => undefined);
    for (const id of Object.values(nets)) await docker.getNetwork(engineNetworkOf(id)).remove().catch(() => undefined);
    await t.close();
  });

  it('attaches a given port to a running server: the container gets its address', async () => {
    const before = await interfaces();
    assert.equal(before.length, 1, 'booted with one interface on the default network');
    assert.equal(Object.keys(await endpoints()).length, 1);
    const port = await json(['port', 'create', '--network', 'neta', '--fixed-ip', 'subnet=neta-sub,ip-address=10.78.0.40', 'p1']);
    await os(['server', 'add', 'port', 'ifs', 'p1']);

    const eps = await endpoints();
    assert.equal(eps[engineNetworkOf(nets.neta!)], '10.78.0.40', JSON.stringify(eps));
    assert.ok((await addressesInside()).includes('10.78.0.40'));
    const shownPort = await json(['port', 'show', 'p1']);
    assert.equal(shownPort.device_id, serverId);
    assert.equal(shownPort.device_owner, 'compute:nova');
    const shown = await json(['server', 'show', 'ifs']);
    assert.deepEqual(shown.addresses.neta, ['10.78.0.40']);

    const list = await interfaces();
    assert.equal(list.length, 2);
    const att = list.find((i) => i.port_id === port.id)!;
    assert.deepEqual(att, { port_state: 'ACTIVE', fixed_ips: [{ subnet_id: shownPort.fixed_ips[0].subnet_id, ip_address: '10.78.0.40' }], port_id: port.id, net_id: nets.neta, mac_addr: shownPort.mac_address });
    const one = await t.request('GET', `${C}/servers/${serverId}/os-interface/${port.id}`, { token });
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.interfaceAttachment, att);
    const events = (await json(['server', 'event', 'list', 'ifs'])).map((e: { Action: string }) => e.Action);
    assert.ok(events.includes('attach_interface'), events.join());
  });

  it('attaches a network: a port is made for the server on it', async () => {
    await os(['server', 'add', 'network', 'ifs', 'netb']);
    const eps = await endpoints();
    const ip = eps[engineNetworkOf(nets.netb!)];
    assert.match(ip ?? '', /^10\.79\.0\.\d+$/, JSON.stringify(eps));
    assert.ok((await addressesInside()).includes(ip!));
    const ports = await json(['port', 'list', '--network', 'netb', '--device-owner', 'compute:nova', '--long']);
    assert.equal(ports.length, 1);
    assert.equal((await interfaces()).length, 3);
    assert.deepEqual((await json(['server', 'show', 'ifs'])).addresses.netb, [ip]);
  });

  it('refuses bad requests in Nova\'s envelope and leaves nothing made', async () => {
    const portsA = (await portsOn('neta')).length;
    const eps = await endpoints();
    const post = (body: unknown) => t.request('POST', `${C}/servers/${serverId}/os-interface`, { token, body });
    const cases: [string, unknown, number, string, RegExp][] = [
      ['both port and network', { interfaceAttachment: { port_id: nets.neta, net_id: nets.neta } }, 400, 'badRequest', /both network_id and port_id/],
      ['fixed IP without network', { interfaceAttachment: { fixed_ips: [{ ip_address: '10.78.0.9' }] } }, 400, 'badRequest', /network_id when request IP/],
      ['not a uuid', { interfaceAttachment: { port_id: 'nope' } }, 400, 'badRequest', /not a 'uuid'/],
      ['unknown key', { interfaceAttachment: { net_id: nets.neta, tag: 'x' } }, 400, 'badRequest', /'tag' was unexpected/],
      ['bad fixed IP', { interfaceAttachment: { net_id: nets.netb, fixed_ips: [{ ip_address: '10.79.0.999' }] } }, 400, 'badRequest', /field\/attribute ip_address\. .*'10\.79\.0\.999' is not a 'ipv4'/],
      ['unknown port', { interfaceAttachment: { port_id: '00000000-0000-4000-8000-000000000000' } }, 404, 'itemNotFound', /could not be found/],
      ['unknown network', { interfaceAttachment: { net_id: '00000000-0000-4000-8000-000000000000' } }, 404, 'itemNotFound', /could not be found/],
      ['address in use', { interfaceAttachment: { net_id: nets.neta, fixed_ips: [{ ip_address: '10.78.0.40' }] } }, 409, 'conflictingRequest', /in use|already/i],
    ];
    for (const [what, body, status, key, message] of cases) {
      const r = await post(body);
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.equal(r.body[key]?.code, status, `${what}: ${r.text}`);
      assert.match(r.body[key].message, message, what);
    }
    // A port used by another server is refused.
    const other = await json(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--network', 'neta', '--wait', 'other']);
    const otherPort = (await json(['port', 'list', '--server', other.id]))[0].ID;
    const inUse = await post({ interfaceAttachment: { port_id: otherPort } });
    assert.equal(inUse.status, 409, inUse.text);
    assert.equal((await json(['port', 'show', otherPort])).device_id, other.id);
    // Another project sees no such server.
    const stranger = await memberOfNewProject(t, 'if-stranger');
    assert.equal((await t.request('GET', `${C}/servers/${serverId}/os-interface`, { token: stranger.token })).status, 404);
    assert.equal((await t.request('POST', `${C}/servers/${serverId}/os-interface`, { token: stranger.token, body: { interfaceAttachment: { net_id: nets.netb } } })).status, 404);
    await os(['server', 'delete', '--wait', 'other']);
    // A server booted without networking takes no interfaces (the engine's rule), and keeps no port.
    // (the CLI says `--nic none` only from microversion 2.37; hafen's 2.1 takes networks "none" from the API)
    const booted = await t.request('POST', `${C}/servers`, { token, body: { server: { name: 'bare', imageRef: (await json(['image', 'show', 'busybox'])).id, flavorRef: '1', networks: 'none' } } });
    assert.equal(booted.status, 202, booted.text);
    const bare = booted.body.server as { id: string };
    await waitFor('bare ACTIVE', async () => ((await json(['server', 'show', bare.id])).status === 'ACTIVE' ? true : undefined));
    const refused = await t.request('POST', `${C}/servers/${bare.id}/os-interface`, { token, body: { interfaceAttachment: { net_id: nets.netb } } });
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.body.conflictingRequest.message, /without networking/);
    assert.deepEqual(await json(['port', 'list', '--server', bare.id]), []);
    await os(['server', 'delete', '--wait', 'bare']);

    assert.equal((await portsOn('neta')).length, portsA);
    assert.deepEqual(await endpoints(), eps);
    assert.equal((await interfaces()).length, 3);
  });

  it('unbinds the port when the engine cannot plug it in', async () => {
    // Something outside hafen holds netbad's range on the engine: the engine network cannot be made.
    foreignNetwork = `not-hafen-${process.pid}`;
    await docker.createNetwork({ Name: foreignNetwork, Driver: 'bridge', Internal: true, IPAM: { Driver: 'default', Config: [{ Subnet: '10.81.0.0/24' }] } });
    const eps = await endpoints();
    const given = await json(['port', 'create', '--network', 'netbad', 'pbad']);
    const r1 = await t.request('POST', `${C}/servers/${serverId}/os-interface`, { token, body: { interfaceAttachment: { net_id: nets.netbad } } });
    assert.equal(r1.status, 500, r1.text);
    assert.equal(r1.body.computeFault.code, 500);
    const r2 = await t.request('POST', `${C}/servers/${serverId}/os-interface`, { token, body: { interfaceAttachment: { port_id: given.id } } });
    assert.equal(r2.status, 500, r2.text);
    // The port made for the attach is gone, the given one is free again, the container unchanged.
    const left = await portsOn('netbad');
    assert.deepEqual(left.map((p) => p.ID), [given.id]);
    assert.equal((await json(['port', 'show', 'pbad'])).device_id, '');
    assert.deepEqual(await endpoints(), eps);
    assert.equal((await interfaces()).length, 3);
    await os(['port', 'delete', 'pbad']);
  });

  it('detaches: the container loses the interface, given ports are released, made ones deleted', async () => {
    const p1 = (await json(['port', 'show', 'p1'])).id;
    await os(['server', 'remove', 'port', 'ifs', 'p1']);
    let eps = await endpoints();
    assert.equal(eps[engineNetworkOf(nets.neta!)], undefined, JSON.stringify(eps));
    assert.ok(!(await addressesInside()).includes('10.78.0.40'));
    const released = await json(['port', 'show', 'p1']);
    assert.equal(released.device_id, '');
    assert.equal(released.id, p1);
    assert.equal((await json(['server', 'show', 'ifs'])).addresses.neta, undefined);

    await os(['server', 'remove', 'network', 'ifs', 'netb']);
    eps = await endpoints();
    assert.equal(eps[engineNetworkOf(nets.netb!)], undefined, JSON.stringify(eps));
    assert.deepEqual(await portsOn('netb'), []);
    assert.equal((await interfaces()).length, 1);
    assert.equal(Object.keys(eps).length, 1);

    const again = await t.request('DELETE', `${C}/servers/${serverId}/os-interface/${p1}`, { token });
    assert.equal(again.status, 404);
    assert.equal(again.body.itemNotFound.code, 404);
    const events = (await json(['server', 'event', 'list', 'ifs'])).map((e: { Action: string }) => e.Action);
    assert.ok(events.includes('detach_interface'), events.join());
  });

  it('attaches to a stopped server; the interface is there when it starts and after a rebuild', async () => {
    await os(['server', 'stop', 'ifs']);
    await waitFor('ifs SHUTOFF', async () => ((await json(['server', 'show', 'ifs'])).status === 'SHUTOFF' ? true : undefined));
    await os(['server', 'add', 'port', 'ifs', 'p1']);
    await os(['server', 'start', 'ifs']);
    await waitFor('ifs ACTIVE', async () => ((await json(['server', 'show', 'ifs'])).status === 'ACTIVE' ? true : undefined));
    assert.equal((await endpoints())[engineNetworkOf(nets.neta!)], '10.78.0.40');
    assert.ok((await addressesInside()).includes('10.78.0.40'));
    // A rebuild makes a new container with every interface of the old one.
    const before = await endpoints();
    assert.equal(Object.keys(before).length, 2);
    const oldId = (await container().inspect()).Id;
    await os(['server', 'rebuild', '--image', 'busybox', '--wait', 'ifs']);
    assert.notEqual((await container().inspect()).Id, oldId);
    assert.deepEqual(await endpoints(), before);
    // Deleting the server releases the given port.
    await os(['server', 'delete', '--wait', 'ifs']);
    assert.equal((await json(['port', 'show', 'p1'])).device_id, '');
  });
  it('boots with several networks, one interface each in the order asked', async () => {
    const s = await json(['server', 'create', '--image', 'busybox', '--flavor', 'm1.tiny', '--nic', 'net-id=netb', '--nic', 'net-id=neta', '--wait', 'multi']);
    const info = await docker.getContainer(`hafen-${s.id}`).inspect();
    const eps = Object.fromEntries(Object.entries(info.NetworkSettings.Networks ?? {}).map(([name, n]) => [name, n.IPAddress]));
    assert.deepEqual(Object.keys(eps).sort(), [engineNetworkOf(nets.neta!), engineNetworkOf(nets.netb!)].sort(), JSON.stringify(eps));
    // The first network asked for is the container's first interface (eth0).
    const e = await docker.getContainer(`hafen-${s.id}`).exec({ Cmd: ['ip', '-4', '-o', 'addr', 'show', 'eth0'], AttachStdout: true, AttachStderr: true });
    const out: Buffer[] = [];
    const stream = await e.start({});
    await new Promise((r) => {
      stream.on('data', (c: Buffer) => out.push(c));
      stream.on('end', r);
    });
    assert.match(Buffer.concat(out).toString('latin1'), new RegExp(`inet ${eps[engineNetworkOf(nets.netb!)]!.replace(/\./g, '\\.')}/`));
    const shown = await json(['server', 'show', 'multi']);
    assert.deepEqual(Object.keys(shown.addresses).sort(), ['neta', 'netb']);
    const listed = await t.request('GET', `${C}/servers/${s.id}/os-interface`, { token });
    assert.equal(listed.body.interfaceAttachments.length, 2);
    await os(['server', 'delete', '--wait', 'multi']);
    assert.equal((await json(['port', 'list', '--device-id', s.id])).length, 0, 'the ports made for it are gone');
    // One network twice: see compute-interfaces-same-network.test.ts.
  });
});
