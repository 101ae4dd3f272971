// `hafen status`: whether the all-in-one cloud runs, and each engine it drives from this machine with
// the confinement its tenant containers run under (as the Docker driver reports it to compute).
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { enginePaths, readPid } from '../host/local-engine.ts';
import { engineEndpointLabel } from '../host/engine-client.ts';
import { DockerDriver } from '../agent/docker/driver.ts';
import type { HostConfinement } from '../agent/driver.ts';

/** One line per part of the confinement, as a person reads it. */
export function describeConfinement(c: HostConfinement): string[] {
  return [
    `user namespaces: ${c.usernsRemap ? `remapped (root in a container is uid ${c.usernsRemap.uid} on the host)` : 'not remapped (root in a container is root on the host)'}`,
    `seccomp: ${c.seccomp ?? 'none (the kernel has no seccomp)'}`,
    `apparmor: ${c.apparmor ?? 'not enabled on this host'}; selinux: ${c.selinux ? 'enabled' : 'not enabled'}`,
    `capabilities: ${c.capabilities.join(' ')} (dropped: ${c.droppedCapabilities.join(' ')} and all others)`,
    `no-new-privileges: ${c.noNewPrivileges ? 'yes' : 'no'}; pids limit: ${c.pidsLimit ? "the flavor's" : 'not enforced (no pids controller)'}`,
    `host guard: ${c.hostGuard ? "tenant traffic to the host's addresses is dropped" : 'none'}`,
  ];
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('Show whether the cloud runs, and the engines it drives from here with their confinement')
    .action(async () => {
      const config = loadConfig();
      const pid = readPid(path.join(config.dataDir, 'hafen.pid'), 'hafen');
      const out: string[] = [pid ? `hafen: running (pid ${pid}) at ${config.publicUrl}` : 'hafen: not running'];
      const engines = config.agentsOnly ? [] : config.dockerHosts.length ? config.dockerHosts : [`unix://${enginePaths(config.dataDir).socket}`];
      if (config.agentsOnly) out.push('engines: none in-process (hosts come from agents: openstack hypervisor show <host>)');
      for (const endpoint of engines) {
        const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000).unref());
        const capacity = await Promise.race([new DockerDriver(endpoint).capacity().catch(() => undefined), timeout]);
        if (!capacity) {
          out.push(`engine ${engineEndpointLabel(endpoint)}: does not answer`);
          continue;
        }
        out.push(`engine ${engineEndpointLabel(endpoint)}: ${capacity.hostname}, ${capacity.vcpus} vCPUs, ${capacity.memoryMiB} MiB`);
        if (capacity.confinement) out.push(...describeConfinement(capacity.confinement).map((l) => `  ${l}`));
      }
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
