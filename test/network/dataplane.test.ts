// test: exclusive (floating IPs put addresses, NAT chains and routing rules into the host's own namespace, which every file sees)
// The data plane on the real test engine: Neutron networks as engine bridges, security groups in each
// container's namespace (default group, live rule changes, port security off), floating IPs from the host.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from '../../src/host/test-images.ts';
import { ensureEngineNetwork, removeEngineNetwork } from '../../src/agent/net/engine-network.ts';
import { Dataplane } from '../../src/agent/net/dataplane.ts';
import { runTool } from '../../src/agent/net/run.ts';

describe('network data plane on a real engine', () => {
  let t: TestCloud;
  let docker: Docker;
  let dataplane: Dataplane;
  let demo: string;
  let admin: string;
  const containers: string[] = [];
  const engineNetworks: string[] = [];
  const ports: Record<string, { id: string; ip: string }> = {};
  let webGroup: string;

  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const r = await t.request(method, `/network/v2.0${path}`, { token, body });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };

  async function network(token: string, name: string, cidr: string): Promise<{ net: string; subnet: string }> {
    const net = (await api(token, 'POST', '/networks', { network: { name } })).network.id;
    const subnet = (await api(token, 'POST', '/subnets', { subnet: { network_id: net, ip_version: 4, cidr } })).subnet.id;
    return { net, subnet };
  }

  /** A "server": a port bound to a container that serves HTTP on :80. */
  async function server(token: string, name: string, netId: string, groups?: string[], portSecurity = true, extra: Record<string, unknown> = {}): Promise<void> {
    const serverId = `dp-${name}-${Date.now()}`;
    const body: Record<string, unknown> = { network_id: netId, name, ...extra };
    if (groups) body.security_groups = groups;
    if (!portSecurity) body.port_security_enabled = false;
    const port = (await api(token, 'POST', '/ports', { port: body })).port;
    // Bound as compute binds a server's ports: through the client (a port's device fields bind nothing).
    const [binding] = await t.cloud.network.client.bindPorts(await t.cloud.identity.tokens.validate(token), serverId, 'dp-host', [{ portId: port.id }]);
    if (!binding) throw new Error('no binding');
    await ensureEngineNetwork(docker, binding.engineNetwork);
    if (!engineNetworks.includes(binding.engineNetwork.name)) engineNetworks.push(binding.engineNetwork.name);
    const c = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ['sh', '-c', `mkdir -p /www && echo hello-${name} > /www/index.html && exec httpd -f -p 80 -h /www`],
      // Not compute's label: compute's reconciler removes hafen.server_id containers it has no row for.
      Labels: { 'hafen.test_server_id': serverId },
      MacAddress: binding.macAddress,
      HostConfig: { NetworkMode: binding.engineNetwork.name },
      NetworkingConfig: { EndpointsConfig: { [binding.engineNetwork.name]: { IPAMConfig: { IPv4Address: binding.fixedIps[0]!.ipAddress } } } },
    });
    containers.push(c.id);
    await c.start();
    ports[name] = { id: port.id, ip: binding.fixedIps[0]!.ipAddress };
  }

  /** Sends an HTTP request with nc (busybox-static's wget crashes) from inside `from` against `to`'s address; true when the page came back. */
  async function reaches(from: string, toIp: string): Promise<boolean> {
    const id = containers[Object.keys(ports).indexOf(from)]!;
    const exec = await docker.getContainer(id).exec({ Cmd: ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${toIp} 80`], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    let out = '';
    await new Promise((resolve) => stream.on('data', (d: Buffer) => (out += d.toString())).on('end', resolve).on('close', resolve));
    const code = (await exec.inspect()).ExitCode;
    if (process.env.HAFEN_DEBUG_DATAPLANE) console.log(from, '->', toIp, code, out);
    return code === 0 && out.includes('hello-');
  }

  /**
   * The same from a source address of `from`'s namespace that no port may hold unless a pair allows it:
   * the address is put on its interface from the host (the tenant has no CAP_NET_ADMIN), and the host's
   * curl runs in that namespace bound to it.
   */
  async function reachesFrom(from: string, source: string, toIp: string): Promise<boolean> {
    const id = containers[Object.keys(ports).indexOf(from)]!;
    const pid = String((await docker.getContainer(id).inspect()).State.Pid);
    const addrs = await runTool('nsenter', ['-t', pid, '-n', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    if (!addrs.includes(` ${source}/`)) await runTool('nsenter', ['-t', pid, '-n', 'ip', 'addr', 'add', `${source}/24`, 'dev', 'eth0']);
    const page = await runTool('nsenter', ['-t', pid, '-n', 'curl', '-s', '-m', '2', '--interface', source, `http://${toIp}/`]).catch(() => '');
    return page.includes('hello-');
  }

  async function settle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 50));
    await dataplane.settled();
  }

  before(async () => {
    const socket = await testEngineSocket();
    await ensureBusyboxEngineImage(socket);
    docker = engineClient(socket);
    t = await startTestCloud('network-dataplane');
    demo = await t.token('demo');
    admin = await t.token('admin');
    // The cloud's own dataplane drives its (absent) engine; this one drives the shared test engine.
    await t.cloud.network.dataplane?.stop();
    dataplane = new Dataplane(t.cloud.network.service.feed, [docker], () => {}, undefined, 'hafen.test_server_id');
    const a = await network(demo, 'dp-a', '10.231.1.0/24');
    const b = await network(demo, 'dp-b', '10.231.2.0/24');
    const other = await network(admin, 'dp-other', '10.231.3.0/24');
    // Router with the external gateway on dp-a before its engine network exists: not internal.
    const router = (await api(demo, 'POST', '/routers', { router: { name: 'dp-r', external_gateway_info: { network_id: t.cloud.network.externalNetworkId } } })).router.id;
    await api(demo, 'PUT', `/routers/${router}/add_router_interface`, { subnet_id: a.subnet });
    const groups = (await api(demo, 'GET', '/security-groups?name=default')).security_groups;
    webGroup = (await api(demo, 'POST', '/security-groups', { security_group: { name: 'dp-web' } })).security_group.id;
    await server(demo, 'a1', a.net); // default group
    await server(demo, 'a2', a.net); // default group
    await server(demo, 'web', a.net, [webGroup]); // only dp-web: no ingress yet
    await server(demo, 'open', a.net, [], false); // port security off
    await server(demo, 'b1', b.net);
    await server(admin, 'x1', other.net);
    // Allowed address pairs: one address and one block besides its fixed IP.
    await server(demo, 'pair', a.net, undefined, true, { allowed_address_pairs: [{ ip_address: '10.231.1.200' }, { ip_address: '10.231.1.208/29' }] });
    assert.ok(groups.length === 1);
    dataplane.start(60_000);
    await settle();
  });

  after(async () => {
    await dataplane?.stop();
    await dataplane?.removeAllFloatingIps();
    for (const id of containers) await docker.getContainer(id).remove({ force: true }).catch(() => {});
    for (const n of engineNetworks) await removeEngineNetwork(docker, n);
    await t?.close();
  });

  it('lets same-network members of the default group talk over TCP', async () => {
    assert.equal(await reaches('a1', ports.a2!.ip), true);
    assert.equal(await reaches('a2', ports.a1!.ip), true);
  });

  it('keeps other networks and other projects out', async () => {
    assert.equal(await reaches('b1', ports.a1!.ip), false);
    assert.equal(await reaches('x1', ports.a1!.ip), false);
    assert.equal(await reaches('a1', ports.b1!.ip), false);
    assert.equal(await reaches('a1', ports.x1!.ip), false);
  });

  it('leaves a port with port security off unfiltered', async () => {
    assert.equal(await reaches('a1', ports.open!.ip), true);
    assert.equal(await reaches('open', ports.a1!.ip), false, 'a1 still only admits its default group');
  });

  it('lets a port send from its allowed address pairs, and from no other address (anti-spoofing)', async () => {
    assert.equal(await reachesFrom('pair', ports.pair!.ip, ports.open!.ip), true, 'its fixed IP');
    assert.equal(await reachesFrom('pair', '10.231.1.200', ports.open!.ip), true, 'a paired address');
    assert.equal(await reachesFrom('pair', '10.231.1.211', ports.open!.ip), true, 'an address of a paired block');
    assert.equal(await reachesFrom('pair', '10.231.1.201', ports.open!.ip), false, 'an address no pair names');
    assert.equal(await reachesFrom('a1', '10.231.1.200', ports.open!.ip), false, 'another port cannot use the pair');
    // The pairs go: so does what they allowed.
    await api(demo, 'PUT', `/ports/${ports.pair!.id}`, { port: { allowed_address_pairs: [] } });
    await settle();
    assert.equal(await reachesFrom('pair', '10.231.1.200', ports.open!.ip), false, 'the pair was removed');
    assert.equal(await reachesFrom('pair', ports.pair!.ip, ports.open!.ip), true, 'its fixed IP still sends');
  });

  it('opens and closes a port live when a rule is added and removed', async () => {
    assert.equal(await reaches('a1', ports.web!.ip), false);
    const started = Date.now();
    const rule = (await api(demo, 'POST', '/security-group-rules', { security_group_rule: { security_group_id: webGroup, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: '0.0.0.0/0' } })).security_group_rule;
    await settle();
    assert.ok(Date.now() - started < 1000, `rule in force after ${Date.now() - started} ms`);
    assert.equal(await reaches('a1', ports.web!.ip), true);
    await api(demo, 'DELETE', `/security-group-rules/${rule.id}`);
    await settle();
    assert.equal(await reaches('a1', ports.web!.ip), false);
  });

  it('reaches a server from the host through its floating IP, and not after disassociation', async () => {
    await api(demo, 'POST', '/security-group-rules', { security_group_rule: { security_group_id: webGroup, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: '0.0.0.0/0' } });
    const fip = (await api(demo, 'POST', '/floatingips', { floatingip: { floating_network_id: t.cloud.network.externalNetworkId, port_id: ports.web!.id } })).floatingip;
    await settle();
    const res = await fetch(`http://${fip.floating_ip_address}/`, { signal: AbortSignal.timeout(3000) });
    assert.equal((await res.text()).trim(), 'hello-web');
    await api(demo, 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: null } });
    await settle();
    await assert.rejects(fetch(`http://${fip.floating_ip_address}/`, { signal: AbortSignal.timeout(1500) }));
    const addrs = await runTool('ip', ['-4', 'addr', 'show', 'dev', 'lo']);
    assert.ok(!addrs.includes(`${fip.floating_ip_address}/32`), 'address removed from loopback');
  });
});
