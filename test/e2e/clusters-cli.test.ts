// test: exclusive
// Clusters end to end with the real clients on two nested hosts: `openstack coe` makes a template and
// a swarm-mode cluster (1 manager, 2 workers), `cluster config` hands the stock docker CLI its TLS
// environment, a replicated service answers on its published port at the cluster's address, a stack
// deploys, the confinement holds through the front, the cluster resizes to 3 workers, turns UNHEALTHY
// when a worker's engine stops and replaces it on the next update, resizes back to 1, gains and
// loses a node group of its own,
// its CA rotates (old client certificates stop working), another project cannot reach it, and its
// delete leaves no engine, container or network behind. Exclusive: nodes take addresses on the hosts'
// segment, where hosts started meanwhile by other files could pick the same ones.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { startTestHosts, type NestedHostSet } from '../helpers/hosts.ts';
import { waitFor } from '../helpers/compute.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { engineClient } from '../../src/host/engine-client.ts';

const run = promisify(execFile);
const HTTPD = 'mkdir -p /www && echo hello-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www';

/** The page at the address, or undefined when nothing answers. */
async function page(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return (await res.text()).trim();
  } catch {
    return undefined;
  }
}

describe('clusters with openstack coe and the docker CLI', () => {
  let hosts: NestedHostSet;
  let t: TestCloud;
  let demo: string;
  let dir: string;
  let dockerEnv: Record<string, string>;
  let clusterAddress: string;
  let cluster: Record<string, any>;

  const coe = async (args: string[]) => t.openstack(['coe', ...args], 'hafen-demo', { SHELL: '/bin/bash' });
  const coeJson = async (args: string[]) => JSON.parse(await coe([...args, '-f', 'json']));
  const docker = async (args: string[], env = dockerEnv, timeoutMs = 120_000) => {
    try {
      const { stdout, stderr } = await run('docker', args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 });
      return { ok: true, out: `${stdout}${stderr}` };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
    }
  };
  const settled = (name: string, timeoutMs = 300_000) =>
    waitFor(
      `cluster ${name} settled`,
      async () => {
        const c = await coeJson(['cluster', 'show', name]);
        return String(c.status).endsWith('_IN_PROGRESS') ? undefined : c;
      },
      timeoutMs,
    );
  const nodeContainers = async () => {
    const all = await Promise.all(hosts.hosts.map((h) => engineClient(h.endpoint).listContainers({ all: true, filters: { label: ['hafen.cluster'] } })));
    return all.flat();
  };

  before(async () => {
    hosts = await startTestHosts(2);
    const prefix = hosts.hosts[0]!.address.split('.').slice(0, 3).join('.');
    // Node addresses: a window of the hosts' segment that no host holds.
    const taken = new Set(hosts.hosts.map((h) => Number(h.address.split('.')[3])));
    let first = 180;
    while ([...Array(24).keys()].some((i) => taken.has(first + i))) first++;
    t = await startTestCloud('clusters-cli', {
      HAFEN_DOCKER_HOSTS: hosts.hosts.map((h) => h.endpoint).join(','),
      HAFEN_CLUSTER_NODE_NETWORK: `macvlan:eth0:${prefix}.0/24:${prefix}.${first}-${prefix}.${first + 23}`,
      HAFEN_RECONCILE_INTERVAL: '2',
    });
    demo = await t.token('demo');
    dir = fs.mkdtempSync(path.join(t.dataDir, 'cli-'));
    for (const [name, cmd] of [['swarm-node', ['sh']], ['web', ['sh', '-c', HTTPD]]] as [string, string[]][]) {
      const tar = path.join(dir, `${name}.tar`);
      fs.writeFileSync(tar, busyboxDockerArchive({ cmd }));
      await t.openstack(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', tar, name]);
    }
  });

  after(async () => {
    await t?.close();
    await hosts?.teardown();
  });

  it('makes a swarm-mode cluster from a template: 1 manager and 2 workers, a stack of the project', async () => {
    await coe(['cluster', 'template', 'create', 'swarm', '--coe', 'swarm-mode', '--image', 'swarm-node', '--external-network', 'public', '--flavor', 'm1.small', '--master-flavor', 'm1.small']);
    const tpl = await coeJson(['cluster', 'template', 'show', 'swarm']);
    assert.equal(tpl.coe, 'swarm-mode');
    assert.equal(tpl.network_driver, 'docker');
    const out = await coe(['cluster', 'create', 'c1', '--cluster-template', 'swarm', '--master-count', '1', '--node-count', '2']);
    assert.match(out, /Request to create cluster [0-9a-f-]+ accepted/);
    cluster = await settled('c1');
    assert.equal(cluster.status, 'CREATE_COMPLETE', JSON.stringify(cluster));
    assert.equal(cluster.master_addresses.length, 1);
    assert.equal(cluster.node_addresses.length, 2);
    assert.match(cluster.api_address, /^tcp:\/\/[\d.]+:2376$/);
    clusterAddress = cluster.api_address.replace(/^tcp:\/\//, '').replace(/:\d+$/, '');
    const stack = JSON.parse(await t.openstack(['stack', 'show', cluster.stack_id, '-f', 'json']));
    assert.equal(stack.stack_status, 'CREATE_COMPLETE');
    const resources = JSON.parse(await t.openstack(['stack', 'resource', 'list', cluster.stack_id, '-f', 'json'])) as { resource_type: string }[];
    assert.ok(resources.some((r) => r.resource_type === 'OS::Magnum::NodeGroup'));
    assert.ok(resources.some((r) => r.resource_type === 'OS::Neutron::Net'));
    // Nodes are the cloud's infrastructure: not servers of the project, not on one host only.
    const servers = JSON.parse(await t.openstack(['server', 'list', '-f', 'json'])) as unknown[];
    assert.equal(servers.length, 0);
    const containers = await nodeContainers();
    assert.equal(containers.length, 3);
    const perHost = await Promise.all(hosts.hosts.map(async (h) => (await engineClient(h.endpoint).listContainers({ filters: { label: ['hafen.cluster'] } })).length));
    assert.ok(perHost.every((n) => n > 0), `nodes spread over both hosts: ${perHost}`);
  });

  it('hands the docker CLI its environment: info and node ls show the swarm', async () => {
    const out = await coe(['cluster', 'config', 'c1', '--dir', dir, '--output-certs', '--force']);
    dockerEnv = {};
    for (const m of out.matchAll(/^export (\w+)=(.*)$/gm)) dockerEnv[m[1]!] = m[2]!;
    assert.equal(dockerEnv.DOCKER_HOST, cluster.api_address);
    assert.equal(dockerEnv.DOCKER_CERT_PATH, dir);
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) assert.ok(fs.existsSync(path.join(dir, f)), f);
    const info = await docker(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.Nodes}} {{.Swarm.Managers}}']);
    assert.ok(info.ok, info.out);
    assert.equal(info.out.trim(), 'active true 3 1');
    const nodes = await docker(['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}']);
    assert.equal(nodes.out.trim().split('\n').length, 3, nodes.out);
    assert.match(nodes.out, /c1-master-0 Ready Leader/);
  });

  it('runs a replicated service that answers on its published port at the cluster\'s address; scale and stack deploy work', async () => {
    const created = await docker(['service', 'create', '--name', 'web', '--replicas', '3', '--publish', '8080:80', 'web']);
    assert.ok(created.ok, created.out);
    const seen = new Set<string>();
    await waitFor('three replicas answering', async () => {
      const p = await page(`http://${clusterAddress}:8080/`);
      if (p?.startsWith('hello-')) seen.add(p);
      return seen.size >= 3 ? true : undefined;
    }, 60_000);
    const scaled = await docker(['service', 'scale', 'web=2']);
    assert.ok(scaled.ok, scaled.out);
    await waitFor('web at 2 replicas', async () => (/web 2\/2/.test((await docker(['service', 'ls', '--format', '{{.Name}} {{.Replicas}}'])).out) ? true : undefined), 60_000);
    const compose = path.join(dir, 'compose.yml');
    fs.writeFileSync(compose, 'version: "3.8"\nservices:\n  app:\n    image: web\n    deploy:\n      replicas: 2\n    ports:\n      - "8081:80"\n');
    const deployed = await docker(['stack', 'deploy', '-c', compose, 'st']);
    assert.ok(deployed.ok, deployed.out);
    await waitFor('the stack\'s service answering', async () => ((await page(`http://${clusterAddress}:8081/`))?.startsWith('hello-') ? true : undefined), 60_000);
    const run1 = await docker(['run', '--rm', 'web', 'sh', '-c', 'echo inside-$((6*7))']);
    assert.match(run1.out, /inside-42/);
  });

  it('holds the tenant confinement through the front, in containers and services alike', async () => {
    for (const args of [
      ['run', '--rm', '--privileged', 'web', 'true'],
      ['run', '--rm', '-v', '/:/host', 'web', 'true'],
      ['run', '--rm', '--device', '/dev/kmsg', 'web', 'true'],
      ['run', '--rm', '--cap-add', 'SYS_ADMIN', 'web', 'true'],
      ['run', '--rm', '--pid', 'host', 'web', 'true'],
      ['run', '--rm', '--network', 'host', 'web', 'true'],
      ['run', '--rm', '--security-opt', 'seccomp=unconfined', 'web', 'true'],
      ['service', 'create', '--name', 'bad1', '--mount', 'type=bind,source=/,target=/host', 'web'],
      ['service', 'create', '--name', 'bad2', '--cap-add', 'SYS_ADMIN', 'web'],
      ['service', 'create', '--name', 'bad3', '--network', 'host', 'web'],
      ['volume', 'create', '--opt', 'type=none', '--opt', 'o=bind', '--opt', 'device=/etc', 'sneaky'],
      ['network', 'create', '-d', 'macvlan', '-o', 'parent=eth0', 'sneaky'],
      ['swarm', 'leave', '--force'],
    ]) {
      const r = await docker(args, dockerEnv, 60_000);
      assert.ok(!r.ok, `${args.join(' ')} should be refused: ${r.out}`);
      assert.match(r.out, /hafen refuses/, args.join(' '));
    }
    const services = await docker(['service', 'ls', '--format', '{{.Name}}']);
    assert.doesNotMatch(services.out, /bad/);
  });

  it('resizes to 3 workers, reports a worker whose engine stopped and replaces it, and resizes back to 1', async () => {
    await coe(['cluster', 'resize', 'c1', '3']);
    let c = await settled('c1');
    assert.equal(c.status, 'UPDATE_COMPLETE', JSON.stringify(c));
    assert.equal(c.node_count, 3);
    assert.equal(c.node_addresses.length, 3);
    const four = await docker(['node', 'ls', '--format', '{{.Hostname}}']);
    assert.equal(four.out.trim().split('\n').length, 4, four.out);
    await waitFor('the cluster healthy', async () => ((await coeJson(['cluster', 'show', 'c1'])).health_status === 'HEALTHY' ? true : undefined), 120_000);
    // A worker's engine stops: the cluster turns UNHEALTHY naming it, and an update (a resize to the
    // same count) replaces it with a fresh node.
    const workers = (await Promise.all(hosts.hosts.map(async (h) => (await engineClient(h.endpoint).listContainers({ filters: { label: ['hafen.cluster.role=worker'] } })).map((c) => ({ h, c }))))).flat();
    const victim = workers[0]!;
    await engineClient(victim.h.endpoint).getContainer(victim.c.Id).stop({ t: 1 });
    const sick = await waitFor('the cluster unhealthy', async () => {
      const x = await coeJson(['cluster', 'show', 'c1']);
      return x.health_status === 'UNHEALTHY' ? x : undefined;
    }, 180_000);
    // The CLI prints the reason as a dict (or its Python text): one node not ready, and why.
    const reason = typeof sick.health_status_reason === 'string' ? sick.health_status_reason : JSON.stringify(sick.health_status_reason);
    assert.equal([...reason.matchAll(/\.Ready['"]\s*:\s*['"]False/g)].length, 1, reason);
    assert.match(reason, /does not answer/);
    await coe(['cluster', 'resize', 'c1', '3']);
    c = await settled('c1');
    assert.equal(c.status, 'UPDATE_COMPLETE', JSON.stringify(c));
    assert.equal(c.node_addresses.length, 3);
    await waitFor('the cluster healthy again', async () => ((await coeJson(['cluster', 'show', 'c1'])).health_status === 'HEALTHY' ? true : undefined), 120_000);
    const healed = await docker(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']);
    assert.equal(healed.out.trim().split('\n').length, 4, healed.out);
    assert.doesNotMatch(healed.out, /Down/, healed.out);
    assert.ok(!(await nodeContainers()).some((x) => x.Id === victim.c.Id), 'the stopped node is gone');
    await coe(['cluster', 'resize', 'c1', '1']);
    c = await settled('c1');
    assert.equal(c.status, 'UPDATE_COMPLETE', JSON.stringify(c));
    assert.equal(c.node_addresses.length, 1);
    const two = await docker(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']);
    assert.equal(two.out.trim().split('\n').length, 2, two.out);
    assert.equal((await nodeContainers()).length, 2);
    // The published service still answers from the nodes that are left.
    await waitFor('web answering after the resize', async () => ((await page(`http://${clusterAddress}:8080/`))?.startsWith('hello-') ? true : undefined), 60_000);
  });

  it('adds a node group of its own and removes it again', async () => {
    const out = await coe(['nodegroup', 'create', 'c1', 'extra', '--node-count', '1', '--flavor', 'm1.small']);
    assert.match(out, /Request to create nodegroup [0-9a-f-]+ accepted/);
    let c = await settled('c1');
    assert.equal(c.status, 'UPDATE_COMPLETE', JSON.stringify(c));
    const groups = (await coeJson(['nodegroup', 'list', 'c1'])) as { name: string; node_count: number; status: string; is_default: boolean }[];
    const extra = groups.find((g) => g.name === 'extra');
    assert.ok(extra && extra.node_count === 1 && extra.status === 'CREATE_COMPLETE' && !extra.is_default, JSON.stringify(groups));
    const shown = await coeJson(['nodegroup', 'show', 'c1', 'extra']);
    assert.equal(shown.node_addresses.length, 1);
    const three = await docker(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']);
    assert.match(three.out, /c1-extra-0 Ready/);
    assert.equal(three.out.trim().split('\n').length, 3, three.out);
    await coe(['nodegroup', 'delete', 'c1', 'extra']);
    c = await settled('c1');
    assert.equal(c.status, 'UPDATE_COMPLETE', JSON.stringify(c));
    assert.ok(!((await coeJson(['nodegroup', 'list', 'c1'])) as { name: string }[]).some((g) => g.name === 'extra'));
    const two = await docker(['node', 'ls', '--format', '{{.Hostname}}']);
    assert.equal(two.out.trim().split('\n').length, 2, two.out);
    assert.equal((await nodeContainers()).length, 2);
  });

  it('rotates the cluster\'s CA: old client certificates stop working, a new config works', async () => {
    const old = fs.mkdtempSync(path.join(t.dataDir, 'old-'));
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.copyFileSync(path.join(dir, f), path.join(old, f));
    await coe(['ca', 'rotate', 'c1']);
    const refused = await docker(['info'], { ...dockerEnv, DOCKER_CERT_PATH: old }, 30_000);
    assert.ok(!refused.ok, refused.out);
    await coe(['cluster', 'config', 'c1', '--dir', dir, '--output-certs', '--force']);
    const fresh = await docker(['info', '--format', '{{.Swarm.LocalNodeState}}']);
    assert.equal(fresh.out.trim(), 'active', fresh.out);
  });

  it('keeps another project out: its API answers 404, it cannot get a certificate, and no tenant certificate opens a node\'s engine', async () => {
    const other = await memberOfNewProject(t, 'clusters-intruder');
    const api = (method: string, url: string, body?: unknown) => t.request(method, `/container-infra/v1${url}`, { token: other.token, body, headers: { 'openstack-api-version': 'container-infra latest' } });
    assert.equal((await api('GET', `/clusters/${cluster.uuid}`)).status, 404);
    assert.equal((await api('GET', '/clusters/c1')).status, 404);
    assert.equal((await api('GET', `/certificates/${cluster.uuid}`)).status, 404);
    const csr = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const sign = await api('POST', '/certificates', { cluster_uuid: cluster.uuid, csr });
    assert.equal(sign.status, 400);
    assert.equal((await api('PATCH', `/certificates/${cluster.uuid}`)).status, 404);
    assert.equal((await api('DELETE', `/clusters/${cluster.uuid}`)).status, 404);
    // Even the owner's certificates are for the front only: a node's engine takes hafen's alone.
    const node = (await coeJson(['cluster', 'show', 'c1'])).master_addresses[0] as string;
    const direct = await docker(['info'], { ...dockerEnv, DOCKER_HOST: `tcp://${node}:2376` }, 30_000);
    assert.ok(!direct.ok, direct.out);
    // A client certificate the intruder makes itself is refused by the front.
    const mine = fs.mkdtempSync(path.join(t.dataDir, 'intruder-'));
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(mine, 'key.pem'), '-out', path.join(mine, 'cert.pem'), '-days', '1', '-subj', '/CN=admin']);
    fs.copyFileSync(path.join(dir, 'ca.pem'), path.join(mine, 'ca.pem'));
    const forged = await docker(['info'], { ...dockerEnv, DOCKER_CERT_PATH: mine }, 30_000);
    assert.ok(!forged.ok, forged.out);
  });

  it('deletes the cluster and leaves no engine, container or network behind', async () => {
    const networkBefore = JSON.parse(await t.openstack(['network', 'list', '-f', 'json'])) as { Name: string }[];
    assert.ok(networkBefore.some((n) => n.Name === 'c1-network'));
    const subnet = (JSON.parse(await t.openstack(['subnet', 'list', '-f', 'json'])) as { Name: string; Subnet: string }[]).find((x) => x.Name === 'c1-subnet')!;
    assert.ok(subnet, 'the cluster has a subnet of its own');
    await coe(['cluster', 'delete', 'c1']);
    await waitFor('the cluster gone', async () => ((await t.request('GET', `/container-infra/v1/clusters/${cluster.uuid}`, { token: demo })).status === 404 ? true : undefined), 180_000);
    assert.equal((await nodeContainers()).length, 0);
    const networks = JSON.parse(await t.openstack(['network', 'list', '-f', 'json'])) as { Name: string }[];
    assert.ok(!networks.some((n) => n.Name === 'c1-network'), JSON.stringify(networks));
    const ports = JSON.parse(await t.openstack(['port', 'list', '-f', 'json'])) as { Name: string }[];
    assert.ok(!ports.some((p) => p.Name.startsWith('c1-')), JSON.stringify(ports));
    await assert.rejects(t.openstack(['stack', 'show', cluster.stack_id]));
    assert.equal(await page(`http://${clusterAddress}:8080/`), undefined);
    const api = await docker(['info'], dockerEnv, 20_000);
    assert.ok(!api.ok);
    // Nothing of the cluster stays attached to an engine network of its subnet (the network service
    // prunes such bridges when their range is wanted again).
    const nets = (await Promise.all(hosts.hosts.map(async (h) => {
      const docker = engineClient(h.endpoint);
      return Promise.all((await docker.listNetworks()).map((n) => docker.getNetwork(n.Id).inspect() as Promise<{ Name: string; IPAM?: { Config?: { Subnet?: string }[] }; Containers?: Record<string, unknown> }>));
    }))).flat();
    const left = nets.filter((n) => (n.IPAM?.Config ?? []).some((c) => c.Subnet === subnet.Subnet) && Object.keys(n.Containers ?? {}).length > 0);
    assert.deepEqual(left.map((n) => n.Name), []);
  });
});
