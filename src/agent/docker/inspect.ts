// What a tenant may see of Docker's inspect document (ComputeDriver.inspect's guarantee): the
// fields that describe the container, kept by name, with the engine's ids and the host's paths out.
import type { ServerInspect } from '../driver.ts';

type Doc = Record<string, unknown>;
const isDoc = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

// Allow-lists rather than deny-lists: a field a newer engine adds stays out until someone looks at it.
const TOP = ['Created', 'Path', 'Args', 'RestartCount', 'Driver', 'Platform', 'AppArmorProfile', 'SizeRw', 'SizeRootFs'];
const STATE = ['Status', 'Running', 'Paused', 'Restarting', 'OOMKilled', 'Dead', 'ExitCode', 'Error', 'StartedAt', 'FinishedAt', 'Health'];
const CONFIG = [
  'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty', 'OpenStdin', 'StdinOnce',
  'Env', 'Cmd', 'Healthcheck', 'ArgsEscaped', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'StopSignal', 'StopTimeout', 'MacAddress', 'Shell',
];
const HOST_CONFIG = [
  'NetworkMode', 'PortBindings', 'RestartPolicy', 'AutoRemove', 'CapAdd', 'CapDrop', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts',
  'IpcMode', 'Cgroup', 'CgroupnsMode', 'OomScoreAdj', 'PidMode', 'Privileged', 'PublishAllPorts', 'ReadonlyRootfs', 'SecurityOpt', 'Tmpfs',
  'UTSMode', 'UsernsMode', 'ShmSize', 'Runtime', 'ConsoleSize', 'Isolation', 'CpuShares', 'Memory', 'NanoCpus', 'BlkioWeight', 'CpuPeriod',
  'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'Devices', 'MemoryReservation', 'MemorySwap',
  'MemorySwappiness', 'OomKillDisable', 'PidsLimit', 'Ulimits', 'CpuCount', 'CpuPercent', 'Init', 'MaskedPaths', 'ReadonlyPaths',
];
const MOUNT = ['Type', 'Destination', 'Driver', 'Mode', 'RW', 'Propagation'];
const NETWORK_SETTINGS = [
  'Bridge', 'HairpinMode', 'LinkLocalIPv6Address', 'LinkLocalIPv6PrefixLen', 'Ports', 'SecondaryIPAddresses', 'SecondaryIPv6Addresses',
  'Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'MacAddress',
];
const ENDPOINT = ['IPAMConfig', 'Links', 'Aliases', 'Gateway', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'MacAddress', 'DriverOpts'];

function pick(from: unknown, keys: string[]): Doc {
  const out: Doc = {};
  if (!isDoc(from)) return out;
  for (const k of keys) if (k in from) out[k] = from[k];
  return out;
}

/** The directory a host path lies under, up to (not including) `marker`: the engine's data or exec root. */
function rootBefore(p: unknown, marker: string): string | null {
  if (typeof p !== 'string') return null;
  const at = p.indexOf(marker);
  return at > 0 ? p.slice(0, at) : null;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The tenant's view of an engine's inspect document (`raw`, as the Engine API answers it) of the
 * container of `serverId`.
 */
export function tenantInspect(raw: unknown, serverId: string): ServerInspect {
  if (!isDoc(raw)) throw new Error('the engine answered no inspect document');
  const engineId = typeof raw.Id === 'string' ? raw.Id : '';
  const networkSettings = isDoc(raw.NetworkSettings) ? raw.NetworkSettings : {};
  // The host's directories the engine named in the document: anything under them is the host's.
  const roots = new Set<string>();
  for (const [p, marker] of [
    [raw.ResolvConfPath, '/containers/'], [raw.HostnamePath, '/containers/'], [raw.HostsPath, '/containers/'], [raw.LogPath, '/containers/'],
    [networkSettings.SandboxKey, '/netns/'],
  ] as const) {
    const root = rootBefore(p, marker);
    if (root) roots.add(root);
  }
  const graph = isDoc(raw.GraphDriver) && isDoc(raw.GraphDriver.Data) ? raw.GraphDriver.Data : {};
  for (const v of Object.values(graph)) {
    for (const part of String(v).split(':')) {
      const root = rootBefore(part, `/${String((raw.GraphDriver as Doc).Name ?? 'overlay2')}/`);
      if (root) roots.add(root);
    }
  }
  const patterns = [
    ...[...roots].filter((r) => r.length > 1).map((r) => new RegExp(`${escape(r)}[^\\s"':]*`, 'g')),
    ...(engineId ? [new RegExp(escape(engineId), 'g'), new RegExp(`\\b${escape(engineId.slice(0, 12))}\\b`, 'g')] : []),
  ];
  const scrub = (v: unknown): unknown => {
    if (typeof v === 'string') return patterns.reduce((s, re) => s.replace(re, (m) => (m === engineId || m === engineId.slice(0, 12) ? serverId : '')), v);
    if (Array.isArray(v)) return v.map(scrub);
    if (isDoc(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x)]));
    return v;
  };

  const config = pick(raw.Config, CONFIG);
  config.Image = '';
  const labels = isDoc(raw.Config) && isDoc(raw.Config.Labels) ? raw.Config.Labels : {};
  config.Labels = Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith('hafen.')));

  const hostConfig = pick(raw.HostConfig, HOST_CONFIG);
  if (isDoc(raw.HostConfig) && isDoc(raw.HostConfig.LogConfig)) hostConfig.LogConfig = { Type: raw.HostConfig.LogConfig.Type, Config: {} };

  const settings = pick(networkSettings, NETWORK_SETTINGS);
  const networks: Doc = {};
  for (const [name, ep] of Object.entries(isDoc(networkSettings.Networks) ? networkSettings.Networks : {})) {
    const endpoint = pick(ep, ENDPOINT);
    // The engine adds the container's short id as an alias: it names nothing the tenant knows.
    if (Array.isArray(endpoint.Aliases)) endpoint.Aliases = endpoint.Aliases.filter((a) => a !== engineId.slice(0, 12) && a !== engineId);
    networks[name] = endpoint;
  }
  settings.Networks = networks;

  const state = pick(raw.State, STATE);
  // The engine's own complaints may name other engine ids (an image's, a layer's).
  if (typeof state.Error === 'string') state.Error = state.Error.replace(/\b[0-9a-f]{64}\b/g, (m) => (m === engineId ? m : ''));
  const doc: Doc = {
    Id: serverId,
    ...pick(raw, TOP),
    State: state,
    Image: '',
    Name: `/${serverId}`,
    ExecIDs: null,
    HostConfig: hostConfig,
    GraphDriver: { Name: isDoc(raw.GraphDriver) ? raw.GraphDriver.Name : '', Data: null },
    Mounts: Array.isArray(raw.Mounts) ? raw.Mounts.map((m) => pick(m, MOUNT)) : [],
    Config: config,
    NetworkSettings: settings,
  };
  return scrub(doc) as ServerInspect;
}
