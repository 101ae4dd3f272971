// Benchmark: compute's control plane at scale on simulated hosts (the fake driver). Boots
// HAFEN_SIM_SERVERS (10,000) servers through the API onto HAFEN_SIM_HOSTS (1,000) fake hosts from a
// request thread, and reports boots/s to ACTIVE, the scheduling decision's p50/p99 (timed inside the
// scheduler call), and GET /servers/detail?limit=1000 latency with the controller's CPU a page. Targets:
// >= 200 boots/s, p99 < 20 ms, list p99 < 50 ms; with a port each, issue 12's 500 boots/s and list p50 <= 20 ms.
// Servers have no network (networks: none) unless HAFEN_SIM_NETWORK=1.
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkoutDir, loadConfig } from '../src/config.ts';
import { createCloud } from '../src/main.ts';
import { busyboxDockerArchive } from '../src/host/busybox-image.ts';
import { measure } from './load.ts';
import type { BenchOptions } from './run.ts';

export const description = 'control plane on 1,000 fake hosts: 10,000 servers booted (boots/s to ACTIVE), scheduling p99, list 1,000 with detail';

const pct = (xs: ArrayLike<number>, p: number) => {
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};

/** Sends `count` identical requests from a worker thread; resolves with the elapsed time and latencies. */
export function sendCount(url: string, o: { method: string; headers: Record<string, string>; body?: string; count: number; connections: number; expectStatus: number }): Promise<{ elapsedMs: number; latencies: Float64Array }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./count-worker.mjs', import.meta.url), { workerData: { url, ...o }, execArgv: [] });
    worker.once('error', reject);
    worker.once('message', (m: { elapsedMs: number; latencies: Float64Array; unexpected: string[]; unexpectedCount: number }) => {
      if (m.unexpectedCount > 0) return reject(new Error(`${m.unexpectedCount} answers were not ${o.expectStatus}: ${m.unexpected.join(' | ')}`));
      resolve(m);
    });
  });
}

/**
 * This thread's (the controller's event loop) time on a CPU and time runnable but waiting for one
 * (Linux's per-thread scheduler counters, ns), in ms.
 */
function mainThreadSchedMs(): { cpu: number; waited: number } {
  try {
    const [cpu, waited] = fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
    return { cpu: Number(cpu) / 1e6, waited: Number(waited) / 1e6 };
  } catch {
    return { cpu: NaN, waited: NaN };
  }
}

