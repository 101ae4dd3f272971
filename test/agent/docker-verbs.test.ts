// The Docker driver keeps the container verbs' contract on a real engine (the shared test engine).
import { Readable } from 'node:stream';
import { DockerDriver } from '../../src/agent/docker/driver.ts';
import { describeVerbsContract } from '../../src/agent/verbs-contract.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { testEngineSocket } from '../helpers/engine.ts';

describeVerbsContract('docker driver', async () => {
  const socket = await testEngineSocket();
  const driver = new DockerDriver(`unix://${socket}`, { cloudId: `verbs-${process.pid}` });
  const imageId = `verbs-busybox-${process.pid}`;
  const archive = busyboxDockerArchive({ cmd: ['sh', '-c', 'exec sleep 3600'] });
  // The config's file name in a docker save archive is its own sha256: the image's content digest.
  const configName = /([0-9a-f]{64})\.json/.exec(archive.toString('latin1'))![1];
  await driver.ensureImage(imageId, `sha256:${configName}`, async () => Readable.from([archive]));
  return { driver, imageId, close: async () => undefined };
});
