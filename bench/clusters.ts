// Benchmark: Magnum clusters against the same done by hand on the same engine, in the same run.
// (1) a 1-manager 2-worker swarm-mode cluster from `POST /v1/clusters` to CREATE_COMPLETE, against
// three engine containers of the same shape started by hand and formed into a swarm (init, two joins,
// all nodes ready); (2) a resize by one worker to UPDATE_COMPLETE, against one more engine by hand
// joined to that swarm; (3) `docker service create --replicas 10` with the stock docker CLI through
// the cluster's TLS front, against the same command on the manager's engine directly.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { ServerSpec } from '../src/agent/driver.ts';
import { helperImage } from '../src/agent/docker/helper-image.ts';
import { infrastructureContainerSpec } from '../src/agent/docker/infrastructure.ts';
import { writeTar } from '../src/host/tar-writer.ts';
import { newAuthority, newCertificate, type Authority } from '../src/clusters/x509.ts';
import { startBenchCloud } from './cloud.ts';
import type { BenchOptions } from './run.ts';

export const description = 'Magnum: cluster create (1+2) and resize by one vs engines and swarm by hand; service create --replicas 10 through the TLS front vs the manager directly';

const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SERVICE_ROUNDS = 3;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Engines by hand: the container shape hafen gives a node (same image, capabilities, cgroup, TLS engine). */
class ByHand {
  private readonly containers: string[] = [];
  private network = '';
  private ca!: Authority;
  private client!: { cert: string; key: string };
  private prefix = '';

  constructor(private readonly docker: Docker) {}

  async setUp(): Promise<void> {
    this.ca = await newAuthority('bench by hand');
    this.client = await newCertificate(this.ca, 'bench', 'client');
    const octet = 100 + (process.pid % 100);
    this.prefix = `10.249.${octet}`;
    this.network = `bench-clusters-${process.pid}`;
    await this.docker.createNetwork({ Name: this.network, Driver: 'bridge', IPAM: { Config: [{ Subnet: `${this.prefix}.0/24`, Gateway: `${this.prefix}.1` }] }, Labels: { 'hafen.bench': 'clusters' } });
  }

  engine(address: string): Docker {
    return new Docker({ protocol: 'https', host: address, port: 2376, ca: this.ca.cert, cert: this.client.cert, key: this.client.key, version: 'v1.41', timeout: 30_000 });
  }

  /** Starts one engine container at `.<n>` and resolves when its engine answers. */
  async start(n: number): Promise<{ address: string; engine: Docker }> {
    const address = `${this.prefix}.${n}`;
    const server = await newCertificate(this.ca, `node-${n}`, 'server', { ips: [address] });
    const script = [
      'set -e',
      "cg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit} $1 == \"0\" {print $3; exit}' /proc/self/cgroup)",
      "printf 'nameserver 127.0.0.1\\n' > /etc/resolv.conf",
      `exec /usr/sbin/dockerd --host unix:///run/docker.sock --host tcp://${address}:2376 --tlsverify --tlscacert /etc/n/ca.pem --tlscert /etc/n/cert.pem --tlskey /etc/n/key.pem --cgroup-parent "\${cg%/}/engine" --log-level warn`,
    ].join('\n');
    const spec = { hostname: `byhand-${n}`, memoryMiB: 256, vcpus: 1, pidsLimit: 4096, network: null } as unknown as ServerSpec;
    const options = infrastructureContainerSpec(
      spec,
      { role: 'nested-engine', nodeNetwork: { name: this.network, driver: 'bridge', subnet: `${this.prefix}.0/24`, gateway: `${this.prefix}.1`, parent: null, ip: address }, files: {}, command: ['/bin/sh', '-c', script], labels: {} },
      `bench-byhand-${process.pid}-${n}`,
      { 'hafen.bench': 'clusters' },
      await helperImage(this.docker),
    );
    const container = await this.docker.createContainer(options);
    this.containers.push(container.id);
    const files = [
      ['etc/n/ca.pem', this.ca.cert],
      ['etc/n/cert.pem', server.cert],
      ['etc/n/key.pem', server.key],
    ].map(([p, content]) => ({ type: 'file' as const, path: p!, content: Buffer.from(content!), mode: 0o600 }));
    await container.putArchive(writeTar(files), { path: '/' });
    await container.start();
    const engine = this.engine(address);
    await until(`engine ${address}`, async () => ((await engine.ping().then(() => true, () => false)) ? true : undefined), 120_000);
    return { address, engine };
  }

