// The cross-tenant matrix: project A makes one of every resource of every API; project B, holding
// only its own member token, tries every verb on A's ids (and names A's ids inside its own requests).
// Every answer is 404 (or 403 where the API says so), carries none of A's data, and A's resources
// read the same afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import { claimTestSubnet } from '../helpers/subnets.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';

const C = '/compute/v2.1';
const N = '/network/v2.0';
const I = '/image/v2';

interface Attempt {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Statuses the API may answer; 404 unless the API says otherwise. */
  allowed?: number[];
}

describe('cross-tenant matrix', () => {
  let t: TestCloud;
  let a: string;
  let b: { projectId: string; token: string };
  let aProject: string;
  const ids: Record<string, string> = {};
  /** What A reads of each resource before B's attempts, to compare after. */
  const snapshots = new Map<string, unknown>();
  const readable: [string, string][] = [];

  const ok = async (method: string, path: string, body?: unknown, token = a) => {
    const res = await t.request(method, path, { token, body });
    assert.ok(res.status >= 200 && res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
    return res.body;
  };

  before(async () => {
    const c = await startComputeCloud('tenancy-matrix');
    t = c.t;
    a = await t.token('demo');
    b = await memberOfNewProject(t, 'intruder');
    const scope = await t.request('GET', '/identity/v3/auth/tokens', { token: a, headers: { 'x-subject-token': a } });
    aProject = scope.body.token.project.id;

    // Image: private, active.
    ids.image = (await ok('POST', `${I}/images`, { name: 'a-image', container_format: 'docker', disk_format: 'raw', visibility: 'private' })).id;
    const up = await t.request('PUT', `${I}/images/${ids.image}/file`, { token: a, body: fs.readFileSync(c.imageTar), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204, up.text);
    ids.queuedImage = (await ok('POST', `${I}/images`, { name: 'a-queued', container_format: 'docker', disk_format: 'raw' })).id;

    // Network: a network with a subnet, a port, a security group with a rule, a router, a floating IP.
    ids.network = (await ok('POST', `${N}/networks`, { network: { name: 'a-net' } })).network.id;
    ids.subnet = (await ok('POST', `${N}/subnets`, { subnet: { name: 'a-subnet', network_id: ids.network, cidr: (await claimTestSubnet()).cidr, ip_version: 4 } })).subnet.id;
    ids.port = (await ok('POST', `${N}/ports`, { port: { name: 'a-port', network_id: ids.network } })).port.id;
    ids.group = (await ok('POST', `${N}/security-groups`, { security_group: { name: 'a-group' } })).security_group.id;
    ids.rule = (await ok('POST', `${N}/security-group-rules`, { security_group_rule: { security_group_id: ids.group, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 } })).security_group_rule.id;
    const external = (await ok('GET', `${N}/networks?router:external=true`)).networks[0].id;
    ids.external = external;
    ids.router = (await ok('POST', `${N}/routers`, { router: { name: 'a-router', external_gateway_info: { network_id: external } } })).router.id;
    await ok('PUT', `${N}/routers/${ids.router}/add_router_interface`, { subnet_id: ids.subnet });
    ids.floatingip = (await ok('POST', `${N}/floatingips`, { floatingip: { floating_network_id: external } })).floatingip.id;

    // Compute: a key pair, a server group, a running server on A's network.
    await ok('POST', `${C}/os-keypairs`, { keypair: { name: 'a-key' } });
    ids.serverGroup = (await ok('POST', `${C}/os-server-groups`, { server_group: { name: 'a-group', policies: ['anti-affinity'] } })).server_group.id;
    ids.server = (await ok('POST', `${C}/servers`, { server: { name: 'a-server', imageRef: ids.image, flavorRef: '1', networks: [{ uuid: ids.network }] } })).server.id;
    await waitFor('A\'s server ACTIVE', async () => {
      const s = (await t.request('GET', `${C}/servers/${ids.server}`, { token: a })).body.server;
      if (s?.status === 'ERROR') throw new Error(JSON.stringify(s.fault));
      return s?.status === 'ACTIVE' ? s : undefined;
    }, 120_000);

    // Orchestration: a stack with one resource.
    const stack = await ok('POST', `/orchestration/v1/${aProject}/stacks`, {
      stack_name: 'a-stack',
      template: { heat_template_version: '2018-08-31', resources: { secret: { type: 'OS::Heat::RandomString' } }, outputs: { value: { value: { get_attr: ['secret', 'value'] } } } },
    });
    ids.stack = stack.stack.id;
    await waitFor('A\'s stack CREATE_COMPLETE', async () => {
      const s = (await t.request('GET', `/orchestration/v1/${aProject}/stacks/a-stack/${ids.stack}`, { token: a })).body?.stack;
      return s?.stack_status === 'CREATE_COMPLETE' ? s : undefined;
    }, 60_000);

    readable.push(
      ['image', `${I}/images/${ids.image}`],
      ['queuedImage', `${I}/images/${ids.queuedImage}`],
      ['network', `${N}/networks/${ids.network}`],
      ['subnet', `${N}/subnets/${ids.subnet}`],
      ['port', `${N}/ports/${ids.port}`],
      ['group', `${N}/security-groups/${ids.group}`],
      ['rule', `${N}/security-group-rules/${ids.rule}`],
      ['router', `${N}/routers/${ids.router}`],
      ['floatingip', `${N}/floatingips/${ids.floatingip}`],
      ['keypair', `${C}/os-keypairs/a-key`],
      ['serverGroup', `${C}/os-server-groups/${ids.serverGroup}`],
      ['server', `${C}/servers/${ids.server}`],
      ['serverMetadata', `${C}/servers/${ids.server}/metadata`],
      ['stack', `/orchestration/v1/${aProject}/stacks/a-stack/${ids.stack}`],
    );
    for (const [name, path] of readable) snapshots.set(name, stable((await t.request('GET', path, { token: a })).body));
  });
  after(async () => t?.close());

  /** A's resources as A reads them, without the fields that move on their own. */
  function stable(body: unknown): unknown {
    return JSON.parse(JSON.stringify(body ?? null), (key, value) => (['updated', 'updated_at', 'OS-EXT-STS:power_state', 'progress'].includes(key) ? undefined : value));
  }

  async function attempt(list: Attempt[]): Promise<void> {
    const secrets = () => Object.values(ids).filter((id) => id !== ids.external);
    for (const x of list) {
      const res = await t.request(x.method, x.path, { token: b.token, body: x.body, headers: x.headers });
      const allowed = x.allowed ?? [404];
      assert.ok(allowed.includes(res.status), `${x.method} ${x.path} ${JSON.stringify(x.body ?? '')}: ${res.status} ${res.text.slice(0, 300)}`);
      // No data: the answer names none of A's resources (beyond what the request itself said).
      const said = `${x.path} ${JSON.stringify(x.body ?? '')}`;
      for (const id of secrets()) {
        if (!said.includes(id)) assert.ok(!res.text.includes(id), `${x.method} ${x.path} leaks ${id}: ${res.text.slice(0, 300)}`);
      }
      for (const name of ['a-image', 'a-net', 'a-subnet', 'a-port', 'a-router', 'a-server', 'a-stack', 'a-key']) {
        if (!said.includes(name)) assert.ok(!res.text.includes(name), `${x.method} ${x.path} leaks ${name}`);
      }
    }
  }

  it('image: every verb on another project\'s image is 404', async () => {
    const img = `${I}/images/${ids.image}`;
    await attempt([
      { method: 'GET', path: img },
      { method: 'GET', path: `${img}/file` },
      { method: 'PATCH', path: img, body: [{ op: 'replace', path: '/name', value: 'stolen' }], headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' } },
      { method: 'DELETE', path: img },
      { method: 'PUT', path: `${img}/tags/mine` },
      { method: 'DELETE', path: `${img}/tags/mine` },
      { method: 'GET', path: `${img}/members` },
      { method: 'POST', path: `${img}/members`, body: { member: b.projectId } },
      { method: 'POST', path: `${img}/actions/deactivate`, allowed: [403, 404] },
      { method: 'PUT', path: `${I}/images/${ids.queuedImage}/file`, body: 'x', headers: { 'content-type': 'application/octet-stream' } },
      { method: 'PUT', path: `${I}/images/${ids.queuedImage}/stage`, body: 'x', headers: { 'content-type': 'application/octet-stream' }, allowed: [403, 404] },
      { method: 'POST', path: `${I}/images/${ids.queuedImage}/import`, body: { method: { name: 'glance-direct' } }, allowed: [403, 404] },
      { method: 'GET', path: `${I}/images/${ids.image}/tasks` },
    ]);
    const list = await t.request('GET', `${I}/images?name=a-image`, { token: b.token });
    assert.deepEqual(list.body.images, []);
  });

  it('network: every verb on another project\'s resources is 404, and naming them in B\'s requests fails', async () => {
    const rows: [string, string, string][] = [
      ['networks', ids.network!, 'network'],
      ['subnets', ids.subnet!, 'subnet'],
      ['ports', ids.port!, 'port'],
      ['security-groups', ids.group!, 'security_group'],
      ['routers', ids.router!, 'router'],
      ['floatingips', ids.floatingip!, 'floatingip'],
    ];
    const list: Attempt[] = [];
    for (const [path, id, singular] of rows) {
      list.push({ method: 'GET', path: `${N}/${path}/${id}` });
      list.push({ method: 'PUT', path: `${N}/${path}/${id}`, body: { [singular]: singular === 'floatingip' ? { port_id: null } : { name: 'stolen' } } });
      list.push({ method: 'DELETE', path: `${N}/${path}/${id}` });
    }
    list.push(
      { method: 'GET', path: `${N}/security-group-rules/${ids.rule}` },
      { method: 'DELETE', path: `${N}/security-group-rules/${ids.rule}` },
      { method: 'PUT', path: `${N}/routers/${ids.router}/add_router_interface`, body: { subnet_id: ids.subnet } },
      { method: 'PUT', path: `${N}/routers/${ids.router}/remove_router_interface`, body: { subnet_id: ids.subnet } },
      // B names A's resources inside requests of its own.
      { method: 'POST', path: `${N}/ports`, body: { port: { network_id: ids.network } } },
      { method: 'POST', path: `${N}/subnets`, body: { subnet: { network_id: ids.network, cidr: '10.250.8.0/24', ip_version: 4 } } },
      { method: 'POST', path: `${N}/security-group-rules`, body: { security_group_rule: { security_group_id: ids.group, direction: 'ingress' } } },
      { method: 'POST', path: `${N}/floatingips`, body: { floatingip: { floating_network_id: ids.external, port_id: ids.port } } },
      { method: 'GET', path: `${N}/quotas/${aProject}`, allowed: [403, 404] },
      { method: 'PUT', path: `${N}/quotas/${aProject}`, body: { quota: { port: 1 } }, allowed: [403, 404] },
    );
    await attempt(list);
    // B's own resources may not point at A's group or port either.
    const bGroup = (await t.request('POST', `${N}/security-groups`, { token: b.token, body: { security_group: { name: 'b-group' } } })).body.security_group.id;
    await attempt([
      { method: 'POST', path: `${N}/security-group-rules`, body: { security_group_rule: { security_group_id: bGroup, direction: 'ingress', remote_group_id: ids.group } } },
      { method: 'POST', path: `${N}/ports`, body: { port: { network_id: ids.external, security_groups: [ids.group] } }, allowed: [400, 403, 404] },
    ]);
    // B claims A's server as the owner of a port of its own: refused, A's server unchanged (checked last).
    const bNet = (await t.request('POST', `${N}/networks`, { token: b.token, body: { network: { name: 'b-net' } } })).body.network.id;
    await t.request('POST', `${N}/subnets`, { token: b.token, body: { subnet: { network_id: bNet, cidr: (await claimTestSubnet()).cidr, ip_version: 4 } } });
    const bPort = (await t.request('POST', `${N}/ports`, { token: b.token, body: { port: { network_id: bNet } } })).body.port.id;
    await attempt([
      { method: 'POST', path: `${N}/ports`, body: { port: { network_id: bNet, device_owner: 'compute:nova', device_id: ids.server } }, allowed: [403] },
      { method: 'PUT', path: `${N}/ports/${bPort}`, body: { port: { device_owner: 'compute:nova', device_id: ids.server } }, allowed: [403] },
      { method: 'PUT', path: `${N}/ports/${bPort}`, body: { port: { 'binding:host_id': 'any' } }, allowed: [403] },
    ]);
    for (const [path] of rows) {
      const listed = await t.request('GET', `${N}/${path}`, { token: b.token });
      assert.equal(listed.status, 200);
      for (const id of [ids.network, ids.subnet, ids.port, ids.group, ids.router, ids.floatingip]) assert.ok(!listed.text.includes(id!), `GET ${path} lists ${id}`);
    }
  });

  it('compute: every verb on another project\'s server, key pair and group is 404, and booting with A\'s parts fails', async () => {
    const s = `${C}/servers/${ids.server}`;
    const publicImage = (await t.request('GET', `${I}/images?visibility=public`, { token: b.token })).body.images[0]?.id ?? ids.image;
    const actions: unknown[] = [
      { 'os-stop': null }, { 'os-start': null }, { reboot: { type: 'SOFT' } }, { pause: null }, { unpause: null },
      { suspend: null }, { resume: null }, { lock: null }, { unlock: null }, { createImage: { name: 'stolen' } },
      { resize: { flavorRef: '2' } }, { confirmResize: null }, { revertResize: null }, { rebuild: { imageRef: ids.image } },
      { 'os-getConsoleOutput': { length: 10 } }, { addSecurityGroup: { name: 'default' } }, { shelve: null },
      { addFloatingIp: { address: '127.64.0.99' } }, { changePassword: { adminPass: 'x' } }, { 'os-resetState': { state: 'error' } },
    ];
    await attempt([
      { method: 'GET', path: s },
      { method: 'PUT', path: s, body: { server: { name: 'stolen' } } },
      { method: 'DELETE', path: s },
      ...actions.map((body) => ({ method: 'POST', path: `${s}/action`, body, allowed: [403, 404] })),
      { method: 'GET', path: `${s}/metadata` },
      { method: 'PUT', path: `${s}/metadata`, body: { metadata: { x: 'y' } } },
      { method: 'GET', path: `${s}/os-interface` },
      { method: 'POST', path: `${s}/os-interface`, body: { interfaceAttachment: { net_id: ids.network } } },
      { method: 'GET', path: `${s}/os-instance-actions` },
      { method: 'GET', path: `${s}/ips` },
      { method: 'GET', path: `${C}/os-keypairs/a-key` },
      { method: 'DELETE', path: `${C}/os-keypairs/a-key` },
      { method: 'GET', path: `${C}/os-server-groups/${ids.serverGroup}` },
      { method: 'DELETE', path: `${C}/os-server-groups/${ids.serverGroup}` },
      // B boots with A's private image, network, port, key pair, server group: refused, nothing made.
      { method: 'POST', path: `${C}/servers`, body: { server: { name: 'b1', imageRef: ids.image, flavorRef: '1' } }, allowed: [400, 404] },
      { method: 'POST', path: `${C}/servers`, body: { server: { name: 'b2', imageRef: publicImage, flavorRef: '1', networks: [{ uuid: ids.network }] } }, allowed: [400, 404] },
      { method: 'POST', path: `${C}/servers`, body: { server: { name: 'b3', imageRef: publicImage, flavorRef: '1', networks: [{ port: ids.port }] } }, allowed: [400, 404] },
      { method: 'POST', path: `${C}/servers`, body: { server: { name: 'b4', imageRef: publicImage, flavorRef: '1', key_name: 'a-key' } }, allowed: [400, 404] },
      { method: 'POST', path: `${C}/servers`, body: { server: { name: 'b5', imageRef: publicImage, flavorRef: '1' }, 'os:scheduler_hints': { group: ids.serverGroup } }, allowed: [400, 404] },
      { method: 'GET', path: `${C}/os-quota-sets/${aProject}`, allowed: [403, 404] },
    ]);
    const mine = await t.request('GET', `${C}/servers/detail`, { token: b.token });
    assert.deepEqual(mine.body.servers, []);
  });

  it('orchestration: another project\'s stack is out of reach through B\'s project and through A\'s', async () => {
    const own = `/orchestration/v1/${b.projectId}/stacks`;
    const theirs = `/orchestration/v1/${aProject}/stacks`;
    const list: Attempt[] = [];
    for (const base of [own, theirs]) {
      const allowed = base === theirs ? [403, 404] : [404];
      const st = `${base}/a-stack/${ids.stack}`;
      list.push(
        { method: 'GET', path: `${base}/a-stack`, allowed },
        { method: 'GET', path: st, allowed },
        { method: 'GET', path: `${st}/resources`, allowed },
        { method: 'GET', path: `${st}/resources/secret`, allowed },
        { method: 'GET', path: `${st}/events`, allowed },
        { method: 'GET', path: `${st}/outputs/value`, allowed },
        { method: 'GET', path: `${st}/template`, allowed },
        { method: 'PATCH', path: st, body: { parameters: {} }, allowed },
        { method: 'PUT', path: st, body: { template: { heat_template_version: '2018-08-31', resources: {} } }, allowed },
        { method: 'POST', path: `${st}/actions`, body: { suspend: null }, allowed },
        { method: 'POST', path: `${st}/resources/secret/signal`, body: {}, allowed },
        { method: 'DELETE', path: st, allowed },
      );
    }
    list.push({ method: 'GET', path: theirs, allowed: [403, 404] });
    await attempt(list);
    const mine = await t.request('GET', own, { token: b.token });
    assert.deepEqual(mine.body.stacks, []);
  });

  it('leaves every one of A\'s resources as it was', async () => {
    for (const [name, path] of readable) {
      const now = await t.request('GET', path, { token: a });
      assert.equal(now.status, 200, `${name}: ${now.text}`);
      assert.deepEqual(stable(now.body), snapshots.get(name), `${name} changed`);
    }
  });
});
