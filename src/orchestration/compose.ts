// docker-compose files (versions 2 and 3) translated into a HOT template of
// DockerInc::Docker::Container resources (and Neutron networks for the networks the file
// declares with a subnet), so Compose users get stacks with tenancy, quotas and updates.
import { TemplateError } from './template/model.ts';
import { fileContent } from './resources/template-resource.ts';

type Doc = Record<string, unknown>;

export function isComposeDocument(doc: Doc): boolean {
  return 'services' in doc && !('heat_template_version' in doc) && !('AWSTemplateFormatVersion' in doc);
}

const SERVICE_KEYS = new Set([
  'image', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'expose', 'networks', 'volumes', 'depends_on', 'restart', 'labels', 'healthcheck',
  'container_name', 'hostname', 'user', 'working_dir', 'tty', 'stdin_open', 'read_only', 'cap_add', 'cap_drop', 'privileged', 'devices', 'mem_limit',
  'cpu_shares', 'cpuset', 'dns', 'links', 'volumes_from', 'deploy', 'build',
]);

const map = (v: unknown, at: string): Doc => {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new TemplateError(`${at}: must be a mapping.`);
  return v as Doc;
};

const resourceName = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

/** Splits a command string as a POSIX shell would for simple quoting. */
export function shellWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (cur || has) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (quote) throw new TemplateError(`Unterminated quote in command: ${s}`);
  if (cur || has) out.push(cur);
  return out;
}

function envList(v: unknown, at: string): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(String);
  return Object.entries(map(v, at)).map(([k, x]) => (x === null || x === undefined ? k : `${k}=${String(x)}`));
}

