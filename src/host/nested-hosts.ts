// Extra Docker hosts on this one machine for multi-host tests: nested dockerd containers on an outer
// engine, each with its own network namespace and address on a bridge the project creates.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { engineClient } from './engine-client.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from './test-images.ts';

export const NESTED_HOSTS_NETWORK = 'hafen-hosts';
/** Tried in order: another engine on this machine (another checkout's tests) may hold the first. */
export const NESTED_HOSTS_SUBNETS = [250, 251, 252, 253, ...Array.from({ length: 10 }, (_, i) => 240 + i)].map((n) => `172.31.${n}.0/24`);
const LABEL = 'hafen.nested-host';
const SET_LABEL = 'hafen.nested-host.set';
const OWNER_LABEL = 'hafen.nested-host.owner-pid';
const CGROUP_ROOT = '/sys/fs/cgroup';

export interface NestedHost {
  name: string;
  /** Its address on the hosts bridge (172.31.250.x unless that subnet was taken). */
  address: string;
  /** Where its engine answers: tcp://address:2375 (no TLS; the bridge is private to this machine). */
  endpoint: string;
  containerId: string;
}

export interface NestedHostSet {
  id: string;
  hosts: NestedHost[];
  /** Stops and removes every host of this set, their cgroups, and the network when no one else uses it. */
  teardown(): Promise<void>;
}

export interface NestedHostsOptions {
  /** The outer engine (socket path, unix:// or tcp://) the hosts run on. */
  outerEndpoint: string;
  count: number;
  /** Pid whose death makes the set stale (cleaned up by the next start); 0 keeps it until removed by hand. */
  ownerPid?: number;
  readyTimeoutMs?: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pingTcp(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ host: address, port, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

const notFound = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

async function ensureNetwork(docker: Docker): Promise<void> {
  try {
    await docker.getNetwork(NESTED_HOSTS_NETWORK).inspect();
    return;
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  // Docker does not check an explicit subnet against the machine's other bridges: we do.
  const used = Object.values(os.networkInterfaces()).flat().map((a) => a?.address ?? '');
  const subnet = NESTED_HOSTS_SUBNETS.find((n) => !used.some((addr) => addr.startsWith(n.replace(/0\/24$/, ''))));
  if (!subnet) throw new Error(`every subnet for nested hosts is taken on this machine (${NESTED_HOSTS_SUBNETS.join(', ')})`);
  try {
    await docker.createNetwork({
      Name: NESTED_HOSTS_NETWORK,
      Driver: 'bridge',
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] },
      Labels: { [LABEL]: '1' },
    });
  } catch (err) {
    // Another run created it at the same moment.
    if ((err as { statusCode?: number }).statusCode !== 409) throw err;
  }
}

/** The cgroup parent of a host's nested containers, so that they stay apart from the outer engine's. */
function cgroupParent(name: string): string {
  return `/hafen-nested/${name}`;
}

function removeCgroups(name: string): void {
  if (!fs.existsSync(CGROUP_ROOT)) return;
  for (const controller of fs.readdirSync(CGROUP_ROOT)) {
    const dir = path.join(CGROUP_ROOT, controller, cgroupParent(name));
    if (!fs.existsSync(dir)) continue;
    // Leaves first: a cgroup directory can only be removed when it has no children.
    const rmTree = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) rmTree(path.join(d, e.name));
      try {
        fs.rmdirSync(d);
      } catch {
        // still has a process in it: leave it
      }
    };
    rmTree(dir);
    try {
      fs.rmdirSync(path.dirname(dir)); // the shared parent, once the last host is gone
    } catch {
      // other hosts still there
    }
  }
}

async function removeHostContainers(docker: Docker, filter: Record<string, string[]>): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: filter });
  await Promise.all(
    containers.map(async (c) => {
      const container = docker.getContainer(c.Id);
      // A graceful stop lets the nested dockerd stop its own containers and remove their cgroups.
      await container.stop({ t: 15 }).catch(() => {});
      await container.remove({ force: true, v: true }).catch((err) => {
        if (!notFound(err)) throw err;
      });
      const name = c.Labels[LABEL];
      if (name && name !== '1') removeCgroups(name);
    }),
  );
}

async function removeNetworkIfUnused(docker: Docker): Promise<void> {
  try {
    const net = await docker.getNetwork(NESTED_HOSTS_NETWORK).inspect();
    if (Object.keys(net.Containers ?? {}).length > 0) return;
    await docker.getNetwork(NESTED_HOSTS_NETWORK).remove();
  } catch {
    // gone already, or someone attached a host meanwhile: theirs to remove
  }
}

