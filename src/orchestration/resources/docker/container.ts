// DockerInc::Docker::Container: the historic Heat Docker plugin's resource, made through hafen's
// compute so that quotas, networks, scheduling and the isolation profile apply. Published ports
// (port_bindings) are reached at a floating IP of the loopback external network, opened by a
// security group of the container's own.
import { BadRequestError, ConflictError, ignoreNotFound, isNotFound } from '../../../platform/errors.ts';
import { TemplateError } from '../../template/model.ts';
import type { ResourceHandle, ResourceType } from '../types.ts';
import { subnetsOfNics } from '../implicit.ts';
import { neutronId } from '../lookup.ts';

/** What tenant containers already hold (compute's profile); asking for more is refused. */
const GRANTED = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'AUDIT_WRITE', 'SETFCAP'];

interface PortSpec { port: number; protocol: 'tcp' | 'udp' }

function portSpecs(props: Record<string, unknown>): PortSpec[] {
  const out = new Map<string, PortSpec>();
  const add = (s: string) => {
    const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(s.trim());
    if (!m) throw new TemplateError(`port "${s}" is not PORT or PORT/tcp|udp`);
    out.set(`${m[1]}/${m[2] ?? 'tcp'}`, { port: Number(m[1]), protocol: (m[2] ?? 'tcp') as 'tcp' | 'udp' });
  };
  for (const s of (props.port_specs as string[] | undefined) ?? []) add(String(s));
  for (const k of Object.keys((props.port_bindings as Record<string, unknown> | undefined) ?? {})) add(k);
  return [...out.values()];
}

/** port_bindings as container port -> host port (`{"80/tcp": 8080}`, or `[{"HostPort": "8080"}]` as docker-py wrote them). */
function portBindings(props: Record<string, unknown>): { port: number; protocol: 'tcp' | 'udp'; hostPort: number }[] {
  const out = [];
  for (const [key, value] of Object.entries((props.port_bindings as Record<string, unknown> | undefined) ?? {})) {
    const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(key.trim());
    if (!m) continue;
    const first = Array.isArray(value) ? value[0] : value;
    const raw = typeof first === 'object' && first !== null ? (first as { HostPort?: unknown }).HostPort : first;
    const hostPort = raw === undefined || raw === null || raw === '' ? Number(m[1]) : Number(raw);
    out.push({ port: Number(m[1]), protocol: (m[2] ?? 'tcp') as 'tcp' | 'udp', hostPort });
  }
  return out;
}

const published = (props: Record<string, unknown>) => Object.keys((props.port_bindings as Record<string, unknown> | undefined) ?? {}).length > 0;

