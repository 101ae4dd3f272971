// Benchmark: the Zun API against the same engine used directly, in alternating rounds. One container
// created with run=true to Running against `docker run -d` (the Engine API's create+start of the same
// image, limits and profile; and the docker CLI itself), each twice: as `docker run -d` does it on
// this engine (which runs with --bridge none: no network at all) and joined to a user-defined bridge
// network of the same engine (`docker run -d --network`, what a Zun container on a Neutron network
// costs the engine: a veth, the embedded DNS resolver's setup in the container's namespace); a
// non-interactive exec round trip against `docker exec` (Engine API exec create+start+inspect; and
// the CLI); the logs of a container that printed 100,000 lines, read whole through the API against
// the engine's own logs call, both read by the same kind of client (node:http).
// HAFEN_BENCH_ROUNDS (default 10), HAFEN_BENCH_LOG_LINES (default 100000).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';
import { TENANT_CAPABILITIES } from '../src/agent/docker/driver.ts';
import type { BenchOptions } from './run.ts';
import { startBenchCloud } from './cloud.ts';

export const description = 'Zun run/exec/logs through the API vs the same engine used directly';

const execFileP = promisify(execFile);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const sleep = (n: number) => new Promise((res) => setTimeout(res, n));

export async function run(_options: BenchOptions): Promise<void> {
  const rounds = Number(process.env.HAFEN_BENCH_ROUNDS ?? 10);
  const lines = Number(process.env.HAFEN_BENCH_LOG_LINES ?? 100_000);
  const { cloud, url, docker, socket, token, headers, imageId, work } = await startBenchCloud('containers', { instances: 100, cores: 100, ram: 100 * 512 });
  const h = { ...headers, 'openstack-api-version': 'container 1.40' };
  const zun = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}/container/v1${path}`, { method, headers: h, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await r.text();
    if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, any>) : {};
  };
  const rawIds: string[] = [];
  // The raw side's own user-defined network (internal, like a Neutron network without a router).
  const rawNet = `bench-raw-net-${randomUUID().slice(0, 8)}`;
  const dockerCli = (...args: string[]) => execFileP('docker', ['-H', `unix://${socket}`, ...args], { maxBuffer: 64 << 20 });
  try {
    // Zun puts a container on the project's oldest network: the demo project gets one.
    const net = (await (await fetch(`${url}/network/v2.0/networks`, { method: 'POST', headers, body: JSON.stringify({ network: { name: 'bench-net' } }) })).json()) as { network: { id: string } };
    await fetch(`${url}/network/v2.0/subnets`, { method: 'POST', headers, body: JSON.stringify({ subnet: { network_id: net.network.id, cidr: `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24`, ip_version: 4 } }) });

    const status = async (id: string) => (await zun('GET', `/containers/${id}`)).status as string;
    const runOne = async (name: string, command: string[] = ['sleep', '3600']) => {
      const c = await zun('POST', '/containers?run=true', { name, image: imageId, image_driver: 'glance', memory: 64, command });
      for (;;) {
        const s = await status(c.uuid);
        if (s === 'Running') return c.uuid as string;
        if (s === 'Error') throw new Error(`run failed: ${JSON.stringify(await zun('GET', `/containers/${c.uuid}`))}`);
        await sleep(5);
      }
    };
    const deleteOne = async (id: string) => {
      await fetch(`${url}/container/v1/containers/${id}?force=True&stop=True`, { method: 'DELETE', headers: h });
      for (;;) {
        if ((await fetch(`${url}/container/v1/containers/${id}`, { headers: h })).status === 404) return;
        await sleep(5);
      }
    };
    // The warm-up run loads the image into the engine (cached from then on), known there by its content id.
    const warm = await runOne('warm');
    const engineImage = ((await (await fetch(`${url}/image/v2/images/${imageId}`, { headers: { 'x-auth-token': token } })).json()) as { docker_image_id: string }).docker_image_id;
    // What `docker run -d` does, with the driver's limits and profile, on the engine's default bridge.
    await docker.createNetwork({
      Name: rawNet,
      Driver: 'bridge',
      Internal: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24` }] },
      Options: { 'com.docker.network.driver.mtu': '1500' },
      Labels: { 'hafen.bench': 'raw' },
    });
    const rawCreate = async (cmd: string[], network?: string) => {
      const c = await docker.createContainer({
        name: `bench-raw-${randomUUID()}`,
        Image: engineImage,
        Cmd: cmd,
        Labels: { 'hafen.bench': 'raw' },
        HostConfig: { Memory: 64 << 20, MemorySwap: 64 << 20, NanoCpus: 1e9, PidsLimit: 1024, CapDrop: ['ALL'], CapAdd: TENANT_CAPABILITIES, SecurityOpt: ['no-new-privileges'], ...(network ? { NetworkMode: network } : {}) },
      });
      rawIds.push(c.id);
      await c.start();
      return c;
    };

    // A Nova server on the same network: what the shared compute and network path costs without Zun.
    const bootServer = async (name: string) => {
      const r = await fetch(`${url}/compute/v2.1/servers`, { method: 'POST', headers, body: JSON.stringify({ server: { name, imageRef: imageId, flavorRef: '1', networks: [{ uuid: net.network.id }] } }) });
      const id = ((await r.json()) as { server: { id: string } }).server.id;
      for (;;) {
        const s = ((await (await fetch(`${url}/compute/v2.1/servers/${id}`, { headers })).json()) as { server: { status: string } }).server;
        if (s.status === 'ACTIVE') return id;
        if (s.status === 'ERROR') throw new Error(`boot failed: ${JSON.stringify(s)}`);
        await sleep(5);
      }
    };
    const deleteServer = async (id: string) => {
      await fetch(`${url}/compute/v2.1/servers/${id}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
      for (;;) {
        if ((await fetch(`${url}/compute/v2.1/servers/${id}`, { headers })).status === 404) return;
        await sleep(5);
      }
    };

    // ---- run to Running
    const hafenMs: number[] = [];
    const rawMs: number[] = [];
    const cliMs: number[] = [];
    const rawNetMs: number[] = [];
    const cliNetMs: number[] = [];
    const novaMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t1 = performance.now();
      const server = await bootServer(`srv-${i}`);
      novaMs.push(performance.now() - t1);
      await deleteServer(server);
      let t0 = performance.now();
      const id = await runOne(`one-${i}`);
      hafenMs.push(performance.now() - t0);
      t0 = performance.now();
      const raw = await rawCreate(['sleep', '3600']);
      rawMs.push(performance.now() - t0);
      t0 = performance.now();
      const cli = (await dockerCli('run', '-d', '--label', 'hafen.bench=raw', '--memory', '64m', '--cpus', '1', engineImage, 'sleep', '3600')).stdout.trim();
      cliMs.push(performance.now() - t0);
      rawIds.push(cli);
      t0 = performance.now();
      const rawN = await rawCreate(['sleep', '3600'], rawNet);
      rawNetMs.push(performance.now() - t0);
      t0 = performance.now();
      const cliN = (await dockerCli('run', '-d', '--network', rawNet, '--label', 'hafen.bench=raw', '--memory', '64m', '--cpus', '1', engineImage, 'sleep', '3600')).stdout.trim();
      cliNetMs.push(performance.now() - t0);
      rawIds.push(cliN);
      await deleteOne(id);
      for (const c of [raw.id, cli, rawN.id, cliN]) await docker.getContainer(c).remove({ force: true });
    }
    const ratio = (xs: number[]) => `${(pct(hafenMs, 50) / pct(xs, 50)).toFixed(2)}x`;
    console.log(
      `run to Running: hafen p50 ${ms(pct(hafenMs, 50))} p99 ${ms(pct(hafenMs, 99))}; ` +
        `no network (docker run -d here): Engine API create+start p50 ${ms(pct(rawMs, 50))}, CLI p50 ${ms(pct(cliMs, 50))}, ratio p50 ${ratio(rawMs)} against the API, ${ratio(cliMs)} against the CLI; ` +
        `joined to a user-defined network (docker run -d --network): Engine API p50 ${ms(pct(rawNetMs, 50))}, CLI p50 ${ms(pct(cliNetMs, 50))}, ratio p50 ${ratio(rawNetMs)} against the API, ${ratio(cliNetMs)} against the CLI (target 1.1); ` +
        `a Nova server on the same network to ACTIVE p50 ${ms(pct(novaMs, 50))} (${ratio(novaMs)} of it is Zun's)`,
    );

    // ---- exec round trip (the warm container against a raw one of the same image)
    const raw = await rawCreate(['sleep', '3600']);
    const execHafen: number[] = [];
    const execRaw: number[] = [];
    const execCli: number[] = [];
    for (let i = 0; i < rounds * 3; i++) {
      let t0 = performance.now();
      const r = await zun('POST', `/containers/${warm}/execute?command=${encodeURIComponent('echo hello')}&run=true`);
      execHafen.push(performance.now() - t0);
      if (r.output !== 'hello\n' || r.exit_code !== 0) throw new Error(`exec answered ${JSON.stringify(r)}`);
      t0 = performance.now();
      const exec = await raw.exec({ Cmd: ['echo', 'hello'], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      await new Promise<void>((res, rej) => {
        stream.on('end', res).on('close', res).on('error', rej).resume();
      });
      await exec.inspect();
      execRaw.push(performance.now() - t0);
      t0 = performance.now();
      await dockerCli('exec', raw.id, 'echo', 'hello');
      execCli.push(performance.now() - t0);
    }
    console.log(
      `exec round trip: hafen p50 ${ms(pct(execHafen, 50))} p99 ${ms(pct(execHafen, 99))}; Engine API exec p50 ${ms(pct(execRaw, 50))}, docker exec (CLI) p50 ${ms(pct(execCli, 50))}; ` +
        `ratio p50 ${(pct(execHafen, 50) / pct(execRaw, 50)).toFixed(2)}x against the API, ${(pct(execHafen, 50) / pct(execCli, 50)).toFixed(2)}x against the CLI (target 1.2)`,
    );

    // ---- logs of `lines` lines, read whole
    const printer = ['awk', `BEGIN { for (i = 0; i < ${lines}; i++) printf "line %d of the log benchmark, some words to make it longer\\n", i }`];
    const logged = await zun('POST', '/containers?run=true', { name: 'printer', image: imageId, image_driver: 'glance', memory: 64, command: printer });
    for (;;) {
      if ((await status(logged.uuid)) === 'Stopped') break;
      await sleep(50);
    }
    const engineId = (await docker.listContainers({ all: true, filters: { label: [`hafen.server_id=${logged.uuid}`] } }))[0]?.Id;
    if (!engineId) throw new Error('the printer container is not on the engine');
    const logsHafen: number[] = [];
    const logsRaw: number[] = [];
    const firstHafen: number[] = [];
    const firstRaw: number[] = [];
    let bytes = 0;
    let rawBytes = 0;
    for (let i = 0; i < Math.max(3, Math.ceil(rounds / 2)); i++) {
      let t0 = performance.now();
      // Read with node:http, the kind of client the engine's answer is read with below.
      const r = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${url}/container/v1/containers/${logged.uuid}/logs?stdout=True&stderr=True`, { headers: h }, resolve).on('error', reject));
      let n = 0;
      for await (const c of r as AsyncIterable<Buffer>) {
        if (n === 0) firstHafen.push(performance.now() - t0);
        n += c.length;
      }
      logsHafen.push(performance.now() - t0);
      bytes = n;
      t0 = performance.now();
      // The engine's own answer, read whole over its socket (multiplexed frames, as the engine sends them).
      const res = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
        docker.modem.dial({ path: `/containers/${engineId}/logs?`, method: 'GET', options: { stdout: true, stderr: true }, isStream: true, statusCodes: { 200: true } }, (err: Error | null, s: unknown) =>
          err ? reject(err) : resolve(s as NodeJS.ReadableStream),
        );
      });
      let m = 0;
      for await (const c of res as AsyncIterable<Buffer>) {
        if (m === 0) firstRaw.push(performance.now() - t0);
        m += c.length;
      }
      logsRaw.push(performance.now() - t0);
      rawBytes = m;
      if (m < lines * 50) throw new Error(`the engine answered ${m} bytes of logs`);
    }
    const hafenRate = bytes / (pct(logsHafen, 50) / 1000) / 2 ** 20;
    const rawRate = rawBytes / (pct(logsRaw, 50) / 1000) / 2 ** 20;
    console.log(
      `logs of ${lines} lines (${(bytes / 2 ** 20).toFixed(1)} MiB as Zun's JSON string): hafen p50 ${ms(pct(logsHafen, 50))}, engine p50 ${ms(pct(logsRaw, 50))}; ` +
        `${(pct(logsRaw, 50) / pct(logsHafen, 50)).toFixed(2)}x the engine's speed for the same lines (target 0.8); ${hafenRate.toFixed(1)} MiB/s of JSON against ${rawRate.toFixed(1)} MiB/s of frames; ` +
        `first byte after p50 ${ms(pct(firstHafen, 50))} against ${ms(pct(firstRaw, 50))}`,
    );
    await deleteOne(logged.uuid);
    await deleteOne(warm);
  } finally {
    for (const id of rawIds) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    await docker.getNetwork(rawNet).remove().catch(() => undefined);
    await cloud.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
