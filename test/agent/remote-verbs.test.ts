// The remote driver keeps the container verbs' contract: a controller with no engine of its own
// and an agent (in this process) driving the shared test engine; the interactive sessions travel
// over the agent's raw call sockets and the data over its call streams. The controller does not
// reconcile meanwhile: the suite's servers have no rows, and reconciliation would remove them.
import fs from 'node:fs';
import path from 'node:path';
import { Agent } from '../../src/agent/remote/agent.ts';
import { describeVerbsContract } from '../../src/agent/verbs-contract.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';
import { startTestCloud } from '../helpers/cloud.ts';
import { testEngineSocket } from '../helpers/engine.ts';
import { waitFor } from '../helpers/compute.ts';
import { makeAgentCredentials } from '../helpers/agents.ts';
import { Readable } from 'node:stream';

describeVerbsContract('remote driver', async () => {
  const socket = await testEngineSocket();
  const t = await startTestCloud('remote-verbs', { HAFEN_DOCKER_HOSTS: 'none', HAFEN_RECONCILE_INTERVAL: '3600' });
  const tar = path.join(t.dataDir, 'bb.tar');
  fs.writeFileSync(tar, busyboxDockerArchive({ cmd: ['sh', '-c', 'exec sleep 3600'] }));
  const admin = await t.token('admin');
  const created = await t.request('POST', '/image/v2/images', { token: admin, body: { name: 'bb', container_format: 'docker', disk_format: 'raw', visibility: 'public' } });
  const imageId = created.body.id as string;
  await t.request('PUT', `/image/v2/images/${imageId}/file`, { token: admin, body: fs.readFileSync(tar), headers: { 'content-type': 'application/octet-stream' } });
  // An agent logs in as an operator makes it: a user holding only the hafen-agent role.
  const [credId, credSecret] = (await makeAgentCredentials(t, 'verbs-agent')).applicationCredential.split(':') as [string, string];
  const agent = new Agent({
    controller: t.url,
    docker: `unix://${socket}`,
    hostId: `verbs-agent-${process.pid}`,
    credential: { kind: 'application_credential', id: credId, secret: credSecret },
    log: () => undefined,
  });
  const session = await agent.start();
  const driver = await waitFor('the remote driver', async () => t.cloud.compute.service.hosts.driver(session.hostId));
  const image = await t.cloud.image.client.get(await t.cloud.identity.tokens.validate(admin), imageId);
  // The agent reads the image's data as the call's input from the controller, not from the image API.
  await driver.ensureImage(imageId, image.docker_image_id ?? '', async () => Readable.from([fs.readFileSync(tar)]));
  return {
    driver,
    imageId,
    close: async () => {
      await agent.stop();
      // The in-process agent's keep-alive connections would hold the listener's close for a minute.
      t.cloud.app.server.closeAllConnections();
      await t.close();
    },
  };
});
