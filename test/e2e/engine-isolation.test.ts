// A tenant's server attacks its host (issue 11, item 2): from inside a server on a nested Docker host
// it asks `hafen-api:2375`, its gateway's 2375/2376 and the host's own address for the Engine API.
// None may answer (the host guard drops tenant traffic to the host; the engine speaks TLS with client
// certificates only, on the host's address alone), `hafen-api` is not in the server's /etc/hosts where
// nothing answers it, and the server still reaches its neighbour on the same network.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { startTestHosts, type NestedHostSet } from '../helpers/hosts.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { waitFor } from '../helpers/compute.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

describe('a tenant server cannot reach its host engine', () => {
  let hosts: NestedHostSet;
  let t: TestCloud;
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  const active = (name: string) =>
    waitFor(`${name} ACTIVE`, async () => {
      const s = await json(['server', 'show', name]);
      if (s.status === 'ERROR') throw new Error(`${name}: ${JSON.stringify(s.fault)}`);
      return s.status === 'ACTIVE' ? s : undefined;
    }, 90_000);

  before(async () => {
    await testEngineSocket();
    hosts = await startTestHosts(1);
    t = await startTestCloud('engine-isolation', { HAFEN_DOCKER_HOSTS: hosts.hosts[0]!.endpoint, HAFEN_RECONCILE_INTERVAL: '1' });
  });
  after(async () => {
    await t?.close();
    await hosts?.teardown();
  });

  it('gets no answer from the Engine API at hafen-api, the gateway or the host address', async () => {
    const hostAddress = hosts.hosts[0]!.address;
    const web = path.join(t.dataDir, 'web.tar');
    fs.writeFileSync(web, busyboxDockerArchive({ cmd: ['sh', '-c', 'mkdir -p /tmp/www && echo hello-peer > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'] }));
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', web, 'iso-web']);
    const targets = ['hafen-api:2375', 'hafen-api:2376', '10.81.0.1:2375', '10.81.0.1:2376', `${hostAddress}:2375`, `${hostAddress}:2376`];
    const script = [
      // The neighbour answers first: the network works, so silence below is the guard's doing.
      // (busybox's nc: its static wget cannot resolve without NSS and crashes)
      'for i in $(seq 1 30); do printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 10.81.0.50 8080 | grep hello-peer && break; sleep 1; done',
      'grep -q hafen-api /etc/hosts && echo "alias: present" || echo "alias: absent"',
      `for t in ${targets.join(' ')}; do`,
      '  a=$(printf "GET /version HTTP/1.0\\r\\n\\r\\n" | nc -w 3 ${t%:*} ${t#*:} 2>/dev/null | head -c 300 | tr "\\r\\n" "  ")',
      '  echo "probe $t: ${a:-no answer}"',
      'done',
      'echo probes done',
      'exec sleep 3600',
    ].join('\n');
    const probe = path.join(t.dataDir, 'probe.tar');
    fs.writeFileSync(probe, busyboxDockerArchive({ cmd: ['sh', '-c', script] }));
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', probe, 'iso-probe']);
    await os(['network', 'create', 'isonet']);
    await os(['subnet', 'create', '--network', 'isonet', '--subnet-range', '10.81.0.0/24', '--gateway', '10.81.0.1', 'isosub']);
    await os(['server', 'create', '--image', 'iso-web', '--flavor', 'm1.tiny', '--nic', `net-id=${(await json(['network', 'show', 'isonet'])).id},v4-fixed-ip=10.81.0.50`, 'peer']);
    await active('peer');
    await os(['server', 'create', '--image', 'iso-probe', '--flavor', 'm1.tiny', '--network', 'isonet', 'attacker']);
    await active('attacker');
    const log = await waitFor('the probes to finish', async () => {
      const text = await os(['console', 'log', 'show', 'attacker']);
      return /probes done/.test(text) ? text : undefined;
    }, 120_000);
    assert.match(log, /hello-peer/, `the neighbour answers on the tenant network:\n${log}`);
    assert.match(log, /alias: absent/, 'hafen-api is not written where nothing answers it');
    for (const target of targets) {
      const line = log.split('\n').find((l) => l.startsWith(`probe ${target}:`));
      assert.equal(line, `probe ${target}: no answer`, `${target} must not answer a tenant:\n${log}`);
    }
  });
});
