// Benchmark: a Neutron network with a subnet (HTTP) made real on 3 hosts (swarm overlay, one container
// attached per host, one host after another) against the same by hand (overlay network + 3 containers via the Engine API), same run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { checkoutDir, loadConfig } from '../src/config.ts';
import { createCloud } from '../src/main.ts';
import { engineClient } from '../src/host/engine-client.ts';
import { ensureLocalEngine } from '../src/host/local-engine.ts';
import { startNestedHosts } from '../src/host/nested-hosts.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from '../src/host/test-images.ts';
import { ensureOverlayNetwork, formSwarm } from '../src/agent/net/swarm.ts';
import type { BenchOptions } from './run.ts';

export const description = 'network + subnet attached on 3 hosts (overlay) vs the same overlay and containers by hand';

async function attachOne(docker: Docker, net: string, ip: string): Promise<string> {
  const c = await docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ['sleep', '600'], HostConfig: { NetworkMode: net }, NetworkingConfig: { EndpointsConfig: { [net]: { IPAMConfig: { IPv4Address: ip } } } } });
  try {
    await c.start();
  } catch (err) {
    throw new Error(`attach to ${net} at ${ip}: ${(err as Error).message}`);
  }
  return c.id;
}

export async function run(_options: BenchOptions): Promise<void> {
  const engine = await ensureLocalEngine(path.join(checkoutDir, '.hafen-test', 'engine-shared'));
  const hosts = await startNestedHosts({ outerEndpoint: engine.socket, count: 3, ownerPid: process.pid, pkiDir: path.join(checkoutDir, '.hafen-test', 'engine-shared', 'pki') });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-bench-nethosts-'));
  const cloud = await createCloud(loadConfig({ HAFEN_DATA_DIR: dataDir, HAFEN_PORT: '0', HAFEN_LOG_LEVEL: 'silent', HAFEN_PASSWORD_HASH_COST: '1024' }));
  try {
    const engines = hosts.hosts.map((h) => engineClient(h.endpoint));
    for (const h of hosts.hosts) await ensureBusyboxEngineImage(h.endpoint);
    await formSwarm(hosts.hosts.map((h, i) => ({ docker: engines[i]!, address: h.address })));
    await cloud.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(cloud.app.server.address() as { port: number }).port}`;
    const demo = cloud.identity.credentials.demo;
    const auth = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: demo.username, domain: { id: 'default' }, password: demo.password } } }, scope: { project: { name: demo.project, domain: { id: 'default' } } } } }),
    });
    const token = auth.headers.get('x-subject-token')!;
    const post = async (p: string, body: unknown) => (await fetch(`${url}/network/v2.0${p}`, { method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
    const hafen: number[] = [];
    const byHand: number[] = [];
    for (let round = 0; round < 3; round++) {
      let s = performance.now();
      const net = (await post('/networks', { network: { name: `bench-${round}` } })).network.id;
      // The pool starts at .10: swarm gives each node's load balancer an address from the low end of the subnet.
      await post('/subnets', { subnet: { network_id: net, ip_version: 4, cidr: `10.234.${round}.0/24`, allocation_pools: [{ start: `10.234.${round}.10`, end: `10.234.${round}.250` }] } });
      const ports: { fixed_ips: { ip_address: string }[] }[] = [];
      for (let i = 0; i < 3; i++) ports.push((await post('/ports', { port: { network_id: net } })).port);
      const [binding] = await cloud.network.service.bindPorts(await cloud.identity.tokens.validate(token), `bench-hosts-${round}`, 'bench', [{ portId: (ports[0] as unknown as { id: string }).id }]);
      if (!binding) throw new Error('no binding');
      await ensureOverlayNetwork(engines[0]!, binding.engineNetwork);
      for (const [i, d] of engines.entries()) await attachOne(d, binding.engineNetwork.name, ports[i]!.fixed_ips[0]!.ip_address);
      hafen.push(performance.now() - s);
      s = performance.now();
      const name = `byhand-${round}`;
      await engines[0]!.createNetwork({ Name: name, Driver: 'overlay', Attachable: true, Internal: true, IPAM: { Config: [{ Subnet: `10.235.${round}.0/24` }] } });
      for (const [i, d] of engines.entries()) await attachOne(d, name, `10.235.${round}.${10 + i}`);
      byHand.push(performance.now() - s);
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    console.log(`hafen (API network+subnet+3 ports, overlay, 3 containers): median ${med(hafen).toFixed(0)} ms (${hafen.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`by hand (overlay, 3 containers): median ${med(byHand).toFixed(0)} ms (${byHand.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`ratio ${(med(hafen) / med(byHand)).toFixed(2)}x`);
  } finally {
    await cloud.close();
    await hosts.teardown();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
