// The `hafen:container` extension of a server create body (its schema is ContainerOptionsBody):
// Docker settings beyond the flavor (command, entrypoint, environment, restart policy ...) that
// orchestration's Docker containers and Compose services need, turned into the driver's options.
// Nothing in it can widen a container's privileges.
import { createHash } from 'node:crypto';
import type { ContainerOptions } from '../agent/driver.ts';
import type { ContainerOptionsBody } from './schemas.ts';

export function parseContainerOptions(o: ContainerOptionsBody | null | undefined): ContainerOptions | null {
  if (o === undefined || o === null) return null;
  const out: ContainerOptions = {};
  if (o.command !== undefined) out.command = o.command;
  if (o.entrypoint !== undefined) out.entrypoint = o.entrypoint;
  if (o.env !== undefined) out.env = o.env;
  if (o.user !== undefined) out.user = o.user;
  if (o.working_dir !== undefined) out.workingDir = o.working_dir;
  if (o.hostname !== undefined) out.hostname = o.hostname;
  if (o.cpuset !== undefined) out.cpuset = o.cpuset;
  if (o.tty !== undefined) out.tty = o.tty;
  if (o.open_stdin !== undefined) out.openStdin = o.open_stdin;
  if (o.read_only !== undefined) out.readOnly = o.read_only;
  if (o.cpu_shares !== undefined) out.cpuShares = o.cpu_shares;
  if (o.restart_policy !== undefined) {
    out.restartPolicy = { name: o.restart_policy.name, ...(o.restart_policy.maximum_retry_count !== undefined ? { maximumRetryCount: o.restart_policy.maximum_retry_count } : {}) };
  }
  if (o.labels !== undefined) out.labels = o.labels;
  if (o.cap_drop !== undefined) out.capDrop = o.cap_drop;
  if (o.aliases !== undefined) out.aliases = o.aliases;
  if (o.dns_search !== undefined) out.dnsSearch = o.dns_search;
  if (o.named_volumes !== undefined) out.namedVolumes = o.named_volumes.map((v) => ({ name: v.name, target: v.target }));
  if (o.volumes !== undefined) out.volumes = o.volumes;
  if (o.healthcheck !== undefined) {
    const h = o.healthcheck;
    out.healthcheck = {
      test: h.test,
      ...(h.interval !== undefined ? { intervalS: h.interval } : {}),
      ...(h.timeout !== undefined ? { timeoutS: h.timeout } : {}),
      ...(h.retries !== undefined ? { retries: h.retries } : {}),
      ...(h.start_period !== undefined ? { startPeriodS: h.start_period } : {}),
    };
  }
  return out;
}

/** The engine volume of a project's named volume: no tenant data in the name, and per project. */
export function engineVolumeName(projectId: string, name: string): string {
  return `hafen-vol-${createHash('sha256').update(`${projectId}\u0000${name}`).digest('hex').slice(0, 32)}`;
}
