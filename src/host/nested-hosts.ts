// Extra Docker hosts on this one machine for multi-host tests: nested dockerd containers on an outer
// engine, each with its own network namespace and address on a bridge the project creates.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import type Docker from 'dockerode';
import { engineClient, formatEngineEndpoint } from './engine-client.ts';
import { ensureCertificateAuthority, ensureClientCertificate, issueCertificate, SERVER_CERT_FILES } from './pki.ts';
import { BUSYBOX_IMAGE, ensureBusyboxEngineImage } from './test-images.ts';
import { writeTar } from './tar-writer.ts';
import { blockTaken, machineBlocksInUse } from './machine-blocks.ts';
import { ensureRemapUser, remapIdentityFiles, REMAP_USER, userNamespacesAvailable, type SubordinateRange } from './userns.ts';

export const NESTED_HOSTS_NETWORK = 'hafen-hosts';
/** Tried in order: another engine on this machine (another checkout's tests) may hold the first. */
export const NESTED_HOSTS_SUBNETS = [250, 251, 252, 253, ...Array.from({ length: 10 }, (_, i) => 240 + i)].map((n) => `172.31.${n}.0/24`);
const LABEL = 'hafen.nested-host';
const SET_LABEL = 'hafen.nested-host.set';
const OWNER_LABEL = 'hafen.nested-host.owner-pid';
const CGROUP_ROOT = '/sys/fs/cgroup';
/** Where a nested engine answers: TLS with client certificates only (dockerd's conventional TLS port). */
export const NESTED_ENGINE_PORT = 2376;
/** Inside a host: the engine's server certificate, CA and key. */
const TLS_DIR = '/etc/hafen-tls';

export interface NestedHost {
  name: string;
  /** Its address on the hosts bridge (172.31.250.x unless that subnet was taken). */
  address: string;
  /**
   * Where its engine answers: tcp://address:2376?cert_dir=… (TLS; the engine takes only clients with a
   * certificate of the set's CA, and listens on that address alone, not on its tenant bridges).
   */
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
  /**
   * Where the hosts' CA and hafen's client certificate are kept (`ca/`, `client/`), made on first use;
   * every set started with the same directory shares them.
   */
  pkiDir: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function engineAnswers(endpoint: string): Promise<boolean> {
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref());
  return Promise.race([engineClient(endpoint).ping().then(() => true, () => false), timeout]);
}

const notFound = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

