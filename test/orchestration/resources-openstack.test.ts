// test: exclusive (floating IPs put addresses, NAT chains and routing rules into the host's own namespace, which every file sees)
// The OpenStack resource types through the Heat API on a real cloud and engine: a stack with a
// network, subnet, security group, port, router, router interface, floating IP, key pair and two
// servers (one on the port, one on the network with the stack's group); the real objects checked
// through the Neutron and Nova APIs and on the engine, attributes through outputs, the group's
// rules and the server's name updated in place, suspend/resume, and everything gone after delete.
// The template has no depends_on: ports, servers and floating IPs wait for what Heat orders implicitly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Docker from 'dockerode';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { engineClient } from '../../src/host/engine-client.ts';

const CIDR_PREFIX = '10.79.41';

function template(opts: { rules: unknown[]; serverName: string; metadata: Record<string, string>; suffix?: string }) {
  const sfx = opts.suffix ?? '';
  return {
    heat_template_version: '2021-04-16',
    parameters: { image: { type: 'string', default: 'busybox', constraints: [{ custom_constraint: 'glance.image' }] } },
    resources: {
      net: { type: 'OS::Neutron::Net', properties: { name: 'stacknet' } },
      subnet: { type: 'OS::Neutron::Subnet', properties: { network: { get_resource: 'net' }, cidr: `${CIDR_PREFIX}.0/24`, name: `stacksub${sfx}`, dns_nameservers: sfx ? ['10.0.0.53'] : [] } },
      sg: { type: 'OS::Neutron::SecurityGroup', properties: { name: 'stacksg', rules: opts.rules } },
      port: {
        type: 'OS::Neutron::Port',
        properties: { name: `stackport${sfx}`, network: { get_resource: 'net' }, fixed_ips: [{ subnet: { get_resource: 'subnet' }, ip_address: `${CIDR_PREFIX}.50` }], security_groups: [{ get_resource: 'sg' }] },
      },
      router: { type: 'OS::Neutron::Router', properties: { name: `stackrouter${sfx}`, external_gateway_info: { network: 'public' } } },
      ri: { type: 'OS::Neutron::RouterInterface', properties: { router: { get_resource: 'router' }, subnet: { get_resource: 'subnet' } } },
      fip: { type: 'OS::Neutron::FloatingIP', properties: { floating_network: 'public', port_id: { get_resource: 'port' } } },
      fip2: { type: 'OS::Neutron::FloatingIP', properties: { floating_network: 'public' } },
      assoc: {
        type: 'OS::Neutron::FloatingIPAssociation',
        properties: { floatingip_id: { get_resource: 'fip2' }, port_id: { get_attr: ['server2', 'addresses', 'stacknet', 0, 'port'] } },
      },
      key: { type: 'OS::Nova::KeyPair', properties: { name: 'stackkey', save_private_key: true } },
      server: {
        type: 'OS::Nova::Server',
        properties: { name: opts.serverName, image: { get_param: 'image' }, flavor: 'm1.tiny', key_name: { get_resource: 'key' }, metadata: opts.metadata, networks: [{ port: { get_resource: 'port' } }] },
      },
      server2: {
        type: 'OS::Nova::Server',
        properties: { image: 'busybox', flavor: '1', networks: [{ network: { get_resource: 'net' } }], security_groups: [{ get_resource: 'sg' }], user_data: 'hello', user_data_format: 'RAW' },
      },
    },
    outputs: {
      first_address: { value: { get_attr: ['server', 'first_address'] } },
      floating_ip: { value: { get_attr: ['fip', 'floating_ip_address'] } },
      networks: { value: { get_attr: ['server', 'networks'] } },
      private_key: { value: { get_attr: ['key', 'private_key'] } },
      server2_address: { value: { get_attr: ['server2', 'first_address'] } },
      server_name: { value: { get_attr: ['server', 'name'] } },
      subnet_cidr: { value: { get_attr: ['subnet', 'cidr'] } },
    },
  };
}

