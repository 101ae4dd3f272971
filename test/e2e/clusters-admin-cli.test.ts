// Magnum's records through `openstack coe` (python3-magnumclient): the conductor list for admins,
// quotas set by an admin and holding for the project, the project's stats, and a node group's count
// bounds patched. No engines: clusters here are records on simulated hosts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

describe('clusters records with openstack coe', () => {
  let t: TestCloud;
  let demoProject: string;

  before(async () => {
    t = await startTestCloud('clusters-admin-cli', { HAFEN_FAKE_HOSTS: '2', HAFEN_DOCKER_HOSTS: 'none' });
    demoProject = JSON.parse(await t.openstack(['project', 'show', 'demo', '-f', 'json'], 'hafen-admin')).id;
    const tar = path.join(t.dataDir, 'node.tar');
    fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh'] }));
    await t.openstack(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', tar, 'swarm-node']);
  });
  after(async () => {
    await t?.close();
  });

  it('lists the conductor to admins, not to members', async () => {
    const services = JSON.parse(await t.openstack(['coe', 'service', 'list', '-f', 'json'], 'hafen-admin')) as Record<string, unknown>[];
    assert.equal(services.length, 1);
    assert.equal(services[0]!.binary, 'magnum-conductor');
    assert.equal(services[0]!.state, 'up');
    await assert.rejects(t.openstack(['coe', 'service', 'list'], 'hafen-demo'), /403|[Pp]olicy/);
  });

  it('sets, shows, updates and deletes a quota that holds for the project; stats count its clusters', async () => {
    const created = await t.openstack(['coe', 'quotas', 'create', '--project-id', demoProject, '--resource', 'Cluster', '--hard-limit', '1'], 'hafen-admin');
    assert.match(created, /hard_limit\s*\|\s*1/);
    const shown = await t.openstack(['coe', 'quotas', 'show', '--project-id', demoProject, '--resource', 'Cluster'], 'hafen-demo');
    assert.match(shown, /hard_limit\s*\|\s*1/);
    const listed = await t.openstack(['coe', 'quotas', 'list', '--all-tenants'], 'hafen-admin');
    assert.ok(listed.includes(demoProject), listed);
    // A member cannot raise its own quota (magnumclient prints the failure rather than exiting non-zero).
    const raisedByMember = await t.openstack(['coe', 'quotas', 'update', '--project-id', demoProject, '--resource', 'Cluster', '--hard-limit', '9'], 'hafen-demo');
    assert.match(raisedByMember, /failed/);
    await t.openstack(['coe', 'cluster', 'template', 'create', 'swarm', '--coe', 'swarm-mode', '--image', 'swarm-node', '--external-network', 'public']);
    await t.openstack(['coe', 'cluster', 'create', 'c1', '--cluster-template', 'swarm', '--node-count', '2']);
    await assert.rejects(t.openstack(['coe', 'cluster', 'create', 'c2', '--cluster-template', 'swarm']), /maximum clusters per project, 1/);
    const stats = await t.openstack(['coe', 'stats', 'list', demoProject], 'hafen-demo');
    assert.match(stats, /clusters\s*\|\s*1\b/);
    assert.match(stats, /nodes\s*\|\s*3\b/);
    const updated = await t.openstack(['coe', 'quotas', 'update', '--project-id', demoProject, '--resource', 'Cluster', '--hard-limit', '2'], 'hafen-admin');
    assert.match(updated, /hard_limit\s*\|\s*2/);
    await t.openstack(['coe', 'cluster', 'create', 'c2', '--cluster-template', 'swarm']);
    // A node group's count bounds through `openstack coe nodegroup update` (the count itself is resized, not patched).
    const accepted = await t.openstack(['coe', 'nodegroup', 'update', 'c1', 'default-worker', 'replace', 'min_node_count=1', 'max_node_count=3']);
    assert.match(accepted, /Request to update nodegroup default-worker has been accepted/);
    const group = JSON.parse(await t.openstack(['coe', 'nodegroup', 'show', 'c1', 'default-worker', '-f', 'json']));
    assert.deepEqual([group.node_count, group.min_node_count, group.max_node_count], [2, 1, 3]);
    const refused = await t.openstack(['coe', 'nodegroup', 'update', 'c1', 'default-worker', 'replace', 'node_count=5']).catch((err: Error) => err.message);
    assert.match(refused, /'\/node_count' is an internal attribute and can not be updated/);
    const outside = await t.openstack(['coe', 'nodegroup', 'update', 'c1', 'default-worker', 'replace', 'max_node_count=1']).catch((err: Error) => err.message);
    assert.match(outside, /max_node_count for default-worker is invalid \(node_count \(2\) should be less or equal to max_node_count \(1\)\)/);
    await t.openstack(['coe', 'nodegroup', 'update', 'c1', 'default-worker', 'remove', 'max_node_count']);
    assert.equal(JSON.parse(await t.openstack(['coe', 'nodegroup', 'show', 'c1', 'default-worker', '-f', 'json'])).max_node_count, null);
    await t.openstack(['coe', 'quotas', 'delete', '--project-id', demoProject, '--resource', 'Cluster'], 'hafen-admin');
    await assert.rejects(t.openstack(['coe', 'quotas', 'show', '--project-id', demoProject, '--resource', 'Cluster'], 'hafen-admin'), /could not be found|404/);
    await t.openstack(['coe', 'cluster', 'delete', 'c1', 'c2']);
  });
});