function parseEnvFile(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

/** Compose port forms -> container port specs and bindings (container port -> host port). */
function ports(v: unknown, at: string): { specs: string[]; bindings: Record<string, number> } {
  const specs: string[] = [];
  const bindings: Record<string, number> = {};
  if (v === undefined || v === null) return { specs, bindings };
  if (!Array.isArray(v)) throw new TemplateError(`${at}: must be a list.`);
  v.forEach((p, i) => {
    let target: string;
    let published: string | undefined;
    let protocol = 'tcp';
    if (p && typeof p === 'object') {
      const o = p as Doc;
      target = String(o.target ?? '');
      published = o.published === undefined ? undefined : String(o.published);
      protocol = String(o.protocol ?? 'tcp');
    } else {
      const [body, proto] = String(p).split('/');
      protocol = proto ?? 'tcp';
      const parts = body!.split(':');
      target = parts[parts.length - 1]!;
      published = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    }
    if (!/^\d+$/.test(target) || (published !== undefined && !/^\d+$/.test(published)) || !['tcp', 'udp'].includes(protocol)) {
      throw new TemplateError(`${at}[${i}]: "${typeof p === 'object' ? JSON.stringify(p) : String(p)}" is not a port hafen understands (PORT, HOST:PORT or IP:HOST:PORT, /tcp or /udp; no ranges).`);
    }
    const spec = `${target}/${protocol}`;
    specs.push(spec);
    if (published !== undefined) bindings[spec] = Number(published);
  });
  return { specs, bindings };
}

function memoryMiB(v: unknown, at: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(String(v));
  if (!m) throw new TemplateError(`${at}: "${String(v)}" is not a memory size (e.g. 256m).`);
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  const bytes = unit === 'g' ? n * 2 ** 30 : unit === 'm' ? n * 2 ** 20 : unit === 'k' ? n * 2 ** 10 : n;
  return Math.ceil(bytes / 2 ** 20);
}

export function composeToTemplate(doc: Doc, files: Record<string, string>): Doc {
  const version = doc.version === undefined ? '3' : String(doc.version);
  if (!/^[23](\.\d+)?$/.test(version)) throw new TemplateError(`version: Compose file version "${version}" is not supported (use 2.x or 3.x).`);
  for (const key of Object.keys(doc)) if (!['version', 'services', 'networks', 'volumes', 'x-hafen'].includes(key) && !key.startsWith('x-')) throw new TemplateError(`${key}: unsupported top-level key in a Compose file.`);
  const services = map(doc.services, 'services');
  if (Object.keys(services).length === 0) throw new TemplateError('services: a Compose file needs at least one service.');
  const networks = map(doc.networks, 'networks');
  const volumes = map(doc.volumes, 'volumes');
  const resources: Doc = {};
  const outputs: Doc = {};
  // Networks with an explicit subnet become Neutron networks; the others are the project's default network.
  const neutronNets = new Map<string, string>();
  for (const [name, def] of Object.entries(networks)) {
    const d = map(def, `networks.${name}`);
    const cfg = (map(d.ipam, `networks.${name}.ipam`).config as Doc[] | undefined)?.[0];
    const subnet = cfg ? String((cfg as Doc).subnet ?? '') : '';
    if (!subnet) continue;
    const r = resourceName(`net_${name}`);
    resources[r] = { type: 'OS::Neutron::Net', properties: { name: { list_join: ['-', [{ get_param: 'OS::stack_name' }, name]] } } };
    resources[`${r}_subnet`] = { type: 'OS::Neutron::Subnet', properties: { network: { get_resource: r }, cidr: subnet, ...(cfg && (cfg as Doc).gateway ? { gateway_ip: String((cfg as Doc).gateway) } : {}) } };
    neutronNets.set(name, r);
  }
  for (const [svc, def] of Object.entries(services)) {
    const at = `services.${svc}`;
    const d = map(def, at);
    for (const key of Object.keys(d)) if (!SERVICE_KEYS.has(key)) throw new TemplateError(`${at}.${key}: unsupported service key.`);
    if (d.build !== undefined) throw new TemplateError(`${at}.build: building images is not supported; upload the image to the image service and name it in "image".`);
    if (typeof d.image !== 'string' || !d.image) throw new TemplateError(`${at}.image: a service needs an image.`);
    // Services find each other by name as in Compose: `<service>.<stack>` on the network, the stack
    // name as the resolver's search domain (stack names are unique in a project).
    const props: Doc = { image: d.image, aliases: [{ list_join: ['.', [svc, { get_param: 'OS::stack_name' }]] }], dns_search: [{ get_param: 'OS::stack_name' }] };
    if (d.container_name !== undefined) props.name = String(d.container_name);
    if (d.hostname !== undefined) props.hostname = String(d.hostname);
    if (d.user !== undefined) props.user = String(d.user);
    if (d.working_dir !== undefined) props.working_dir = String(d.working_dir);
    if (d.command !== undefined) props.cmd = Array.isArray(d.command) ? d.command.map(String) : shellWords(String(d.command));
    if (d.entrypoint !== undefined) props.entrypoint = Array.isArray(d.entrypoint) ? d.entrypoint.map(String) : shellWords(String(d.entrypoint));
    const env: string[] = [];
    for (const f of d.env_file === undefined ? [] : Array.isArray(d.env_file) ? d.env_file : [d.env_file]) {
      const text = fileContent(files, String(f));
      if (text === undefined) throw new TemplateError(`${at}.env_file: ${String(f)} is not in the files of the request.`);
      env.push(...parseEnvFile(text));
    }
    env.push(...envList(d.environment, `${at}.environment`));
    if (env.length) props.env = env;
    const p = ports(d.ports, `${at}.ports`);
    const exposed = (Array.isArray(d.expose) ? d.expose : []).map((x) => (String(x).includes('/') ? String(x) : `${String(x)}/tcp`));
    if (p.specs.length || exposed.length) props.port_specs = [...new Set([...p.specs, ...exposed])];
    if (Object.keys(p.bindings).length) props.port_bindings = p.bindings;
    const vols: Doc = {};
    const named: Doc[] = [];
    (Array.isArray(d.volumes) ? d.volumes : d.volumes === undefined ? [] : [d.volumes]).forEach((v, i) => {
      const spec = typeof v === 'object' && v ? `${String((v as Doc).source ?? '')}:${String((v as Doc).target ?? '')}` : String(v);
      const parts = spec.split(':');
      const [source, target] = parts.length === 1 ? ['', parts[0]!] : [parts[0]!, parts[1]!];
      if (source.startsWith('/') || source.startsWith('.') || source.startsWith('~')) throw new TemplateError(`${at}.volumes[${i}]: host paths are refused (tenant containers never get host mounts); use a named volume.`);
      if (source && !(source in volumes)) throw new TemplateError(`${at}.volumes[${i}]: named volume "${source}" is not declared in the top-level volumes.`);
      if (!target.startsWith('/')) throw new TemplateError(`${at}.volumes[${i}]: the mount point must be an absolute path.`);
      // A named volume is the stack's own, shared by its services; an unnamed one is the container's.
      if (source) named.push({ name: { list_join: ['_', [{ get_param: 'OS::stack_id' }, source]] }, target });
      else vols[target] = {};
    });
    if (Object.keys(vols).length) props.volumes = vols;
    if (named.length) props.named_volumes = named;
    const restart = d.restart ?? (d.deploy as Doc | undefined)?.restart_policy;
    if (restart !== undefined) {
      const name = typeof restart === 'object' ? String((restart as Doc).condition ?? 'any').replace('any', 'always') : String(restart).split(':')[0]!;
      if (!['no', 'always', 'on-failure', 'unless-stopped', 'none'].includes(name)) throw new TemplateError(`${at}.restart: "${name}" is not a restart policy.`);
      props.restart_policy = { Name: name === 'none' ? 'no' : name, ...(String(restart).includes(':') ? { MaximumRetryCount: Number(String(restart).split(':')[1]) } : {}) };
    }
    if (d.labels !== undefined) props.labels = Array.isArray(d.labels) ? Object.fromEntries(d.labels.map((l) => String(l).split(/=(.*)/s).slice(0, 2))) : Object.fromEntries(Object.entries(map(d.labels, `${at}.labels`)).map(([k, v]) => [k, String(v)]));
    if (d.healthcheck !== undefined) props.healthcheck = healthcheck(map(d.healthcheck, `${at}.healthcheck`), `${at}.healthcheck`);
    for (const [from, to] of [['tty', 'tty'], ['stdin_open', 'open_stdin'], ['read_only', 'read_only'], ['privileged', 'privileged']] as const) if (d[from] !== undefined) props[to] = Boolean(d[from]);
    for (const [from, to] of [['cap_add', 'cap_add'], ['cap_drop', 'cap_drop'], ['devices', 'devices'], ['dns', 'dns'], ['links', 'links'], ['volumes_from', 'volumes_from']] as const) {
      if (d[from] !== undefined) props[to] = (Array.isArray(d[from]) ? d[from] : [d[from]]).map(String);
    }
    const limits = ((d.deploy as Doc | undefined)?.resources as Doc | undefined)?.limits as Doc | undefined;
    const mem = memoryMiB(d.mem_limit ?? limits?.memory, `${at}.mem_limit`);
    if (mem !== undefined) props.memory = mem * 2 ** 20;
    if (d.cpu_shares !== undefined) props.cpu_shares = Number(d.cpu_shares);
    if (d.cpuset !== undefined) props.cpu_set = String(d.cpuset);
    const nets = d.networks === undefined ? [] : Array.isArray(d.networks) ? d.networks.map(String) : Object.keys(map(d.networks, `${at}.networks`));
    for (const n of nets) if (!(n in networks) && n !== 'default') throw new TemplateError(`${at}.networks: network "${n}" is not declared in the top-level networks.`);
    const neutron = nets.filter((n) => neutronNets.has(n));
    if (neutron.length > 1) throw new TemplateError(`${at}.networks: a hafen container joins one network at boot.`);
    if (neutron.length === 1) props.networks = [{ network: { get_resource: neutronNets.get(neutron[0]!) } }];
    const deps = d.depends_on === undefined ? [] : Array.isArray(d.depends_on) ? d.depends_on.map(String) : Object.keys(map(d.depends_on, `${at}.depends_on`));
    for (const dep of deps) if (!(dep in services)) throw new TemplateError(`${at}.depends_on: service "${dep}" is not defined.`);
    const extraDeps = neutron.length === 1 ? [`${neutronNets.get(neutron[0]!)}_subnet`] : [];
    const allDeps = [...deps.map(resourceName), ...extraDeps];
    resources[resourceName(svc)] = { type: 'DockerInc::Docker::Container', properties: props, ...(allDeps.length ? { depends_on: allDeps } : {}) };
    outputs[`${resourceName(svc)}_ip`] = { description: `Address of service ${svc}`, value: { get_attr: [resourceName(svc), 'network_ip'] } };
    if (p.specs.length && Object.keys(p.bindings).length) outputs[`${resourceName(svc)}_published`] = { description: `Published address of service ${svc}`, value: { get_attr: [resourceName(svc), 'published_address'] } };
  }
  return { heat_template_version: '2021-04-16', description: 'Translated from a Compose file by hafen', resources, outputs };
}

function duration(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(v));
  if (!m) throw new TemplateError(`healthcheck: "${String(v)}" is not a duration`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

function healthcheck(d: Doc, at: string): Doc {
  if (d.disable === true) return { test: ['NONE'] };
  const test = d.test === undefined ? undefined : Array.isArray(d.test) ? d.test.map(String) : ['CMD-SHELL', String(d.test)];
  if (!test) throw new TemplateError(`${at}.test: a healthcheck needs a test.`);
  return {
    test,
    ...(d.interval !== undefined ? { interval: duration(d.interval) } : {}),
    ...(d.timeout !== undefined ? { timeout: duration(d.timeout) } : {}),
    ...(d.retries !== undefined ? { retries: Number(d.retries) } : {}),
    ...(d.start_period !== undefined ? { start_period: duration(d.start_period) } : {}),
  };
}
