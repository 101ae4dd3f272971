// The locally built busybox image in a real engine: imported once, then found; it runs a shell.
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { engineClient } from '../../src/host/engine-client.ts';
import { ensureBusyboxEngineImage } from '../../src/host/test-images.ts';
import { testEngineSocket } from '../helpers/engine.ts';

// A name of this test's own, so that the shared hafen/busybox image other tests use is left alone.
const name = `hafen-test/busybox-${process.pid}:latest`;
let socket: string;

after(async () => {
  if (socket) await engineClient(socket).getImage(name).remove({ force: true }).catch(() => {});
});

it('imports the busybox image once and it runs busybox applets', async () => {
  socket = await testEngineSocket();
  assert.equal(await ensureBusyboxEngineImage(socket, name), true);
  assert.equal(await ensureBusyboxEngineImage(socket, name), false, 'second call finds it');
  const docker = engineClient(socket);
  const info = await docker.getImage(name).inspect();
  assert.deepEqual(info.Config.Cmd, ['/bin/sh']);
  const container = await docker.createContainer({
    Image: name,
    Cmd: ['sh', '-c', 'echo hello from $(uname -s); ls /usr/bin/awk /sbin/ifconfig; id -un'],
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    await container.start();
    const { StatusCode } = await container.wait();
    const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    assert.equal(StatusCode, 0, logs);
    assert.match(logs, /hello from Linux/);
    assert.match(logs, /\/usr\/bin\/awk/);
    assert.match(logs, /root/);
  } finally {
    await container.remove({ force: true });
  }
});
