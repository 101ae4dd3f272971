// The `hafen:container` extension of a server create body: Docker settings beyond the flavor
// (command, entrypoint, environment, restart policy ...) that orchestration's Docker containers and
// Compose services need. Checked here once; nothing in it can widen a container's privileges.
import { createHash } from 'node:crypto';
import { BadRequestError } from '../platform/errors.ts';
import type { ContainerOptions } from '../agent/driver.ts';

const bad = (field: string, why: string) => new BadRequestError(`Invalid input for field/attribute hafen:container.${field}: ${why}`);

const strings = (v: unknown, field: string): string[] => {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw bad(field, 'must be a list of strings');
  return v as string[];
};

export function parseContainerOptions(v: unknown): ContainerOptions | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('', 'must be an object');
  const o = v as Record<string, unknown>;
  const known = ['command', 'entrypoint', 'env', 'user', 'working_dir', 'hostname', 'tty', 'open_stdin', 'restart_policy', 'cpu_shares', 'cpuset', 'read_only', 'labels', 'cap_drop', 'healthcheck', 'volumes', 'aliases', 'dns_search', 'named_volumes'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw bad(k, `unknown setting (one of ${known.join(', ')})`);
  const out: ContainerOptions = {};
  if (o.command !== undefined) out.command = strings(o.command, 'command');
  if (o.entrypoint !== undefined) out.entrypoint = strings(o.entrypoint, 'entrypoint');
  if (o.env !== undefined) {
    out.env = strings(o.env, 'env');
    if (out.env.some((e) => !/^[^=\s]+(=|$)/.test(e))) throw bad('env', 'each entry is NAME=value');
  }
  for (const [k, key] of [['user', 'user'], ['working_dir', 'workingDir'], ['hostname', 'hostname'], ['cpuset', 'cpuset']] as const) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== 'string' || !o[k]) throw bad(k, 'must be a non-empty string');
    out[key] = o[k] as string;
  }
  if (out.hostname && !/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(out.hostname)) throw bad('hostname', 'not a valid host name');
  if (out.cpuset && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(out.cpuset)) throw bad('cpuset', 'must look like 0-1,3');
  for (const [k, key] of [['tty', 'tty'], ['open_stdin', 'openStdin'], ['read_only', 'readOnly']] as const) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== 'boolean') throw bad(k, 'must be a boolean');
    out[key] = o[k] as boolean;
  }
  if (o.cpu_shares !== undefined) {
    if (!Number.isInteger(o.cpu_shares) || (o.cpu_shares as number) < 2 || (o.cpu_shares as number) > 262144) throw bad('cpu_shares', 'must be an integer from 2 to 262144');
    out.cpuShares = o.cpu_shares as number;
  }
  if (o.restart_policy !== undefined) {
    const r = o.restart_policy as { name?: unknown; maximum_retry_count?: unknown };
    if (!r || typeof r !== 'object' || !['no', 'always', 'on-failure', 'unless-stopped'].includes(String(r.name))) throw bad('restart_policy', 'name must be no, always, on-failure or unless-stopped');
    out.restartPolicy = { name: r.name as NonNullable<ContainerOptions['restartPolicy']>['name'], ...(r.maximum_retry_count !== undefined ? { maximumRetryCount: Number(r.maximum_retry_count) } : {}) };
  }
  if (o.labels !== undefined) {
    if (!o.labels || typeof o.labels !== 'object' || Array.isArray(o.labels) || Object.values(o.labels).some((x) => typeof x !== 'string')) throw bad('labels', 'must be an object of strings');
    out.labels = o.labels as Record<string, string>;
  }
  if (o.cap_drop !== undefined) out.capDrop = strings(o.cap_drop, 'cap_drop');
  for (const [k, key] of [['aliases', 'aliases'], ['dns_search', 'dnsSearch']] as const) {
    if (o[k] === undefined) continue;
    out[key] = strings(o[k], k);
    if (out[key]!.some((n) => !/^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/.test(n))) throw bad(k, 'each is a DNS name');
  }
  if (o.named_volumes !== undefined) {
    if (!Array.isArray(o.named_volumes)) throw bad('named_volumes', 'must be a list of {name, target}');
    out.namedVolumes = o.named_volumes.map((v, i) => {
      const x = v as { name?: unknown; target?: unknown };
      if (!x || typeof x.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(x.name)) throw bad(`named_volumes[${i}].name`, 'a volume name of letters, digits, _ . -');
      if (typeof x.target !== 'string' || !x.target.startsWith('/') || x.target.includes(':')) throw bad(`named_volumes[${i}].target`, 'an absolute mount point inside the container');
      return { name: x.name, target: x.target };
    });
  }
  if (o.volumes !== undefined) {
    out.volumes = strings(o.volumes, 'volumes');
    if (out.volumes.some((v) => !v.startsWith('/') || v.includes(':'))) throw bad('volumes', 'each is an absolute mount point inside the container (host paths are never mounted)');
  }
  if (o.healthcheck !== undefined) {
    const h = o.healthcheck as Record<string, unknown>;
    if (!h || typeof h !== 'object') throw bad('healthcheck', 'must be an object');
    out.healthcheck = {
      test: strings(h.test, 'healthcheck.test'),
      ...(h.interval !== undefined ? { intervalS: Number(h.interval) } : {}),
      ...(h.timeout !== undefined ? { timeoutS: Number(h.timeout) } : {}),
      ...(h.retries !== undefined ? { retries: Number(h.retries) } : {}),
      ...(h.start_period !== undefined ? { startPeriodS: Number(h.start_period) } : {}),
    };
  }
  return out;
}

/** The engine volume of a project's named volume: no tenant data in the name, and per project. */
export function engineVolumeName(projectId: string, name: string): string {
  return `hafen-vol-${createHash('sha256').update(`${projectId}\u0000${name}`).digest('hex').slice(0, 32)}`;
}
