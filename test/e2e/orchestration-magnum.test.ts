// test: exclusive (the cluster's router gateway NATs in the host's own namespace, which every file sees)
// OS::Magnum::ClusterTemplate and OS::Magnum::Cluster through the real openstack CLI on a real
// engine: a stack makes a template and a swarm-mode cluster from it (1 manager, 1 worker), which
// `openstack coe` shows as the project's with Heat's properties; the cluster's attributes come back
// as stack outputs; another project sees neither; deleting the stack removes cluster, its nodes and
// the template.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { engineClient } from '../../src/host/engine-client.ts';

const TEMPLATE = `heat_template_version: 2018-08-31
parameters:
  workers: {type: number, default: 1}
resources:
  template:
    type: OS::Magnum::ClusterTemplate
    properties:
      name: swarm-tpl
      coe: swarm-mode
      image: swarm-node
      external_network: public
      flavor: m1.small
      master_flavor: m1.small
      master_lb_enabled: false
      docker_storage_driver: overlay2
      labels: {purpose: heat}
  cluster:
    type: OS::Magnum::Cluster
    properties:
      name: heat-swarm
      cluster_template: {get_resource: template}
      master_count: 1
      node_count: {get_param: workers}
      create_timeout: 10
outputs:
  api_address: {value: {get_attr: [cluster, api_address]}}
  status: {value: {get_attr: [cluster, status]}}
  master_addresses: {value: {get_attr: [cluster, master_addresses]}}
  node_addresses: {value: {get_attr: [cluster, node_addresses]}}
  stack_id: {value: {get_attr: [cluster, stack_id]}}
  template_id: {value: {get_attr: [cluster, cluster_template_id]}}
`;

describe('Magnum templates and clusters in stacks', () => {
  let t: TestCloud;
  let docker: Docker;
  let dir: string;
  const os = (args: string[]) => t.openstack(args, 'hafen-demo', { SHELL: '/bin/bash' });
  const json = async (args: string[]) => JSON.parse(await os([...args, '-f', 'json']));
  const output = async (key: string) => {
    const v = (await json(['stack', 'output', 'show', 'swarm', key])).output_value;
    return typeof v === 'string' && /^[[{]/.test(v) ? JSON.parse(v) : v;
  };
  const nodeContainers = async (clusterId: string) => docker.listContainers({ all: true, filters: { label: [`hafen.cluster=${clusterId}`] } });

  before(async () => {
    const c = await startComputeCloud('orchestration-magnum');
    t = c.t;
    docker = engineClient(c.socket);
    dir = t.dataDir;
    const tar = path.join(dir, 'swarm-node.tar');
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh'] }));
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', tar, 'swarm-node']);
  });
  after(async () => {
    await t?.close();
  });

  it('makes a template and a swarm-mode cluster of the project, and removes both with the stack', async () => {
    const file = path.join(dir, 'swarm.yaml');
    fs.writeFileSync(file, TEMPLATE);
    await os(['stack', 'create', '-t', file, '--timeout', '15', '--wait', 'swarm']).catch(() => undefined);
    const stack = await json(['stack', 'show', 'swarm']);
    assert.equal(stack.stack_status, 'CREATE_COMPLETE', `${stack.stack_status_reason} ${JSON.stringify((await json(['stack', 'resource', 'list', 'swarm'])).map((r: any) => r.resource_status_reason))}`);
    const resources = await json(['stack', 'resource', 'list', 'swarm']);
    const templateId = resources.find((r: any) => r.resource_name === 'template').physical_resource_id as string;
    const clusterId = resources.find((r: any) => r.resource_name === 'cluster').physical_resource_id as string;

    const tpl = await json(['coe', 'cluster', 'template', 'show', templateId]);
    assert.equal(tpl.name, 'swarm-tpl');
    assert.equal(tpl.coe, 'swarm-mode');
    assert.equal(tpl.master_lb_enabled, false);
    assert.deepEqual(tpl.labels, { purpose: 'heat' });
    const cluster = await json(['coe', 'cluster', 'show', clusterId]);
    assert.equal(cluster.name, 'heat-swarm');
    assert.equal(cluster.status, 'CREATE_COMPLETE');
    assert.equal(cluster.cluster_template_id, templateId);
    assert.equal(cluster.master_count, 1);
    assert.equal(cluster.node_count, 1);
    assert.equal(cluster.create_timeout, 10);

    // The cluster's attributes as stack outputs, as Magnum shows them.
    assert.equal(await output('status'), 'CREATE_COMPLETE');
    assert.equal(await output('api_address'), cluster.api_address);
    assert.match(String(cluster.api_address), /^tcp:\/\/[\d.]+:\d+$/);
    assert.deepEqual(await output('master_addresses'), cluster.master_addresses);
    assert.equal((await output('node_addresses')).length, 1);
    assert.equal(await output('template_id'), templateId);
    const inner = await json(['stack', 'show', await output('stack_id')]);
    assert.equal(inner.stack_status, 'CREATE_COMPLETE');
    assert.equal((await nodeContainers(clusterId)).length, 2);

    // Another project sees neither.
    const other = await memberOfNewProject(t, 'magnum-stranger');
    const hdr = { 'openstack-api-version': 'container-infra 1.11' };
    assert.equal((await t.request('GET', `/container-infra/v1/clusters/${clusterId}`, { token: other.token, headers: hdr })).status, 404);
    assert.equal((await t.request('GET', `/container-infra/v1/clustertemplates/${templateId}`, { token: other.token, headers: hdr })).status, 404);

    await os(['stack', 'delete', '--yes', '--wait', 'swarm']);
    assert.deepEqual(await json(['coe', 'cluster', 'list']), []);
    assert.deepEqual(await json(['coe', 'cluster', 'template', 'list']), []);
    await waitFor('nodes removed', async () => ((await nodeContainers(clusterId)).length === 0 ? true : undefined), 60_000);
  });
});
