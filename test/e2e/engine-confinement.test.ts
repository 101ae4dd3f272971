// Root in a container is not root on the host (issue 11, item 8): the engine hafen starts remaps
// tenant containers' ids (dockerd --userns-remap, subordinate ids of the hafen-remap user), so a file
// a container's root writes on its volume belongs to an unprivileged uid on the host; `hafen status`
// and the host's row report the confinement in effect.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { checkoutDir } from '../../src/config.ts';
import { parseSubordinateIds, REMAP_USER, userNamespacesAvailable } from '../../src/host/userns.ts';

const exec = promisify(execFile);

const TEMPLATE = `heat_template_version: 2013-05-23
resources:
  writer:
    type: DockerInc::Docker::Container
    properties:
      image: bb
      cmd: [sh, -c, "id -u > /data/uid-inside; echo secret > /data/made-by-root; exec sleep 3600"]
      volumes: {"/data": {}}
`;

describe('tenant containers run with remapped ids', { skip: !userNamespacesAvailable() && 'this kernel has no user namespaces' }, () => {
  let t: TestCloud;
  let docker: Docker;
  let socket: string;
  const os = (args: string[]) => t.openstack(args);

  before(async () => {
    const c = await startComputeCloud('engine-confinement');
    t = c.t;
    socket = c.socket;
    docker = engineClient(c.socket);
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', c.imageTar, 'bb']);
  });
  after(async () => {
    await t?.close();
  });

  it("writes a container root's file on its volume as an unprivileged uid of the host", async () => {
    const range = parseSubordinateIds(fs.readFileSync('/etc/subuid', 'utf8')).find((e) => e.owner === REMAP_USER);
    assert.ok(range, `${REMAP_USER} has subordinate ids`);
    assert.ok((await docker.info()).SecurityOptions.includes('name=userns'), 'the engine remaps ids');

    const file = path.join(t.dataDir, 'writer.yaml');
    fs.writeFileSync(file, TEMPLATE);
    await os(['stack', 'create', '-t', file, 'writer']);
    const serverId = await waitFor('the writer container', async () => {
      const status = JSON.parse(await os(['stack', 'show', 'writer', '-f', 'json'])).stack_status as string;
      if (status === 'CREATE_FAILED') throw new Error(await os(['stack', 'show', 'writer']));
      // This cloud's containers only: other files' servers on the shared engine may mount /data too.
      const list = await docker.listContainers({ filters: { label: ['hafen.server_id', `hafen.cloud=${t.cloud.compute.service.hosts.cloudId}`] } });
      const mine = list.find((c) => (c.Mounts ?? []).some((m) => m.Destination === '/data'));
      return status === 'CREATE_COMPLETE' && mine ? mine.Labels['hafen.server_id'] : undefined;
    }, 120_000);
    const info = await docker.getContainer(`hafen-${serverId}`).inspect();
    const mount = info.Mounts.find((m) => m.Destination === '/data');
    assert.ok(mount?.Source, 'the volume has a place on the host');
    const made = path.join(mount.Source, 'made-by-root');
    await waitFor('the file', async () => (fs.existsSync(made) ? true : undefined), 30_000);
    assert.equal(fs.readFileSync(path.join(mount.Source, 'uid-inside'), 'utf8').trim(), '0', 'the process was root inside');
    const owner = fs.statSync(made).uid;
    assert.notEqual(owner, 0, 'not root on the host');
    assert.equal(owner, range.start, `uid 0 inside is ${REMAP_USER}'s first subordinate id outside`);

    // The host reports it: the host row (for openstack hypervisor show) and `hafen status`.
    const rows = (await t.cloud.database.db.selectFrom('compute_hosts').select('confinement').execute()) as { confinement: string | null }[];
    const confinement = JSON.parse(rows[0]!.confinement ?? 'null');
    assert.deepEqual(confinement?.usernsRemap, { uid: range.start, gid: confinement?.usernsRemap?.gid });
    assert.equal(confinement.seccomp, 'default');
    assert.ok(confinement.droppedCapabilities.includes('NET_RAW') && !confinement.capabilities.includes('SYS_ADMIN'));
    // openstack hypervisor show carries it in cpu_info (an object from microversion 2.28).
    const admin = (args: string[]) => t.openstack(args, 'hafen-admin');
    const hypervisorId = (JSON.parse(await admin(['hypervisor', 'list', '-f', 'json'])) as { ID: string }[])[0]!.ID;
    const hypervisor = JSON.parse(await admin(['--os-compute-api-version', '2.28', 'hypervisor', 'show', '-f', 'json', hypervisorId]));
    const shown = typeof hypervisor.cpu_info === 'string' ? JSON.parse(hypervisor.cpu_info) : hypervisor.cpu_info;
    assert.deepEqual(shown.confinement?.usernsRemap, confinement.usernsRemap, JSON.stringify(hypervisor.cpu_info));
    assert.equal(shown.confinement.seccomp, 'default');
    const { stdout } = await exec(process.execPath, [path.join(checkoutDir, 'bin', 'hafen.mjs'), 'status'], {
      env: { ...process.env, HAFEN_DATA_DIR: t.dataDir, HAFEN_DOCKER_HOSTS: `unix://${socket}` },
      timeout: 180_000,
    });
    assert.match(stdout, new RegExp(`user namespaces: remapped \\(root in a container is uid ${range.start} on the host\\)`));
    assert.match(stdout, /seccomp: default/);
    assert.match(stdout, /host guard: tenant traffic to the host's addresses is dropped/);
    await os(['stack', 'delete', '--yes', '--wait', 'writer']);
  });
});
