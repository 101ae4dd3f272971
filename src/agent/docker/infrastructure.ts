// How the Docker driver runs an infrastructure workload (a cluster node: a Docker engine of its own):
// the host's engine image with the host's /usr read-only, the capabilities a nested engine needs listed
// one by one (--privileged is refused on these hosts), its own cgroup subtree, an anonymous volume for
// its data, the tenant port's network plus the node network, and its files in place before it starts.
import fs from 'node:fs';
import type Docker from 'dockerode';
import { writeTar } from '../../host/tar-writer.ts';
import { helperImage } from './helper-image.ts';
import type { InfrastructureSpec, NodeNetworkSpec, ServerSpec } from '../driver.ts';
import { ensureEngineNetwork } from '../net/engine-network.ts';
import { INFRASTRUCTURE_LABEL } from '../net/dataplane.ts';

/** What dockerd needs beyond Docker's default set (the nested test hosts use the same list). */
export const NESTED_ENGINE_CAPABILITIES = ['SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'SYS_CHROOT', 'MKNOD', 'SETFCAP', 'AUDIT_WRITE', 'NET_RAW', 'DAC_OVERRIDE', 'SYS_MODULE', 'IPC_LOCK'];
const CGROUP_ROOT = '/sys/fs/cgroup';

/** Creates the node network on this engine if it is missing (macvlan on the uplink, or a bridge). */
/** Node networks being made, by engine and name: nodes booted side by side wait for one create. */
const making = new WeakMap<Docker, Map<string, Promise<void>>>();

export async function ensureNodeNetwork(docker: Docker, net: NodeNetworkSpec): Promise<void> {
  let mine = making.get(docker);
  if (!mine) making.set(docker, (mine = new Map()));
  const under = mine.get(net.name);
  if (under) return under;
  const p = makeNodeNetwork(docker, net).finally(() => mine.delete(net.name));
  mine.set(net.name, p);
  return p;
}

async function makeNodeNetwork(docker: Docker, net: NodeNetworkSpec): Promise<void> {
  const inspect = () => docker.getNetwork(net.name).inspect().catch((e: { statusCode?: number }) => (e.statusCode === 404 ? undefined : Promise.reject(e)));
  if (await inspect()) return;
  await docker
    .createNetwork({
      Name: net.name,
      Driver: net.driver,
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: net.subnet, Gateway: net.gateway }] },
      Options: net.driver === 'macvlan' ? { parent: net.parent ?? 'eth0', macvlan_mode: 'bridge' } : { 'com.docker.network.bridge.enable_icc': 'true' },
      Labels: { 'hafen.managed': 'true', 'hafen.node-network': 'true' },
    })
    // Made meanwhile by another process on the same engine: the name answers 409, the range 403 (pool overlaps).
    .catch(async (e: { statusCode?: number }) => (e.statusCode === 409 || (e.statusCode === 403 && (await inspect())) ? undefined : Promise.reject(e)));
}

export function infrastructureContainerSpec(spec: ServerSpec, infra: InfrastructureSpec, name: string, labels: Record<string, string>, image: string): Docker.ContainerCreateOptions {
  const readOnly = ['/usr', '/lib', '/lib64', '/bin', '/sbin', '/etc/alternatives'].filter((p) => fs.existsSync(p)).map((p) => `${p}:${p}:ro`);
  return {
    name,
    Hostname: spec.hostname,
    Image: image,
    Entrypoint: [],
    Cmd: infra.command,
    Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    Labels: { ...infra.labels, ...labels, [INFRASTRUCTURE_LABEL]: infra.role },
    Volumes: { '/var/lib/docker': {} },
    ...(spec.network?.mac ? { MacAddress: spec.network.mac } : {}),
    HostConfig: {
      Memory: spec.memoryMiB * 2 ** 20,
      MemorySwap: spec.memoryMiB * 2 ** 20,
      NanoCpus: spec.vcpus * 1e9,
      PidsLimit: Math.max(spec.pidsLimit, 4096),
      NetworkMode: spec.network ? spec.network.name : infra.nodeNetwork.name,
      CapAdd: NESTED_ENGINE_CAPABILITIES,
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      // what the CLI's --security-opt systempaths=unconfined means on the Engine API
      MaskedPaths: [],
      ReadonlyPaths: [],
      DeviceCgroupRules: ['a *:* rwm'],
      Binds: [`${CGROUP_ROOT}:${CGROUP_ROOT}:rw`, ...readOnly],
      Tmpfs: { '/run': '', '/tmp': '' },
      // No registry is reachable: a resolver that refuses at once makes the engine's pulls fail fast.
      Dns: ['127.0.0.1'],
      // An engine needs the host's user namespace (outside any remap the engine applies to tenants).
      UsernsMode: 'host',
      RestartPolicy: { Name: 'no' },
    },
    ...(spec.network
      ? { NetworkingConfig: { EndpointsConfig: { [spec.network.name]: { IPAMConfig: spec.network.ip ? { IPv4Address: spec.network.ip } : {} } } } }
      : { NetworkingConfig: { EndpointsConfig: { [infra.nodeNetwork.name]: { IPAMConfig: { IPv4Address: infra.nodeNetwork.ip } } } } }),
  };
}

/** Creates and starts the node; the caller removes what is left if it throws. */
export async function createInfrastructure(docker: Docker, spec: ServerSpec, infra: InfrastructureSpec, name: string, labels: Record<string, string>): Promise<void> {
  // hafen's busybox, pinned by its content id: no name on the engine decides what a node runs.
  const image = await helperImage(docker);
  if (spec.network) await ensureEngineNetwork(docker, { ...spec.network, mtu: 1500 });
  await ensureNodeNetwork(docker, infra.nodeNetwork);
  const container = await docker.createContainer(infrastructureContainerSpec(spec, infra, name, labels, image));
  if (spec.network) await docker.getNetwork(infra.nodeNetwork.name).connect({ Container: container.id, EndpointConfig: { IPAMConfig: { IPv4Address: infra.nodeNetwork.ip } } });
  const files = Object.entries(infra.files).map(([path, content]) => ({ type: 'file' as const, path: path.replace(/^\/+/, ''), content: Buffer.from(content), mode: 0o600 }));
  if (files.length) await container.putArchive(writeTar(files), { path: '/' });
  await container.start();
}
