// The multi-host harness: two nested dockerd hosts at their own addresses, each importing an image
// and running a container through its TLS endpoint (a client without hafen's certificate is refused,
// plain HTTP gets no Engine API), then torn down without leftovers.
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import tls from 'node:tls';
import { engineClient } from '../../src/host/engine-client.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from '../../src/host/test-images.ts';
import { NESTED_HOSTS_NETWORK } from '../../src/host/nested-hosts.ts';
import { startTestHosts, type NestedHostSet } from '../helpers/hosts.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { waitFor } from '../helpers/compute.ts';

let set: NestedHostSet | undefined;
after(async () => set?.teardown());

it('starts two nested hosts that run containers, and removes them completely', async () => {
  const outer = engineClient(await testEngineSocket());
  set = await startTestHosts(2);
  assert.equal(set.hosts.length, 2);
  const [a, b] = set.hosts as [NonNullable<NestedHostSet['hosts'][0]>, NonNullable<NestedHostSet['hosts'][0]>];
  assert.notEqual(a.address, b.address);
  for (const h of set.hosts) assert.match(h.endpoint, /^tcp:\/\/172\.31\.2[45]\d\.\d+:2376\?cert_dir=.+$/);

  // Without hafen's client certificate the engine is not reached: plain HTTP on either port gets no
  // Engine API, and a TLS handshake without a certificate is refused.
  for (const port of [2375, 2376]) {
    const answer = await plainGet(a.address, port, '/version');
    assert.doesNotMatch(answer, /ApiVersion/, `plain HTTP to ${a.address}:${port}`);
  }
  assert.equal(await tlsWithoutCertificate(a.address, 2376), 'refused');

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
  // The network goes with the last set; another file's hosts may still hold it, or be joining it: one
  // made (or about to be) holds no endpoint until it starts. Gone or held, then: an empty network left behind never is.
  const goneOrHeld = async () => {
    const networks = await outer.listNetworks({ filters: { name: [NESTED_HOSTS_NETWORK] } });
    if (!networks.some((n) => n.Name === NESTED_HOSTS_NETWORK)) return true;
    const held = await outer.getNetwork(NESTED_HOSTS_NETWORK).inspect().then((n) => Object.keys(n.Containers ?? {}).length > 0, () => true);
    return held ? true : undefined;
  };
  await waitFor('the hosts network gone, or held by another file\'s hosts', goneOrHeld, 60_000);
  for (const name of names) assert.equal(fs.existsSync(`/sys/fs/cgroup/memory/hafen-nested/${name}`), false, `cgroups of ${name} removed`);
});

/** What a plain HTTP GET gets back (body, or the error's code). */
function plainGet(host: string, port: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  });
}

/** A TLS client with no certificate asking for the engine's version: 'answered' or 'refused'. */
function tlsWithoutCertificate(host: string, port: number): Promise<'answered' | 'refused'> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false }, () => socket.write('GET /version HTTP/1.0\r\n\r\n'));
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString()));
    socket.on('error', () => resolve('refused'));
    socket.on('close', () => resolve(/ApiVersion/.test(data) ? 'answered' : 'refused'));
    socket.setTimeout(5000, () => socket.destroy());
  });
}
