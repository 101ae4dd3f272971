// The multi-host harness: two nested dockerd hosts at their own addresses, each importing an image
// and running a container through its tcp endpoint, then torn down without leftovers.
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { engineClient } from '../../src/host/engine-client.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from '../../src/host/test-images.ts';
import { NESTED_HOSTS_NETWORK } from '../../src/host/nested-hosts.ts';
import { startTestHosts, type NestedHostSet } from '../helpers/hosts.ts';
import { testEngineSocket } from '../helpers/engine.ts';

let set: NestedHostSet | undefined;
after(async () => set?.teardown());

it('starts two nested hosts that run containers, and removes them completely', async () => {
  const outer = engineClient(await testEngineSocket());
  set = await startTestHosts(2);
  assert.equal(set.hosts.length, 2);
  const [a, b] = set.hosts as [NonNullable<NestedHostSet['hosts'][0]>, NonNullable<NestedHostSet['hosts'][0]>];
  assert.notEqual(a.address, b.address);
  for (const h of set.hosts) assert.match(h.endpoint, /^tcp:\/\/172\.31\.25\d\.\d+:2375$/);

  for (const host of set.hosts) {
    const docker = engineClient(host.endpoint);
    const info = await docker.info();
    assert.equal(info.Name, host.name, 'each endpoint is its own engine');
    assert.equal(await ensureBusyboxEngineImage(host.endpoint), true);
    const container = await docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ['sh', '-c', 'echo ran; cat /proc/self/cgroup'] });
    await container.start();
    const { StatusCode } = await container.wait();
    const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    assert.equal(StatusCode, 0, logs);
    // Its cgroup sits under this host's own cgroup parent: it ran in this host's dockerd.
    assert.match(logs, /ran/);
    assert.match(logs, new RegExp(`memory:/hafen-nested/${host.name}/[0-9a-f]{64}`));
    // The nested engine's own default bridge is private to this host.
    const nets = await docker.listNetworks();
    assert.ok(nets.some((n) => n.Name === 'bridge'));
  }
  // One host's images and containers are its own.
  const onA = await engineClient(a.endpoint).listContainers({ all: true });
  const onB = await engineClient(b.endpoint).listContainers({ all: true });
  assert.equal(onA.length, 1);
  assert.equal(onB.length, 1);
  assert.notEqual(onA[0]!.Id, onB[0]!.Id);

  const names = set.hosts.map((h) => h.name);
  await set.teardown();
  set = undefined;
  const left = await outer.listContainers({ all: true, filters: { name: names } });
  assert.deepEqual(left, []);
  const networks = await outer.listNetworks({ filters: { name: [NESTED_HOSTS_NETWORK] } });
  const ours = networks.filter((n) => n.Name === NESTED_HOSTS_NETWORK);
  // The network goes with the last set; another run's hosts may still hold it.
  if (ours.length > 0) assert.ok(Object.keys((await outer.getNetwork(NESTED_HOSTS_NETWORK).inspect()).Containers ?? {}).length > 0);
  for (const name of names) assert.equal(fs.existsSync(`/sys/fs/cgroup/memory/hafen-nested/${name}`), false, `cgroups of ${name} removed`);
});
