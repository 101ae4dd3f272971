// test: exclusive (floating IPs put addresses, NAT chains and routing rules into the host's own namespace, which every file sees)
// `openstack appcontainer add floating ip` and `remove floating ip`, which python3-zunclient does
// through the network API on the container's port: a Zun container's busybox httpd answers the test
// process on the floating IP after the add, and stops answering after the remove.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, waitFor } from '../helpers/compute.ts';
import { claimTestSubnet } from '../helpers/subnets.ts';
import type { TestCloud } from '../helpers/cloud.ts';

/** The page at the address, or undefined when nothing answers within 2 s. */
async function page(address: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${address}:8080/`, { signal: AbortSignal.timeout(2000) });
    return (await res.text()).trim();
  } catch {
    return undefined;
  }
}

describe('floating IPs of Zun containers through the openstack appcontainer CLI', () => {
  let t: TestCloud;
  let demo: string;
  const os = (args: string[], cloud = 'hafen-demo') => t.openstack(args, cloud);
  const json = async (args: string[], cloud = 'hafen-demo') => JSON.parse(await os([...args, '-f', 'json'], cloud));

  before(async () => {
    let imageTar: string;
    ({ t, imageTar } = await startComputeCloud('containers-floating-ip'));
    demo = await t.token('demo');
    await os(['image', 'create', '--container-format', 'docker', '--disk-format', 'raw', '--public', '--file', imageTar, 'busybox'], 'hafen-admin');
    await os(['network', 'create', 'fip-net']);
    await os(['subnet', 'create', '--network', 'fip-net', '--subnet-range', (await claimTestSubnet()).cidr, 'fip-sub']);
    await os(['router', 'create', 'fip-router']);
    await os(['router', 'set', '--external-gateway', 'public', 'fip-router']);
    await os(['router', 'add', 'subnet', 'fip-router', 'fip-sub']);
  });
  after(async () => {
    await t?.close();
  });

  it('adds a floating IP to a container\'s port and removes it', async () => {
    const created = await t.request('POST', '/container/v1/containers?run=true', {
      token: demo,
      headers: { 'openstack-api-version': 'container 1.40' },
      body: { name: 'web', image: 'busybox', exposed_ports: { '8080/tcp': {} }, command: ['sh', '-c', 'mkdir -p /www && echo from-zun > /www/index.html && exec httpd -f -p 8080 -h /www'] },
    });
    assert.equal(created.status, 202, created.text);
    const shown = await waitFor('web Running', async () => {
      const s = await json(['appcontainer', 'show', 'web']);
      assert.notEqual(s.status, 'Error', s.status_reason);
      return s.status === 'Running' ? s : undefined;
    }, 120_000);
    const port = (await json(['port', 'list', '--device-id', shown.uuid]))[0];
    assert.ok(port, 'the container has its port');

    const fip = (await json(['floating', 'ip', 'create', 'public'])).floating_ip_address as string;
    assert.equal(await page(fip), undefined);
    await os(['appcontainer', 'add', 'floating', 'ip', 'web', fip]);
    const bound = await json(['floating', 'ip', 'show', fip]);
    assert.equal(bound.port_id, port.ID);
    assert.equal(bound.fixed_ip_address, port['Fixed IP Addresses'][0].ip_address);
    await waitFor('the container answering on its floating IP', async () => ((await page(fip)) === 'from-zun' ? true : undefined), 60_000);

    await os(['appcontainer', 'remove', 'floating', 'ip', fip]);
    assert.equal((await json(['floating', 'ip', 'show', fip])).port_id, null);
    await waitFor('the floating IP silent again', async () => ((await page(fip)) === undefined ? true : undefined), 30_000);
  });
});
