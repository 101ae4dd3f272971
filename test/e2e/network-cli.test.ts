// test: exclusive (floating IPs put addresses, NAT chains and routing rules into the host's own namespace, which every file sees)
// The network flows of issue 6 through Debian's real `openstack` CLI: networks, subnets, ports,
// security groups and rules, routers, floating IPs and quotas, plus Neutron's answers to bad input.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';

describe('networks through the openstack CLI', () => {
  let t: TestCloud;
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await t.openstack([...args, '-f', 'json'], cloud));

  before(async () => {
    t = await startTestCloud('network-cli');
  });
  after(async () => t.close());

  it('creates, lists, shows, sets and deletes a network', async () => {
    const net = await json(['network', 'create', '--mtu', '1400', '--tag', 'blue', 'scratch']);
    assert.equal(net.name, 'scratch');
    assert.equal(net.mtu, 1400);
    assert.equal(net.admin_state_up, true);
    assert.deepEqual(net.tags, ['blue']);
    await t.openstack(['network', 'set', '--name', 'scratch2', '--description', 'temp', 'scratch']);
    const shown = await json(['network', 'show', 'scratch2']);
    assert.equal(shown.description, 'temp');
    const list = await json(['network', 'list']);
    assert.ok(list.some((n: { Name: string }) => n.Name === 'scratch2'));
    assert.ok(list.some((n: { Name: string }) => n.Name === 'public'), 'the external network is visible to every project');
    const tagged = await json(['network', 'list', '--tags', 'blue']);
    assert.deepEqual(tagged.map((n: { Name: string }) => n.Name), ['scratch2']);
    await t.openstack(['network', 'delete', 'scratch2']);
    await assert.rejects(t.openstack(['network', 'show', 'scratch2']), /No Network found|could not be found/i);
  });

  it('creates subnets and ports with addresses from the pool, and refuses bad input', async () => {
    await t.openstack(['network', 'create', 'app']);
    const sub = await json(['subnet', 'create', '--network', 'app', '--subnet-range', '10.20.0.0/24', '--dns-nameserver', '10.20.0.53', '--allocation-pool', 'start=10.20.0.10,end=10.20.0.20', 'app-sub']);
    assert.equal(sub.cidr, '10.20.0.0/24');
    assert.equal(sub.gateway_ip, '10.20.0.1');
    assert.deepEqual(sub.allocation_pools, [{ start: '10.20.0.10', end: '10.20.0.20' }]);
    await assert.rejects(t.openstack(['subnet', 'create', '--network', 'app', '--subnet-range', '10.20.0.128/25', 'overlap']), /overlaps with another subnet/);
    await assert.rejects(t.openstack(['subnet', 'create', '--network', 'app', '--subnet-range', '10.21.0.0/33', 'bad']), /not a valid IP subnet|invalid/i);
    await assert.rejects(t.openstack(['subnet', 'create', '--network', 'app', '--subnet-range', '10.22.0.0/24', '--gateway', '10.23.0.1', 'gw']), /not in subnet/);
    await assert.rejects(t.openstack(['subnet', 'create', '--network', 'app', '--subnet-range', '10.24.0.0/24', '--allocation-pool', 'start=10.24.1.1,end=10.24.1.9', 'pool']), /spans beyond/);

    const p1 = await json(['port', 'create', '--network', 'app', 'p1']);
    assert.equal(p1.fixed_ips[0].ip_address, '10.20.0.10');
    assert.match(p1.mac_address, /^fa:16:3e:/);
    const p2 = await json(['port', 'create', '--network', 'app', '--fixed-ip', 'ip-address=10.20.0.15', '--mac-address', 'fa:16:3e:00:00:15', 'p2']);
    assert.equal(p2.fixed_ips[0].ip_address, '10.20.0.15');
    assert.equal(p2.mac_address, 'fa:16:3e:00:00:15');
    await assert.rejects(t.openstack(['port', 'create', '--network', 'app', '--fixed-ip', 'ip-address=10.20.0.15', 'p3']), /IP address 10\.20\.0\.15 is in use/);
    await t.openstack(['port', 'set', '--name', 'p2-renamed', '--no-security-group', '--disable-port-security', 'p2']);
    const p2s = await json(['port', 'show', 'p2-renamed']);
    assert.equal(p2s.port_security_enabled, false);
    const ports = await json(['port', 'list', '--network', 'app']);
    assert.equal(ports.length, 2);
    await assert.rejects(t.openstack(['network', 'delete', 'app']), /ports still in use/);
    await t.openstack(['port', 'delete', 'p1', 'p2-renamed']);
    // Addresses go back to the pool.
    const p4 = await json(['port', 'create', '--network', 'app', 'p4']);
    assert.equal(p4.fixed_ips[0].ip_address, '10.20.0.10');
    await t.openstack(['port', 'delete', 'p4']);
  });

  it('manages security groups and validates rules', async () => {
    const groups = await json(['security', 'group', 'list']);
    assert.ok(groups.some((g: { Name: string }) => g.Name === 'default'), 'default group made on first use');
    const sg = await json(['security', 'group', 'create', 'web']);
    assert.equal(sg.name, 'web');
    const rule = await json(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '80', '--remote-ip', '0.0.0.0/0', 'web']);
    assert.equal(rule.port_range_min, 80);
    assert.equal(rule.port_range_max, 80);
    assert.equal(rule.remote_ip_prefix, '0.0.0.0/0');
    assert.equal(rule.direction, 'ingress');
    await assert.rejects(t.openstack(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '80', '--remote-ip', '0.0.0.0/0', 'web']), /already exists/);
    // The CLI refuses 90:80 itself; the API must refuse it too.
    const bad = await t.request('POST', '/network/v2.0/security-group-rules', {
      token: await t.token('demo'),
      body: { security_group_rule: { security_group_id: sg.id, direction: 'ingress', protocol: 'tcp', port_range_min: 90, port_range_max: 80 } },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.NeutronError.type, 'SecurityGroupInvalidPortRange');
    const noProto = await t.request('POST', '/network/v2.0/security-group-rules', {
      token: await t.token('demo'),
      body: { security_group_rule: { security_group_id: sg.id, direction: 'ingress', port_range_min: 22, port_range_max: 22 } },
    });
    assert.equal(noProto.body.NeutronError.type, 'SecurityGroupProtocolRequiredWithPorts');
    const rules = await json(['security', 'group', 'rule', 'list', 'web']);
    assert.equal(rules.length, 3, 'two egress defaults and the new rule');
    await t.openstack(['security', 'group', 'rule', 'delete', rule.id]);
    await t.openstack(['security', 'group', 'delete', 'web']);
  });

  it('routes a subnet to the external network and floats an IP to a port', async () => {
    await t.openstack(['router', 'create', 'r1']);
    await t.openstack(['router', 'set', '--external-gateway', 'public', 'r1']);
    await t.openstack(['router', 'add', 'subnet', 'r1', 'app-sub']);
    const router = await json(['router', 'show', 'r1']);
    assert.ok(router.external_gateway_info.external_fixed_ips[0].ip_address.startsWith('127.'));
    const port = await json(['port', 'create', '--network', 'app', 'server-port']);
    const fip = await json(['floating', 'ip', 'create', 'public']);
    assert.match(fip.floating_ip_address, /^127\.(12[89]|1[3-8][0-9]|19[01])\./, 'from the default range, a /20 of 127.128.0.0/10');
    await t.openstack(['floating', 'ip', 'set', '--port', port.id, fip.id]);
    let shown = await json(['floating', 'ip', 'show', fip.id]);
    assert.equal(shown.port_id, port.id);
    assert.equal(shown.fixed_ip_address, port.fixed_ips[0].ip_address);
    assert.equal(shown.router_id, router.id);
    await t.openstack(['floating', 'ip', 'unset', '--port', fip.id]);
    shown = await json(['floating', 'ip', 'show', fip.id]);
    assert.equal(shown.port_id, null);
    await t.openstack(['floating', 'ip', 'delete', fip.id]);
    await assert.rejects(t.openstack(['router', 'delete', 'r1']), /still has ports/);
    await t.openstack(['router', 'remove', 'subnet', 'r1', 'app-sub']);
    await t.openstack(['router', 'delete', 'r1']);
    await t.openstack(['port', 'delete', 'server-port']);
  });

  it('sets, shows and enforces network quotas', async () => {
    // `quota show` also asks compute and volume; `quota list --network` speaks to the network API only.
    await t.openstack(['quota', 'set', '--networks', '3', '--ports', '40', 'demo'], 'hafen-admin');
    const [row] = await json(['quota', 'list', '--network', '--project', 'demo'], 'hafen-admin');
    assert.equal(row.Networks, 3);
    assert.equal(row.Ports, 40);
    const detail = await json(['quota', 'list', '--network', '--detail', '--project', 'demo'], 'hafen-admin');
    const networks = detail.find((d: { Resource: string }) => d.Resource === 'networks' || d.Resource === 'network');
    assert.equal(networks.Limit, 3);
    assert.equal(networks['In Use'], 1);
    await t.openstack(['network', 'create', 'q1']);
    await t.openstack(['network', 'create', 'q2']);
    await assert.rejects(t.openstack(['network', 'create', 'q3']), /Quota exceeded for resources: \['network'\]/);
    await t.openstack(['network', 'delete', 'q1', 'q2']);
    await t.openstack(['quota', 'set', '--networks', '100', 'demo'], 'hafen-admin');
  });

  it('keeps projects apart', async () => {
    const demoNet = await json(['network', 'show', 'app']);
    await assert.rejects(t.openstack(['network', 'show', 'app'], 'hafen-admin').then(async () => {
      // admin sees everything, as in Neutron; check through a second member project instead below.
      throw new Error('admin sees all');
    }), /admin sees all/);
    const admin = await t.token('admin');
    // A non-admin of another project: create one with the admin CLI.
    await t.openstack(['project', 'create', 'other'], 'hafen-admin');
    await t.openstack(['user', 'create', '--password', 'secret-other', '--project', 'other', 'otheruser'], 'hafen-admin');
    await t.openstack(['role', 'add', '--project', 'other', '--user', 'otheruser', 'member'], 'hafen-admin');
    const res = await t.request('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { name: 'otheruser', domain: { id: 'default' }, password: 'secret-other' } } }, scope: { project: { name: 'other', domain: { id: 'default' } } } } } });
    const other = res.headers.get('x-subject-token')!;
    assert.ok(admin);
    const shown = await t.request('GET', `/network/v2.0/networks/${demoNet.id}`, { token: other });
    assert.equal(shown.status, 404);
    assert.equal(shown.body.NeutronError.type, 'NetworkNotFound');
    const port = await t.request('POST', '/network/v2.0/ports', { token: other, body: { port: { network_id: demoNet.id } } });
    assert.equal(port.status, 404);
    const list = await t.request('GET', '/network/v2.0/networks', { token: other });
    assert.deepEqual(list.body.networks.map((n: { name: string }) => n.name), ['public']);
  });
});