  async init(manager: { address: string; engine: Docker }): Promise<void> {
    await manager.engine.swarmInit({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: `${manager.address}:2377`, DefaultAddrPool: ['10.200.0.0/14'], SubnetSize: 24 });
  }

  async join(manager: { address: string; engine: Docker }, node: { address: string; engine: Docker }): Promise<void> {
    const swarm = (await manager.engine.swarmInspect()) as { JoinTokens: { Worker: string } };
    await node.engine.swarmJoin({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: `${node.address}:2377`, RemoteAddrs: [`${manager.address}:2377`], JoinToken: swarm.JoinTokens.Worker });
  }

  async readyCount(manager: Docker, n: number): Promise<true | undefined> {
    const nodes = (await manager.listNodes()) as { Status: { State: string } }[];
    return nodes.filter((x) => x.Status.State === 'ready').length >= n ? true : undefined;
  }

  async tearDown(): Promise<void> {
    for (const id of this.containers) await this.docker.getContainer(id).remove({ force: true, v: true }).catch(() => undefined);
    if (this.network) await this.docker.getNetwork(this.network).remove().catch(() => undefined);
  }
}

export async function run(_options: BenchOptions): Promise<void> {
  const b = await startBenchCloud('clusters', { instances: 50, cores: 100, ram: 100_000 });
  const byHand = new ByHand(b.docker);
  const api = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${b.url}/container-infra/v1${p}`, { method, headers: { ...b.headers, 'openstack-api-version': 'container-infra latest' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, any>) : {};
  };
  const settled = (uuid: string) =>
    until(
      'the cluster to settle',
      async () => {
        const c = await api('GET', `/clusters/${uuid}`);
        return String(c.status).endsWith('_IN_PROGRESS') ? undefined : c;
      },
      600_000,
    );
  let clusterId: string | undefined;
  try {
    // ---- by hand: 3 engines, a swarm of them, then one more worker
    await byHand.setUp();
    let s = performance.now();
    const nodes = await Promise.all([10, 11, 12].map((n) => byHand.start(n)));
    await byHand.init(nodes[0]!);
    await Promise.all(nodes.slice(1).map((n) => byHand.join(nodes[0]!, n)));
    await until('3 ready nodes by hand', () => byHand.readyCount(nodes[0]!.engine, 3), 120_000);
    const createByHand = performance.now() - s;
    s = performance.now();
    const fourth = await byHand.start(13);
    await byHand.join(nodes[0]!, fourth);
    await until('4 ready nodes by hand', () => byHand.readyCount(nodes[0]!.engine, 4), 120_000);
    const resizeByHand = performance.now() - s;
    await byHand.tearDown();

    // ---- hafen: the same through the Magnum API
    const tpl = await api('POST', '/clustertemplates', { name: 'bench', coe: 'swarm-mode', image_id: b.imageId, flavor_id: 'm1.small', master_flavor_id: 'm1.small' });
    s = performance.now();
    clusterId = (await api('POST', '/clusters', { name: 'bench', cluster_template_id: tpl.uuid, master_count: 1, node_count: 2 })).uuid as string;
    let c = await settled(clusterId);
    const createHafen = performance.now() - s;
    if (c.status !== 'CREATE_COMPLETE') throw new Error(`cluster create: ${c.status} ${c.status_reason}`);
    s = performance.now();
    await api('POST', `/clusters/${clusterId}/actions/resize`, { node_count: 3 });
    c = await settled(clusterId);
    const resizeHafen = performance.now() - s;
    if (c.status !== 'UPDATE_COMPLETE') throw new Error(`cluster resize: ${c.status} ${c.status_reason}`);

    // ---- docker service create --replicas 10: through the front, and on the manager's engine directly
    const dirFront = fs.mkdtempSync(path.join(b.work, 'front-'));
    const dirDirect = fs.mkdtempSync(path.join(b.work, 'direct-'));
    await exec('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=bench', '-keyout', path.join(dirFront, 'key.pem'), '-out', path.join(dirFront, 'csr.pem')]);
    const signed = await api('POST', '/certificates', { cluster_uuid: clusterId, csr: fs.readFileSync(path.join(dirFront, 'csr.pem'), 'utf8') });
    fs.writeFileSync(path.join(dirFront, 'cert.pem'), signed.pem);
    fs.writeFileSync(path.join(dirFront, 'ca.pem'), (await api('GET', `/certificates/${clusterId}`)).pem);
    const row = (await b.cloud.clusters.store.cluster(clusterId))!;
    const tls = await b.cloud.clusters.nodes.tls(row);
    fs.writeFileSync(path.join(dirDirect, 'ca.pem'), tls.infraCa.cert);
    fs.writeFileSync(path.join(dirDirect, 'cert.pem'), tls.infraClient.cert);
    fs.writeFileSync(path.join(dirDirect, 'key.pem'), tls.infraClient.key, { mode: 0o600 });
    const manager = (await b.cloud.clusters.nodes.managers(clusterId))[0]!;
    const envFront = { DOCKER_HOST: c.api_address as string, DOCKER_CERT_PATH: dirFront, DOCKER_TLS_VERIFY: '1' };
    const envDirect = { DOCKER_HOST: `tcp://${manager.infra_address}:2376`, DOCKER_CERT_PATH: dirDirect, DOCKER_TLS_VERIFY: '1' };
    const docker = (args: string[], env: Record<string, string>) => exec('docker', args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: b.work, ...env }, timeout: 300_000, maxBuffer: 16 << 20 });
    const engines = (await b.cloud.clusters.nodes.readyNodes(clusterId)).map((n) => b.cloud.clusters.nodes.engine(tls, n.infra_address!));
    const quiet = () => until('the nodes to have no containers', async () => ((await Promise.all(engines.map((e) => e.listContainers({ all: true })))).every((l) => l.length === 0) ? true : undefined), 120_000, 250);
    // The front loads the project's image into every node the first time a service names it: once, before measuring.
    await docker(['service', 'create', '--quiet', '--name', 'warm', '--replicas', '1', '--endpoint-mode', 'dnsrr', 'bb'], envFront);
    await docker(['service', 'rm', 'warm'], envFront);
    await quiet();
    const front: number[] = [];
    const direct: number[] = [];
    for (let round = 0; round < SERVICE_ROUNDS; round++) {
      for (const [env, out, name] of [[envFront, front, `f${round}`], [envDirect, direct, `d${round}`]] as const) {
        s = performance.now();
        await docker(['service', 'create', '--quiet', '--name', name, '--replicas', '10', '--endpoint-mode', 'dnsrr', 'bb'], env);
        out.push(performance.now() - s);
        await docker(['service', 'rm', name], envDirect);
        await quiet();
      }
    }
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(`cluster create 1 manager + 2 workers: hafen ${sec(createHafen)} (POST to CREATE_COMPLETE), by hand ${sec(createByHand)} (3 engine containers, swarm init + 2 joins, all ready); ratio ${(createHafen / createByHand).toFixed(2)}x`);
    console.log(`resize by one worker: hafen ${sec(resizeHafen)} (POST resize to UPDATE_COMPLETE), by hand ${sec(resizeByHand)} (1 engine container, join, ready); ratio ${(resizeHafen / resizeByHand).toFixed(2)}x`);
    console.log(`docker service create --replicas 10 (until converged): through the TLS front median ${sec(med(front))} (${front.map(sec).join(', ')}), the manager's engine directly median ${sec(med(direct))} (${direct.map(sec).join(', ')}); ratio ${(med(front) / med(direct)).toFixed(2)}x`);
  } finally {
    await byHand.tearDown();
    if (clusterId) {
      await api('DELETE', `/clusters/${clusterId}`).catch(() => undefined);
      await until('the cluster gone', async () => (await fetch(`${b.url}/container-infra/v1/clusters/${clusterId}`, { headers: b.headers })).status === 404 ? true : undefined, 300_000, 500).catch((e: Error) => console.error(e.message));
    }
    await b.cloud.close();
    fs.rmSync(b.work, { recursive: true, force: true });
  }
}
