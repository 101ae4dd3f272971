// OS::Zun::Container through the real openstack CLI on a real engine: a stack of two Zun containers
// on a network of the stack (one reads the other's address from `addresses`), seen by python3-zunclient
// (`openstack appcontainer`) with Heat's properties applied, updated in place (name, memory), kept
// from another project (404, and its stack cannot name this project's port), and removed with the stack.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import { claimTestSubnet } from '../helpers/subnets.ts';
import type { TestCloud } from '../helpers/cloud.ts';
import { memberOfNewProject } from '../helpers/projects.ts';
import { engineClient } from '../../src/host/engine-client.ts';

// /24s no other test file on the shared engine holds (a range drawn at random could be another file's,
// or a default network's in 10.96.0.0/12).
const range = (await claimTestSubnet()).prefix;
const range2 = (await claimTestSubnet()).prefix;

const TEMPLATE = `heat_template_version: 2018-08-31
description: Two Zun containers on a network of the stack
parameters:
  image: {type: string, default: busybox}
  db_name: {type: string, default: zun-db}
  db_memory: {type: number, default: 64}
  db_nets: {type: number, default: 1}
conditions:
  two_nets: {equals: [{get_param: db_nets}, 2]}
resources:
  net:
    type: OS::Neutron::Net
    properties: {name: zun-stack-net}
  subnet:
    type: OS::Neutron::Subnet
    properties:
      network: {get_resource: net}
      cidr: ${range}.0/24
  net2:
    type: OS::Neutron::Net
    properties: {name: zun-stack-net2}
  subnet2:
    type: OS::Neutron::Subnet
    properties:
      network: {get_resource: net2}
      cidr: ${range2}.0/24
  db:
    type: OS::Zun::Container
    properties:
      name: {get_param: db_name}
      image: {get_param: image}
      command: "sh -c 'echo db is up; exec sleep 3600'"
      cpu: 0.5
      memory: {get_param: db_memory}
      environment: {ROLE: database, PORT: 3306}
      labels: {tier: db}
      workdir: /tmp
      hostname: dbhost
      restart_policy: on-failure:3
      networks:
        if:
          - two_nets
          - [{network: {get_resource: net}}, {network: {get_resource: net2}}]
          - [{network: {get_resource: net}}]
  web:
    type: OS::Zun::Container
    properties:
      image: {get_param: image}
      command:
        str_replace:
          template: "sh -c 'echo web talks to DB_ADDR; exec sleep 3600'"
          params:
            DB_ADDR: {get_attr: [db, addresses, zun-stack-net, 0, addr]}
      environment:
        DB_HOST: {get_attr: [db, addresses, zun-stack-net, 0, addr]}
      networks:
        - network: {get_resource: net}
outputs:
  db_name: {value: {get_attr: [db, name]}}
  db_addresses: {value: {get_attr: [db, addresses]}}
  db_port: {value: {get_attr: [db, addresses, zun-stack-net, 0, port]}}
  web_show: {value: {get_attr: [web, show]}}
  web_id: {value: {get_resource: web}}
`;

