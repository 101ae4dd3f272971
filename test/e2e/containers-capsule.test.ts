// Zun's capsules through Debian's python3-zunclient (`openstack capsule ...`) against a
// cloud on the shared test engine: a capsule of two containers that reach each other on localhost
// and share an emptyDir volume, one port for the pod, its statuses in list and show, delete leaving
// no engine container, volume or port behind, another project's capsule unknown (404), capsules
// that are over quota or cannot be placed whole leaving nothing behind, and job capsules ending
// Succeeded or Failed by their containers' exit codes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import { claimTestSubnet } from '../helpers/subnets.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { engineClient } from '../../src/host/engine-client.ts';

const run = promisify(execFile);

/** The template of docs/containers.md: an httpd on localhost only, and a client in its namespace. */
const WEB_POD = `kind: capsule
metadata:
  name: web-pod
  labels:
    app: web
spec:
  restartPolicy: Always
  containers:
    - image: busybox
      command: ["sh", "-c"]
      args: ["mkdir -p /www && echo hello-from-the-pod > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"]
      ports:
        - containerPort: 8080
      resources:
        requests:
          cpu: 0.5
          memory: 64
      volumeMounts:
        - name: scratch
          mountPath: /shared
    - image: busybox
      command: ["sh", "-c", "until wget -q -O /shared/got http://127.0.0.1:8080/; do sleep 1; done; echo \\"$ROLE done\\" > /shared/who; exec sleep 3600"]
      env:
        ROLE: client
      workDir: /shared
      resources:
        requests:
          cpu: 0.5
          memory: 64
      volumeMounts:
        - name: scratch
          mountPath: /shared
  volumes:
    - name: scratch
      emptyDir: {}
`;