async function ensureNetwork(docker: Docker): Promise<void> {
  try {
    await docker.getNetwork(NESTED_HOSTS_NETWORK).inspect();
    return;
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  // Docker does not check an explicit subnet against the machine's other bridges, nor against what a
  // killed engine left behind (its bridge's route, its NAT rule): we do.
  const used = await machineBlocksInUse();
  const subnet = NESTED_HOSTS_SUBNETS.find((n) => !blockTaken(n, used));
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
        // Gone, or being removed by another run's clean-up at this moment.
        if (!notFound(err) && (err as { statusCode?: number }).statusCode !== 409) throw err;
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

/** The hosts network's subnet and the addresses in use on it (the gateway's and every container's). */
async function hostsNetworkUsage(docker: Docker): Promise<{ subnet: string; used: Set<string> }> {
  const net = (await docker.getNetwork(NESTED_HOSTS_NETWORK).inspect()) as { IPAM: { Config: { Subnet: string; Gateway?: string }[] }; Containers?: Record<string, { IPv4Address: string }> };
  const config = net.IPAM.Config[0]!;
  const used = new Set(Object.values(net.Containers ?? {}).map((c) => c.IPv4Address.split('/')[0]!));
  used.add(config.Gateway ?? config.Subnet.replace(/0\/24$/, '1'));
  return { subnet: config.Subnet, used };
}

/** A free address of the hosts network, picked at random so that sets started side by side rarely collide. */
async function freeHostAddress(docker: Docker): Promise<string> {
  const { subnet, used } = await hostsNetworkUsage(docker);
  const prefix = subnet.replace(/0\/24$/, '');
  for (let i = 0; i < 200; i++) {
    const candidate = `${prefix}${randomInt(2, 255)}`;
    if (!used.has(candidate)) return candidate;
  }
  throw new Error(`no free address on ${NESTED_HOSTS_NETWORK} (${subnet})`);
}

function hostContainerSpec(name: string, setId: string, ownerPid: number, address: string, remap: boolean): Docker.ContainerCreateOptions {
  const readOnly = ['/usr', '/lib', '/lib64', '/bin', '/sbin', '/etc/alternatives'].filter((p) => fs.existsSync(p)).map((p) => `${p}:${p}:ro`);
  return {
    name,
    Hostname: name,
    Image: BUSYBOX_IMAGE,
    Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    Labels: { [LABEL]: name, [SET_LABEL]: setId, [OWNER_LABEL]: String(ownerPid) },
    Cmd: [
      '/usr/sbin/dockerd',
      '--tlsverify',
      '--tlscacert', `${TLS_DIR}/${SERVER_CERT_FILES.ca}`,
      '--tlscert', `${TLS_DIR}/${SERVER_CERT_FILES.cert}`,
      '--tlskey', `${TLS_DIR}/${SERVER_CERT_FILES.key}`,
      '--host', 'unix:///run/docker.sock',
      // Its own address only: the gateways of the host's tenant bridges have no engine listening.
      '--host', `tcp://${address}:${NESTED_ENGINE_PORT}`,
      '--cgroup-parent', cgroupParent(name),
      // Root in a tenant container is not root on the host (the machine's own hafen-remap range).
      ...(remap ? ['--userns-remap', REMAP_USER] : []),
    ],
    NetworkingConfig: { EndpointsConfig: { [NESTED_HOSTS_NETWORK]: { IPAMConfig: { IPv4Address: address } } } },
    HostConfig: {
      NetworkMode: NESTED_HOSTS_NETWORK,
      // A host needs the outer machine's rights (it runs an engine): outside any user-namespace remap.
      UsernsMode: 'host',
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

/** Starts `count` nested hosts and resolves once each engine answers at its own address, over TLS. */
export async function startNestedHosts(options: NestedHostsOptions): Promise<NestedHostSet> {
  const docker = engineClient(options.outerEndpoint);
  const ownerPid = options.ownerPid ?? process.pid;
  const setId = randomBytes(3).toString('hex');
  await removeStaleNestedHosts(options.outerEndpoint);
  await ensureBusyboxEngineImage(options.outerEndpoint);
  await ensureNetwork(docker);
  const ca = await ensureCertificateAuthority(path.join(options.pkiDir, 'ca'));
  const remap = userNamespacesAvailable() ? ensureRemapUser() : undefined;
  const clientDir = await ensureClientCertificate(ca, path.join(options.pkiDir, 'client'));

  const set: NestedHostSet = {
    id: setId,
    hosts: [],
    async teardown() {
      await removeHostContainers(docker, { label: [`${SET_LABEL}=${setId}`] });
      await removeNetworkIfUnused(docker);
    },
  };
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-host-tls-'));
  try {
    for (let i = 1; i <= options.count; i++) {
      const name = `hafen-host-${setId}-${i}`;
      const { container, address } = await createHost(docker, name, setId, ownerPid, ca, scratch, remap);
      set.hosts.push({ name, address, endpoint: formatEngineEndpoint({ kind: 'tcp', host: address, port: NESTED_ENGINE_PORT, certDir: clientDir }), containerId: container.id });
    }
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    for (const host of set.hosts) {
      while (!(await engineAnswers(host.endpoint))) {
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
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Creates and starts one host at a free address, with a server certificate for that address put in
 * place before its engine starts. An address taken meanwhile by another set: the next one.
 */
async function createHost(docker: Docker, name: string, setId: string, ownerPid: number, ca: Awaited<ReturnType<typeof ensureCertificateAuthority>>, scratch: string, remap: SubordinateRange | undefined): Promise<{ container: Docker.Container; address: string }> {
  for (let attempt = 0; ; attempt++) {
    const address = await freeHostAddress(docker);
    const certDir = await issueCertificate(ca, path.join(scratch, name), { kind: 'server', commonName: name, ips: [address], dnsNames: [name] });
    // Its engine's TLS files and, when it remaps, the dedicated user and its subordinate ids.
    const tls = writeTar([
      { type: 'directory', path: TLS_DIR.slice(1) },
      ...Object.values(SERVER_CERT_FILES).map((f) => ({ type: 'file' as const, path: `${TLS_DIR.slice(1)}/${f}`, content: fs.readFileSync(path.join(certDir, f)), mode: f === SERVER_CERT_FILES.key ? 0o600 : 0o644 })),
      ...(remap ? remapIdentityFiles(remap).map((f) => ({ type: 'file' as const, path: f.path, content: Buffer.from(f.content), mode: 0o644 })) : []),
    ]);
    let container: Docker.Container;
    try {
      container = await docker.createContainer(hostContainerSpec(name, setId, ownerPid, address, remap !== undefined));
    } catch (err) {
      // The network vanished between our check and the create (another run's teardown): once more.
      if (!notFound(err) || attempt > 3) throw err;
      await ensureNetwork(docker);
      continue;
    }
    try {
      await container.putArchive(tls, { path: '/' });
      await container.start();
      return { container, address };
    } catch (err) {
      await container.remove({ force: true }).catch(() => {});
      // A container that has not started holds no endpoint: another run's teardown may remove the
      // network between our create and start (the engine then answers 404 for the network).
      if (notFound(err) && attempt <= 5) {
        await ensureNetwork(docker);
        continue;
      }
      if (!/address already in use|already allocated/i.test(String((err as Error).message)) || attempt > 5) throw err;
    }
  }
}