/** CPU time of the whole process (every thread: the request thread's client, the collector's helpers too), in ms. */
function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export async function run(options: BenchOptions): Promise<void> {
  const hosts = Number(process.env.HAFEN_SIM_HOSTS ?? 1000);
  const servers = Number(process.env.HAFEN_SIM_SERVERS ?? 10_000);
  const connections = Number(process.env.HAFEN_SIM_CONNECTIONS ?? 32);
  const work = fs.mkdtempSync(path.join(checkoutDir, '.hafen-test', 'bench-compute-sim-'));
  const config = loadConfig({
    HAFEN_DATA_DIR: work,
    HAFEN_PORT: '0',
    HAFEN_LOG_LEVEL: 'warn',
    HAFEN_PASSWORD_HASH_COST: '1024',
    HAFEN_FAKE_HOSTS: String(hosts),
  });
  let t0 = performance.now();
  const cloud = await createCloud(config, { logStream: new Writable({ write: (_c, _e, d) => d() }) });
  console.log(`cloud with ${hosts} fake hosts up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await cloud.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(cloud.app.server.address() as { port: number }).port}`;
  const decisions: number[] = [];
  cloud.compute.service.build.onSchedulingDecision = (ms) => decisions.push(ms);
  try {
    const token = async (who: 'admin' | 'demo') => {
      const c = cloud.identity.credentials[who];
      const r = await fetch(`${url}/identity/v3/auth/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: c.username, domain: { id: 'default' }, password: c.password } } }, scope: { project: { name: c.project, domain: { id: 'default' } } } } }),
      });
      return r.headers.get('x-subject-token')!;
    };
    const [admin, demo] = [await token('admin'), await token('demo')];
    const demoProject = (await cloud.identity.service.store.projectByName('default', 'demo'))!.id;
    const q = await fetch(`${url}/compute/v2.1/os-quota-sets/${demoProject}`, {
      method: 'PUT',
      headers: { 'x-auth-token': admin, 'content-type': 'application/json' },
      body: JSON.stringify({ quota_set: { instances: servers, cores: servers, ram: servers * 64 } }),
    });
    if (q.status !== 200) throw new Error(`quota update: ${q.status} ${await q.text()}`);
    const h = { 'x-auth-token': demo, 'content-type': 'application/json' };
    const img = (await (await fetch(`${url}/image/v2/images`, { method: 'POST', headers: h, body: JSON.stringify({ name: 'bb', container_format: 'docker', disk_format: 'raw' }) })).json()) as { id: string };
    await fetch(`${url}/image/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'x-auth-token': demo, 'content-type': 'application/octet-stream' }, body: busyboxDockerArchive({ cmd: ['sleep', '3600'] }) as unknown as BodyInit });

    // HAFEN_SIM_NETWORK=1: every server gets a port on one /16 network (the network service's cost too).
    let networks: unknown = 'none';
    if (process.env.HAFEN_SIM_NETWORK === '1') {
      const net = (await (await fetch(`${url}/network/v2.0/networks`, { method: 'POST', headers: h, body: JSON.stringify({ network: { name: 'simnet' } }) })).json()) as { network: { id: string } };
      const sub = await fetch(`${url}/network/v2.0/subnets`, { method: 'POST', headers: h, body: JSON.stringify({ subnet: { network_id: net.network.id, ip_version: 4, cidr: '10.200.0.0/16' } }) });
      if (sub.status !== 201) throw new Error(`subnet: ${sub.status} ${await sub.text()}`);
      const nq = await fetch(`${url}/network/v2.0/quotas/${demoProject}`, { method: 'PUT', headers: { 'x-auth-token': admin, 'content-type': 'application/json' }, body: JSON.stringify({ quota: { port: -1 } }) });
      if (nq.status !== 200) throw new Error(`port quota: ${nq.status} ${await nq.text()}`);
      networks = [{ uuid: net.network.id }];
    }
    // Boots: every POST from the request thread; ACTIVE when the last build has finished.
    const body = JSON.stringify({ server: { name: 'sim', imageRef: img.id, flavorRef: '1', networks } });
    t0 = performance.now();
    const [main0, processCpu0, monotonic0, loop0] = [mainThreadSchedMs(), processCpuMs(), process.hrtime.bigint(), performance.eventLoopUtilization()];
    const posts = await sendCount(`${url}/compute/v2.1/servers`, { method: 'POST', headers: h, body, count: servers, connections, expectStatus: 202 });
    const postsMs = performance.now() - t0;
    await cloud.compute.service.settle();
    const bootMs = performance.now() - t0;
    const [main1, processCpu, monotonic1, loop] = [mainThreadSchedMs(), processCpuMs() - processCpu0, process.hrtime.bigint(), performance.eventLoopUtilization(loop0)];
    const [mainCpu, mainWaited] = [main1.cpu - main0.cpu, main1.waited - main0.waited];
    const placements = await cloud.compute.service.hosts.placements();
    // Every page of the list (at most 1,000 a page, as Nova's max_limit).
    const all: { id: string; status: string }[] = [];
    for (let marker = ''; ; ) {
      const page = (await (await fetch(`${url}/compute/v2.1/servers/detail?limit=1000${marker ? `&marker=${marker}` : ''}`, { headers: { 'x-auth-token': demo } })).json()) as { servers: { id: string; status: string }[] };
      all.push(...page.servers);
      if (page.servers.length < 1000) break;
      marker = page.servers[page.servers.length - 1]!.id;
    }
    const active = all.filter((r) => r.status === 'ACTIVE').length;
    const used = new Set(all.map((r) => placements.get(r.id))).size;
    console.log(`boot ${servers} servers (${connections} connections): ${(bootMs / 1000).toFixed(1)} s, ${((servers * 1000) / bootMs).toFixed(0)} boots/s to ACTIVE (target 200); POST p50 ${pct(posts.latencies, 50).toFixed(1)} ms p99 ${pct(posts.latencies, 99).toFixed(1)} ms; ${active} ACTIVE on ${used} hosts`);
    console.log(`controller CPU a boot: ${(mainCpu / servers).toFixed(2)} ms on its event loop (${((100 * mainCpu) / bootMs).toFixed(0)} % of the boot phase's wall time), ${(processCpu / servers).toFixed(2)} ms the whole process (request thread and collector included); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    // Where the event loop's wall time went: running, runnable but waiting for a core (the machine's
    // other work), and idle (nothing to do: waiting on I/O, timers or another thread).
    console.log(`event loop over the boot phase: on a core ${((100 * mainCpu) / bootMs).toFixed(0)} %, waiting for a core ${((100 * mainWaited) / bootMs).toFixed(0)} %, busy by Node's count (event-loop utilisation) ${(100 * loop.utilization).toFixed(0)} %; POSTs answered in ${(postsMs / 1000).toFixed(1)} s of the ${(bootMs / 1000).toFixed(1)} s`);
    // The boot phase on the monotonic clock (µs), as `node --cpu-prof` profiles time their samples.
    if (process.env.HAFEN_SIM_PROFILE_WINDOW === '1') console.log(`boot phase (monotonic µs): ${monotonic0 / 1000n} ${monotonic1 / 1000n}`);
    console.log(`scheduling decision over ${hosts} hosts: p50 ${pct(decisions, 50).toFixed(2)} ms, p99 ${pct(decisions, 99).toFixed(2)} ms, max ${pct(decisions, 100).toFixed(2)} ms (target p99 20 ms; ${decisions.length} decisions)`);
    if (active !== servers) throw new Error(`only ${active} of ${servers} servers are ACTIVE`);

    // The controller's CPU a page: its event loop's thread over the whole measurement (the client runs
    // on a thread of its own), warm-up included, divided by every answer it gave.
    const [listCpu0, listMonotonic0] = [mainThreadSchedMs(), process.hrtime.bigint()];
    const list = await measure(`${url}/compute/v2.1/servers/detail?limit=1000`, { headers: { 'x-auth-token': demo }, connections: 1, durationMs: options.durationMs, warmupMs: options.warmupMs, expectStatus: 200 });
    const [listCpu1, listMonotonic1] = [mainThreadSchedMs(), process.hrtime.bigint()];
    const answers = list.count + (list.warmupCount ?? 0);
    console.log(`list 1,000 servers with detail (of ${servers}), 1 connection: p50 ${list.p50Ms.toFixed(1)} ms, p99 ${list.p99Ms.toFixed(1)} ms, ${list.requestsPerSecond.toFixed(0)} req/s (target p50 20 ms)`);
    console.log(`controller CPU a page: ${((listCpu1.cpu - listCpu0.cpu) / answers).toFixed(2)} ms on its event loop, waiting for a core ${((listCpu1.waited - listCpu0.waited) / answers).toFixed(2)} ms (${answers} pages); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    if (process.env.HAFEN_SIM_PROFILE_WINDOW === '1') console.log(`list phase (monotonic µs): ${listMonotonic0 / 1000n} ${listMonotonic1 / 1000n}`);
  } finally {
    await cloud.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
