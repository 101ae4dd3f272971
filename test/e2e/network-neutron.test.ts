// Issue 13's Neutron items through Debian's openstack CLI (HTTP where the CLI has no call): router gateway
// ports, overlapping interfaces, routes: null, GET /v2.0/quotas, subnet pools, agents, the default group's
// name, external networks taking their floating IPs, rule checks with Neutron's messages, the .json suffix,
// filters/sorting/paging/fields, booleans given as strings, If-Match, allowed address pairs in the
// anti-spoofing rules, and port forwardings answering on the floating IP's port on a real engine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { startComputeCloud } from '../helpers/compute.ts';
import { claimTestSubnet } from '../helpers/subnets.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { runTool } from '../../src/agent/net/run.ts';

// A /24 no other test file on the shared engine (or bridge on this machine) holds, claimed in `before`
// (n5's /25 overlaps n4 on purpose).
let prefix = '';

describe('Neutron compatibility (issue 13)', () => {
  let t: TestCloud;
  let docker: Docker;
  let demo: string;
  let admin: string;
  const nets: string[] = [];
  const N = '/network/v2.0';
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await t.openstack([...args, '-f', 'json'], cloud));
  const api = (method: string, p: string, body?: unknown, token = demo, headers: Record<string, string> = {}) => t.request(method, `${N}${p}`, { token, body, headers });
  const page = async (url: string) => {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      return (await r.text()).trim();
    } catch {
      return undefined;
    }
  };

  before(async () => {
    ({ prefix } = await claimTestSubnet());
    const c = await startComputeCloud('network-neutron');
    t = c.t;
    docker = engineClient(c.socket);
    demo = await t.token('demo');
    admin = await t.token('admin');
    for (const [name, cidr] of [['n4', `${prefix}.0/24`], ['n5', `${prefix}.0/25`]] as const) {
      nets.push((await json(['network', 'create', name])).id);
      await t.openstack(['subnet', 'create', '--network', name, '--subnet-range', cidr, `${name}-sub`]);
    }
    await t.openstack(['router', 'create', 'r4']);
    await t.openstack(['router', 'set', '--external-gateway', 'public', 'r4']);
    await t.openstack(['router', 'add', 'subnet', 'r4', 'n4-sub']);
  });
  after(async () => {
    for (const s of await json(['server', 'list', '--all-projects'], 'hafen-admin').catch(() => [])) await t.openstack(['server', 'delete', '--wait', s.ID], 'hafen-admin').catch(() => undefined);
    for (const id of nets) await docker.getNetwork(`hafen-net-${id}`).remove().catch(() => undefined);
    await t.close();
  });

  it('makes and removes a router\'s network:router_gateway port with its gateway', async () => {
    const router = await json(['router', 'create', 'r5']);
    await t.openstack(['router', 'set', '--external-gateway', 'public', 'r5']);
    const address = (await json(['router', 'show', 'r5'])).external_gateway_info.external_fixed_ips[0].ip_address;
    const ports = await json(['port', 'list', '--device-owner', 'network:router_gateway', '--device-id', router.id, '--long'], 'hafen-admin');
    assert.equal(ports.length, 1, JSON.stringify(ports));
    assert.equal(ports[0]['Fixed IP Addresses'][0].ip_address, address);
    await t.openstack(['router', 'unset', '--external-gateway', 'r5']);
    assert.deepEqual(await json(['port', 'list', '--device-owner', 'network:router_gateway', '--device-id', router.id], 'hafen-admin'), []);
    assert.equal((await json(['router', 'show', 'r5'])).external_gateway_info, null);
    await t.openstack(['router', 'delete', 'r5']);
  });

  it('refuses an interface on a subnet that overlaps one the router has (400), and clears routes with null', async () => {
    await assert.rejects(t.openstack(['router', 'add', 'subnet', 'r4', 'n5-sub']), /400|overlaps/);
    const router = await json(['router', 'show', 'r4']);
    const set = await api('PUT', `/routers/${router.id}`, { router: { routes: [{ destination: '10.99.0.0/16', nexthop: `${prefix}.5` }] } });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.body.router.routes, [{ destination: '10.99.0.0/16', nexthop: `${prefix}.5` }]);
    const unreachable = await api('PUT', `/routers/${router.id}`, { router: { routes: [{ destination: '10.99.0.0/16', nexthop: '10.200.0.5' }] } });
    assert.equal(unreachable.status, 400);
    assert.equal(unreachable.body.NeutronError.type, 'InvalidRoutes');
    const cleared = await api('PUT', `/routers/${router.id}`, { router: { routes: null } });
    assert.deepEqual(cleared.body.router.routes, []);
  });

  it('lists the projects with their own quotas to admins (GET /v2.0/quotas)', async () => {
    await t.openstack(['quota', 'set', '--networks', '7', 'demo'], 'hafen-admin');
    const demoId = (await json(['project', 'show', 'demo'], 'hafen-admin')).id;
    const all = await api('GET', '/quotas', undefined, admin);
    assert.equal(all.status, 200, all.text);
    const mine = all.body.quotas.find((q: { project_id: string }) => q.project_id === demoId);
    assert.equal(mine.network, 7);
    assert.equal(mine.port, 500);
    const listed = await json(['quota', 'list', '--network'], 'hafen-admin');
    assert.ok(listed.some((q: { 'Project ID'?: string; Project?: string; Networks: number }) => (q['Project ID'] ?? q.Project) === demoId && q.Networks === 7), JSON.stringify(listed));
    assert.equal((await api('GET', '/quotas')).status, 403);
    await t.openstack(['quota', 'set', '--networks', '100', 'demo'], 'hafen-admin');
  });

  it('allocates subnets from a shared subnet pool by prefix length, and keeps a pool in use', async () => {
    const pool = await json(['subnet', 'pool', 'create', '--pool-prefix', '10.90.0.0/16', '--min-prefix-length', '24', '--default-prefix-length', '26', '--share', 'pool1'], 'hafen-admin');
    assert.deepEqual(pool.prefixes, ['10.90.0.0/16']);
    nets.push((await json(['network', 'create', 'pooled'])).id);
    const a = await json(['subnet', 'create', '--network', 'pooled', '--subnet-pool', 'pool1', '--prefix-length', '28', 'from-pool-a']);
    const b = await json(['subnet', 'create', '--network', 'pooled', '--subnet-pool', 'pool1', 'from-pool-b']);
    assert.equal(a.cidr, '10.90.0.0/28');
    assert.equal(a.subnetpool_id, pool.id);
    assert.equal(b.cidr, '10.90.0.64/26', 'the default prefix length, past the /28');
    await assert.rejects(t.openstack(['subnet', 'create', '--network', 'pooled', '--subnet-pool', 'pool1', '--prefix-length', '20', 'too-big']), /400|prefix length/i);
    await assert.rejects(t.openstack(['subnet', 'pool', 'delete', 'pool1'], 'hafen-admin'), /409|in use/i);
    const ext = await api('GET', '/extensions/subnet_allocation');
    assert.equal(ext.status, 200);
    await t.openstack(['subnet', 'delete', 'from-pool-a', 'from-pool-b']);
    await t.openstack(['subnet', 'pool', 'delete', 'pool1'], 'hafen-admin');
  });

  it('answers GET /v2.0/agents: the dataplane for admins, nothing for others', async () => {
    const agents = await json(['network', 'agent', 'list'], 'hafen-admin');
    assert.equal(agents.length, 1);
    assert.equal(agents[0]['Agent Type'], 'hafen dataplane');
    assert.deepEqual(await json(['network', 'agent', 'list']), []);
  });

  it('keeps "default" for the default group (409) and checks rules with Neutron\'s messages', async () => {
    await t.openstack(['security', 'group', 'create', 'g13']);
    await assert.rejects(t.openstack(['security', 'group', 'set', '--name', 'default', 'g13']), /409|already exists/i);
    const group = (await json(['security', 'group', 'show', 'g13'])).id;
    const rule = (r: Record<string, unknown>) => api('POST', '/security-group-rules', { security_group_rule: { security_group_id: group, direction: 'ingress', ...r } });
    const cases: [Record<string, unknown>, string, string][] = [
      [{ protocol: 'tcp', port_range_min: 0, port_range_max: 80 }, 'SecurityGroupInvalidPortValue', 'Invalid value for port 0'],
      [{ protocol: 'tcp', port_range_min: 80, port_range_max: 70000 }, 'SecurityGroupInvalidPortValue', 'Invalid value for port 70000'],
      [{ protocol: 'udp', port_range_min: 90, port_range_max: 80 }, 'SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max'],
      [{ protocol: 'icmp', port_range_min: 300 }, 'SecurityGroupInvalidIcmpValue', 'Invalid value for ICMP type (port_range_min): 300. It must be 0 to 255.'],
      [{ protocol: 'icmp', port_range_min: 8, port_range_max: 256 }, 'SecurityGroupInvalidIcmpValue', 'Invalid value for ICMP code (port_range_max): 256. It must be 0 to 255.'],
      [{ protocol: 'icmp', port_range_max: 0 }, 'SecurityGroupMissingIcmpType', 'ICMP code (port-range-max) 0 is provided but ICMP type (port-range-min) is missing.'],
      [{ port_range_min: 22 }, 'SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.'],
      [{ protocol: 'gre', port_range_min: 22 }, 'SecurityGroupInvalidProtocolForPort', 'Invalid protocol gre for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.'],
    ];
    for (const [body, type, message] of cases) {
      const r = await rule(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.body.NeutronError.type, type, JSON.stringify(body));
      assert.equal(r.body.NeutronError.message, message, JSON.stringify(body));
    }
  });

  it('deletes an external network with its unassociated floating IPs', async () => {
    const ext = await json(['network', 'create', '--external', 'ext2'], 'hafen-admin');
    await t.openstack(['subnet', 'create', '--network', 'ext2', '--subnet-range', '127.66.0.0/24', '--no-dhcp', 'ext2-sub'], 'hafen-admin');
    const fip = await json(['floating', 'ip', 'create', 'ext2']);
    await t.openstack(['network', 'delete', 'ext2'], 'hafen-admin');
    await assert.rejects(t.openstack(['floating', 'ip', 'show', fip.id]), /404|not found|No FloatingIP/i);
    assert.equal((await api('GET', `/networks/${ext.id}`, undefined, admin)).status, 404);
  });

  it('accepts the .json suffix, filters, sorts, pages, selects fields, reads string booleans and honours If-Match', async () => {
    for (const name of ['pg-a', 'pg-b', 'pg-c']) {
      const r = await api('POST', '/networks.json', { network: { name, admin_state_up: name === 'pg-b' ? 'False' : '1', tags: ['paged'] } });
      assert.equal(r.status, 201, r.text);
      nets.push(r.body.network.id);
    }
    const b = (await api('GET', '/networks?name=pg-b')).body.networks[0];
    assert.equal(b.admin_state_up, false, '"False" is false');
    assert.equal((await api('GET', `/networks/${b.id}.json`)).body.network.id, b.id);
    const down = await api('GET', '/networks?tags=paged&admin_state_up=False');
    assert.deepEqual(down.body.networks.map((n: { name: string }) => n.name), ['pg-b']);
    const first = await api('GET', '/networks?tags=paged&sort_key=name&sort_dir=desc&limit=2&fields=id&fields=name');
    assert.deepEqual(first.body.networks.map((n: { name: string }) => n.name), ['pg-c', 'pg-b']);
    assert.deepEqual(Object.keys(first.body.networks[0]).sort(), ['id', 'name']);
    const next = first.body.networks_links.find((l: { rel: string }) => l.rel === 'next').href as string;
    const rest = await t.request('GET', next.slice(t.url.length), { token: demo });
    assert.deepEqual(rest.body.networks.map((n: { name: string }) => n.name), ['pg-a']);
    assert.equal((await api('GET', '/networks?sort_key=nope')).status, 400);
    assert.equal((await api('GET', '/networks?limit=x')).status, 400);
    const shared = await api('POST', '/networks', { network: { name: 'pg-s', shared: '0' } });
    assert.equal(shared.status, 201, 'shared "0" is false, so no admin rule applies');
    assert.equal(shared.body.network.shared, false);
    nets.push(shared.body.network.id);
    const bad = await api('POST', '/networks', { network: { name: 'pg-x', admin_state_up: 'perhaps' } });
    assert.equal(bad.status, 400);
    const unknown = await api('POST', '/networks', { network: { name: 'pg-y', colour: 'red' } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.NeutronError.message, "Unrecognized attribute(s) 'colour'");
    // standard-attr-revisions: If-Match with an old revision answers 412 and changes nothing.
    const rev = b.revision_number as number;
    const stale = await api('PUT', `/networks/${b.id}`, { network: { name: 'pg-b2' } }, demo, { 'if-match': `revision_number=${rev + 5}` });
    assert.equal(stale.status, 412, stale.text);
    assert.equal((await api('GET', `/networks/${b.id}`)).body.network.name, 'pg-b');
    const fresh = await api('PUT', `/networks/${b.id}`, { network: { name: 'pg-b2' } }, demo, { 'if-match': `revision_number=${rev}` });
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.body.network.revision_number, rev + 1);
  });

  it('keeps allowed address pairs (in the port\'s anti-spoofing rules) and no longer lists extra_dhcp_opt', async () => {
    const port = await json(['port', 'create', '--network', 'n4', '--allowed-address', `ip-address=${prefix}.200`, 'paired']);
    assert.deepEqual(port.allowed_address_pairs, [{ ip_address: `${prefix}.200`, mac_address: port.mac_address }]);
    await assert.rejects(t.openstack(['port', 'set', '--disable-port-security', '--no-security-group', 'paired']), /409|Port Security must be enabled/i);
    const dhcp = await api('POST', '/ports', { port: { network_id: nets[0], extra_dhcp_opts: [{ opt_name: 'mtu', opt_value: '1400' }] } });
    assert.equal(dhcp.status, 400);
    assert.equal((await api('GET', '/extensions/extra_dhcp_opt')).status, 404);
    await t.openstack(['port', 'delete', 'paired']);
  });

  it('forwards a floating IP\'s port to a server (port forwardings), enforced on the host', async () => {
    const tar = path.join(t.dataDir, 'pf.tar');
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh', '-c', 'mkdir -p /www && echo forwarded > /www/index.html && exec httpd -f -p 80 -h /www'] }));
    await t.openstack(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', tar, 'pf-web']);
    await t.openstack(['security', 'group', 'create', 'pf-web']);
    await t.openstack(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '80', '--remote-ip', '0.0.0.0/0', 'pf-web']);
    const server = await json(['server', 'create', '--image', 'pf-web', '--flavor', 'm1.tiny', '--network', 'n4', '--security-group', 'pf-web', '--wait', 'pf']);
    const [port] = await json(['port', 'list', '--server', server.id, '--long']);
    const ip = port['Fixed IP Addresses'][0].ip_address;
    // Anti-spoofing: nothing leaves the server from an address its port does not hold.
    const pid = (await docker.getContainer(`hafen-${server.id}`).inspect()).State.Pid;
    const rules = await runTool('nsenter', ['-t', String(pid), '-n', 'iptables-save', '-t', 'filter']);
    assert.match(rules, new RegExp(`-A OUTPUT -s ${ip.replace(/\./g, '\\.')}(/32)? -j ACCEPT`));
    const fip = await json(['floating', 'ip', 'create', 'public']);
    const pf = await json(['floating', 'ip', 'port', 'forwarding', 'create', '--internal-ip-address', ip, '--port', port.ID, '--internal-protocol-port', '80', '--external-protocol-port', '8080', '--protocol', 'tcp', fip.id]);
    assert.equal(pf.external_port, 8080);
    await t.cloud.network.dataplane?.settled();
    let got: string | undefined;
    for (let i = 0; i < 30 && got !== 'forwarded'; i++) {
      got = await page(`http://${fip.floating_ip_address}:8080/`);
      if (got !== 'forwarded') await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(got, 'forwarded', 'the floating IP answers on 8080');
    assert.equal(await page(`http://${fip.floating_ip_address}:80/`), undefined, 'and not on 80');
    const listed = await json(['floating', 'ip', 'port', 'forwarding', 'list', fip.id]);
    assert.equal(listed.length, 1);
    await assert.rejects(t.openstack(['floating', 'ip', 'set', '--port', port.ID, fip.id]), /409|port forwarding/i);
    await t.openstack(['floating', 'ip', 'port', 'forwarding', 'delete', fip.id, pf.id]);
    await t.cloud.network.dataplane?.settled();
    assert.equal(await page(`http://${fip.floating_ip_address}:8080/`), undefined, 'gone with the forwarding');
    await t.openstack(['floating', 'ip', 'delete', fip.id]);
    await t.openstack(['server', 'delete', '--wait', 'pf']);
  });
});
