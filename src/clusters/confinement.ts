// The tenant confinement rules, applied to every Docker API request the cluster's front forwards:
// containers, execs and swarm services get no privileged mode, host binds, devices, host namespaces
// or added capabilities; volumes and networks cannot reach the node's own files or interfaces; the
// swarm's membership, plugins and security settings stay hafen's. Pure functions, one per request kind.

export class Refused extends Error {
  override readonly name = 'Refused';
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const HOST_MODES = ['host'];

function refuseIf(cond: boolean, why: string): void {
  if (cond) throw new Refused(`hafen refuses this in a cluster: ${why}`);
}

/** A volume of the local driver with options can bind any path of the node: only plain volumes. */
function checkVolumeOptions(driver: unknown, options: unknown, where: string): void {
  refuseIf(driver !== undefined && driver !== null && driver !== '' && driver !== 'local', `${where}: volume driver ${String(driver)} (only the local driver)`);
  refuseIf(Object.keys(obj(options)).length > 0, `${where}: volume driver options (they can bind paths of the node)`);
}

function checkMount(m: Obj, where: string): void {
  const type = String(m.Type ?? 'volume');
  refuseIf(type === 'bind', `${where}: bind mounts of the node's paths`);
  refuseIf(!['volume', 'tmpfs'].includes(type), `${where}: mounts of type ${type}`);
  if (type === 'volume') {
    const cfg = obj(obj(m.VolumeOptions).DriverConfig);
    checkVolumeOptions(cfg.Name, cfg.Options, where);
  }
  refuseIf(obj(m.BindOptions).Propagation !== undefined && type !== 'bind', `${where}: mount propagation`);
}

/** POST /containers/create: the HostConfig a tenant may set. */
export function checkContainerCreate(body: unknown): void {
  const b = obj(body);
  const h = obj(b.HostConfig);
  refuseIf(h.Privileged === true, 'privileged containers');
  refuseIf(list(h.CapAdd).length > 0, 'added capabilities');
  refuseIf(list(h.Devices).length > 0 || list(h.DeviceRequests).length > 0 || list(h.DeviceCgroupRules).length > 0, 'devices');
  for (const bind of list(h.Binds)) {
    const source = String(bind).split(':')[0] ?? '';
    refuseIf(source.startsWith('/') || source.startsWith('.') || source.includes('/'), `host bind ${source} (only named volumes)`);
  }
  list(h.Mounts).forEach((m, i) => checkMount(obj(m), `Mounts[${i}]`));
  for (const [k, label] of [['NetworkMode', 'network'], ['PidMode', 'pid'], ['IpcMode', 'ipc'], ['UTSMode', 'uts'], ['UsernsMode', 'user'], ['CgroupnsMode', 'cgroup']] as const) {
    refuseIf(HOST_MODES.includes(String(h[k] ?? '').toLowerCase()), `the node's ${label} namespace`);
  }
  for (const opt of list(h.SecurityOpt).map(String)) {
    refuseIf(!/^no-new-privileges(?:[:=]true)?$/.test(opt), `security option ${opt}`);
  }
  refuseIf(Object.keys(obj(h.Sysctls)).length > 0, 'sysctls');
  refuseIf(typeof h.CgroupParent === 'string' && h.CgroupParent !== '', 'a cgroup parent');
  refuseIf(h.Runtime !== undefined && h.Runtime !== '' && h.Runtime !== 'runc', `runtime ${String(h.Runtime)}`);
  checkVolumeOptions(h.VolumeDriver || undefined, undefined, 'VolumeDriver');
  refuseIf(h.OomScoreAdj !== undefined && Number(h.OomScoreAdj) < 0, 'a negative OOM score');
}

/** POST /containers/{id}/exec */
export function checkExecCreate(body: unknown): void {
  refuseIf(obj(body).Privileged === true, 'privileged exec');
}

/** POST /services/create and /services/{id}/update: the task template a tenant may set. */
export function checkServiceSpec(body: unknown): void {
  const spec = obj(body);
  const task = obj(spec.TaskTemplate);
  refuseIf(task.PluginSpec !== undefined || task.Runtime === 'plugin', 'plugin services');
  const c = obj(task.ContainerSpec);
  list(c.Mounts).forEach((m, i) => checkMount(obj(m), `ContainerSpec.Mounts[${i}]`));
  refuseIf(list(c.CapabilityAdd).length > 0, 'added capabilities');
  refuseIf(Object.keys(obj(c.Sysctls)).length > 0, 'sysctls');
  const priv = obj(c.Privileges);
  refuseIf(obj(priv.SELinuxContext).Disable === true, 'disabling SELinux labels');
  refuseIf(priv.Seccomp !== undefined && obj(priv.Seccomp).Mode === 'unconfined', 'an unconfined seccomp profile');
  refuseIf(priv.AppArmor !== undefined && obj(priv.AppArmor).Mode === 'disabled', 'disabling AppArmor');
  refuseIf(c.Isolation !== undefined && c.Isolation !== 'default' && c.Isolation !== '', `isolation ${String(c.Isolation)}`);
  for (const n of [...list(task.Networks), ...list(spec.Networks)]) refuseIf(String(obj(n).Target ?? '').toLowerCase() === 'host', 'the node\'s network');
  refuseIf(list(obj(task.Resources).GenericResources).length > 0 || list(obj(obj(task.Resources).Reservations).GenericResources).length > 0, 'generic resources (devices)');
}

/** POST /volumes/create */
export function checkVolumeCreate(body: unknown): void {
  const b = obj(body);
  checkVolumeOptions(b.Driver, b.DriverOpts, 'volume');
}

const NETWORK_OPTIONS = ['com.docker.network.driver.mtu', 'encrypted', 'com.docker.network.bridge.enable_icc', 'com.docker.network.bridge.enable_ip_masquerade'];

/** POST /networks/create: bridge and overlay networks of the node's own, no access to its interfaces. */
export function checkNetworkCreate(body: unknown): void {
  const b = obj(body);
  const driver = String(b.Driver ?? 'bridge');
  refuseIf(!['bridge', 'overlay'].includes(driver), `network driver ${driver}`);
  for (const k of Object.keys(obj(b.Options))) refuseIf(!NETWORK_OPTIONS.includes(k), `network option ${k}`);
  refuseIf(b.ConfigFrom !== undefined && b.ConfigFrom !== null, 'networks from configuration networks');
  refuseIf(obj(b.IPAM).Driver !== undefined && obj(b.IPAM).Driver !== 'default' && obj(b.IPAM).Driver !== '', 'IPAM drivers');
}

/**
 * The routes a tenant may not use at all: the swarm's membership and settings, plugins (they run
 * with the node's rights), removing nodes, BuildKit sessions. `path` has no version prefix.
 */
export function refusedRoute(method: string, path: string): string | undefined {
  if (method === 'POST' && /^\/swarm\/(init|join|leave|update|unlock)$/.test(path)) return 'the swarm\'s membership and settings are hafen\'s (resize the cluster instead)';
  if (/^\/plugins(\/|$)/.test(path) && method !== 'GET') return 'plugins run with the node\'s rights';
  if (method === 'DELETE' && /^\/nodes\/[^/]+$/.test(path)) return 'nodes are removed by resizing the cluster';
  if (/^\/(session|grpc)$/.test(path)) return 'BuildKit sessions (use the classic builder)';
  return undefined;
}

/** POST /build: the classic builder with the default network only. */
export function checkBuild(query: URLSearchParams): void {
  refuseIf(['host'].includes((query.get('networkmode') ?? '').toLowerCase()), 'the node\'s network for builds');
  refuseIf(query.get('cgroupparent') !== null && query.get('cgroupparent') !== '', 'a cgroup parent for builds');
  refuseIf(query.get('isolation') !== null && !['', 'default'].includes(query.get('isolation')!), 'build isolation modes');
}

/** POST /nodes/{id}/update: availability and labels; a role change would let a tenant take the managers away. */
export function checkNodeUpdate(body: unknown, currentRole: string | undefined): void {
  const role = obj(body).Role;
  refuseIf(role !== undefined && currentRole !== undefined && role !== currentRole, 'promoting or demoting nodes (hafen keeps the managers)');
}

/**
 * How the cluster publishes a service's ports (these hosts' kernels have no IPVS, so swarm's routing
 * mesh and virtual IPs do not work): ports are published in host mode at ports the node picks, DNS
 * round robin replaces the VIP, and the front answers the asked ports on the cluster's address. What
 * was asked is kept in a label of the service.
 */
export const PUBLISH_LABEL = 'hafen.publish';

export interface Published {
  published: number;
  target: number;
  protocol: string;
}

export function rewriteServiceEndpoint(body: unknown): Obj {
  const spec = { ...obj(body) };
  const endpoint = { ...obj(spec.EndpointSpec) };
  const asked: Published[] = [];
  const ports = list(endpoint.Ports).map((p) => {
    const port = { ...obj(p) };
    const protocol = String(port.Protocol ?? 'tcp');
    if (port.PublishedPort !== undefined && Number(port.PublishedPort) > 0 && (port.PublishMode ?? 'ingress') === 'ingress') {
      asked.push({ published: Number(port.PublishedPort), target: Number(port.TargetPort), protocol });
    }
    if ((port.PublishMode ?? 'ingress') === 'ingress') {
      port.PublishMode = 'host';
      delete port.PublishedPort;
    }
    return port;
  });
  // Keep what an earlier rewrite recorded when an update sends the spec back unchanged.
  const labels = { ...(obj(spec.Labels) as Record<string, string>) };
  const before = labels[PUBLISH_LABEL] ? (JSON.parse(labels[PUBLISH_LABEL]) as Published[]) : [];
  const kept = before.filter((b) => ports.some((p) => Number(obj(p).TargetPort) === b.target && String(obj(p).Protocol ?? 'tcp') === b.protocol) && !asked.some((a) => a.target === b.target && a.protocol === b.protocol));
  const all = [...asked, ...kept];
  if (all.length) labels[PUBLISH_LABEL] = JSON.stringify(all);
  else delete labels[PUBLISH_LABEL];
  spec.Labels = labels;
  spec.EndpointSpec = { ...endpoint, Mode: 'dnsrr', ...(ports.length ? { Ports: ports } : {}) };
  return spec;
}
