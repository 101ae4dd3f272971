// Benchmark: time from `security group rule create` (HTTP) to the rule being installed in the
// namespaces of 50 running containers, against iptables-restore into the same 50 by hand (a shell
// loop of nsenter + iptables-restore), same run; also against one spawn each from this Node process
// (the baseline of the bench's first figure, November 2026: what hafen itself did until the tool runner).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createCloud } from '../src/main.ts';
import { engineClient } from '../src/host/engine-client.ts';
import { ensureLocalEngine } from '../src/host/local-engine.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from '../src/host/test-images.ts';
import { checkoutDir } from '../src/config.ts';
import { ensureEngineNetwork, removeEngineNetwork } from '../src/agent/net/engine-network.ts';
import { Dataplane } from '../src/agent/net/dataplane.ts';
import { firewallRuleset } from '../src/agent/net/firewall.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { spawnTool } from '../src/agent/net/run.ts';
import type { BenchOptions } from './run.ts';

export const description = 'security group rule create -> in force on 50 running containers vs iptables-restore by hand';

const SERVERS = 50;

export async function run(_options: BenchOptions): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-bench-net-'));
  const engine = await ensureLocalEngine(path.join(checkoutDir, '.hafen-test', 'engine-shared'));
  await ensureBusyboxEngineImage(engine.socket);
  const docker = engineClient(engine.socket);
  const config = loadConfig({ HAFEN_DATA_DIR: dataDir, HAFEN_PORT: '0', HAFEN_LOG_LEVEL: 'silent', HAFEN_PASSWORD_HASH_COST: '1024' });
  const cloud = await createCloud(config);
  await cloud.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(cloud.app.server.address() as { port: number }).port}`;
  const demo = cloud.identity.credentials.demo;
  const auth = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: demo.username, domain: { id: 'default' }, password: demo.password } } }, scope: { project: { name: demo.project, domain: { id: 'default' } } } } }),
  });
  const token = auth.headers.get('x-subject-token')!;
  const api = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${url}/network/v2.0${p}`, { method, headers: { 'x-auth-token': token, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? undefined : r.json();
  };
  const containers: string[] = [];
  let engineNet = '';
  await cloud.network.dataplane?.stop();
  const service = cloud.network.service;
  const dataplane = new Dataplane(service.feed, [docker], () => {}, undefined, 'hafen.bench_server_id');
  const ctx = await cloud.identity.tokens.validate(token);
  try {
    const t0 = performance.now();
    const net = (await api('POST', '/networks', { network: { name: 'bench' } })).network.id;
    await api('POST', '/subnets', { subnet: { network_id: net, ip_version: 4, cidr: '10.232.0.0/24' } });
    const group = (await api('POST', '/security-groups', { security_group: { name: 'bench' } })).security_group.id;
    const pids: number[] = [];
    for (let i = 0; i < SERVERS; i++) {
      // A port bound to a "server" as compute binds them (through the client).
      const port = (await api('POST', '/ports', { port: { network_id: net, security_groups: [group] } })).port;
      const [binding] = await service.bindPorts(ctx, `bench-${i}`, 'bench-host', [{ portId: port.id }]);
      if (!binding) throw new Error('no binding');
      if (i === 0) {
        const n0 = performance.now();
        await ensureEngineNetwork(docker, binding.engineNetwork);
        console.log(`network + subnet via API ${(n0 - t0).toFixed(0)} ms, engine network ${(performance.now() - n0).toFixed(0)} ms`);
        engineNet = binding.engineNetwork.name;
      }
      const c = await docker.createContainer({
        Image: BUSYBOX_IMAGE, Cmd: ['sleep', '3600'], Labels: { 'hafen.bench_server_id': `bench-${i}` },
        HostConfig: { NetworkMode: engineNet }, NetworkingConfig: { EndpointsConfig: { [engineNet]: { IPAMConfig: { IPv4Address: binding.fixedIps[0]!.ipAddress } } } },
      });
      containers.push(c.id);
      await c.start();
      pids.push((await c.inspect()).State.Pid);
    }
    dataplane.start(600_000);
    await dataplane.settled();
    const samples: number[] = [];
    for (let round = 0; round < 3; round++) {
      const s = performance.now();
      const rule = (await api('POST', '/security-group-rules', { security_group_rule: { security_group_id: group, direction: 'ingress', protocol: 'tcp', port_range_min: 80 + round, port_range_max: 80 + round } })).security_group_rule;
      await new Promise((r) => setImmediate(r));
      await dataplane.settled();
      samples.push(performance.now() - s);
      await api('DELETE', `/security-group-rules/${rule.id}`);
      await dataplane.settled();
    }
    const fw = (await service.feed.portFirewall((await api('GET', `/ports?device_id=bench-0`)).ports[0].id))!;
    const ruleset = firewallRuleset(fw);
    const rulesFile = path.join(dataDir, 'ruleset');
    fs.writeFileSync(rulesFile, ruleset);
    const byHand = ['for p; do nsenter -t "$p" -n iptables-restore < "$RULES" || exit 1; done', 'sh', ...pids.map(String)];
    const rawSamples: number[] = [];
    for (let round = 0; round < 3; round++) {
      const s = performance.now();
      await promisify(execFile)('sh', ['-c', ...byHand], { env: { ...process.env, RULES: rulesFile } });
      rawSamples.push(performance.now() - s);
    }
    const nodeSamples: number[] = [];
    for (let round = 0; round < 3; round++) {
      const s = performance.now();
      for (const pid of pids) await spawnTool('nsenter', ['-t', String(pid), '-n', 'iptables-restore'], ruleset);
      nodeSamples.push(performance.now() - s);
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`rule create -> in force on ${SERVERS} containers: median ${med(samples).toFixed(0)} ms (${samples.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`iptables-restore by hand into ${SERVERS} namespaces: median ${med(rawSamples).toFixed(0)} ms (${rawSamples.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`the same from this Node process, one spawn each: median ${med(nodeSamples).toFixed(0)} ms (${nodeSamples.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`ratio ${(med(samples) / med(rawSamples)).toFixed(2)}x (against one spawn each from Node: ${(med(samples) / med(nodeSamples)).toFixed(2)}x)`);
  } finally {
    await dataplane.stop();
    for (const id of containers) await docker.getContainer(id).remove({ force: true }).catch(() => {});
    if (engineNet) await removeEngineNetwork(docker, engineNet);
    await cloud.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