/** Removes sets whose owner process has died (a test run killed before its teardown). */
export async function removeStaleNestedHosts(outerEndpoint: string): Promise<void> {
  const docker = engineClient(outerEndpoint);
  const containers = await docker.listContainers({ all: true, filters: { label: [LABEL] } });
  const staleSets = new Set<string>();
  for (const c of containers) {
    const owner = Number(c.Labels[OWNER_LABEL] ?? '0');
    if (owner > 0 && !alive(owner)) staleSets.add(c.Labels[SET_LABEL]!);
  }
  for (const set of staleSets) await removeHostContainers(docker, { label: [`${SET_LABEL}=${set}`] });
}

/** Removes every nested host on the outer engine and the hosts network (what `scripts/hosts.sh down` does). */
export async function removeAllNestedHosts(outerEndpoint: string): Promise<void> {
  const docker = engineClient(outerEndpoint);
  await removeHostContainers(docker, { label: [LABEL] });
  await removeNetworkIfUnused(docker);
}

function hostContainerSpec(name: string, setId: string, ownerPid: number): Docker.ContainerCreateOptions {
  const readOnly = ['/usr', '/lib', '/lib64', '/bin', '/sbin', '/etc/alternatives'].filter((p) => fs.existsSync(p)).map((p) => `${p}:${p}:ro`);
  return {
    name,
    Hostname: name,
    Image: BUSYBOX_IMAGE,
    Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    Labels: { [LABEL]: name, [SET_LABEL]: setId, [OWNER_LABEL]: String(ownerPid) },
    Cmd: [
      '/usr/sbin/dockerd',
      // explicit: without it a TCP listener makes dockerd 20.10 wait 15 s on purpose
      '--tls=false',
      '--host', 'unix:///run/docker.sock',
      '--host', 'tcp://0.0.0.0:2375',
      '--cgroup-parent', cgroupParent(name),
    ],
    HostConfig: {
      NetworkMode: NESTED_HOSTS_NETWORK,
      // --privileged fails here (CAP_SYS_RESOURCE is outside the bounding set): list what dockerd needs.
      CapAdd: ['SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'SYS_CHROOT', 'MKNOD', 'SETFCAP', 'AUDIT_WRITE', 'NET_RAW', 'DAC_OVERRIDE', 'SYS_MODULE', 'IPC_LOCK'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      // what the CLI's --security-opt systempaths=unconfined means on the Engine API
      MaskedPaths: [],
      ReadonlyPaths: [],
      DeviceCgroupRules: ['a *:* rwm'],
      Binds: [`${CGROUP_ROOT}:${CGROUP_ROOT}:rw`, ...readOnly],
      Tmpfs: { '/run': '', '/var/lib/docker': 'exec', '/tmp': '' },
    },
  };
}

/** Starts `count` nested hosts and resolves once each engine answers at its own address. */
export async function startNestedHosts(options: NestedHostsOptions): Promise<NestedHostSet> {
  const docker = engineClient(options.outerEndpoint);
  const ownerPid = options.ownerPid ?? process.pid;
  const setId = randomBytes(3).toString('hex');
  await removeStaleNestedHosts(options.outerEndpoint);
  await ensureBusyboxEngineImage(options.outerEndpoint);
  await ensureNetwork(docker);

  const set: NestedHostSet = {
    id: setId,
    hosts: [],
    async teardown() {
      await removeHostContainers(docker, { label: [`${SET_LABEL}=${setId}`] });
      await removeNetworkIfUnused(docker);
    },
  };
  try {
    for (let i = 1; i <= options.count; i++) {
      const name = `hafen-host-${setId}-${i}`;
      let container: Docker.Container;
      try {
        container = await docker.createContainer(hostContainerSpec(name, setId, ownerPid));
      } catch (err) {
        // The network vanished between our check and the create (another run's teardown): once more.
        if (!notFound(err)) throw err;
        await ensureNetwork(docker);
        container = await docker.createContainer(hostContainerSpec(name, setId, ownerPid));
      }
      await container.start();
      const info = await container.inspect();
      const address = info.NetworkSettings.Networks[NESTED_HOSTS_NETWORK]?.IPAddress;
      if (!address) throw new Error(`nested host ${name} has no address on ${NESTED_HOSTS_NETWORK}`);
      set.hosts.push({ name, address, endpoint: `tcp://${address}:2375`, containerId: info.Id });
    }
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    for (const host of set.hosts) {
      while (!(await pingTcp(host.address, 2375))) {
        if (Date.now() > deadline) {
          const logs = await docker.getContainer(host.containerId).logs({ stdout: true, stderr: true, tail: 20 });
          throw new Error(`nested host ${host.name} did not answer at ${host.endpoint}:\n${logs.toString('utf8')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return set;
  } catch (err) {
    await set.teardown().catch(() => {});
    throw err;
  }
}