describe('Zun containers in stacks', () => {
  let t: TestCloud;
  let docker: Docker;
  let dir: string;
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));
  const output = async (stack: string, key: string) => {
    const v = (await json(['stack', 'output', 'show', stack, key])).output_value;
    return typeof v === 'string' && /^[[{]/.test(v) ? JSON.parse(v) : v;
  };
  const engineContainers = async (ids: string[]) => (await docker.listContainers({ all: true })).filter((c) => ids.includes(c.Labels['hafen.server_id'] ?? ''));

  before(async () => {
    const c = await startComputeCloud('orchestration-zun');
    t = c.t;
    docker = engineClient(c.socket);
    dir = t.dataDir;
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--file', c.imageTar, 'busybox']);
  });
  after(async () => {
    await t?.close();
  });

  it('runs, updates in place and removes Zun containers of a stack, for its project only', async () => {
    const file = path.join(dir, 'zun.yaml');
    fs.writeFileSync(file, TEMPLATE);
    await os(['stack', 'create', '-t', file, '--wait', '--poll', '1', 'zapp']);
    const stack = await json(['stack', 'show', 'zapp']);
    assert.equal(stack.stack_status, 'CREATE_COMPLETE', stack.stack_status_reason);

    const resources = await json(['stack', 'resource', 'list', 'zapp']);
    const dbId = resources.find((r: any) => r.resource_name === 'db').physical_resource_id as string;
    const webId = resources.find((r: any) => r.resource_name === 'web').physical_resource_id as string;
    assert.equal(await output('zapp', 'web_id'), webId);

    // Zun shows the containers with Heat's properties as Zun's fields.
    const db = await json(['appcontainer', 'show', dbId]);
    assert.equal(db.name, 'zun-db');
    assert.equal(db.status, 'Running');
    assert.equal(Number(db.cpu), 0.5);
    assert.equal(String(db.memory), '64');
    assert.deepEqual(db.environment, { ROLE: 'database', PORT: '3306' });
    assert.deepEqual(db.labels, { tier: 'db' });
    assert.equal(db.workdir, '/tmp');
    assert.equal(db.hostname, 'dbhost');
    assert.deepEqual(db.restart_policy, { Name: 'on-failure', MaximumRetryCount: '3' });
    assert.deepEqual(db.command, ['sh', '-c', 'echo db is up; exec sleep 3600']);
    assert.equal(await output('zapp', 'db_name'), 'zun-db');

    // addresses: keyed by network id (as Zun has them) and by network name (as Heat adds them).
    const netId = resources.find((r: any) => r.resource_name === 'net').physical_resource_id as string;
    const addresses = await output('zapp', 'db_addresses');
    const dbAddr = addresses['zun-stack-net'][0].addr as string;
    assert.ok(dbAddr.startsWith(`${range}.`), JSON.stringify(addresses));
    assert.deepEqual(addresses[netId], addresses['zun-stack-net']);
    const ports = await json(['port', 'list', '--network', netId]);
    assert.ok(ports.some((p: any) => p.ID === (addresses[netId][0].port as string)), 'the address names its port');
    assert.equal(await output('zapp', 'db_port'), addresses[netId][0].port);

    // The web container got the database's address, in its command and its environment.
    const web = await output('zapp', 'web_show');
    assert.equal(web.uuid, webId);
    assert.equal(web.environment.DB_HOST, dbAddr);
    const logs = await waitFor('web logs', async () => {
      const text = await os(['appcontainer', 'logs', webId]);
      return text.includes('web talks to') ? text : undefined;
    }, 60_000);
    assert.match(logs, new RegExp(`web talks to ${dbAddr.replace(/\./g, '\\.')}\\b`));
    assert.equal((await engineContainers([dbId, webId])).length, 2);

    // Another project sees none of it, and its stack cannot take this project's port.
    const other = await memberOfNewProject(t, 'zun-stranger');
    const seen = await t.request('GET', `/container/v1/containers/${dbId}`, { token: other.token, headers: { 'openstack-api-version': 'container 1.12' } });
    assert.equal(seen.status, 404, seen.text);
    const stolen = await t.request('POST', `/orchestration/v1/${other.projectId}/stacks`, {
      token: other.token,
      body: {
        stack_name: 'steal',
        template: { heat_template_version: '2018-08-31', resources: { c: { type: 'OS::Zun::Container', properties: { image: 'busybox', networks: [{ port: addresses[netId][0].port }] } } } },
      },
    });
    assert.equal(stolen.status, 400, stolen.text);
    assert.equal(stolen.body.error.type, 'StackValidationFailed', stolen.text);
    assert.equal((await t.request('GET', `/container/v1/containers`, { token: other.token })).body.containers.length, 0);

    // Name, memory and networks change in place: the same container, renamed, resized, on a second network.
    await os(['stack', 'update', '--existing', '--parameter', 'db_name=zun-db-2', '--parameter', 'db_memory=128', '--parameter', 'db_nets=2', '--wait', 'zapp']);
    const updated = await json(['stack', 'show', 'zapp']);
    assert.equal(updated.stack_status, 'UPDATE_COMPLETE', updated.stack_status_reason);
    const resized = await json(['appcontainer', 'show', dbId]);
    assert.equal(resized.name, 'zun-db-2');
    assert.equal(String(resized.memory), '128');
    assert.equal(resized.status, 'Running');
    const [engineDb] = await engineContainers([dbId]);
    assert.equal((await docker.getContainer(engineDb!.Id).inspect()).HostConfig.Memory, 128 * 2 ** 20);
    assert.equal(await output('zapp', 'db_name'), 'zun-db-2');
    const net2Id = resources.find((r: any) => r.resource_name === 'net2').physical_resource_id as string;
    const twoNets = await output('zapp', 'db_addresses');
    assert.ok(twoNets['zun-stack-net2']?.[0]?.addr.startsWith(`${range2}.`), JSON.stringify(twoNets));
    assert.deepEqual(twoNets[netId], addresses[netId], 'the first network keeps its port');
    const zunAddresses = async () => Object.keys((await t.request('GET', `/container/v1/containers/${dbId}`, { token: await t.token('demo'), headers: { 'openstack-api-version': 'container 1.12' } })).body.addresses).sort();
    assert.deepEqual(await zunAddresses(), [netId, net2Id].sort());
    // And back: the second network's port is detached.
    await os(['stack', 'update', '--existing', '--parameter', 'db_nets=1', '--wait', 'zapp']);
    assert.equal((await json(['stack', 'show', 'zapp'])).stack_status, 'UPDATE_COMPLETE');
    assert.deepEqual(await zunAddresses(), [netId]);

    await os(['stack', 'delete', '--yes', '--wait', 'zapp']);
    await waitFor('containers removed', async () => ((await engineContainers([dbId, webId])).length === 0 ? true : undefined), 60_000);
    await assert.rejects(os(['appcontainer', 'show', dbId]), /not be found|404/i);
    assert.deepEqual(await json(['appcontainer', 'list']), []);
  });

  it('refuses at validation what Zun cannot do here, before anything is made', async () => {
    for (const [name, props, pattern] of [
      ['mounts', { mounts: [{ volume_size: 1, mount_path: '/data' }] }, /block storage service \(Cinder\)/],
      ['restart', { restart_policy: 'sometimes' }, /restart_policy "sometimes" is invalid/],
      ['nics', { networks: [{ fixed_ip: '10.0.0.5' }] }, /network, port/],
    ] as const) {
      const file = path.join(dir, `bad-${name}.yaml`);
      fs.writeFileSync(file, JSON.stringify({ heat_template_version: '2018-08-31', resources: { c: { type: 'OS::Zun::Container', properties: { image: 'busybox', ...props } } } }));
      await assert.rejects(os(['stack', 'create', '-t', file, `bad-${name}`]), pattern);
    }
    assert.deepEqual((await json(['stack', 'list'])).filter((s: any) => s['Stack Name'].startsWith('bad-')), []);
    assert.deepEqual((await json(['appcontainer', 'list'])).filter((c: any) => c.name.startsWith('bad-')), []);
  });
});