async function resolveImage(h: ResourceHandle, ref: string): Promise<string> {
  try {
    return (await h.clients.image.get(h.ctx, ref)).id;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const images = await h.clients.image.list(h.ctx, {});
  const bare = ref.replace(/:latest$/, '');
  const hit = images.find((i) => i.name === ref || i.name === bare) ?? images.find((i) => {
    const properties = JSON.parse(i.properties || '{}') as Record<string, string>;
    const tags = JSON.parse(properties.docker_repo_tags ?? '[]') as string[];
    return tags.includes(ref) || tags.includes(`${ref}:latest`);
  });
  if (!hit) throw new BadRequestError(`Image ${ref} could not be found in the image service (upload it with hafen image import-docker or openstack image create).`);
  return hit.id;
}

async function chooseFlavor(h: ResourceHandle, props: Record<string, unknown>): Promise<string> {
  if (props.flavor) return String(props.flavor);
  const flavors = (await h.clients.compute.flavors(h.ctx)).filter((f) => f.isPublic);
  const wantMiB = props.memory ? Math.ceil(Number(props.memory) / 2 ** 20) : 0;
  const fit = flavors.filter((f) => f.ram >= wantMiB).sort((a, b) => a.ram - b.ram || a.vcpus - b.vcpus)[0];
  if (!fit) throw new BadRequestError(`No flavor has ${wantMiB} MiB of memory or more.`);
  return fit.id;
}

async function externalNetworkId(h: ResourceHandle): Promise<string> {
  const ext = (await h.clients.network.list(h.ctx, 'network')).find((n) => n['router:external'] === true);
  if (!ext) throw new BadRequestError('Publishing ports needs an external network for floating IPs; there is none.');
  return ext.id;
}

/** A router from the container's subnet to the external network, made once per project if none. */
async function ensureRoute(h: ResourceHandle, subnetId: string, extId: string): Promise<void> {
  const routers = await h.clients.network.list(h.ctx, 'router');
  const ports = await h.clients.network.list(h.ctx, 'port');
  const linked = routers.some((r) => (r.external_gateway_info as { network_id?: string } | null)?.network_id === extId && ports.some((p) => p.device_id === r.id && (p.fixed_ips as { subnet_id: string }[]).some((f) => f.subnet_id === subnetId)));
  if (linked) return;
  const name = 'hafen-published';
  const router = routers.find((r) => r.name === name) ?? (await h.clients.network.createRouter(h.ctx, { name, external_gateway_info: { network_id: extId } }));
  await h.clients.network.addRouterInterface(h.ctx, router.id, { subnet_id: subnetId });
}

export const dockerContainer: ResourceType = {
  type: 'DockerInc::Docker::Container',
  description: 'A Docker container, run as a hafen server: scheduled, isolated and counted in the project\'s quotas.',
  properties: {
    docker_endpoint: { type: 'string', description: 'Docker daemon endpoint (hafen\'s scheduler places containers; refused if set).' },
    hostname: { type: 'string', default: '', description: 'Hostname of the container.' },
    domainname: { type: 'string', default: '', description: 'Domain name of the container.' },
    user: { type: 'string', default: '', description: 'Username or UID.' },
    memory: { type: 'integer', default: 0, description: 'Memory limit (Bytes): picks the smallest flavor with this much memory.' },
    port_specs: { type: 'list', description: 'TCP/UDP ports mapping.' },
    port_bindings: { type: 'map', description: 'TCP/UDP ports bindings: each host port is forwarded from the container\'s floating IP to its container port.' },
    tty: { type: 'boolean', default: false, description: 'Allocate a pseudo-tty.' },
    open_stdin: { type: 'boolean', default: false, description: 'Open stdin.' },
    stdin_once: { type: 'boolean', default: false, description: 'If true, close stdin after the 1 attached client disconnects.' },
    env: { type: 'list', description: 'Set environment variables.' },
    cmd: { type: 'list', default: [], description: 'Command to run after spawning the container.' },
    dns: { type: 'list', description: 'Set custom dns servers (refused: the network\'s dns_nameservers apply).' },
    image: { type: 'string', required: true, description: 'Image name: an image of the image service, by name, id or docker repo tag.' },
    volumes: { type: 'map', default: {}, description: 'Create a bind mount (only anonymous volumes: keys are mount points, values empty).' },
    volumes_from: { type: 'list', default: [], description: 'Mount all specified volumes (refused: volumes are never shared between containers).' },
    name: { type: 'string', description: 'The name of the container.' },
    links: { type: 'list', description: 'Links to other containers (refused: use get_attr network_ip).' },
    restart_policy: {
      type: 'map',
      default: {},
      description: 'Restart policy to apply when a container exits.',
      schema: { Name: { type: 'string', default: 'no', constraints: [{ allowed_values: ['no', 'on-failure', 'always', 'unless-stopped'] }] }, MaximumRetryCount: { type: 'integer', default: 0 } },
    },
    privileged: { type: 'boolean', default: false, admin_only: true, description: 'Enable extended privileges (never for tenant containers).' },
    cap_add: { type: 'list', default: [], description: 'Capabilities to add (only those tenant containers already hold).' },
    cap_drop: { type: 'list', default: [], description: 'Capabilities to drop.' },
    read_only: { type: 'boolean', default: false, description: 'Mount the container\'s root filesystem as read only.' },
    cpu_shares: { type: 'integer', default: 0, description: 'Relative weight of the container\'s CPU share.' },
    cpu_set: { type: 'string', description: 'CPUs in which to allow execution.' },
    devices: { type: 'list', default: [], admin_only: true, description: 'Device mappings (never for tenant containers).' },
    // hafen's additions
    entrypoint: { type: 'list', description: 'Overrides the image\'s entrypoint.' },
    working_dir: { type: 'string', description: 'Working directory inside the container.' },
    labels: { type: 'map', description: 'Labels on the container (hafen.* keys are hafen\'s own).' },
    healthcheck: { type: 'map', description: 'Docker healthcheck: test, interval, timeout, retries, start_period (seconds).' },
    aliases: { type: 'list', description: 'DNS names other containers on the network resolve to this one.' },
    named_volumes: {
      type: 'list',
      description: 'Named volumes of the project, shared by the containers that mount them and removed with the last of them.',
      schema: { name: { type: 'string', required: true }, target: { type: 'string', required: true } },
    },
    dns_search: { type: 'list', description: 'Search domains of the container\'s resolver.' },
    flavor: { type: 'string', description: 'A flavor to use instead of the one chosen from memory.', constraints: [{ custom_constraint: 'nova.flavor' }] },
    networks: {
      type: 'list',
      description: 'Networks to join (one at boot): network name or id, or a port, with an optional fixed IP.',
      schema: { network: { type: 'string' }, port: { type: 'string' }, fixed_ip: { type: 'string' } },
    },
  },
  attributes: {
    info: { description: 'Container info.', type: 'map' },
    network_info: { description: 'Container network info.', type: 'map' },
    network_ip: { description: 'Container ip address.', type: 'string' },
    network_gateway: { description: 'Container ip gateway.', type: 'string' },
    network_tcp_ports: { description: 'Container TCP ports.', type: 'string' },
    network_udp_ports: { description: 'Container UDP ports.', type: 'string' },
    logs: { description: 'Container logs.', type: 'string' },
    logs_head: { description: 'Container first logs line.', type: 'string' },
    logs_tail: { description: 'Container last logs line.', type: 'string' },
    published_ip: { description: 'The floating IP the published ports answer on (hafen).', type: 'string' },
    published_address: { description: 'ip:port of the first published port (hafen).', type: 'string' },
  },
  implicitDependencies: (d, others) => subnetsOfNics(d.properties.networks, others),
  validate(props, _ctx, at) {
    if (props.docker_endpoint) throw new TemplateError(`${at}.docker_endpoint: hafen's scheduler chooses the Docker host; leave docker_endpoint unset.`);
    if (props.privileged === true) throw new TemplateError(`${at}.privileged: tenant containers never run privileged.`);
    if ((props.devices as unknown[]).length) throw new TemplateError(`${at}.devices: tenant containers never get host devices.`);
    if ((props.volumes_from as unknown[]).length) throw new TemplateError(`${at}.volumes_from: volumes are never shared between containers.`);
    if ((props.links as unknown[] | undefined)?.length) throw new TemplateError(`${at}.links: legacy links are not supported; pass addresses with get_attr [container, network_ip].`);
    if ((props.dns as unknown[] | undefined)?.length) throw new TemplateError(`${at}.dns: DNS servers come from the subnet's dns_nameservers.`);
    for (const cap of props.cap_add as string[]) {
      if (!GRANTED.includes(String(cap).toUpperCase().replace(/^CAP_/, ''))) throw new TemplateError(`${at}.cap_add: capability ${String(cap)} is refused: it would break the isolation of tenant containers.`);
    }
    for (const [path, v] of Object.entries(props.volumes as Record<string, unknown>)) {
      if (!path.startsWith('/') || (v && typeof v === 'object' && Object.keys(v).length) || (typeof v === 'string' && v)) {
        throw new TemplateError(`${at}.volumes: "${path}": only anonymous volumes ({"/path": {}}) are allowed; host paths are never mounted.`);
      }
    }
    if ((props.networks as unknown[] | undefined)?.length && (props.networks as unknown[]).length > 1) throw new TemplateError(`${at}.networks: a container joins one network at boot.`);
    try {
      portSpecs(props);
    } catch (err) {
      throw new TemplateError(`${at}.port_specs: ${(err as Error).message}`);
    }
  },
  async create(h, props) {
    const imageRef = await resolveImage(h, String(props.image));
    const flavorRef = await chooseFlavor(h, props);
    const nets = (props.networks as { network?: string; port?: string; fixed_ip?: string }[] | undefined) ?? [];
    const networks = [];
    for (const n of nets) {
      if (n.port) networks.push({ port: n.port });
      else if (n.network) {
        networks.push({ uuid: await neutronId(h.clients, h.ctx, 'network', n.network), ...(n.fixed_ip ? { fixed_ip: n.fixed_ip } : {}) });
      }
    }
    const restart = props.restart_policy as { Name?: string; MaximumRetryCount?: number };
    const hc = props.healthcheck as Record<string, unknown> | undefined;
    const container = {
      ...((props.cmd as string[]).length ? { command: (props.cmd as unknown[]).map(String) } : {}),
      ...(props.entrypoint ? { entrypoint: (props.entrypoint as unknown[]).map(String) } : {}),
      ...(props.env ? { env: (props.env as unknown[]).map(String) } : {}),
      ...(props.user ? { user: String(props.user) } : {}),
      ...(props.working_dir ? { working_dir: String(props.working_dir) } : {}),
      ...(props.hostname ? { hostname: [props.hostname, props.domainname].filter(Boolean).join('.') } : {}),
      tty: props.tty === true,
      open_stdin: props.open_stdin === true || props.tty === true,
      ...(restart?.Name && restart.Name !== 'no' ? { restart_policy: { name: restart.Name, maximum_retry_count: restart.MaximumRetryCount ?? 0 } } : {}),
      ...(props.cpu_shares ? { cpu_shares: Number(props.cpu_shares) } : {}),
      ...(props.cpu_set ? { cpuset: String(props.cpu_set) } : {}),
      ...(props.read_only ? { read_only: true } : {}),
      ...(props.labels ? { labels: Object.fromEntries(Object.entries(props.labels as Record<string, unknown>).map(([k, v]) => [k, String(v)])) } : {}),
      ...((props.cap_drop as string[]).length ? { cap_drop: (props.cap_drop as string[]).map(String) } : {}),
      ...(Object.keys(props.volumes as object).length ? { volumes: Object.keys(props.volumes as object) } : {}),
      ...((props.named_volumes as unknown[] | undefined)?.length ? { named_volumes: props.named_volumes } : {}),
      ...(hc ? { healthcheck: hc } : {}),
      ...((props.aliases as unknown[] | undefined)?.length ? { aliases: (props.aliases as unknown[]).map(String) } : {}),
      ...((props.dns_search as unknown[] | undefined)?.length ? { dns_search: (props.dns_search as unknown[]).map(String) } : {}),
    };
    const name = props.name ? String(props.name) : h.physicalName;
    const [server] = await h.clients.compute.boot(h.ctx, { server: { name, imageRef, flavorRef, ...(networks.length ? { networks } : {}), metadata: { 'heat:stack_id': h.stack.id, 'heat:resource': h.name }, config_drive: false, 'hafen:container': container } }, h.requestId);
    await h.setPhysicalId(server!.id);
    h.data.ports = portSpecs(props);
    // Each binding is a port forwarding of the container's floating IP: host port -> container port.
    h.data.bindings = portBindings(props);
    h.data.forwarded = true;
    h.data.publish = published(props);
    return server!.id;
  },
  // The server carries its stack and resource in its metadata from the moment it exists.
  async adopt(h) {
    const mine = (await h.clients.compute.list(h.ctx)).find((s) => {
      const meta = s.metadata;
      return meta['heat:stack_id'] === h.stack.id && meta['heat:resource'] === h.name;
    });
    return mine?.id ?? null;
  },
  async checkCreateComplete(h, id) {
    const s = await h.clients.compute.show(h.ctx, id);
    if (s.vmState === 'error') {
      const fault = s.fault ? s.fault.message : 'unknown error';
      throw new Error(`Went to status ERROR due to "${fault}"`);
    }
    if (s.vmState !== 'active' || s.taskState) return false;
    if (h.data.publish && !(h.data.forwarded ? h.data.published : h.data.floatingIpId)) await publish(h, id);
    return true;
  },
  async delete(h, id) {
    if (h.data.floatingIpId) await ignoreNotFound(() => h.clients.network.deleteFloatingIp(h.ctx, String(h.data.floatingIpId)));
    await ignoreNotFound(() => h.clients.compute.delete(h.ctx, id, h.requestId));
  },
  async checkDeleteComplete(h, id) {
    try {
      await h.clients.compute.show(h.ctx, id);
      return false;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (h.data.securityGroupId) await ignoreNotFound(() => h.clients.network.deleteSecurityGroup(h.ctx, String(h.data.securityGroupId)));
    return true;
  },
  async suspend(h, id) {
    await h.clients.compute.act(h.ctx, id, { suspend: null }, h.requestId);
  },
  async checkSuspendComplete(h, id) {
    const s = await h.clients.compute.show(h.ctx, id);
    return s.vmState === 'suspended' && !s.taskState;
  },
  async resume(h, id) {
    await h.clients.compute.act(h.ctx, id, { resume: null }, h.requestId);
  },
  async checkResumeComplete(h, id) {
    const s = await h.clients.compute.show(h.ctx, id);
    return s.vmState === 'active' && !s.taskState;
  },
  async check(h, id) {
    const s = await h.clients.compute.show(h.ctx, id);
    if (s.vmState !== 'active') throw new Error(`Container ${id} is ${s.vmState}, not running.`);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    const ports = (h.data.ports as PortSpec[] | undefined) ?? [];
    switch (name) {
      case 'published_ip':
        return h.data.floatingIp ?? null;
      case 'published_address': {
        const first = ports[0];
        const bound = (h.data.bindings as { port: number; protocol: string; hostPort: number }[] | undefined)?.[0];
        if (!h.data.floatingIp) return null;
        if (h.data.forwarded && bound) return `${String(h.data.floatingIp)}:${bound.hostPort}`;
        return first ? `${String(h.data.floatingIp)}:${first.port}` : null;
      }
      case 'logs':
      case 'logs_head':
      case 'logs_tail': {
        const logs = await readLogs(h, id);
        return name === 'logs' ? logs.text : name === 'logs_head' ? logs.head : logs.tail;
      }
      case 'info':
      case 'show':
        return inspectView(h, id, ports);
      case 'network_info':
      case 'network_ip':
      case 'network_gateway':
      case 'network_tcp_ports':
      case 'network_udp_ports': {
        const info = networkInfo(await inspectView(h, id, ports));
        if (name === 'network_info') return info;
        if (name === 'network_ip') return info.IPAddress ?? null;
        if (name === 'network_gateway') return info.Gateway ?? null;
        return name === 'network_tcp_ports' ? info.TcpPorts : info.UdpPorts;
      }
      default:
        return null;
    }
  },
};

/** The most of a container's log an attribute carries (its end: the newest lines). */
const MAX_LOG_BYTES = 1 << 20;

/** The container's log (stdout and stderr as written), its first and last lines. */
async function readLogs(h: ResourceHandle, id: string): Promise<{ text: string; head: string; tail: string }> {
  let text: string;
  let head: string | null = null;
  try {
    const verbs = await h.clients.compute.verbs(h.ctx, id, 'server');
    const stream = await verbs.logs({ stdout: true, stderr: true, tail: null, timestamps: false, since: null });
    // Read as a stream: the first line and the newest MiB are kept, whatever the log's length.
    let kept = Buffer.alloc(0);
    let first = Buffer.alloc(0);
    for await (const chunk of stream) {
      const c = Buffer.from(chunk as Buffer);
      if (head === null) {
        first = Buffer.concat([first, c]);
        const nl = first.indexOf(0x0a);
        if (nl >= 0) head = first.subarray(0, nl).toString('utf8');
        else if (first.length > MAX_LOG_BYTES) head = first.subarray(0, MAX_LOG_BYTES).toString('utf8');
        if (head !== null) first = Buffer.alloc(0);
      }
      kept = Buffer.concat([kept, c]);
      if (kept.length > 2 * MAX_LOG_BYTES) kept = kept.subarray(kept.length - MAX_LOG_BYTES);
    }
    if (head === null) head = first.toString('utf8');
    text = kept.subarray(Math.max(0, kept.length - MAX_LOG_BYTES)).toString('utf8');
  } catch (err) {
    // A host whose agent cannot stream logs still has its console log (Nova's console output).
    if (!(err instanceof ConflictError)) throw err;
    text = ((await h.clients.compute.act(h.ctx, id, { 'os-getConsoleOutput': { length: 10_000 } }, h.requestId)) as { output: string }).output.slice(-MAX_LOG_BYTES);
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return { text, head: head ?? lines[0] ?? '', tail: lines.at(-1) ?? '' };
}

type Doc = Record<string, unknown>;

/**
 * The container's `docker inspect` document (from its engine, through compute, with nothing of the
 * host in it) as the plugin's users read it: the first network's addresses also at the top of
 * NetworkSettings (where Docker's default bridge puts them), and `Ports` saying where each port of
 * `port_specs` is published: at the container's floating IP, or nowhere (null).
 */
async function inspectView(h: ResourceHandle, id: string, ports: PortSpec[]): Promise<Doc> {
  const doc = await h.clients.compute.inspect(h.ctx, id);
  const settings = { ...((doc.NetworkSettings as Doc | undefined) ?? {}) };
  const first = Object.values((settings.Networks as Record<string, Doc> | undefined) ?? {})[0];
  if (first && !settings.IPAddress) {
    for (const k of ['IPAddress', 'IPPrefixLen', 'Gateway', 'MacAddress']) settings[k] = first[k];
  }
  // Resources made before bindings were recorded published every port on its own number.
  const bindings = (h.data.bindings as { port: number; protocol: string; hostPort: number }[] | undefined) ?? ports.map((p) => ({ ...p, hostPort: p.port }));
  const published: Doc = {};
  for (const p of ports) {
    const b = bindings.filter((x) => x.port === p.port && x.protocol === p.protocol);
    published[`${p.port}/${p.protocol}`] = b.length && h.data.floatingIp ? b.map((x) => ({ HostIp: String(h.data.floatingIp), HostPort: String(x.hostPort) })) : null;
  }
  settings.Ports = published;
  return { ...doc, NetworkSettings: settings };
}

/** The plugin's network_info: NetworkSettings with the published host ports as `TcpPorts` and `UdpPorts` ("80,443"). */
function networkInfo(doc: Doc): Doc & { IPAddress?: string; Gateway?: string; TcpPorts: string; UdpPorts: string } {
  const settings = doc.NetworkSettings as Doc;
  const tcp: string[] = [];
  const udp: string[] = [];
  for (const [key, list] of Object.entries((settings.Ports as Record<string, { HostPort?: string }[] | null>) ?? {})) {
    const [, proto] = key.split('/');
    const hostPort = list?.[0]?.HostPort;
    if (!hostPort) continue;
    if (proto === 'tcp') tcp.push(hostPort);
    else if (proto === 'udp') udp.push(hostPort);
  }
  return { ...settings, TcpPorts: tcp.join(','), UdpPorts: udp.join(',') };
}

/** Floating IP, route and an opening for the published ports: the container's public face. */
async function publish(h: ResourceHandle, serverId: string): Promise<void> {
  const binding = (await h.clients.network.bindingsOf(serverId))[0];
  if (!binding) throw new Error('The container has no network port to publish on.');
  const extId = await externalNetworkId(h);
  const subnetId = binding.fixedIps[0]!.subnetId;
  await ensureRoute(h, subnetId, extId);
  if (!h.data.securityGroupId) {
    const group = await h.clients.network.createSecurityGroup(h.ctx, { name: `${h.physicalName}-published`, description: `Published ports of ${h.name}` });
    h.data.securityGroupId = group.id;
    for (const p of (h.data.ports as PortSpec[]) ?? []) {
      await h.clients.network.createSecurityGroupRule(h.ctx, { security_group_id: group.id, direction: 'ingress', ethertype: 'IPv4', protocol: p.protocol, port_range_min: p.port, port_range_max: p.port, remote_ip_prefix: '0.0.0.0/0' });
    }
    const port = await h.clients.network.find(h.ctx, 'port', binding.portId);
    await h.clients.network.updatePort(h.ctx, binding.portId, { security_groups: [...new Set([...((port.security_groups as string[]) ?? []), group.id])] });
  }
  if (!h.data.forwarded) {
    // Made before port forwardings: the floating IP on the port carries the container's own numbers.
    const fip = await h.clients.network.createFloatingIp(h.ctx, { floating_network_id: extId, port_id: binding.portId });
    h.data.floatingIpId = fip.id;
    h.data.floatingIp = fip.floating_ip_address;
    return;
  }
  // The floating IP on no port, one forwarding per binding (Compose's "8080:80": 8080 of the floating
  // IP to 80 of the container). Recorded before the forwardings, so a failure leaves nothing unowned.
  if (!h.data.floatingIpId) {
    const fip = await h.clients.network.createFloatingIp(h.ctx, { floating_network_id: extId, description: `Published ports of ${h.name}` });
    h.data.floatingIpId = fip.id;
    h.data.floatingIp = fip.floating_ip_address;
  }
  const fipId = String(h.data.floatingIpId);
  const existing = await h.clients.network.listPortForwardings(h.ctx, fipId);
  const address = binding.fixedIps[0]!.ipAddress;
  for (const b of (h.data.bindings as { port: number; protocol: 'tcp' | 'udp'; hostPort: number }[]) ?? []) {
    if (existing.some((f) => f.external_port === b.hostPort && f.protocol === b.protocol)) continue;
    await h.clients.network.createPortForwarding(h.ctx, fipId, { internal_port_id: binding.portId, internal_ip_address: address, internal_port: b.port, external_port: b.hostPort, protocol: b.protocol });
  }
  h.data.published = true;
}
