// Two nested Docker hosts joined as a swarm: servers of one Neutron network on different hosts talk
// over TCP through its overlay network; a server on another project's network cannot reach them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { startTestHosts, type NestedHostSet } from '../helpers/hosts.ts';
import { engineClient } from '../../src/host/engine-client.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from '../../src/host/test-images.ts';
import { ensureOverlayNetwork, formSwarm } from '../../src/agent/net/swarm.ts';
import { applyFirewallViaEngine, firewallRuleset } from '../../src/agent/net/firewall.ts';

describe('tenant networks across two hosts (swarm overlay)', () => {
  let hosts: NestedHostSet;
  let engines: Docker[];
  const servers: Record<string, { docker: Docker; id: string; ip: string }> = {};

  async function server(name: string, host: number, net: string, ip: string): Promise<void> {
    const docker = engines[host]!;
    const c = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ['sh', '-c', `mkdir -p /www && echo hello-${name} > /www/index.html && exec httpd -f -p 80 -h /www`],
      HostConfig: { NetworkMode: net },
      NetworkingConfig: { EndpointsConfig: { [net]: { IPAMConfig: { IPv4Address: ip } } } },
    });
    await c.start();
    servers[name] = { docker, id: c.id, ip };
  }

  async function reaches(from: string, to: string): Promise<boolean> {
    const s = servers[from]!;
    const exec = await s.docker.getContainer(s.id).exec({ Cmd: ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${servers[to]!.ip} 80`], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    let out = '';
    await new Promise((resolve) => stream.on('data', (d: Buffer) => (out += d.toString())).on('end', resolve).on('close', resolve));
    return (await exec.inspect()).ExitCode === 0 && out.includes(`hello-${to}`);
  }

  /**
   * A path that should be open: the swarm's gossip tells the other host about a new endpoint a moment
   * after it starts (seconds on a loaded machine), so an open path is polled for up to a minute.
   */
  async function reachesSoon(from: string, to: string): Promise<boolean> {
    const deadline = Date.now() + 60_000;
    while (!(await reaches(from, to))) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 500));
    }
    return true;
  }

  before(async () => {
    hosts = await startTestHosts(2);
    engines = hosts.hosts.map((h) => engineClient(h.endpoint));
    for (const h of hosts.hosts) await ensureBusyboxEngineImage(h.endpoint);
    await formSwarm(hosts.hosts.map((h, i) => ({ docker: engines[i]!, address: h.address })));
    await ensureOverlayNetwork(engines[0]!, { name: 'hafen-net-mh-a', subnet: '10.233.1.0/24', gateway: '10.233.1.1', internal: true, mtu: 1500 });
    await ensureOverlayNetwork(engines[0]!, { name: 'hafen-net-mh-b', subnet: '10.233.2.0/24', gateway: '10.233.2.1', internal: true, mtu: 1500 });
    await server('a1', 0, 'hafen-net-mh-a', '10.233.1.10');
    await server('a2', 1, 'hafen-net-mh-a', '10.233.1.11');
    await server('b2', 1, 'hafen-net-mh-b', '10.233.2.10');
  });

  after(async () => {
    await hosts?.teardown();
  });

  it('carries TCP between servers of one network on different hosts', async () => {
    assert.equal(await reachesSoon('a1', 'a2'), true);
    assert.equal(await reachesSoon('a2', 'a1'), true);
  });

  it('opens and closes a port on a server of another host through its engine', async () => {
    const a2 = servers.a2!;
    const closed = firewallRuleset({ portId: 'a2', portSecurityEnabled: true, rules: [] });
    await applyFirewallViaEngine(a2.docker, a2.id, closed, BUSYBOX_IMAGE);
    assert.equal(await reaches('a1', 'a2'), false);
    const open = firewallRuleset({ portId: 'a2', portSecurityEnabled: true, rules: [{ direction: 'ingress' as const, protocol: 'tcp', portMin: 80, portMax: 80, remoteCidrs: ['10.233.1.10/32'] }] });
    await applyFirewallViaEngine(a2.docker, a2.id, open, BUSYBOX_IMAGE);
    assert.equal(await reachesSoon('a1', 'a2'), true);
    await applyFirewallViaEngine(a2.docker, a2.id, closed, BUSYBOX_IMAGE);
    assert.equal(await reaches('a1', 'a2'), false);
    // The server itself cannot undo it: no CAP_NET_ADMIN inside.
    const exec = await a2.docker.getContainer(a2.id).exec({ Cmd: ['ip', 'link', 'set', 'lo', 'down'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise((resolve) => stream.on('end', resolve).on('close', resolve).resume());
    assert.notEqual((await exec.inspect()).ExitCode, 0);
  });

  it('keeps another network on the same hosts out', async () => {
    assert.equal(await reaches('b2', 'a1'), false);
    assert.equal(await reaches('b2', 'a2'), false);
  });
});
