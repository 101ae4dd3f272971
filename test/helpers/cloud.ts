// Starts a real hafen cloud for a test: its own data dir and port, real SQLite (or PostgreSQL when
// the test asks), fast password hashing. Gives tokens and a way to run the real openstack CLI.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { checkoutDir, loadConfig } from '../../src/config.ts';
import { createCloud, type Cloud } from '../../src/main.ts';
import { claimFloatingIpRange, testClusterRanges } from './subnets.ts';

const exec = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export function testDataDir(name: string): string {
  const dir = path.join(checkoutDir, '.hafen-test', `${name}-${process.pid}-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export interface TestCloud {
  cloud: Cloud;
  url: string;
  dataDir: string;
  env: Record<string, string>;
  /** Password-authenticated project token for a bootstrap user. */
  token(who?: 'admin' | 'demo'): Promise<string>;
  /** Runs the real `openstack` CLI against this cloud; resolves with stdout, rejects with stderr. */
  openstack(args: string[], cloudName?: 'hafen-admin' | 'hafen-demo' | string, extraEnv?: Record<string, string>): Promise<string>;
  /** JSON request helper. */
  request(method: string, urlPath: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  close(): Promise<void>;
}

export async function startTestCloud(name: string, env: Record<string, string> = {}): Promise<TestCloud> {
  const dataDir = env.HAFEN_DATA_DIR ?? testDataDir(name);
  const port = env.HAFEN_PORT ? Number(env.HAFEN_PORT) : await freePort();
  const clusterRanges = await testClusterRanges(dataDir);
  const fullEnv: Record<string, string> = {
    HAFEN_DATA_DIR: dataDir,
    HAFEN_PORT: String(port),
    // Floating IPs from a range no other test cloud on the machine holds (a restart keeps its first one).
    HAFEN_FLOATING_IP_RANGE: env.HAFEN_FLOATING_IP_RANGE ?? (await claimFloatingIpRange()),
    // Cluster node networks and front addresses no other test cloud on the machine holds.
    HAFEN_CLUSTER_NODE_NETWORK: clusterRanges.nodeNetwork,
    HAFEN_CLUSTER_FRONT_ADDRESSES: clusterRanges.frontAddresses,
    HAFEN_LOG_LEVEL: 'silent',
    HAFEN_PASSWORD_HASH_COST: '1024',
    ...env,
  };
  const config = loadConfig(fullEnv);
  const cloud = await createCloud(config);
  await cloud.listen();
  const url = config.publicUrl;
  const tokens = new Map<string, string>();

  const request: TestCloud['request'] = async (method, urlPath, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers['x-auth-token'] = opts.token;
    let body: string | Uint8Array | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' || opts.body instanceof Uint8Array ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${url}${urlPath}`, { method, headers, body: body as BodyInit | undefined });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  return {
    cloud,
    url,
    dataDir,
    env: fullEnv,
    async token(who = 'demo') {
      const cached = tokens.get(who);
      if (cached) return cached;
      const c = cloud.identity.credentials[who];
      const res = await request('POST', '/identity/v3/auth/tokens', {
        body: {
          auth: {
            identity: { methods: ['password'], password: { user: { name: c.username, domain: { id: 'default' }, password: c.password } } },
            scope: { project: { name: c.project, domain: { id: 'default' } } },
          },
        },
      });
      if (res.status !== 201) throw new Error(`token for ${who}: ${res.status} ${res.text}`);
      const token = res.headers.get('x-subject-token')!;
      tokens.set(who, token);
      return token;
    },
    async openstack(args, cloudName = 'hafen-demo', extraEnv = {}) {
      try {
        const { stdout } = await exec('openstack', args, {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', OS_CLIENT_CONFIG_FILE: cloud.cloudsYaml, OS_CLOUD: cloudName, ...extraEnv },
          // A deadline, not a speed check: the CLI's start alone takes 10-30 s at load 20, and a --wait longer.
          timeout: 300_000,
          maxBuffer: 16 << 20,
        });
        return stdout;
      } catch (err) {
        const e = err as { stderr?: string; stdout?: string; message: string };
        throw new Error(`openstack ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
      }
    },
    request,
    async close() {
      await cloud.close();
    },
  };
}
