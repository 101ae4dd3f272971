// Every setting hafen reads, with its environment variable, default and validation.
// Settings are parsed once into a typed, frozen Config; a bad value stops start-up naming the variable.
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { checkCertDir, formatEngineEndpoint, parseEngineEndpoint } from './host/engine-client.ts';

export const checkoutDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Config {
  dataDir: string;
  host: string;
  port: number;
  publicUrl: string;
  databaseUrl: string;
  /**
   * Docker endpoints the all-in-one agent drives: unix:///path, or tcp://host:port?cert_dir=/dir (TLS with
   * hafen's client certificate, the directory from the entry or HAFEN_DOCKER_CERT_DIR); empty means "start our own".
   */
  dockerHosts: string[];
  /**
   * The all-in-one external network's range (floating IPs on this machine's loopback): by default a /20
   * of 127.128.0.0/10 chosen by the data directory (clear of the 127.77.0.0/16 of cluster front addresses), so that clouds on one machine do not share addresses.
   */
  floatingIpRange: string;
  /**
   * Where a project's "default" network takes its /24 (HAFEN_DEFAULT_NETWORK_RANGE, 10.96.0.0/12 unless
   * set): clouds sharing one engine (tests, benches) give each its own range, as bridges may not overlap.
   */
  defaultNetworkRange: string;
  /** HAFEN_DOCKER_HOSTS=none: no engine is driven in-process; hosts come only from remote agents (`hafen agent`). */
  agentsOnly: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `auto`: one readable line per request on a terminal, JSON lines otherwise; `text` or `json` force one. */
  logFormat: 'auto' | 'text' | 'json';
  region: string;
  adminPassword: string | undefined;
  demoPassword: string | undefined;
  tokenTtlMs: number;
  maxJsonBodyBytes: number;
  /** scrypt cost parameter N (a power of two); the slow part of a password check. */
  passwordHashCost: number;
  lockoutAttempts: number;
  lockoutDurationMs: number;
  /** Keystone's [security_compliance]: passwords expire this many days after they are set (0: never). */
  passwordExpiresDays: number;
  /** A new password must differ from this many of the user's passwords, itself included (0 or 1: no check). */
  uniqueLastPasswordCount: number;
  /** Days a self-chosen password must be kept before the user may change it again. */
  minimumPasswordAgeDays: number;
  /** Passwords an administrator sets (user create or reset) must be changed by the user at first use. */
  changePasswordUponFirstUse: boolean;
  /** Passwords must match this (a JavaScript regular expression), explained by the description. */
  passwordRegex: RegExp | undefined;
  passwordRegexDescription: string | undefined;
  /** Number of signing keys kept after rotation (the primary plus older ones still accepted). */
  signingKeysKept: number;
  /** Per-project image quotas: how many images, and how many bytes of image data. */
  imageQuotaCount: number;
  imageQuotaBytes: number;
  /** An image import (web-download, docker-registry) whose source sends nothing for this long fails. */
  importIdleTimeoutMs: number;
  /** How many hosts a failing build is tried on before the server goes to ERROR. */
  schedulerMaxAttempts: number;
  /** How often compute compares its rows with what the engines run. */
  reconcileIntervalMs: number;
  /** A host whose agent has not reported for this long is down and gets no new servers. */
  hostDownAfterMs: number;
  /** Overcommit: how many vCPUs and MiB of RAM the scheduler places per physical one. */
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  /** Simulated compute hosts (the fake driver) for control-plane scale tests; 0 (never) unless set. */
  fakeHosts: number;
  /** Size of each simulated host. */
  fakeHostVcpus: number;
  fakeHostRamMiB: number;
  /**
   * Where cluster nodes meet (HAFEN_CLUSTER_NODE_NETWORK): `bridge:<cidr>` (one local engine) or
   * `macvlan:<parent>:<cidr>:<first>-<last>` (hosts on one segment; nodes take addresses in that range).
   */
  clusterNodeNetwork: string;
  /** Addresses the clusters' Docker API fronts listen on, one per cluster (HAFEN_CLUSTER_FRONT_ADDRESSES, a CIDR). */
  clusterFrontAddresses: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function regex(env: Env, name: string): RegExp | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    return new RegExp(raw);
  } catch (err) {
    throw new ConfigError(name, `is not a regular expression: ${(err as Error).message}`);
  }
}

function databaseUrl(env: Env, dataDir: string): string {
  const raw = env.HAFEN_DATABASE_URL;
  if (raw === undefined || raw === '') return `sqlite://${path.join(dataDir, 'hafen.db')}`;
  if (/^postgres(ql)?:\/\/.+/.test(raw) || /^sqlite:\/\/.+/.test(raw) || raw === 'sqlite::memory:') return raw;
  throw new ConfigError('HAFEN_DATABASE_URL', `must start with sqlite:// or postgres://, got "${raw}"`);
}

