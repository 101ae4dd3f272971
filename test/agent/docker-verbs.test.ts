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
  await driver.ensureImage(imageId, 'sha-verbs', async () => Readable.from([busyboxDockerArchive({ cmd: ['sh', '-c', 'exec sleep 3600'] })]));
  return { driver, imageId, close: async () => undefined };
});
