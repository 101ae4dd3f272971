// test: exclusive (floating IPs put addresses, NAT chains and routing rules into the host's own namespace, which every file sees)
// Floating IPs of servers on other hosts, answered from this machine: a route sends the address to the
// server's nested host, whose NAT (installed through its engine) reaches the server there; on a bridge
// network (a server booted through compute) and on a swarm overlay network (via docker_gwbridge).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { startTestHosts, type NestedHostSet } from '../helpers/hosts.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { waitFor } from '../helpers/compute.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from '../../src/host/test-images.ts';
import { hostIdFor } from '../../src/compute/index.ts';
import { ensureOverlayNetwork, formSwarm } from '../../src/agent/net/swarm.ts';
import { Dataplane } from '../../src/agent/net/dataplane.ts';
import { runTool } from '../../src/agent/net/run.ts';
import { runEngineHelper } from '../../src/agent/net/engine-helper.ts';

const HTTPD = 'mkdir -p /www && echo hello-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www';

/** The page at the address, or undefined when nothing answers within 2 s. */
async function page(address: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${address}/`, { signal: AbortSignal.timeout(2000) });
    return (await res.text()).trim();
  } catch {
    return undefined;
  }
}

async function routeOf(address: string): Promise<string> {
  return (await runTool('ip', ['-4', 'route', 'show', 'table', 'local', `${address}/32`])).trim();
}

describe('floating IPs of servers on other hosts', () => {
  let hosts: NestedHostSet;
  let engines: Docker[];
  let t: TestCloud;
  let demo: string;
  const C = '/compute/v2.1';
  const N = '/network/v2.0';

  const api = async (method: string, urlPath: string, body?: unknown) => {
    const r = await t.request(method, urlPath, { token: demo, body });
    if (r.status >= 300) throw new Error(`${method} ${urlPath}: ${r.status} ${r.text}`);
    return r.body;
  };

  /** A network whose subnet starts at .10 (overlay load balancers take the low addresses) behind a router to `public`. */
  async function routedNetwork(name: string, cidr: string): Promise<string> {
    const net = (await api('POST', `${N}/networks`, { network: { name } })).network.id;
    const prefix = cidr.replace(/0\/24$/, '');
    const subnet = (await api('POST', `${N}/subnets`, { subnet: { network_id: net, ip_version: 4, cidr, allocation_pools: [{ start: `${prefix}10`, end: `${prefix}200` }] } })).subnet.id;
    const router = (await api('POST', `${N}/routers`, { router: { name: `${name}-r`, external_gateway_info: { network_id: t.cloud.network.externalNetworkId } } })).router.id;
    await api('PUT', `${N}/routers/${router}/add_router_interface`, { subnet_id: subnet });
    return net;
  }

  const viaHost = (i: number) => new RegExp(`via ${hosts.hosts[i]!.address.replace(/\./g, '\\.')} `);
  /** The nat table of a nested host (the floating-IP chains carry the cloud's tag), read with a helper in its namespace. */
  const natOf = (i: number) => runEngineHelper(engines[i]!, BUSYBOX_IMAGE, { networkMode: 'host', script: '/usr/sbin/iptables -w 5 -t nat -S' });

  before(async () => {
    await testEngineSocket();
    hosts = await startTestHosts(2);
    engines = hosts.hosts.map((h) => engineClient(h.endpoint));
    // No busybox image on the hosts: the dataplane's helpers import it where it is missing.
    t = await startTestCloud('multihost-fip', { HAFEN_DOCKER_HOSTS: hosts.hosts.map((h) => h.endpoint).join(','), HAFEN_RECONCILE_INTERVAL: '1' });
    demo = await t.token('demo');
    // The default group admits only its members: open HTTP to everyone.
    const group = (await api('GET', `${N}/security-groups?name=default`)).security_groups[0].id;
    await api('POST', `${N}/security-group-rules`, { security_group_rule: { security_group_id: group, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: '0.0.0.0/0' } });
  });

  after(async () => {
    await t?.close();
    await hosts?.teardown();
  });

  it('answers the floating IP of a server booted on a nested host, follows it to another host, and stops after disassociation', async () => {
    const tar = path.join(t.dataDir, 'httpd.tar');
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh', '-c', HTTPD] }));
    const imageId = (await api('POST', '/image/v2/images', { name: 'httpd', container_format: 'docker', disk_format: 'raw' })).id;
    const up = await t.request('PUT', `/image/v2/images/${imageId}/file`, { token: demo, body: fs.readFileSync(tar), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204, up.text);
    const net = await routedNetwork('fipnet', '10.236.1.0/24');
    // One server on each host: an anti-affinity group (forcing a host is an admin's right); the
    // admin's view tells which host each landed on.
    const group = (await api('POST', `${C}/os-server-groups`, { server_group: { name: 'apart', policies: ['anti-affinity'] } })).server_group.id;
    const admin = await t.token('admin');
    const boot = async (name: string) => {
      const body = { server: { name, imageRef: imageId, flavorRef: '1', networks: [{ uuid: net }] }, 'os:scheduler_hints': { group } };
      const id = (await api('POST', `${C}/servers`, body)).server.id as string;
      return waitFor(`${name} ACTIVE`, async () => {
        const s = (await t.request('GET', `${C}/servers/${id}`, { token: admin })).body.server;
        if (s.status === 'ERROR') throw new Error(JSON.stringify(s.fault));
        return s.status === 'ACTIVE' ? s : undefined;
      }, 60_000);
    };
    const booted = [await boot('web-a'), await boot('web-b')];
    const onHost = (i: number) => booted.find((s) => s['OS-EXT-SRV-ATTR:host'] === hostIdFor(hosts.hosts[i]!.endpoint));
    const [web0, web1] = [onHost(0), onHost(1)];
    assert.ok(web0 && web1, JSON.stringify(booted.map((s) => s['OS-EXT-SRV-ATTR:host'])));
    assert.deepEqual(Object.keys(web1.addresses), ['fipnet']);

    const fip = (await api('POST', `${N}/floatingips`, { floatingip: { floating_network_id: t.cloud.network.externalNetworkId } })).floatingip;
    const address = fip.floating_ip_address as string;
    assert.equal(await page(address), undefined, 'nothing answers before association');
    // Associated the way a user does it: through Nova, with the real client.
    await t.openstack(['server', 'add', 'floating', 'ip', web1.id, address]);
    const onHost1 = await waitFor('floating IP answers', () => page(address), 60_000);
    assert.match(onHost1, /^hello-/);
    assert.match(await routeOf(address), viaHost(1), "routed to the server's host");
    assert.match(await natOf(1), new RegExp(`-d ${address}/32 .*-j DNAT --to-destination ${web1.addresses.fipnet[0].addr}`));

    // Moved to the server on the other host (Neutron's port_id update): answered there, gone here.
    const port0 = (await api('GET', `${N}/ports?device_id=${web0.id}`)).ports[0].id;
    await api('PUT', `${N}/floatingips/${fip.id}`, { floatingip: { port_id: port0 } });
    const onHost0 = await waitFor('floating IP moved', async () => {
      const p = await page(address);
      return p && p !== onHost1 ? p : undefined;
    }, 60_000);
    assert.match(onHost0, /^hello-/);
    assert.match(await routeOf(address), viaHost(0));
    assert.doesNotMatch(await natOf(1), new RegExp(address.replace(/\./g, '\\.')), 'the first host forgot it');

    await t.openstack(['server', 'remove', 'floating', 'ip', web0.id, address]);
    await waitFor('floating IP silent', async () => ((await page(address)) === undefined ? true : undefined), 60_000);
    assert.equal(await routeOf(address), '', 'route removed');
    assert.doesNotMatch(await natOf(0), new RegExp(address.replace(/\./g, '\\.')));
    for (const s of [web0, web1]) await api('DELETE', `${C}/servers/${s.id}`);
  });

  it('answers the floating IP of a server on a swarm overlay network, through its docker_gwbridge address', async () => {
    await formSwarm(hosts.hosts.map((h, i) => ({ docker: engines[i]!, address: h.address })));
    const net = await routedNetwork('ovlnet', '10.236.2.0/24');
    // A hand-made "server": a port bound to it through the client, as compute binds ports.
    const serverId = `ovl-${Date.now()}`;
    const [binding] = await t.cloud.network.client.bindPorts(await t.cloud.identity.tokens.validate(demo), serverId, 'ovl-host', [{ networkId: net }]);
    if (!binding) throw new Error('no binding');
    assert.equal(binding.engineNetwork.internal, false, 'a routed network is not internal');
    await ensureOverlayNetwork(engines[0]!, binding.engineNetwork);
    // A hand-made server (not compute's: its reconciler removes containers it has no row for) on the
    // second host, guarded by a dataplane of its own that knows the test label.
    const docker = engines[1]!;
    await ensureBusyboxEngineImage(hosts.hosts[1]!.endpoint);
    const c = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Hostname: 'ovl',
      Cmd: ['sh', '-c', HTTPD],
      Labels: { 'hafen.test_server_id': serverId },
      HostConfig: { NetworkMode: binding.engineNetwork.name },
      NetworkingConfig: { EndpointsConfig: { [binding.engineNetwork.name]: { IPAMConfig: { IPv4Address: binding.fixedIps[0]!.ipAddress } } } },
    });
    await c.start();
    const svc = t.cloud.network.service;
    const logs: string[] = [];
    const dataplane = new Dataplane(
      svc.feed,
      hosts.hosts.map((h, i) => ({ docker: engines[i]!, local: false, address: h.address })),
      (m) => logs.push(m),
      undefined,
      'hafen.test_server_id',
    );
    // The cloud's own dataplane installs every floating IP on these hosts: one owner at a time.
    await t.cloud.network.dataplane?.stop();
    await t.cloud.network.dataplane?.removeAllFloatingIps();
    dataplane.start(60_000);
    try {
      const fip = (await api('POST', `${N}/floatingips`, { floatingip: { floating_network_id: t.cloud.network.externalNetworkId, port_id: binding.portId } })).floatingip;
      const address = fip.floating_ip_address as string;
      await new Promise((r) => setTimeout(r, 50));
      await dataplane.settled();
      assert.equal(await page(address), 'hello-ovl', logs.join('\n'));
      await api('PUT', `${N}/floatingips/${fip.id}`, { floatingip: { port_id: null } });
      await new Promise((r) => setTimeout(r, 50));
      await dataplane.settled();
      assert.equal(await page(address), undefined);
      assert.equal(await routeOf(address), '');
    } finally {
      await dataplane.stop();
      await dataplane.removeAllFloatingIps();
      await c.remove({ force: true }).catch(() => {});
    }
  });
});
