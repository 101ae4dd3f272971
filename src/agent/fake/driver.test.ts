// The fake driver keeps the ComputeDriver guarantees the Docker driver keeps.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { FakeDriver } from './driver.ts';
import type { InterfaceSpec, ServerSpec } from '../driver.ts';
import { describeVerbsContract } from '../verbs-contract.ts';

const nic = (name: string, ip: string): InterfaceSpec => ({ name, subnet: '10.1.0.0/24', gateway: '10.1.0.1', internal: true, ip, mac: null });
const spec = (serverId: string, network: InterfaceSpec | null = nic('net-a', '10.1.0.5')): ServerSpec => ({
  serverId,
  imageId: 'img',
  command: null,
  memoryMiB: 64,
  vcpus: 1,
  pidsLimit: 64,
  cpuset: null,
  readOnlyRoot: false,
  hostname: serverId,
  env: [],
  network,
  configDrive: {},
  authorizedKeys: null,
});

describe('fake driver', () => {
  it('reports the capacity it was given', async () => {
    const d = new FakeDriver({ hostname: 'f1', vcpus: 4, memoryMiB: 2048, diskGiB: 10 });
    assert.deepEqual(await d.capacity(), { vcpus: 4, memoryMiB: 2048, diskGiB: 10, architecture: 'x86_64', hostname: 'f1' });
  });

  it('leaves nothing behind when a spawn fails, and destroys idempotently', async () => {
    const d = new FakeDriver({ hostname: 'f1' });
    await assert.rejects(d.spawn(spec('s1')), /not on f1/);
    assert.deepEqual(await d.listServers(), []);
    assert.equal((await d.state('s1')).power, 'missing');
    await d.ensureImage('img', 'sha', async () => Readable.from([]));
    assert.equal((await d.spawn(spec('s1'))).power, 'running');
    await assert.rejects(d.spawn(spec('s1')), /already exists/);
    assert.equal(d.serverCount, 1);
    await d.destroy('s1');
    await d.destroy('s1');
    assert.deepEqual(await d.listServers(), []);
  });

  it('powers servers through their states', async () => {
    const d = new FakeDriver({ hostname: 'f1' });
    await d.ensureImage('img', 'sha', async () => Readable.from([]));
    await d.spawn(spec('s1'));
    assert.equal((await d.power('s1', 'stop')).power, 'shutdown');
    await assert.rejects(d.power('s1', 'pause'), /not running/);
    assert.equal((await d.power('s1', 'start')).power, 'running');
    assert.equal((await d.power('s1', 'pause')).power, 'paused');
    assert.deepEqual(await d.listServers(), [{ serverId: 's1', power: 'paused' }]);
    assert.equal((await d.power('s1', 'unpause')).power, 'running');
    await assert.rejects(d.power('nope', 'start'), /No server/);
  });

  it('plugs interfaces, several on one network, again idempotently, and unplugs idempotently', async () => {
    const d = new FakeDriver({ hostname: 'f1' });
    await d.ensureImage('img', 'sha', async () => Readable.from([]));
    await d.spawn(spec('s1'));
    await d.attachInterface('s1', nic('net-b', '10.2.0.5'));
    assert.deepEqual(d.interfacesOf('s1').sort(), ['net-a', 'net-b']);
    await d.attachInterface('s1', nic('net-b', '10.2.0.6'));
    await d.attachInterface('s1', nic('net-b', '10.2.0.5'));
    assert.deepEqual(d.interfacesOf('s1').sort(), ['net-a', 'net-b', 'net-b 10.2.0.6']);
    await d.detachInterface('s1', 'net-b', '10.2.0.6');
    assert.deepEqual(d.interfacesOf('s1').sort(), ['net-a', 'net-b']);
    await d.detachInterface('s1', 'net-b');
    await d.detachInterface('s1', 'net-b');
    await d.detachInterface('gone', 'net-b');
    assert.deepEqual(d.interfacesOf('s1'), ['net-a']);
    await d.spawn(spec('s2', null));
    await assert.rejects(d.attachInterface('s2', nic('net-b', '10.2.0.7')), /without networking/);
    await assert.rejects(d.attachInterface('nope', nic('net-b', '10.2.0.8')), /No server/);
  });
});

describeVerbsContract('fake driver', async () => {
  const driver = new FakeDriver({ hostname: 'verbs' });
  await driver.ensureImage('img', 'sha', async () => Readable.from([]));
  return { driver, imageId: 'img', close: async () => undefined };
});