function dockerHosts(env: Env): string[] {
  const raw = env.HAFEN_DOCKER_HOSTS;
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'none') return [];
  const certDir = env.HAFEN_DOCKER_CERT_DIR?.trim() || undefined;
  if (certDir !== undefined && !path.isAbsolute(certDir)) throw new ConfigError('HAFEN_DOCKER_CERT_DIR', `must be an absolute path, got "${certDir}"`);
  // Engines over TCP are reached with TLS only: each entry is written out with its certificate directory.
  return raw.split(',').map((h) => h.trim()).filter(Boolean).map((h) => {
    try {
      const endpoint = parseEngineEndpoint(h, certDir);
      if (endpoint.kind === 'tcp') checkCertDir(endpoint.certDir);
      return formatEngineEndpoint(endpoint);
    } catch (err) {
      throw new ConfigError('HAFEN_DOCKER_HOSTS', (err as Error).message);
    }
  });
}

/** A byte of the data directory's hash: clouds on one machine pick different default ranges. */
function dataDirByte(dataDir: string): number {
  let h = 0;
  for (const c of dataDir) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % 250;
}

const CIDR24 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/(1[6-9]|2[0-4])$/;

function clusterNodeNetwork(env: Env, dataDir: string): string {
  const raw = env.HAFEN_CLUSTER_NODE_NETWORK;
  if (raw === undefined || raw === '') return `bridge:10.250.${dataDirByte(dataDir)}.0/24`;
  const bridge = /^bridge:(.+)$/.exec(raw);
  const macvlan = /^macvlan:([\w.-]+):([^:]+):(\d+\.\d+\.\d+\.\d+)-(\d+\.\d+\.\d+\.\d+)$/.exec(raw);
  if ((bridge && CIDR24.test(bridge[1]!)) || (macvlan && CIDR24.test(macvlan[2]!))) return raw;
  throw new ConfigError('HAFEN_CLUSTER_NODE_NETWORK', `must be bridge:<a.b.c.0/N> or macvlan:<parent>:<a.b.c.0/N>:<first>-<last>, got "${raw}"`);
}

function clusterFrontAddresses(env: Env, dataDir: string): string {
  const raw = env.HAFEN_CLUSTER_FRONT_ADDRESSES;
  if (raw === undefined || raw === '') return `127.77.${dataDirByte(dataDir)}.0/24`;
  if (!CIDR24.test(raw)) throw new ConfigError('HAFEN_CLUSTER_FRONT_ADDRESSES', `must be a CIDR like 127.77.0.0/24, got "${raw}"`);
  return raw;
}

function defaultNetworkRange(env: Env): string {
  const raw = env.HAFEN_DEFAULT_NETWORK_RANGE?.trim();
  if (!raw) return '10.96.0.0/12';
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(raw);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const bits = Number(m?.[5]);
  const base = octets.reduce((n, o) => n * 256 + o, 0);
  if (!m || octets.some((o) => o > 255) || bits < 8 || bits > 24 || base % 2 ** (32 - bits) !== 0) {
    throw new ConfigError('HAFEN_DEFAULT_NETWORK_RANGE', `must be an IPv4 range from /8 to /24 such as 10.96.0.0/12, got "${raw}"`);
  }
  return raw;
}