describe('Zun capsules through the openstack capsule CLI', () => {
  let t: TestCloud;
  let socket: string;
  let imageTar: string;
  let demo: string;
  const zun = (method: string, url: string, opts: { token?: string; body?: unknown; version?: string } = {}) =>
    t.request(method, `/container/v1${url}`, { token: opts.token ?? demo, ...(opts.body !== undefined ? { body: opts.body } : {}), headers: { 'openstack-api-version': `container ${opts.version ?? '1.40'}` } });
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await t.openstack([...args, '-f', 'json'], cloud));
  const template = (name: string, text: string) => {
    const file = path.join(t.dataDir, `${name}.yaml`);
    fs.writeFileSync(file, text);
    return file;
  };
  const docker = async (...args: string[]) => (await run('docker', ['-H', `unix://${socket}`, ...args], { timeout: 180_000 })).stdout;
  /** Engine containers of these Zun containers (by the workload label), whatever their state. */
  const engineContainers = async (uuids: string[]) => {
    const all = await engineClient(`unix://${socket}`).listContainers({ all: true, filters: { label: ['hafen.server_id'] } });
    return all.filter((c) => uuids.includes(c.Labels['hafen.server_id']!));
  };
  const portsOf = async (token: string, deviceId: string) => (await t.request('GET', `/network/v2.0/ports?device_id=${deviceId}`, { token })).body.ports as { id: string }[];
  const networkFor = async (token: string, name: string) => {
    const net = await t.request('POST', '/network/v2.0/networks', { token, body: { network: { name } } });
    assert.equal(net.status, 201, net.text);
    const sub = await t.request('POST', '/network/v2.0/subnets', { token, body: { subnet: { network_id: net.body.network.id, cidr: (await claimTestSubnet()).cidr, ip_version: 4 } } });
    assert.equal(sub.status, 201, sub.text);
  };

  before(async () => {
    // Hosts offer a tenth of their memory: a container asking for 50,000 MiB fits no host, within every quota.
    ({ t, socket, imageTar } = await startComputeCloud('containers-capsule', { HAFEN_RAM_ALLOCATION_RATIO_PERCENT: '10' }));
    demo = await t.token('demo');
    await t.openstack(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--public', '--file', imageTar, 'busybox'], 'hafen-admin');
    await networkFor(demo, 'pod-net');
  });
  after(async () => {
    await t?.close();
  });

  it('runs a capsule whose containers share localhost and a volume, shows it, and deletes it whole', async () => {
    const created = await json(['capsule', 'create', '--file', template('web-pod', WEB_POD)]);
    assert.equal(created.name, 'web-pod');
    assert.equal(created.status, 'Pending');
    assert.deepEqual(created.labels, { app: 'web' });
    assert.deepEqual(created.restart_policy, { Name: 'always', MaximumRetryCount: '0' });
    assert.equal(created.cpu, 1);
    assert.equal(created.memory, '128');
    const id = created.uuid as string;

    const shown = await waitFor('web-pod Running', async () => {
      const s = await json(['capsule', 'show', 'web-pod']);
      assert.notEqual(s.status, 'Failed', s.status_reason);
      return s.status === 'Running' ? s : undefined;
    }, 180_000);
    assert.equal(shown.uuid, id);
    assert.equal(shown.containers.length, 2);
    const [first, second] = shown.containers as { uuid: string; name: string; status: string; image: string; environment: Record<string, string> }[];
    assert.deepEqual([first!.status, second!.status], ['Running', 'Running']);
    assert.equal(second!.environment.ROLE, 'client');
    assert.match(first!.name, /^capsule-web-pod-/);
    // One address for the pod (the CLI prints it flattened), which is the first container's port.
    assert.match(shown.addresses, /^10\.\d+\.\d+\.\d+$/);
    const listed = await json(['capsule', 'list']);
    assert.deepEqual(listed.map((c: { uuid: string; name: string; status: string }) => [c.uuid, c.name, c.status]), [[id, 'web-pod', 'Running']]);
    assert.equal((await portsOf(demo, first!.uuid)).length, 1);
    assert.equal((await portsOf(demo, second!.uuid)).length, 0);
    // A capsule's containers are the capsule's: not among the project's containers, not reachable as containers.
    assert.equal((await zun('GET', '/containers')).body.containers.length, 0);
    assert.equal((await zun('GET', `/containers/${first!.uuid}`)).status, 404);

    // The client fetched the page from 127.0.0.1 (the first container's namespace) into the shared volume.
    const engine = await engineContainers([first!.uuid, second!.uuid]);
    assert.equal(engine.length, 2);
    const firstName = `hafen-${first!.uuid}`;
    await waitFor('the page fetched over localhost', async () => ((await docker('exec', firstName, 'cat', '/shared/got').catch(() => '')).includes('hello-from-the-pod') ? true : undefined), 60_000);
    assert.equal((await docker('exec', firstName, 'cat', '/shared/who')).trim(), 'client done');
    // The same confinement as every container: the joiner is neither privileged nor given host namespaces.
    const joined = await engineClient(`unix://${socket}`).getContainer(`hafen-${second!.uuid}`).inspect();
    assert.match(joined.HostConfig.NetworkMode ?? '', /^container:/);
    assert.equal(joined.HostConfig.Privileged, false);
    assert.deepEqual(joined.HostConfig.CapDrop, ['ALL']);
    assert.ok(!(joined.HostConfig.CapAdd ?? []).some((c: string) => /NET_ADMIN|SYS_ADMIN|MKNOD|NET_RAW/.test(c)));
    assert.equal(joined.HostConfig.PidMode, '');
    const volume = joined.Mounts.find((m) => m.Destination === '/shared')?.Name;
    assert.ok(volume, 'the emptyDir is an engine volume');

    // Another project's capsule is as unknown as a missing one, and stays as it was.
    const other = await memberOfNewProject(t, 'capsule-thief');
    assert.equal((await zun('GET', `/capsules/${id}`, { token: other.token })).status, 404);
    assert.equal((await zun('GET', '/capsules/web-pod', { token: other.token })).status, 404);
    const stolen = await zun('DELETE', `/capsules/${id}`, { token: other.token });
    assert.equal(stolen.status, 404);
    assert.equal(stolen.body.errors[0].code, 'container.capsule-not-found');
    assert.equal((await zun('GET', '/capsules', { token: other.token })).body.capsules.length, 0);
    assert.equal((await zun('GET', `/capsules/${id}`)).body.status, 'Running');

    await t.openstack(['capsule', 'delete', 'web-pod']);
    await waitFor('web-pod gone', async () => ((await zun('GET', `/capsules/${id}`)).status === 404 ? true : undefined), 120_000);
    assert.equal((await engineContainers([first!.uuid, second!.uuid])).length, 0);
    assert.equal((await portsOf(demo, first!.uuid)).length, 0);
    assert.equal((await engineClient(`unix://${socket}`).listVolumes()).Volumes.filter((v) => v.Name === volume).length, 0);
    assert.deepEqual(await json(['capsule', 'list']), []);
    const usage = await zun('GET', `/quotas/${created.project_id}?usages=True`);
    assert.equal(usage.body.containers.in_use, 0);
  });

  it('refuses a capsule over quota and one it cannot place whole, leaving nothing behind', async () => {
    const admin = await t.token('admin');
    const tenant = await memberOfNewProject(t, 'capsule-quota');
    await networkFor(tenant.token, 'quota-net');
    const as = (method: string, url: string, body?: unknown) => zun(method, url, { token: tenant.token, ...(body !== undefined ? { body } : {}) });
    const pod = (name: string, secondMemory: number) => ({
      template: {
        kind: 'capsule',
        metadata: { name },
        spec: {
          containers: [
            { image: 'busybox', command: ['sleep', '3600'], resources: { requests: { memory: 64 } } },
            { image: 'busybox', command: ['sleep', '3600'], resources: { requests: { memory: secondMemory } } },
          ],
        },
      },
    });
    // This cloud's engine containers only: other suites share the engine and come and go meanwhile.
    const ours = async () => (await engineClient(`unix://${socket}`).listContainers({ all: true, filters: { label: [`hafen.cloud=${t.cloud.compute.service.hosts.cloudId}`] } })).length;
    const before = await ours();

    // Two containers where the project may have one: refused whole, before anything is made.
    assert.equal((await zun('PUT', `/quotas/${tenant.projectId}`, { token: admin, body: { containers: 1 } })).status, 200);
    const over = await as('POST', '/capsules', pod('too-many', 64));
    assert.equal(over.status, 403, over.text);
    assert.match(over.body.errors[0].detail, /Quota exceeded for resources: \['containers'\]/);
    assert.equal((await as('GET', '/capsules')).body.capsules.length, 0);

    // Within quota, but its second container fits no host next to the first: taken apart again.
    assert.equal((await zun('PUT', `/quotas/${tenant.projectId}`, { token: admin, body: { containers: 10 } })).status, 200);
    const unplaceable = await as('POST', '/capsules', pod('too-big', 50_000));
    assert.equal(unplaceable.status, 202, unplaceable.text);
    const uuids = (await as('GET', `/capsules/${unplaceable.body.uuid}`)).body.containers.map((c: { uuid: string }) => c.uuid) as string[];
    assert.equal(uuids.length, 2);
    const failed = await waitFor('too-big Failed', async () => {
      const s = await as('GET', `/capsules/${unplaceable.body.uuid}`);
      return s.body.status === 'Failed' ? s.body : undefined;
    }, 180_000);
    assert.match(failed.status_reason, /could not be placed whole/);
    assert.deepEqual(failed.containers, []);
    assert.equal((await engineContainers(uuids)).length, 0);
    for (const u of uuids) assert.equal((await portsOf(tenant.token, u)).length, 0);
    assert.equal((await t.request('GET', '/network/v2.0/ports', { token: tenant.token })).body.ports.filter((p: { device_owner: string }) => p.device_owner === 'compute:zun').length, 0);
    const usage = await zun('GET', `/quotas/${tenant.projectId}?usages=True`, { token: tenant.token });
    assert.deepEqual(usage.body.containers, { limit: 10, in_use: 0 });
    assert.equal(await ours(), before);
    // A failed capsule is deleted at once (nothing of it runs).
    assert.equal((await as('DELETE', `/capsules/${unplaceable.body.uuid}`)).status, 204);
    await waitFor('too-big gone', async () => ((await as('GET', `/capsules/${unplaceable.body.uuid}`)).status === 404 ? true : undefined), 30_000);
  });

  it('shows Succeeded when every container ended with 0 and Failed when one did not', async () => {
    // The first container holds the namespace: it waits for the second's mark in their shared volume.
    const job = (name: string, code: number) => ({
      template: {
        kind: 'capsule',
        metadata: { name },
        spec: {
          restartPolicy: 'Never',
          containers: [
            { image: 'busybox', command: ['sh', '-c', 'while [ ! -e /shared/done ]; do sleep 0.2; done'], resources: { requests: { memory: 32 } }, volumeMounts: [{ name: 'work', mountPath: '/shared' }] },
            { image: 'busybox', command: ['sh', '-c', `touch /shared/done; exit ${code}`], resources: { requests: { memory: 32 } }, volumeMounts: [{ name: 'work', mountPath: '/shared' }] },
          ],
          volumes: [{ name: 'work', emptyDir: {} }],
        },
      },
    });
    const ok = await zun('POST', '/capsules', { body: job('job-ok', 0) });
    const bad = await zun('POST', '/capsules', { body: job('job-bad', 3) });
    assert.equal(ok.status, 202, ok.text);
    assert.equal(bad.status, 202, bad.text);
    assert.deepEqual(ok.body.restart_policy, { Name: 'no', MaximumRetryCount: '0' });
    const ended = async (id: string) => waitFor(`${id} ended`, async () => {
      const s = (await zun('GET', `/capsules/${id}`)).body;
      return s.status === 'Succeeded' || s.status === 'Failed' ? s : undefined;
    }, 180_000);
    const [okEnd, badEnd] = await Promise.all([ended(ok.body.uuid), ended(bad.body.uuid)]);
    assert.equal(okEnd.status, 'Succeeded', okEnd.status_reason);
    assert.deepEqual(okEnd.containers.map((c: { status: string }) => c.status), ['Stopped', 'Stopped']);
    assert.equal(badEnd.status, 'Failed');
    assert.match(badEnd.status_reason, /exited with 3/);
    for (const id of [ok.body.uuid, bad.body.uuid]) assert.equal((await zun('DELETE', `/capsules/${id}`)).status, 204);
    await waitFor('the jobs gone', async () => ((await zun('GET', '/capsules')).body.capsules.length === 0 ? true : undefined), 120_000);
  });

  it('answers bad templates in Zun\'s error body', async () => {
    const bad = async (template: unknown, pattern: RegExp) => {
      const r = await zun('POST', '/capsules', { body: { template } });
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.errors[0].detail, pattern);
    };
    const containers = [{ image: 'busybox' }];
    await bad({ kind: 'pod', metadata: {}, spec: { containers } }, /kind fields need to be set as capsule or Capsule/);
    await bad({ kind: 'capsule', metadata: {}, spec: { containers: [{ image: 'busybox', privileged: true }] } }, /template/);
    await bad({ kind: 'capsule', metadata: {}, spec: { containers: [{ image: 'busybox', volumeMounts: [{ name: 'nope', mountPath: '/x' }] }] } }, /names no volume/);
    await bad({ kind: 'capsule', metadata: {}, spec: { containers, volumes: [{ name: 'v', cinder: { size: 1 } }] } }, /block storage/);
    await bad({ kind: 'capsule', metadata: {}, spec: { containers: [{ image: 'no-such-image' }] } }, /no-such-image could not be found/);
    await bad('{not json', /Failed to parse/);
    assert.equal((await zun('POST', '/capsules', { body: { template: { kind: 'capsule', metadata: {}, spec: { containers } }, colour: 'x' } })).status, 400);
    assert.equal((await zun('GET', '/capsules')).body.capsules.length, 0);
  });
});
