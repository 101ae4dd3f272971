// Magnum v1 API through app.inject() on SQLite, with simulated hosts: version documents and
// microversions, cluster templates (every attribute, look-ups, PATCH rules, in-use rules), cluster
// records (validation by microversion, names, counts, quotas), the 2015 names, and tenancy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

describe('clusters API (Magnum v1)', () => {
  let t: TestCloud;
  let demo: string;
  let admin: string;
  let other: { token: string; projectId: string };
  let imageId: string;

  const call = async (method: string, url: string, opts: { token?: string; body?: unknown; version?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers['x-auth-token'] = opts.token;
    if (opts.version) headers['openstack-api-version'] = `container-infra ${opts.version}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await t.cloud.app.inject({ method: method as 'GET', url: `/container-infra${url}`, headers, ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}) });
    let body: any;
    try {
      body = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.statusCode, headers: res.headers, body, text: res.body };
  };
  const template = (body: Record<string, unknown>, token = demo) => call('POST', '/v1/clustertemplates', { token, body });

  before(async () => {
    t = await startTestCloud('clusters-api', { HAFEN_FAKE_HOSTS: '2', HAFEN_DOCKER_HOSTS: 'none' });
    demo = await t.token('demo');
    admin = await t.token('admin');
    other = await memberOfNewProject(t, 'clusters-other');
    const tar = path.join(t.dataDir, 'node.tar');
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh'] }));
    const img = await t.request('POST', '/image/v2/images', { token: demo, body: { name: 'swarm-node', container_format: 'docker', disk_format: 'raw', os_distro: 'debian' } });
    assert.equal(img.status, 201, img.text);
    imageId = img.body.id;
    const up = await t.request('PUT', `/image/v2/images/${imageId}/file`, { token: demo, body: fs.readFileSync(tar), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204, up.text);
  });
  after(async () => {
    await t?.close();
  });

  it('is in the catalog as container-infra with its versioned URL, and answers its version documents', async () => {
    const tok = await t.request('GET', '/identity/v3/auth/tokens', { token: demo, headers: { 'x-subject-token': demo } });
    const entry = tok.body.token.catalog.find((c: any) => c.type === 'container-infra');
    assert.equal(entry.name, 'magnum');
    assert.match(entry.endpoints[0].url, /\/container-infra\/v1$/);
    const root = await call('GET', '/');
    assert.equal(root.status, 200);
    assert.equal(root.body.versions[0].id, 'v1');
    assert.equal(root.body.versions[0].max_version, '1.11');
    const v1 = await call('GET', '/v1');
    assert.equal(v1.status, 200);
    assert.ok(v1.body.clustertemplates[0].href.endsWith('/v1/clustertemplates/'));
  });

  it('negotiates microversions: none is 1.1, latest the maximum, aliases of the service name, 406 outside', async () => {
    const none = await call('GET', '/v1/clustertemplates', { token: demo });
    assert.equal(none.status, 200);
    assert.equal(none.headers['openstack-api-version'], 'container-infra 1.1');
    assert.equal(none.headers['openstack-api-minimum-version'], 'container-infra 1.1');
    assert.equal(none.headers['openstack-api-maximum-version'], 'container-infra 1.11');
    const latest = await call('GET', '/v1/clustertemplates', { token: demo, version: 'latest' });
    assert.equal(latest.headers['openstack-api-version'], 'container-infra 1.11');
    const alias = await call('GET', '/v1/clustertemplates', { token: demo, headers: { 'openstack-api-version': 'container-infrastructure-management 1.5' } });
    assert.equal(alias.headers['openstack-api-version'], 'container-infra 1.5');
    const tooNew = await call('GET', '/v1/clustertemplates', { token: demo, version: '1.99' });
    assert.equal(tooNew.status, 406);
    assert.equal(tooNew.body.errors[0].status, 406);
    const otherService = await call('GET', '/v1/clustertemplates', { token: demo, headers: { 'openstack-api-version': 'compute 2.1' } });
    assert.equal(otherService.status, 406);
  });

  it('creates a template with every attribute, looks it up by uuid and name, lists and deletes it', async () => {
    const r = await template({
      name: 'full',
      coe: 'swarm-mode',
      image_id: 'swarm-node',
      flavor_id: 'm1.small',
      master_flavor_id: '2',
      keypair_id: 'nobody-checks-this-here',
      external_network_id: 'public',
      dns_nameserver: '8.8.8.8',
      docker_volume_size: 3,
      network_driver: 'docker',
      volume_driver: 'rexray',
      labels: { a: 'b', n: 1 },
      tls_disabled: false,
      master_lb_enabled: false,
      floating_ip_enabled: true,
      registry_enabled: false,
      server_type: 'vm',
      apiserver_port: 2376,
      http_proxy: 'http://proxy:3128',
      https_proxy: 'http://proxy:3128',
      no_proxy: 'localhost',
      docker_storage_driver: 'overlay2',
      insecure_registry: null,
      fixed_network: null,
      fixed_subnet: null,
      tags: 'x',
    });
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.location as string, new RegExp(`/v1/clustertemplates/${r.body.uuid}$`));
    assert.equal(r.body.cluster_distro, 'debian');
    assert.equal(r.body.network_driver, 'docker');
    assert.deepEqual(r.body.labels, { a: 'b', n: 1 });
    assert.equal(r.body.insecure_registry, null);
    assert.match(r.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    const byName = await call('GET', '/v1/clustertemplates/full', { token: demo });
    assert.equal(byName.body.uuid, r.body.uuid);
    const list = await call('GET', '/v1/clustertemplates', { token: demo });
    assert.ok(list.body.clustertemplates.some((x: any) => x.uuid === r.body.uuid));
    const del = await call('DELETE', `/v1/clustertemplates/${r.body.uuid}`, { token: demo });
    assert.equal(del.status, 204);
    const gone = await call('GET', `/v1/clustertemplates/${r.body.uuid}`, { token: demo });
    assert.equal(gone.status, 404);
    assert.match(gone.body.errors[0].detail, /could not be found/);
  });

  it('refuses bad templates with Magnum\'s errors', async () => {
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ coe: 'swarm-mode' }, 400, /image_id.*Mandatory field missing/],
      [{ image_id: 'swarm-node' }, 400, /coe.*Mandatory field missing/],
      [{ coe: 'mesos', image_id: 'swarm-node' }, 400, /not supported/],
      [{ coe: 'dcos', image_id: 'swarm-node' }, 400, /not supported/],
      [{ coe: 'nomad', image_id: 'swarm-node' }, 400, /coe/],
      [{ coe: 'swarm-mode', image_id: 'no-such-image' }, 400, /Image no-such-image could not be found/],
      [{ coe: 'swarm-mode', image_id: 'swarm-node', flavor_id: 'm9.huge' }, 400, /Unable to find flavor m9.huge/],
      [{ coe: 'swarm-mode', image_id: 'swarm-node', external_network_id: 'nope' }, 400, /Unable to find external network nope/],
      [{ coe: 'swarm-mode', image_id: 'swarm-node', network_driver: 'calico' }, 400, /Network driver type calico is not supported/],
      [{ coe: 'kubernetes', image_id: 'swarm-node', network_driver: 'docker' }, 400, /Network driver type docker is not supported/],
      [{ coe: 'swarm-mode', image_id: 'swarm-node', docker_volume_size: 0 }, 400, /docker_volume_size/],
      [{ coe: 'swarm-mode', image_id: 'swarm-node', flavour: 'x' }, 400, /Unknown attribute/],
      [{ coe: 'swarm-mode', image_id: 'swarm-node', public: true }, 403, /public or hidden/],
      [{ coe: 'swarm-mode', image_id: 'swarm-node', hidden: true }, 403, /public or hidden/],
    ];
    for (const [body, status, re] of cases) {
      const r = await template(body);
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.body.errors[0].status, status);
      assert.match(r.body.errors[0].detail, re, JSON.stringify(body));
    }
    const k8s = await template({ coe: 'kubernetes', image_id: 'swarm-node' });
    assert.equal(k8s.status, 201, k8s.text);
    assert.equal(k8s.body.network_driver, 'flannel');
    const pub = await template({ coe: 'swarm-mode', image_id: imageId, public: true }, admin);
    assert.equal(pub.status, 201, pub.text);
  });

  it('patches templates by JSON patch: a list only, no internal attributes, drivers checked, mandatory kept', async () => {
    const r = await template({ name: 'patchme', coe: 'swarm-mode', image_id: imageId });
    const id = r.body.uuid;
    const notList = await call('PATCH', `/v1/clustertemplates/no-such-template`, { token: demo, body: { op: 'replace', path: '/name', value: 'x' } });
    assert.equal(notList.status, 400, 'the body is checked before the look-up');
    for (const path of ['/uuid', '/id', '/project_id', '/user_id', '/created_at', '/updated_at']) {
      const p = await call('PATCH', `/v1/clustertemplates/${id}`, { token: demo, body: [{ op: 'replace', path, value: 'x' }] });
      assert.equal(p.status, 400, path);
      assert.match(p.body.errors[0].detail, /internal attribute/);
    }
    const rm = await call('PATCH', `/v1/clustertemplates/${id}`, { token: demo, body: [{ op: 'remove', path: '/image_id' }] });
    assert.equal(rm.status, 400);
    assert.match(rm.body.errors[0].detail, /mandatory attribute/);
    const badDriver = await call('PATCH', `/v1/clustertemplates/${id}`, { token: demo, body: [{ op: 'replace', path: '/network_driver', value: 'calico' }] });
    assert.equal(badDriver.status, 400);
    const ok = await call('PATCH', `/v1/clustertemplates/${id}`, { token: demo, body: [{ op: 'replace', path: '/name', value: 'patched' }, { op: 'replace', path: '/labels', value: "{'x': 'y'}" }, { op: 'add', path: '/docker_volume_size', value: 5 }] });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.name, 'patched');
    assert.deepEqual(ok.body.labels, { x: 'y' });
    assert.equal(ok.body.docker_volume_size, 5);
    const pub = await call('PATCH', `/v1/clustertemplates/${id}`, { token: demo, body: [{ op: 'replace', path: '/public', value: true }] });
    assert.equal(pub.status, 403);
    const unknown = await call('PATCH', `/v1/clustertemplates/00000000-0000-4000-8000-000000000000`, { token: demo, body: [{ op: 'replace', path: '/name', value: 'x' }] });
    assert.equal(unknown.status, 404);
  });

  it('checks cluster creates: template by microversion, counts, names, keypair, COE', async () => {
    const tpl = (await template({ name: 'swarm', coe: 'swarm-mode', image_id: imageId })).body;
    const k8s = (await template({ name: 'k8s', coe: 'kubernetes', image_id: imageId })).body;
    const create = (body: Record<string, unknown>, version?: string, token = demo) => call('POST', '/v1/clusters', { token, body, ...(version ? { version } : {}) });
    const unknownOld = await create({ cluster_template_id: 'nope' });
    assert.equal(unknownOld.status, 400);
    const unknownNew = await create({ cluster_template_id: 'nope' }, '1.10');
    assert.equal(unknownNew.status, 404);
    const zeroOld = await create({ cluster_template_id: tpl.uuid, node_count: 0 });
    assert.equal(zeroOld.status, 400);
    assert.match(zeroOld.body.errors[0].detail, /zero/);
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ cluster_template_id: tpl.uuid, name: '1bad' }, 400, /name/],
      [{ cluster_template_id: tpl.uuid, master_count: 0 }, 400, /master_count/],
      [{ cluster_template_id: tpl.uuid, node_count: -1 }, 400, /node_count/],
      [{ cluster_template_id: tpl.uuid, node_count: 100000 }, 400, /node_count/],
      [{ cluster_template_id: tpl.uuid, master_count: 3 }, 400, /master_lb_enabled/],
      [{ cluster_template_id: tpl.uuid, keypair: 'no-such-key' }, 404, /Unable to find keypair no-such-key/],
      [{ cluster_template_id: tpl.uuid, flavor_id: 'm9.huge' }, 400, /Unable to find flavor/],
      [{ cluster_template_id: k8s.uuid }, 400, /swarm-mode/],
      [{ cluster_template_id: tpl.uuid, whatever: 1 }, 400, /Unknown attribute/],
      [{}, 400, /cluster_template_id/],
    ];
    for (const [body, status, re] of cases) {
      const r = await create(body, '1.10');
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.body.errors[0].detail, re, JSON.stringify(body));
    }
    const made = await create({ cluster_template_id: 'swarm', node_count: 0 }, '1.10');
    assert.equal(made.status, 202, made.text);
    assert.deepEqual(Object.keys(made.body), ['uuid']);
    const shown = await call('GET', `/v1/clusters/${made.body.uuid}`, { token: demo });
    assert.equal(shown.status, 200);
    assert.match(shown.body.name, /^[a-z]+-\d+-[a-z]+-cluster$/);
    assert.equal(shown.body.node_count, 0);
    assert.equal(shown.body.master_count, 1);
    assert.ok(shown.body.status.startsWith('CREATE_'));
    // The template is in use now: only name, public and hidden may change, and it cannot be deleted.
    const patch = await call('PATCH', `/v1/clustertemplates/${tpl.uuid}`, { token: demo, body: [{ op: 'replace', path: '/docker_volume_size', value: 9 }] });
    assert.equal(patch.status, 400);
    assert.match(patch.body.errors[0].detail, /referenced by one or multiple clusters/);
    const rename = await call('PATCH', `/v1/clustertemplates/${tpl.uuid}`, { token: demo, body: [{ op: 'replace', path: '/name', value: 'swarm-renamed' }] });
    assert.equal(rename.status, 200, rename.text);
    const del = await call('DELETE', `/v1/clustertemplates/${tpl.uuid}`, { token: demo });
    assert.equal(del.status, 400);
    assert.match(del.body.errors[0].detail, /referenced by one or multiple clusters/);
    const remove = await call('DELETE', `/v1/clusters/${made.body.uuid}`, { token: demo });
    assert.equal(remove.status, 204);
  });

  it('keeps projects apart: another project\'s template and cluster are 404 for every verb', async () => {
    const tpl = (await template({ name: 'mine', coe: 'swarm-mode', image_id: imageId })).body;
    const cl = await call('POST', '/v1/clusters', { token: demo, body: { cluster_template_id: tpl.uuid, name: 'secret' } });
    assert.equal(cl.status, 202, cl.text);
    const o = other.token;
    for (const [method, url, body] of [
      ['GET', `/v1/clustertemplates/${tpl.uuid}`],
      ['PATCH', `/v1/clustertemplates/${tpl.uuid}`, [{ op: 'replace', path: '/name', value: 'x' }]],
      ['DELETE', `/v1/clustertemplates/${tpl.uuid}`],
      ['GET', `/v1/clusters/${cl.body.uuid}`],
      ['GET', '/v1/clusters/secret'],
      ['PATCH', `/v1/clusters/${cl.body.uuid}`, [{ op: 'replace', path: '/node_count', value: 2 }]],
      ['DELETE', `/v1/clusters/${cl.body.uuid}`],
      ['POST', `/v1/clusters/${cl.body.uuid}/actions/resize`, { node_count: 2 }],
    ] as [string, string, unknown?][]) {
      const r = await call(method, url, { token: o, version: '1.10', ...(body !== undefined ? { body } : {}) });
      assert.equal(r.status, 404, `${method} ${url}: ${r.text}`);
    }
    const list = await call('GET', '/v1/clusters', { token: o });
    assert.equal(list.body.clusters.length, 0);
    const using = await call('POST', '/v1/clusters', { token: o, body: { cluster_template_id: tpl.uuid } });
    assert.equal(using.status, 400, 'a private template of another project is unknown');
    await call('DELETE', `/v1/clusters/${cl.body.uuid}`, { token: demo });
  });

  it('serves the 2015 names below 1.11: baymodels and bays', async () => {
    const bm = await call('POST', '/v1/baymodels', { token: demo, body: { name: 'bm', coe: 'swarm-mode', image_id: imageId } });
    assert.equal(bm.status, 201, bm.text);
    assert.ok(bm.body.links[0].href.includes('/baymodels/'));
    const listed = await call('GET', '/v1/baymodels', { token: demo });
    assert.ok(listed.body.baymodels.some((x: any) => x.uuid === bm.body.uuid));
    const gone = await call('GET', '/v1/baymodels', { token: demo, version: '1.11' });
    assert.equal(gone.status, 404);
    const noKey = await call('POST', '/v1/bays', { token: demo, body: { baymodel_id: bm.body.uuid, keypair: 'k' } });
    assert.equal(noKey.status, 400);
    const noNet = await call('POST', '/v1/bays', { token: demo, body: { baymodel_id: bm.body.uuid, external_network_id: 'public' } });
    assert.equal(noNet.status, 400);
    const zero = await call('POST', '/v1/bays', { token: demo, body: { baymodel_id: bm.body.uuid, node_count: 0 }, version: '1.10' });
    assert.equal(zero.status, 400);
    const bay11 = await call('POST', '/v1/bays', { token: demo, body: { baymodel_id: bm.body.uuid, name: 'bay11', bay_create_timeout: 15 } });
    assert.equal(bay11.status, 201, bay11.text);
    assert.equal(bay11.body.baymodel_id, bm.body.uuid);
    assert.equal(bay11.body.bay_create_timeout, 15);
    const bay12 = await call('POST', '/v1/bays', { token: demo, body: { baymodel_id: bm.body.uuid, name: 'bay12' }, version: '1.2' });
    assert.equal(bay12.status, 202);
    assert.deepEqual(Object.keys(bay12.body), ['uuid']);
    for (const id of [bay11.body.uuid, bay12.body.uuid]) assert.equal((await call('DELETE', `/v1/bays/${id}`, { token: demo })).status, 204);
  });

  it('keeps quotas (admins set them, members read their own) and counts clusters and nodes in stats', async () => {
    const p = await memberOfNewProject(t, 'clusters-quota');
    const img = await t.request('POST', '/image/v2/images', { token: p.token, body: { name: 'node', container_format: 'docker', disk_format: 'raw' } });
    assert.equal(img.status, 201, img.text);
    const up = await t.request('PUT', `/image/v2/images/${img.body.id}/file`, { token: p.token, body: busyboxDockerArchive({ cmd: ['sh'] }), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204, up.text);
    // Only admins set quotas; a member's attempt is 403 and sets nothing.
    const byMember = await call('POST', '/v1/quotas', { token: p.token, body: { project_id: p.projectId, resource: 'Cluster', hard_limit: 50 } });
    assert.equal(byMember.status, 403, byMember.text);
    for (const [body, re] of [
      [{ project_id: p.projectId, resource: 'Pods', hard_limit: 1 }, /resource/],
      [{ project_id: p.projectId, hard_limit: 0 }, /hard_limit/],
      [{ resource: 'Cluster', hard_limit: 1 }, /project ID/],
      [{ project_id: p.projectId, hard_limit: 1, colour: 'red' }, /Unknown attribute/],
    ] as [Record<string, unknown>, RegExp][]) {
      const r = await call('POST', '/v1/quotas', { token: admin, body });
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.body.errors[0].detail, re);
    }
    const made = await call('POST', '/v1/quotas', { token: admin, body: { project_id: p.projectId, resource: 'Cluster', hard_limit: 1 } });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.body.hard_limit, 1);
    assert.equal((await call('POST', '/v1/quotas', { token: admin, body: { project_id: p.projectId, resource: 'Cluster', hard_limit: 2 } })).status, 409);
    const mine = await call('GET', `/v1/quotas/${p.projectId}/Cluster`, { token: p.token });
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.body.hard_limit, 1);
    assert.equal((await call('GET', `/v1/quotas/${p.projectId}/Cluster`, { token: other.token })).status, 403);
    assert.deepEqual((await call('GET', '/v1/quotas', { token: other.token })).body.quotas, []);
    assert.deepEqual((await call('GET', '/v1/quotas', { token: p.token })).body.quotas.map((q: any) => q.project_id), [p.projectId]);
    assert.ok((await call('GET', '/v1/quotas?all_tenants=True', { token: admin })).body.quotas.some((q: any) => q.project_id === p.projectId));
    // The quota holds: one cluster, the second is refused.
    const tpl = await call('POST', '/v1/clustertemplates', { token: p.token, body: { name: 'q', coe: 'swarm-mode', image_id: img.body.id } });
    assert.equal(tpl.status, 201, tpl.text);
    const first = await call('POST', '/v1/clusters', { token: p.token, body: { cluster_template_id: tpl.body.uuid, node_count: 2 } });
    assert.equal(first.status, 202, first.text);
    const second = await call('POST', '/v1/clusters', { token: p.token, body: { cluster_template_id: tpl.body.uuid } });
    assert.equal(second.status, 403, second.text);
    assert.match(second.body.errors[0].detail, /maximum clusters per project, 1/);
    // Stats: from 1.4; the caller's own project (1 cluster, 1 master + 2 workers); another project's is 403 but for admins.
    assert.equal((await call('GET', '/v1/stats', { token: p.token })).status, 406);
    const stats = await call('GET', '/v1/stats', { token: p.token, version: '1.4' });
    assert.equal(stats.status, 200, stats.text);
    assert.deepEqual(stats.body, { clusters: 1, nodes: 3 });
    assert.equal((await call('GET', `/v1/stats?project_id=${p.projectId}`, { token: other.token, version: 'latest' })).status, 403);
    assert.deepEqual((await call('GET', `/v1/stats?project_id=${p.projectId}`, { token: admin, version: 'latest' })).body, { clusters: 1, nodes: 3 });
    assert.equal((await call('GET', '/v1/stats?type=pods', { token: p.token, version: 'latest' })).status, 400);
    // A larger quota lets the second one in; a deleted quota falls back to the default.
    const raised = await call('PATCH', `/v1/quotas/${p.projectId}/Cluster`, { token: admin, body: { hard_limit: 2 } });
    assert.equal(raised.status, 202, raised.text);
    assert.equal(raised.body.hard_limit, 2);
    assert.equal((await call('PATCH', `/v1/quotas/${p.projectId}/Cluster`, { token: p.token, body: { hard_limit: 9 } })).status, 403);
    const again = await call('POST', '/v1/clusters', { token: p.token, body: { cluster_template_id: tpl.body.uuid } });
    assert.equal(again.status, 202, again.text);
    assert.equal((await call('DELETE', `/v1/quotas/${p.projectId}/Cluster`, { token: admin })).status, 204);
    assert.equal((await call('GET', `/v1/quotas/${p.projectId}/Cluster`, { token: admin })).status, 404);
    assert.equal((await call('DELETE', `/v1/quotas/${p.projectId}/Cluster`, { token: admin })).status, 404);
    for (const id of [first.body.uuid, again.body.uuid]) assert.equal((await call('DELETE', `/v1/clusters/${id}`, { token: p.token })).status, 204);
  });

  it('lists the conductor records to admins only: up, with a report count that grows', async () => {
    assert.equal((await call('GET', '/v1/mservices', { token: demo })).status, 403);
    const first = await call('GET', '/v1/mservices', { token: admin });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.mservices.length, 1);
    const m = first.body.mservices[0];
    assert.equal(m.binary, 'magnum-conductor');
    assert.equal(m.state, 'up');
    assert.equal(m.disabled, false);
    assert.ok(m.report_count >= 1);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const now = (await call('GET', '/v1/mservices', { token: admin })).body.mservices[0];
      if (now.report_count > m.report_count) break;
      assert.ok(Date.now() < deadline, 'the report count did not grow');
      await new Promise((r) => setTimeout(r, 1000));
    }
  });

  it('lists and shows a cluster\'s node groups from 1.9, to its project only, and checks groups of one\'s own before making them', async () => {
    const tpl = (await template({ name: 'ng', coe: 'swarm-mode', image_id: imageId })).body;
    const cl = await call('POST', '/v1/clusters', { token: demo, body: { cluster_template_id: tpl.uuid, name: 'groups', node_count: 2 } });
    assert.equal(cl.status, 202, cl.text);
    assert.equal((await call('GET', `/v1/clusters/${cl.body.uuid}/nodegroups`, { token: demo })).status, 406);
    const list = await call('GET', '/v1/clusters/groups/nodegroups', { token: demo, version: '1.9' });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body.nodegroups.map((g: any) => [g.name, g.role, g.node_count, g.is_default]).sort(), [['default-master', 'master', 1, true], ['default-worker', 'worker', 2, true]]);
    assert.deepEqual(Object.keys(list.body.nodegroups[0]).sort(), ['flavor_id', 'image_id', 'is_default', 'name', 'node_count', 'role', 'stack_id', 'status', 'uuid']);
    const workers = await call('GET', `/v1/clusters/${cl.body.uuid}/nodegroups?role=worker`, { token: demo, version: 'latest' });
    assert.deepEqual(workers.body.nodegroups.map((g: any) => g.name), ['default-worker']);
    const shown = await call('GET', `/v1/clusters/${cl.body.uuid}/nodegroups/default-worker`, { token: demo, version: 'latest' });
    assert.equal(shown.status, 200, shown.text);
    assert.equal(shown.body.cluster_id, cl.body.uuid);
    assert.equal(shown.body.min_node_count, 0);
    assert.ok(shown.body.links[0].href.endsWith(`/clusters/${cl.body.uuid}/nodegroups/${shown.body.uuid}`));
    assert.equal((await call('GET', `/v1/clusters/${cl.body.uuid}/nodegroups/${shown.body.uuid}`, { token: demo, version: 'latest' })).body.name, 'default-worker');
    assert.equal((await call('GET', `/v1/clusters/${cl.body.uuid}/nodegroups/nope`, { token: demo, version: 'latest' })).status, 404);
    for (const url of [`/v1/clusters/${cl.body.uuid}/nodegroups`, `/v1/clusters/${cl.body.uuid}/nodegroups/default-worker`]) {
      assert.equal((await call('GET', url, { token: other.token, version: 'latest' })).status, 404, url);
    }
    // Groups of one's own: checked before anything changes; another project's cluster is 404.
    const ng = (body: unknown, token = demo, version = 'latest') => call('POST', `/v1/clusters/${cl.body.uuid}/nodegroups`, { token, body, version });
    assert.equal((await ng({ name: 'extra' }, demo, '1.8')).status, 406);
    assert.equal((await ng({ name: 'extra' }, other.token)).status, 404);
    for (const [body, re] of [
      [{ node_count: 1 }, /name/],
      [{ name: 'extra', role: 'master' }, /master nodegroups/],
      [{ name: 'extra', colour: 'red' }, /Unknown attribute/],
      [{ name: 'extra', node_count: 2, min_node_count: 3 }, /min_node_count for extra is invalid \(min_node_count \(3\) should be less or equal to node_count \(2\)\)/],
      [{ name: 'extra', node_count: 2, max_node_count: 1 }, /max_node_count for extra is invalid \(node_count \(2\) should be less or equal to max_node_count \(1\)\)/],
      [{ name: 'extra', node_count: 51 }, /node_count/],
      [{ name: 'default-worker' }, /already exists|API address|in progress/],
      [{ name: 'extra' }, /API address|in progress/],
    ] as [Record<string, unknown>, RegExp][]) {
      const r = await ng(body);
      assert.ok(r.status === 400 || r.status === 409, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.body.errors[0].detail, re, JSON.stringify(body));
    }
    const delDefault = await call('DELETE', `/v1/clusters/${cl.body.uuid}/nodegroups/default-worker`, { token: demo, version: 'latest' });
    assert.equal(delDefault.status, 400);
    assert.match(delDefault.body.errors[0].detail, /default nodegroup/);
    assert.equal((await call('DELETE', `/v1/clusters/${cl.body.uuid}/nodegroups/default-worker`, { token: other.token, version: 'latest' })).status, 404);
    assert.equal((await call('GET', `/v1/clusters/${cl.body.uuid}/nodegroups`, { token: demo, version: 'latest' })).body.nodegroups.length, 2);

    // PATCH: the bounds of the count only (202 with the group), checked against the count (409).
    const patch = (body: unknown, token = demo, version = 'latest', group = 'default-worker') => call('PATCH', `/v1/clusters/${cl.body.uuid}/nodegroups/${group}`, { token, body, version });
    assert.equal((await patch([{ op: 'replace', path: '/max_node_count', value: 5 }], demo, '1.8')).status, 406);
    assert.equal((await patch([{ op: 'replace', path: '/max_node_count', value: 5 }], other.token)).status, 404);
    assert.equal((await patch([{ op: 'replace', path: '/max_node_count', value: 5 }], demo, 'latest', 'nope')).status, 404);
    for (const [body, status, re] of [
      [{ max_node_count: 5 }, 400, /must be a list/],
      [[{ op: 'replace', path: '/node_count', value: 3 }], 400, /'\/node_count' is an internal attribute and can not be updated/],
      [[{ op: 'replace', path: '/name', value: 'other' }], 400, /'\/name' is an internal attribute/],
      [[{ op: 'replace', path: '/flavor_id', value: 'm1.tiny' }], 400, /internal attribute/],
      [[{ op: 'replace', path: '/max_node_count', value: 'many' }], 400, /max_node_count/],
      [[{ op: 'replace', path: '/max_node_count', value: 1 }], 409, /max_node_count for default-worker is invalid \(node_count \(2\) should be less or equal to max_node_count \(1\)\)/],
      [[{ op: 'replace', path: '/min_node_count', value: 3 }], 409, /min_node_count for default-worker is invalid \(min_node_count \(3\) should be less or equal to node_count \(2\)\)/],
      [[{ op: 'replace', path: '/min_node_count', value: 2 }, { op: 'replace', path: '/max_node_count', value: 1 }], 409, /min_node_count \(2\) should be less or equal to max_node_count \(1\)/],
      [[{ op: 'replace', path: '/max_node_count', value: 51 }], 400, /max_node_count/],
    ] as [unknown, number, RegExp][]) {
      const r = await patch(body);
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.body.errors[0].detail, re, JSON.stringify(body));
    }
    const bounded = await patch([{ op: 'replace', path: '/min_node_count', value: 1 }, { op: 'replace', path: '/max_node_count', value: 3 }]);
    assert.equal(bounded.status, 202, bounded.text);
    assert.deepEqual([bounded.body.name, bounded.body.node_count, bounded.body.min_node_count, bounded.body.max_node_count], ['default-worker', 2, 1, 3]);
    const again = (await call('GET', `/v1/clusters/${cl.body.uuid}/nodegroups/default-worker`, { token: demo, version: 'latest' })).body;
    assert.deepEqual([again.min_node_count, again.max_node_count], [1, 3]);
    // Resizes keep the new bounds.
    for (const n of [0, 4]) {
      const r = await call('POST', `/v1/clusters/${cl.body.uuid}/actions/resize`, { token: demo, version: 'latest', body: { node_count: n, nodegroup: 'default-worker' } });
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.errors[0].detail, /outside the allowed range: min_node_count = 1, max_node_count = 3/);
    }
    const unbounded = await patch([{ op: 'remove', path: '/max_node_count' }]);
    assert.equal(unbounded.status, 202, unbounded.text);
    assert.equal(unbounded.body.max_node_count, null);
    assert.equal((await patch([{ op: 'replace', path: '/min_node_count', value: 0 }], demo, 'latest', 'default-master')).status, 400, 'a master group keeps a node');
    assert.equal((await call('DELETE', `/v1/clusters/${cl.body.uuid}`, { token: demo })).status, 204);
  });
});