const SSH = { protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' };
const HTTP = { protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: '0.0.0.0/0' };
const HTTPS_OUT = { direction: 'egress', protocol: 'tcp', port_range_min: 443, remote_ip_prefix: '0.0.0.0/0' };

describe('OpenStack resource types', () => {
  let t: TestCloud;
  let docker: Docker;
  let demo: string;
  let project: string;
  let stackId = '';
  let ids: Record<string, string> = {};
  let admin: string;
  let adminProject: string;
  let files: http.Server;
  let imageUrl: string;
  const H = () => `/orchestration/v1/${project}`;
  const get = (path: string) => t.request('GET', path, { token: demo });
  const settled = (name: string) =>
    waitFor(
      `${name} settled`,
      async () => {
        const r = await get(`${H()}/stacks/${name}`);
        if (r.status === 404) return { stack_status: 'GONE' } as Record<string, any>;
        return r.body.stack.stack_status.endsWith('IN_PROGRESS') ? undefined : r.body.stack;
      },
      180_000,
    );
  const outputs = (s: Record<string, any>) => Object.fromEntries((s.outputs as { output_key: string; output_value: unknown }[]).map((o) => [o.output_key, o.output_value])) as Record<string, any>;
  const rulesOf = async (sg: string) => (await get(`/network/v2.0/security-group-rules?security_group_id=${sg}`)).body.security_group_rules as Record<string, any>[];
  const ruleKeys = (rules: Record<string, any>[]) => rules.map((r) => `${r.direction} ${r.ethertype} ${r.protocol ?? 'any'} ${r.port_range_min ?? ''}-${r.port_range_max ?? ''} ${r.remote_ip_prefix ?? ''}`).sort();

  before(async () => {
    const c = await startComputeCloud('resources-openstack');
    t = c.t;
    docker = engineClient(c.socket);
    demo = await t.token('demo');
    const tok = await t.request('GET', '/identity/v3/auth/tokens', { token: demo, headers: { 'x-subject-token': demo } });
    project = tok.body.token.project.id;
    const img = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'busybox', container_format: 'docker', disk_format: 'raw' } });
    assert.equal(img.status, 201, img.text);
    const up = await t.request('PUT', `/image/v2/images/${img.body.id}/file`, { token: demo, body: new Uint8Array(fs.readFileSync(c.imageTar)), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204, up.text);
    admin = await t.token('admin');
    adminProject = (await t.request('GET', '/identity/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': admin } })).body.token.project.id;
    // What OS::Glance::WebImage fetches: the busybox archive from a web server on loopback.
    const tar = fs.readFileSync(c.imageTar);
    files = http.createServer((req, res) => {
      if (req.url !== '/busybox.tar') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': tar.length }).end(tar);
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    imageUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/busybox.tar`;
  });
  after(async () => {
    if (stackId) await t.request('DELETE', `${H()}/stacks/net/${stackId}`, { token: demo }).catch(() => undefined);
    files?.close();
    await t?.close();
  });

  it('lists the types and checks templates before anything is made', async () => {
    const types = (await get(`${H()}/resource_types`)).body.resource_types as string[];
    for (const ty of ['OS::Nova::Server', 'OS::Nova::KeyPair', 'OS::Nova::ServerGroup', 'OS::Nova::Flavor', 'OS::Neutron::Net', 'OS::Neutron::Subnet', 'OS::Neutron::Port', 'OS::Neutron::SecurityGroup', 'OS::Neutron::SecurityGroupRule', 'OS::Neutron::Router', 'OS::Neutron::RouterInterface', 'OS::Neutron::FloatingIP', 'OS::Neutron::FloatingIPAssociation', 'OS::Glance::WebImage']) {
      assert.ok(types.includes(ty), ty);
    }
    const schema = (await get(`${H()}/resource_types/OS::Nova::Server`)).body;
    assert.equal(schema.properties.flavor.update_allowed, true);
    assert.deepEqual(schema.properties.flavor.constraints, [{ custom_constraint: 'nova.flavor' }]);
    assert.ok(schema.attributes.first_address);
    const refused = async (resources: Record<string, unknown>, pattern: RegExp) => {
      const r = await t.request('POST', `${H()}/stacks`, { token: demo, body: { stack_name: 'bad', template: { heat_template_version: '2021-04-16', resources } } });
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.error.message, pattern);
    };
    await refused({ s: { type: 'OS::Neutron::Subnet', properties: { network: 'nonet', cidr: '10.1.2.0/24' } } }, /The Network \(nonet\) could not be found/);
    await refused({ s: { type: 'OS::Nova::Server', properties: { image: 'busybox', flavor: 'm1.huge' } } }, /The Flavor \(m1\.huge\) could not be found/);
    await refused({ s: { type: 'OS::Nova::Server', properties: { image: 'nobox', flavor: 'm1.tiny' } } }, /The Image \(nobox\) could not be found/);
    await refused({ s: { type: 'OS::Nova::Server', properties: { image: 'busybox', flavor: 'm1.tiny', networks: [{ port: 'p', fixed_ip: '10.0.0.9' }] } } }, /cannot be used with "port"/);
    await refused({ n: { type: 'OS::Neutron::Net' }, r: { type: 'OS::Neutron::RouterInterface', properties: { router: 'x', subnet: 'y', port: 'z' } } }, /Cannot define the following properties at the same time: subnet, port/);
    await refused({ g: { type: 'OS::Neutron::SecurityGroup', properties: { rules: [{ direction: 'sideways' }] } } }, /sideways/);
    assert.equal((await get(`${H()}/stacks/bad`)).status, 404);
  });

  it('creates the network, the servers on it and their addresses', async () => {
    const r = await t.request('POST', `${H()}/stacks`, { token: demo, body: { stack_name: 'net', template: template({ rules: [SSH], serverName: 'web', metadata: { role: 'web' } }) } });
    assert.equal(r.status, 201, r.text);
    stackId = r.body.stack.id;
    const s = await settled('net');
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const res = (await get(`${H()}/stacks/net/${stackId}/resources`)).body.resources as { resource_name: string; physical_resource_id: string }[];
    ids = Object.fromEntries(res.map((x) => [x.resource_name, x.physical_resource_id]));

    // The real objects, through the services' own APIs.
    const net = (await get(`/network/v2.0/networks/${ids.net}`)).body.network;
    assert.equal(net.name, 'stacknet');
    assert.deepEqual(net.subnets, [ids.subnet]);
    const port = (await get(`/network/v2.0/ports/${ids.port}`)).body.port;
    assert.deepEqual(port.fixed_ips, [{ subnet_id: ids.subnet, ip_address: `${CIDR_PREFIX}.50` }]);
    assert.deepEqual(port.security_groups, [ids.sg]);
    assert.equal(port.device_id, ids.server);
    const router = (await get(`/network/v2.0/routers/${ids.router}`)).body.router;
    assert.ok(router.external_gateway_info?.network_id);
    assert.equal(ids.ri, `${ids.router}:subnet_id=${ids.subnet}`);
    const fip = (await get(`/network/v2.0/floatingips/${ids.fip}`)).body.floatingip;
    assert.equal(fip.port_id, ids.port);
    assert.equal(ids.key, 'stackkey');

    const server = (await get(`/compute/v2.1/servers/${ids.server}`)).body.server;
    assert.equal(server.status, 'ACTIVE');
    assert.equal(server.name, 'web');
    assert.equal(server.key_name, 'stackkey');
    assert.deepEqual(server.metadata, { role: 'web' });
    assert.deepEqual(server.addresses.stacknet.map((a: { addr: string }) => a.addr).sort(), [`${CIDR_PREFIX}.50`, fip.floating_ip_address].sort());
    for (const id of [ids.server, ids.server2]) assert.equal((await docker.getContainer(`hafen-${id}`).inspect()).State.Running, true);

    // The second server's port was made by the resource, with the stack's group on it.
    const ports2 = (await get(`/network/v2.0/ports?device_id=${ids.server2}`)).body.ports;
    assert.equal(ports2.length, 1);
    assert.deepEqual(ports2[0].security_groups, [ids.sg]);
    assert.equal(ports2[0].network_id, ids.net);
    assert.equal((await get(`/network/v2.0/floatingips/${ids.fip2}`)).body.floatingip.port_id, ports2[0].id);
    assert.equal(ids.assoc, `${ids.fip2}:${ports2[0].id}`);

    // Attributes through outputs.
    const out = outputs(s);
    assert.equal(out.first_address, `${CIDR_PREFIX}.50`);
    assert.equal(out.floating_ip, fip.floating_ip_address);
    assert.ok(out.networks.stacknet.includes(`${CIDR_PREFIX}.50`), JSON.stringify(out.networks));
    assert.deepEqual(out.networks[ids.net], out.networks.stacknet);
    assert.match(out.private_key, /PRIVATE KEY/);
    assert.equal(out.server2_address, ports2[0].fixed_ips[0].ip_address);
    assert.equal(out.server_name, 'web');
    assert.equal(out.subnet_cidr, `${CIDR_PREFIX}.0/24`);

    // The group's rules: the template's, plus Neutron's "all egress" when none is listed.
    assert.deepEqual(ruleKeys(await rulesOf(ids.sg)), ['egress IPv4 any - ', 'egress IPv6 any - ', 'ingress IPv4 tcp 22-22 0.0.0.0/0']);

    // Attributes as resource show gives them.
    const shown = (await get(`${H()}/stacks/net/${stackId}/resources/server`)).body.resource;
    assert.equal(shown.attributes.first_address, `${CIDR_PREFIX}.50`);
    assert.equal(shown.attributes.addresses.stacknet[0].port, ids.port);
  });

  it('updates security group rules, server name and metadata, and subnet, port and router in place', async () => {
    const r = await t.request('PUT', `${H()}/stacks/net/${stackId}`, { token: demo, body: { template: template({ rules: [HTTP, HTTPS_OUT], serverName: 'web2', metadata: { role: 'api' }, suffix: '-2' }) } });
    assert.equal(r.status, 202, r.text);
    const s = await settled('net');
    assert.equal(s.stack_status, 'UPDATE_COMPLETE', s.stack_status_reason);
    const res = (await get(`${H()}/stacks/net/${stackId}/resources`)).body.resources as { resource_name: string; physical_resource_id: string }[];
    const now = Object.fromEntries(res.map((x) => [x.resource_name, x.physical_resource_id]));
    assert.deepEqual(now, ids, 'nothing replaced');
    assert.deepEqual(ruleKeys(await rulesOf(ids.sg)), ['egress IPv4 tcp 443-443 0.0.0.0/0', 'ingress IPv4 tcp 80-80 0.0.0.0/0']);
    const server = (await get(`/compute/v2.1/servers/${ids.server}`)).body.server;
    assert.equal(server.name, 'web2');
    assert.deepEqual(server.metadata, { role: 'api' });
    assert.equal(outputs(s).server_name, 'web2');
    const subnet = (await get(`/network/v2.0/subnets/${ids.subnet}`)).body.subnet;
    assert.deepEqual([subnet.name, subnet.dns_nameservers], ['stacksub-2', ['10.0.0.53']]);
    assert.equal((await get(`/network/v2.0/ports/${ids.port}`)).body.port.name, 'stackport-2');
    assert.equal((await get(`/network/v2.0/routers/${ids.router}`)).body.router.name, 'stackrouter-2');
  });

  it('suspends and resumes the servers', async () => {
    const act = (body: unknown) => t.request('POST', `${H()}/stacks/net/${stackId}/actions`, { token: demo, body });
    assert.equal((await act({ suspend: null })).status, 200);
    let s = await settled('net');
    assert.equal(s.stack_status, 'SUSPEND_COMPLETE', s.stack_status_reason);
    assert.equal((await get(`/compute/v2.1/servers/${ids.server}`)).body.server.status, 'SUSPENDED');
    assert.equal((await act({ resume: null })).status, 200);
    s = await settled('net');
    assert.equal(s.stack_status, 'RESUME_COMPLETE', s.stack_status_reason);
    assert.equal((await get(`/compute/v2.1/servers/${ids.server}`)).body.server.status, 'ACTIVE');
    assert.equal((await act({ check: null })).status, 200);
    s = await settled('net');
    assert.equal(s.stack_status, 'CHECK_COMPLETE', s.stack_status_reason);
  });

  it('deletes everything it made, containers included, also what went away behind its back', async () => {
    assert.equal((await t.request('DELETE', `/network/v2.0/floatingips/${ids.fip2}`, { token: demo })).status, 204);
    const r = await t.request('DELETE', `${H()}/stacks/net/${stackId}`, { token: demo });
    assert.equal(r.status, 204, r.text);
    const s = await settled('net');
    assert.equal(s.stack_status, 'GONE', s.stack_status_reason);
    stackId = '';
    for (const [kind, id] of [['networks', ids.net], ['subnets', ids.subnet], ['ports', ids.port], ['security-groups', ids.sg], ['routers', ids.router], ['floatingips', ids.fip], ['floatingips', ids.fip2]] as const) {
      assert.equal((await get(`/network/v2.0/${kind}/${id}`)).status, 404, `${kind} ${id}`);
    }
    assert.deepEqual((await get(`/network/v2.0/ports?network_id=${ids.net}`)).body.ports, []);
    for (const id of [ids.server, ids.server2]) {
      assert.equal((await get(`/compute/v2.1/servers/${id}`)).status, 404);
      await assert.rejects(docker.getContainer(`hafen-${id}`).inspect(), /404|no such container/i);
    }
    assert.equal((await get('/compute/v2.1/os-keypairs/stackkey')).status, 404);
  });

  const A = () => `/orchestration/v1/${adminProject}`;
  const adminGet = (path: string) => t.request('GET', path, { token: admin });
  const adminSettled = (name: string) =>
    waitFor(
      `${name} settled`,
      async () => {
        const r = await adminGet(`${A()}/stacks/${name}`);
        if (r.status === 404) return { stack_status: 'GONE' } as Record<string, any>;
        return r.body.stack.stack_status.endsWith('IN_PROGRESS') ? undefined : r.body.stack;
      },
      180_000,
    );

  function adminTemplate() {
    return {
      heat_template_version: '2021-04-16',
      parameters: { image: { type: 'string', default: 'a' }, flavor: { type: 'string', default: 'm1.tiny' }, specs: { type: 'json', default: { 'hafen:pids_limit': '512' } } },
      conditions: { on_a: { equals: [{ get_param: 'image' }, 'a'] }, tiny: { equals: [{ get_param: 'flavor' }, 'm1.tiny'] } },
      resources: {
        flavor: { type: 'OS::Nova::Flavor', properties: { name: 'stack.small', ram: 128, vcpus: 1, disk: 1, extra_specs: { get_param: 'specs' } } },
        group: { type: 'OS::Nova::ServerGroup', properties: { policies: ['affinity'] } },
        image_a: { type: 'OS::Glance::WebImage', properties: { name: 'webbox-a', location: imageUrl, container_format: 'docker', disk_format: 'raw' } },
        image_b: { type: 'OS::Glance::WebImage', properties: { name: 'webbox-b', location: imageUrl, container_format: 'docker', disk_format: 'raw', tags: ['b'] } },
        net: { type: 'OS::Neutron::Net' },
        subnet: { type: 'OS::Neutron::Subnet', properties: { network: { get_resource: 'net' }, cidr: '10.79.42.0/24' } },
        net2: { type: 'OS::Neutron::Net', properties: { name: 'second' } },
        subnet2: { type: 'OS::Neutron::Subnet', properties: { network: { get_resource: 'net2' }, cidr: '10.79.43.0/24' } },
        sg: { type: 'OS::Neutron::SecurityGroup', properties: { description: 'ping only' } },
        ping: { type: 'OS::Neutron::SecurityGroupRule', properties: { security_group: { get_resource: 'sg' }, protocol: 'icmp', remote_ip_prefix: '10.0.0.0/8' } },
        server: {
          type: 'OS::Nova::Server',
          properties: {
            image: { if: ['on_a', { get_resource: 'image_a' }, { get_resource: 'image_b' }] },
            flavor: { if: ['tiny', 'm1.tiny', { get_resource: 'flavor' }] },
            scheduler_hints: { group: { get_resource: 'group' } },
            networks: [{ subnet: { get_resource: 'subnet' } }, { network: { get_resource: 'net2' }, fixed_ip: '10.79.43.7' }],
          },
        },
      },
      outputs: { specs: { value: { get_attr: ['flavor', 'extra_specs'] } }, address: { value: { get_attr: ['server', 'first_address'] } } },
    };
  }

  it('makes flavors, server groups, web images and rules; resizes and rebuilds a server in place', async () => {
    const r = await t.request('POST', `${A()}/stacks`, { token: admin, body: { stack_name: 'infra', template: adminTemplate() } });
    assert.equal(r.status, 201, r.text);
    const id = r.body.stack.id;
    let s = await adminSettled('infra');
    assert.equal(s.stack_status, 'CREATE_COMPLETE', s.stack_status_reason);
    const res = Object.fromEntries(((await adminGet(`${A()}/stacks/infra/${id}/resources`)).body.resources as { resource_name: string; physical_resource_id: string }[]).map((x) => [x.resource_name, x.physical_resource_id]));
    const flavor = (await adminGet(`/compute/v2.1/flavors/${res.flavor}`)).body.flavor;
    assert.deepEqual([flavor.name, flavor.ram, flavor.vcpus, flavor.disk], ['stack.small', 128, 1, 1]);
    assert.deepEqual(outputs(s).specs, { 'hafen:pids_limit': '512' });
    const group = (await adminGet(`/compute/v2.1/os-server-groups/${res.group}`)).body.server_group;
    assert.deepEqual(group.policies, ['affinity']);
    assert.deepEqual(group.members, [res.server]);
    for (const img of [res.image_a, res.image_b]) assert.equal((await adminGet(`/image/v2/images/${img}`)).body.status, 'active');
    assert.deepEqual((await adminGet(`/image/v2/images/${res.image_b}`)).body.tags, ['b']);
    const rule = (await adminGet(`/network/v2.0/security-group-rules/${res.ping}`)).body.security_group_rule;
    assert.deepEqual([rule.security_group_id, rule.protocol, rule.remote_ip_prefix, rule.direction], [res.sg, 'icmp', '10.0.0.0/8', 'ingress']);
    let server = (await adminGet(`/compute/v2.1/servers/${res.server}`)).body.server;
    assert.deepEqual([server.status, server.image.id, server.flavor.id], ['ACTIVE', res.image_a, '1']);
    assert.match(outputs(s).address, /^10\.79\.42\.\d+$/);
    // The second network is attached once the server runs.
    assert.deepEqual(server.addresses.second.map((a: { addr: string }) => a.addr), ['10.79.43.7']);

    // A new flavor resizes (and confirms), a new image rebuilds; extra specs change in place.
    const u = await t.request('PATCH', `${A()}/stacks/infra/${id}`, { token: admin, body: { parameters: { image: 'b', flavor: 'small', specs: { 'hafen:pids_limit': '256' } } } });
    assert.equal(u.status, 202, u.text);
    s = await adminSettled('infra');
    assert.equal(s.stack_status, 'UPDATE_COMPLETE', s.stack_status_reason);
    const after = Object.fromEntries(((await adminGet(`${A()}/stacks/infra/${id}/resources`)).body.resources as { resource_name: string; physical_resource_id: string }[]).map((x) => [x.resource_name, x.physical_resource_id]));
    assert.deepEqual(after, res, 'nothing replaced');
    server = (await adminGet(`/compute/v2.1/servers/${res.server}`)).body.server;
    assert.deepEqual([server.status, server.image.id, server.flavor.id], ['ACTIVE', res.image_b, res.flavor]);
    const info = await docker.getContainer(`hafen-${res.server}`).inspect();
    assert.equal(info.HostConfig.Memory, 128 * 2 ** 20);
    assert.equal(info.State.Running, true);
    assert.deepEqual(outputs(s).specs, { 'hafen:pids_limit': '256' });

    assert.equal((await t.request('DELETE', `${A()}/stacks/infra/${id}`, { token: admin })).status, 204);
    assert.equal((await adminSettled('infra')).stack_status, 'GONE');
    assert.equal((await adminGet(`/compute/v2.1/flavors/${res.flavor}`)).status, 404);
    assert.equal((await adminGet(`/compute/v2.1/os-server-groups/${res.group}`)).status, 404);
    for (const img of [res.image_a, res.image_b]) assert.equal((await adminGet(`/image/v2/images/${img}`)).status, 404);
    assert.equal((await adminGet(`/network/v2.0/security-groups/${res.sg}`)).status, 404);
    assert.equal((await adminGet(`/compute/v2.1/servers/${res.server}`)).status, 404);
    await assert.rejects(docker.getContainer(`hafen-${res.server}`).inspect(), /404|no such container/i);
  });

  it('fails with the fault of a server that went to ERROR, and refuses flavors to non-admins', async () => {
    const tpl = {
      heat_template_version: '2021-04-16',
      resources: {
        server: { type: 'OS::Nova::Server', properties: { image: 'webbox-none', flavor: 'm1.tiny', availability_zone: 'nowhere', networks: [{ allocate_network: 'none' }] } },
      },
    };
    // An unknown image is caught before anything is made.
    const bad = await t.request('POST', `${A()}/stacks`, { token: admin, body: { stack_name: 'nohost', template: tpl } });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /webbox-none/);
    const img = await t.request('POST', '/image/v2/images', { token: admin, body: { name: 'adminbox', container_format: 'docker', disk_format: 'raw' } });
    const data = await (await fetch(imageUrl)).arrayBuffer();
    assert.equal((await t.request('PUT', `/image/v2/images/${img.body.id}/file`, { token: admin, body: new Uint8Array(data), headers: { 'content-type': 'application/octet-stream' } })).status, 204);
    tpl.resources.server.properties.image = 'adminbox';
    const r = await t.request('POST', `${A()}/stacks`, { token: admin, body: { stack_name: 'nohost', template: tpl, disable_rollback: true } });
    assert.equal(r.status, 201, r.text);
    const s = await adminSettled('nohost');
    assert.equal(s.stack_status, 'CREATE_FAILED');
    assert.match(s.stack_status_reason, /ResourceInError: resources\.server: Went to status ERROR due to "Message: .*No valid host/);
    assert.equal((await t.request('DELETE', `${A()}/stacks/nohost/${s.id}`, { token: admin })).status, 204);
    assert.equal((await adminSettled('nohost')).stack_status, 'GONE');

    const mine = await t.request('POST', `${H()}/stacks`, { token: demo, body: { stack_name: 'flv', template: { heat_template_version: '2021-04-16', resources: { f: { type: 'OS::Nova::Flavor', properties: { ram: 64, vcpus: 1 } } } } } });
    assert.equal(mine.status, 201, mine.text);
    const f = await settled('flv');
    assert.equal(f.stack_status, 'CREATE_FAILED');
    assert.match(f.stack_status_reason, /resources\.f: .*(not|disallowed|permit)/i);
  });
});
