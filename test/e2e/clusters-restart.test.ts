// Clusters after a controller crash: the process serving the cloud is killed (SIGKILL) in the middle
// of a cluster's create, and later of its resize; the controller started again on the same data dir
// resumes both, so `openstack coe cluster show` ends CREATE_COMPLETE and UPDATE_COMPLETE with the
// counts asked for, and the node the crash left half-made is gone (no extra engine container, no
// stale swarm member, no extra port); the delete afterwards leaves no container or port behind. A
// manager of a three-manager cluster whose engine stops makes the cluster UNHEALTHY, and the next
// update replaces it (the swarm keeps its quorum meanwhile).
//
// Run with HAFEN_CLUSTERS_RESTART_CHILD=1 this file is the crashing process instead: it serves a
// cloud on HAFEN_DATA_DIR/HAFEN_PORT and prints READY.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { engineClient } from '../../src/host/engine-client.ts';

const run = promisify(execFile);

if (process.env.HAFEN_CLUSTERS_RESTART_CHILD) {
  await startComputeCloud('clusters-restart-child', { HAFEN_DATA_DIR: process.env.HAFEN_DATA_DIR!, HAFEN_PORT: process.env.HAFEN_PORT!, HAFEN_LOG_LEVEL: 'warn' });
  process.stdout.write('READY\n');
  setInterval(() => undefined, 1 << 30);
} else {
  describe('clusters across a controller crash', () => {
    let t: TestCloud | undefined;
    let child: ChildProcess | undefined;
    let docker: Docker;
    let dataDir: string;
    let port: string;
    let uuid: string;
    let certDir: string;

    /** `openstack coe ...` against whichever process serves the data dir now. */
    const os = async (args: string[]) => {
      try {
        const { stdout } = await run('openstack', args, {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dataDir, SHELL: '/bin/bash', OS_CLIENT_CONFIG_FILE: path.join(dataDir, 'clouds.yaml'), OS_CLOUD: 'hafen-demo' },
          timeout: 120_000,
          maxBuffer: 16 << 20,
        });
        return stdout;
      } catch (err) {
        const e = err as { stderr?: string; stdout?: string; message: string };
        throw new Error(`openstack ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
      }
    };
    const json = async (args: string[]) => JSON.parse(await os([...args, '-f', 'json']));
    const nodeContainers = async () => docker.listContainers({ all: true, filters: { label: [`hafen.cluster=${uuid}`] } });
    const settled = () =>
      waitFor(
        'the cluster settled',
        async () => {
          const c = await json(['coe', 'cluster', 'show', uuid]);
          return String(c.status).endsWith('_IN_PROGRESS') ? undefined : (c as Record<string, any>);
        },
        420_000,
      );
    /** The swarm as the stock docker CLI sees it through the cluster's front. */
    const swarmNodes = async (format = '{{.Hostname}} {{.Status}}') => {
      const out = await os(['coe', 'cluster', 'config', uuid, '--dir', certDir, '--output-certs', '--force']);
      const env: Record<string, string> = {};
      for (const m of out.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]!] = m[2]!;
      const { stdout } = await run('docker', ['node', 'ls', '--format', format], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: certDir, ...env }, timeout: 60_000 });
      return stdout.trim().split('\n').sort();
    };
    /** Whether the cluster's stack records an operation that a restart cut short. */
    const interrupted = async (stackId: string, action: string) => {
      const events = (await json(['stack', 'event', 'list', stackId])) as { resource_status: string; resource_status_reason: string }[];
      return events.some((e) => e.resource_status === `${action}_FAILED` && e.resource_status_reason === `Engine restarted during ${action}`);
    };
    const nodePorts = async () => ((await json(['port', 'list', '--network', 'restart-net'])) as { Name: string }[]).filter((p) => p.Name.startsWith('c1-'));

    const startChild = async () => {
      const c = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, HAFEN_CLUSTERS_RESTART_CHILD: '1', HAFEN_DATA_DIR: dataDir, HAFEN_PORT: port },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // The child's own words, for a failed run: .hafen-test/clusters-restart-*/child.log.
      const log = fs.createWriteStream(path.join(dataDir, 'child.log'), { flags: 'a' });
      let out = '';
      c.stdout!.on('data', (b) => ((out += b), log.write(b)));
      c.stderr!.on('data', (b) => ((out += b), log.write(b)));
      await waitFor('child cloud READY', async () => {
        if (c.exitCode !== null) throw new Error(`child exited ${c.exitCode}: ${out}`);
        return out.includes('READY') ? true : undefined;
      }, 120_000);
      return c;
    };
    const crash = async () => {
      const c = child!;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
      child = undefined;
    };
    const restart = async () => {
      t = (await startComputeCloud('clusters-restart', { HAFEN_DATA_DIR: dataDir, HAFEN_PORT: port })).t;
    };

    before(async () => {
      const c = await startComputeCloud('clusters-restart');
      t = c.t;
      docker = engineClient(c.socket);
      dataDir = t.dataDir;
      port = t.env.HAFEN_PORT!;
      certDir = fs.mkdtempSync(path.join(dataDir, 'certs-'));
      const tar = path.join(dataDir, 'swarm-node.tar');
      fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh'] }));
      await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', tar, 'swarm-node']);
      // The nodes go on a network of the project (no router: nothing machine-wide is touched).
      await os(['network', 'create', 'restart-net']);
      await os(['subnet', 'create', '--network', 'restart-net', '--subnet-range', '10.61.0.0/24', 'restart-subnet']);
      await os(['coe', 'cluster', 'template', 'create', 'swarm', '--coe', 'swarm-mode', '--image', 'swarm-node', '--external-network', 'public', '--fixed-network', 'restart-net', '--fixed-subnet', 'restart-subnet', '--flavor', 'm1.small', '--master-flavor', 'm1.small']);
      // From here on a child process serves the data dir, so that it can be killed.
      await t.close();
      t = undefined;
      child = await startChild();
    });

    after(async () => {
      if (child) await crash();
      if (!t && dataDir) await restart().catch(() => undefined);
      if (t && uuid) {
        // Whatever happened above, the cluster's nodes go with it.
        await os(['coe', 'cluster', 'delete', uuid]).catch(() => undefined);
        await waitFor('the cluster gone', async () => ((await t!.cloud.clusters.store.cluster(uuid)) ? undefined : true), 240_000).catch(() => undefined);
      }
      await t?.close();
      if (uuid) for (const c of await nodeContainers().catch(() => [])) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    });

    it('resumes a create cut short by a crash: CREATE_COMPLETE with every node, none left half-made', async () => {
      const out = await os(['coe', 'cluster', 'create', 'c1', '--cluster-template', 'swarm', '--master-count', '1', '--node-count', '1']);
      uuid = /Request to create cluster ([0-9a-f-]{36}) accepted/.exec(out)![1]!;
      // Mid-create: killed as soon as the manager's engine container exists.
      await waitFor('a node booting', async () => ((await nodeContainers()).length > 0 ? true : undefined), 180_000);
      await crash();

      await restart();
      const c = await settled();
      assert.equal(c.status, 'CREATE_COMPLETE', JSON.stringify(c));
      assert.ok(await interrupted(c.stack_id, 'CREATE'), 'the crash cut the create short (the stack says so) and it was resumed');
      assert.equal(c.master_addresses.length, 1);
      assert.equal(c.node_addresses.length, 1);
      const containers = await nodeContainers();
      assert.equal(containers.length, 2, `one container per node: ${containers.map((x) => `${x.Names[0]} ${x.State}`).join(', ')}`);
      assert.ok(containers.every((x) => x.State === 'running'));
      assert.deepEqual(await swarmNodes(), ['c1-master-0 Ready', 'c1-node-0 Ready']);
      assert.equal((await nodePorts()).length, 2);
    });

    it('resumes a resize cut short by a crash: UPDATE_COMPLETE with the count asked for', async () => {
      assert.ok(t && uuid, 'the cluster of the test before');
      await t.close();
      t = undefined;
      child = await startChild();
      await os(['coe', 'cluster', 'resize', uuid, '2']);
      await waitFor('the new node booting', async () => ((await nodeContainers()).length > 2 ? true : undefined), 180_000);
      await crash();

      await restart();
      const c = await settled();
      assert.equal(c.status, 'UPDATE_COMPLETE', JSON.stringify(c));
      assert.ok(await interrupted(c.stack_id, 'UPDATE'), 'the crash cut the resize short (the stack says so) and it was resumed');
      assert.equal(c.node_count, 2);
      assert.equal(c.node_addresses.length, 2);
      const containers = await nodeContainers();
      assert.equal(containers.length, 3, containers.map((x) => `${x.Names[0]} ${x.State}`).join(', '));
      const nodes = await swarmNodes();
      assert.equal(nodes.length, 3, nodes.join('\n'));
      assert.ok(nodes.every((n) => / Ready$/.test(n)), nodes.join('\n'));
      assert.equal((await nodePorts()).length, 3);

      // The delete afterwards leaves no engine container and no port of a node behind.
      await os(['coe', 'cluster', 'delete', uuid]);
      await waitFor('the cluster gone', async () => (await os(['coe', 'cluster', 'list', '-f', 'value', '-c', 'uuid'])).includes(uuid) ? undefined : true, 240_000);
      assert.deepEqual(await nodeContainers(), []);
      assert.deepEqual(await nodePorts(), []);
      uuid = '';
    });

    it('replaces a manager whose engine stopped while the other managers keep the swarm\'s quorum', async () => {
      await os(['coe', 'cluster', 'template', 'create', 'swarm-ha', '--coe', 'swarm-mode', '--image', 'swarm-node', '--external-network', 'public', '--fixed-network', 'restart-net', '--fixed-subnet', 'restart-subnet', '--flavor', 'm1.small', '--master-flavor', 'm1.small', '--master-lb-enabled']);
      const out = await os(['coe', 'cluster', 'create', 'ha', '--cluster-template', 'swarm-ha', '--master-count', '3', '--node-count', '0']);
      uuid = /Request to create cluster ([0-9a-f-]{36}) accepted/.exec(out)![1]!;
      let c = await settled();
      assert.equal(c.status, 'CREATE_COMPLETE', JSON.stringify(c));
      assert.equal(c.master_addresses.length, 3);
      // A manager that is not the leader stops: the cluster turns UNHEALTHY naming it.
      const members = await swarmNodes('{{.Hostname}} {{.ManagerStatus}}');
      const victimName = members.find((m) => / Reachable$/.test(m))!.split(' ')[0]!;
      const containers = await nodeContainers();
      const victim = (await Promise.all(containers.map(async (x) => ({ x, host: (await docker.getContainer(x.Id).inspect()).Config.Hostname })))).find((v) => v.host === victimName)!;
      assert.ok(victim, `the container of ${victimName}`);
      await docker.getContainer(victim.x.Id).stop({ t: 1 });
      const sick = await waitFor('the cluster unhealthy', async () => {
        const x = await json(['coe', 'cluster', 'show', uuid]);
        return x.health_status === 'UNHEALTHY' ? x : undefined;
      }, 180_000);
      // The CLI prints the reason as a dict (or its Python text): the stopped manager not ready.
      const reason = typeof sick.health_status_reason === 'string' ? sick.health_status_reason : JSON.stringify(sick.health_status_reason);
      assert.equal([...reason.matchAll(/\.Ready['"]\s*:\s*['"]False/g)].length, 1, reason);
      assert.match(reason, new RegExp(`${victimName}\\.Ready['"]\\s*:\\s*['"]False`), reason);
      // An update (a resize to the same count) replaces it: three managers again, none down.
      await os(['coe', 'cluster', 'resize', uuid, '0']);
      c = await settled();
      assert.equal(c.status, 'UPDATE_COMPLETE', JSON.stringify(c));
      assert.equal(c.master_addresses.length, 3);
      const after = await swarmNodes('{{.Hostname}} {{.Status}} {{.ManagerStatus}}');
      assert.equal(after.length, 3, after.join('\n'));
      assert.ok(after.every((m) => / Ready (Leader|Reachable)$/.test(m)), after.join('\n'));
      const now = await nodeContainers();
      assert.equal(now.length, 3, now.map((x) => `${x.Names[0]} ${x.State}`).join(', '));
      assert.ok(now.every((x) => x.State === 'running') && !now.some((x) => x.Id === victim.x.Id));
      await waitFor('the cluster healthy', async () => ((await json(['coe', 'cluster', 'show', uuid])).health_status === 'HEALTHY' ? true : undefined), 120_000);
      await os(['coe', 'cluster', 'delete', uuid]);
      await waitFor('the cluster gone', async () => (await os(['coe', 'cluster', 'list', '-f', 'value', '-c', 'uuid'])).includes(uuid) ? undefined : true, 240_000);
      assert.deepEqual(await nodeContainers(), []);
      uuid = '';
    });
  });
}