function floatingIpRange(env: Env, dataDir: string): string {
  const raw = env.HAFEN_FLOATING_IP_RANGE?.trim();
  if (raw) {
    const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(raw);
    if (!m || m.slice(1, 4).some((o) => Number(o) > 255) || Number(m[4]) < 16 || Number(m[4]) > 28) {
      throw new ConfigError('HAFEN_FLOATING_IP_RANGE', `must be a range of 127.0.0.0/8 from /16 to /28 (floating IPs live on loopback), got "${raw}"`);
    }
    return raw;
  }
  const n = createHash('sha256').update(dataDir).digest().readUInt16BE(0) % 1024;
  return `127.${128 + (n >> 4)}.${(n & 15) * 16}.0/20`;
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(env.HAFEN_DATA_DIR || path.join(checkoutDir, '.hafen'));
  const host = env.HAFEN_HOST || '127.0.0.1';
  if (!/^[\w.:-]+$/.test(host)) throw new ConfigError('HAFEN_HOST', `"${host}" is not a host name or address`);
  const port = integer(env, 'HAFEN_PORT', 8780, 0, 65535);
  const publicUrl = (env.HAFEN_PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(publicUrl)) {
    throw new ConfigError('HAFEN_PUBLIC_URL', `must be http(s)://host[:port] with no path, got "${publicUrl}"`);
  }
  const passwordHashCost = integer(env, 'HAFEN_PASSWORD_HASH_COST', 32768, 1024, 1 << 20);
  if ((passwordHashCost & (passwordHashCost - 1)) !== 0) {
    throw new ConfigError('HAFEN_PASSWORD_HASH_COST', `must be a power of two, got ${passwordHashCost}`);
  }
  return Object.freeze({
    dataDir,
    host,
    port,
    publicUrl,
    databaseUrl: databaseUrl(env, dataDir),
    dockerHosts: dockerHosts(env),
    floatingIpRange: floatingIpRange(env, dataDir),
    defaultNetworkRange: defaultNetworkRange(env),
    agentsOnly: env.HAFEN_DOCKER_HOSTS?.trim() === 'none',
    logLevel: oneOf(env, 'HAFEN_LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    logFormat: oneOf(env, 'HAFEN_LOG_FORMAT', 'auto', ['auto', 'text', 'json'] as const),
    region: env.HAFEN_REGION || 'RegionOne',
    adminPassword: env.HAFEN_ADMIN_PASSWORD || undefined,
    demoPassword: env.HAFEN_DEMO_PASSWORD || undefined,
    tokenTtlMs: integer(env, 'HAFEN_TOKEN_TTL', 3600, 60, 7 * 24 * 3600) * 1000,
    maxJsonBodyBytes: integer(env, 'HAFEN_MAX_JSON_BODY', 1 << 20, 1024, 64 << 20),
    passwordHashCost,
    lockoutAttempts: integer(env, 'HAFEN_LOCKOUT_ATTEMPTS', 0, 0, 1000),
    lockoutDurationMs: integer(env, 'HAFEN_LOCKOUT_DURATION', 1800, 1, 7 * 24 * 3600) * 1000,
    passwordExpiresDays: integer(env, 'HAFEN_PASSWORD_EXPIRES_DAYS', 0, 0, 100_000),
    uniqueLastPasswordCount: integer(env, 'HAFEN_UNIQUE_LAST_PASSWORD_COUNT', 0, 0, 24),
    minimumPasswordAgeDays: integer(env, 'HAFEN_MINIMUM_PASSWORD_AGE', 0, 0, 100_000),
    changePasswordUponFirstUse: oneOf(env, 'HAFEN_CHANGE_PASSWORD_UPON_FIRST_USE', 'false', ['true', 'false'] as const) === 'true',
    passwordRegex: regex(env, 'HAFEN_PASSWORD_REGEX'),
    passwordRegexDescription: env.HAFEN_PASSWORD_REGEX_DESCRIPTION || undefined,
    signingKeysKept: integer(env, 'HAFEN_SIGNING_KEYS_KEPT', 3, 2, 100),
    imageQuotaCount: integer(env, 'HAFEN_IMAGE_QUOTA_COUNT', 100, 0, 1_000_000),
    imageQuotaBytes: integer(env, 'HAFEN_IMAGE_QUOTA_BYTES', 50 * 2 ** 30, 0, Number.MAX_SAFE_INTEGER),
    importIdleTimeoutMs: integer(env, 'HAFEN_IMPORT_IDLE_TIMEOUT', 30, 1, 3600) * 1000,
    schedulerMaxAttempts: integer(env, 'HAFEN_SCHEDULER_MAX_ATTEMPTS', 3, 1, 100),
    reconcileIntervalMs: integer(env, 'HAFEN_RECONCILE_INTERVAL', 5, 1, 3600) * 1000,
    hostDownAfterMs: integer(env, 'HAFEN_HOST_DOWN_AFTER', 30, 2, 3600) * 1000,
    cpuAllocationRatio: integer(env, 'HAFEN_CPU_ALLOCATION_RATIO', 16, 1, 1000),
    ramAllocationRatio: integer(env, 'HAFEN_RAM_ALLOCATION_RATIO_PERCENT', 150, 10, 10_000) / 100,
    fakeHosts: integer(env, 'HAFEN_FAKE_HOSTS', 0, 0, 100_000),
    fakeHostVcpus: integer(env, 'HAFEN_FAKE_HOST_VCPUS', 16, 1, 4096),
    fakeHostRamMiB: integer(env, 'HAFEN_FAKE_HOST_RAM_MIB', 65536, 64, 64 * 2 ** 20),
    clusterNodeNetwork: clusterNodeNetwork(env, dataDir),
    clusterFrontAddresses: clusterFrontAddresses(env, dataDir),
  });
}
