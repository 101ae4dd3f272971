// The fake driver: a host simulated in memory, for control-plane scale tests and benches (thousands
// of hosts on one machine). It keeps the ComputeDriver guarantees; it never runs anything.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Duplex, PassThrough, Readable } from 'node:stream';
import { BadRequestError, ConflictError, NotFoundError } from '../../platform/errors.ts';
import { writeTar, type TarEntry } from '../../host/tar-writer.ts';
import type { ArchiveStat, ComputeDriver, DriverCapabilities, ExecResult, HostCapacity, InterfaceSpec, LogOptions, PowerState, ProcessStream, ProcessTable, ServerInspect, ServerSpec, ServerState, ServerStats, TtySize } from '../driver.ts';
import { readTar } from './tar-reader.ts';

export interface FakeHostOptions {
  hostname: string;
  vcpus?: number;
  memoryMiB?: number;
  diskGiB?: number;
  architecture?: string;
  /** Time a spawn takes, to simulate slow hosts (default 0: instant). */
  spawnDelayMs?: number;
}

interface FakeServer {
  spec: ServerSpec;
  power: PowerState;
  interfaces: Map<string, InterfaceSpec>;
  memoryMiB: number;
  vcpus: number;
  /** The server's file system as far as the fake keeps one: absolute path -> content. */
  files: Map<string, Buffer>;
  /** Directories that exist (the usual ones, and those archives brought). */
  dirs: Set<string>;
  /** Prepared interactive processes by handle. */
  execs: Map<string, { command: string[]; tty: boolean; started: boolean }>;
  bootedAt: number;
}

/** The largest archive a fake host takes in (it keeps files in memory). */
const MAX_FAKE_ARCHIVE_BYTES = 64 << 20;
const DIR_MODE = 0x80000000 | 0o755;

export class FakeDriver implements ComputeDriver {
  readonly capabilities: DriverCapabilities = {
    pause: true, snapshot: false, liveResize: true, consoleLog: true, interfaceHotplug: true,
    // A fake host runs no processes: exec answers from a tiny built-in shell, sessions echo their
    // input, archives live in memory; it cannot produce an image, so it does not commit.
    exec: true, attach: true, archive: true, stats: true, logs: true, commit: false, inspect: true,
  };
  private readonly servers = new Map<string, FakeServer>();
  private readonly images = new Set<string>();
  private readonly cap: HostCapacity;

  constructor(private readonly options: FakeHostOptions) {
    this.cap = {
      vcpus: options.vcpus ?? 16,
      memoryMiB: options.memoryMiB ?? 65536,
      diskGiB: options.diskGiB ?? 1000,
      architecture: options.architecture ?? 'x86_64',
      hostname: options.hostname,
    };
  }

  /** Servers the fake host holds (tests look at it as they would look at an engine). */
  get serverCount(): number {
    return this.servers.size;
  }

  async capacity(): Promise<HostCapacity> {
    return { ...this.cap };
  }

  async ensureImage(imageId: string, digest: string, _data: () => Promise<Readable>): Promise<void> {
    // The archive is never read: a fake host only has to know it "has" the image.
    this.images.add(`${imageId}@${digest}`);
  }

  async spawn(spec: ServerSpec): Promise<ServerState> {
    if (this.options.spawnDelayMs) await new Promise((r) => setTimeout(r, this.options.spawnDelayMs));
    // Atomic: either the server is recorded whole, or nothing of it is.
    if (this.servers.has(spec.serverId)) throw new ConflictError(`A server ${spec.serverId} already exists on ${this.cap.hostname}.`);
    if (![...this.images].some((k) => k.startsWith(`${spec.imageId}@`))) throw new Error(`Image ${spec.imageId} is not on ${this.cap.hostname}.`);
    const interfaces = new Map<string, InterfaceSpec>();
    if (spec.network) interfaces.set(spec.network.name, spec.network);
    const files = new Map(Object.entries(spec.container?.files ?? {}).map(([p, content]) => [path.posix.resolve('/', p), Buffer.from(content, 'base64')]));
    const dirs = new Set(['/', '/tmp', '/root', '/etc', '/home', '/var', '/usr', '/bin']);
    for (const f of files.keys()) for (let d = path.posix.dirname(f); d !== '/'; d = path.posix.dirname(d)) dirs.add(d);
    const power: PowerState = spec.container?.start === false ? 'shutdown' : 'running';
    this.servers.set(spec.serverId, { spec, power, interfaces, memoryMiB: spec.memoryMiB, vcpus: spec.vcpus, files, dirs, execs: new Map(), bootedAt: Date.now() });
    return this.state(spec.serverId);
  }

  async destroy(serverId: string): Promise<void> {
    this.servers.delete(serverId);
  }

  async power(serverId: string, action: 'start' | 'stop' | 'reboot' | 'hard-reboot' | 'pause' | 'unpause'): Promise<ServerState> {
    const s = this.servers.get(serverId);
    if (!s) throw new Error(`No server ${serverId} on ${this.cap.hostname}.`);
    switch (action) {
      case 'start':
      case 'reboot':
      case 'hard-reboot':
        s.power = 'running';
        break;
      case 'stop':
        s.power = 'shutdown';
        break;
      case 'pause':
        if (s.power !== 'running') throw new ConflictError(`Server ${serverId} is not running.`);
        s.power = 'paused';
        break;
      case 'unpause':
        if (s.power !== 'paused') throw new ConflictError(`Server ${serverId} is not paused.`);
        s.power = 'running';
        break;
      default: {
        const never: never = action;
        throw new Error(`unknown power action ${String(never)}`);
      }
    }
    return this.state(serverId);
  }

  async state(serverId: string): Promise<ServerState> {
    const s = this.servers.get(serverId);
    if (!s) return { power: 'missing', ip: null, mac: null, exitCode: null };
    const first = [...s.interfaces.values()][0];
    return { power: s.power, ip: first?.ip ?? null, mac: first?.mac ?? null, exitCode: s.power === 'shutdown' ? 0 : null };
  }

  async resize(serverId: string, limits: { memoryMiB: number; vcpus: number; pidsLimit: number }): Promise<void> {
    const s = this.servers.get(serverId);
    if (!s) throw new Error(`No server ${serverId} on ${this.cap.hostname}.`);
    s.memoryMiB = limits.memoryMiB;
    s.vcpus = limits.vcpus;
  }

  async consoleLog(serverId: string, tailLines: number | null): Promise<string> {
    if (!this.servers.has(serverId)) throw new Error(`No server ${serverId} on ${this.cap.hostname}.`);
    const lines = [`fake host ${this.cap.hostname}: server ${serverId} booted`];
    return (tailLines === null ? lines : lines.slice(-tailLines)).join('\n') + '\n';
  }

  async snapshot(serverId: string, _name: string): Promise<Readable> {
    // capabilities.snapshot is false: compute does not ask; a direct call is refused plainly.
    throw new ConflictError(`The fake host ${this.cap.hostname} cannot snapshot server ${serverId}.`);
  }

  async attachInterface(serverId: string, nic: InterfaceSpec): Promise<void> {
    const s = this.servers.get(serverId);
    if (!s) throw new Error(`No server ${serverId} on ${this.cap.hostname}.`);
    // As on an engine: a server booted without networking (networks: none) takes no interfaces.
    if (s.spec.network === null) throw new ConflictError(`Server ${serverId} was booted without networking (networks: none) and cannot take interfaces.`);
    // Several on one network, one per address; the same address again is a re-plug.
    const key = s.interfaces.has(nic.name) ? `${nic.name} ${nic.ip}` : nic.name;
    if (s.interfaces.get(nic.name)?.ip === nic.ip) return;
    s.interfaces.set(key, nic);
  }

  async detachInterface(serverId: string, networkName: string, address?: string | null): Promise<void> {
    const s = this.servers.get(serverId);
    if (!s) return;
    const key = [...s.interfaces.entries()].find(([, n]) => n.name === networkName && (!address || n.ip === address))?.[0];
    if (key !== undefined) s.interfaces.delete(key);
  }

  // ---- the container verbs, simulated

  private server(serverId: string): FakeServer {
    const s = this.servers.get(serverId);
    if (!s) throw new NotFoundError(`No server ${serverId} on ${this.cap.hostname}.`);
    return s;
  }

  private running(serverId: string, verb: string): FakeServer {
    const s = this.server(serverId);
    if (s.power !== 'running') throw new ConflictError(`Cannot ${verb} server ${serverId}: it is not running.`);
    return s;
  }

  async signal(serverId: string, signal: string): Promise<void> {
    const s = this.running(serverId, 'kill');
    // The fake main process ends on the signals that end a shell; others it ignores.
    if (['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', '9', '15', '2', '1', '3'].includes(signal.toUpperCase())) s.power = 'shutdown';
  }

  async exec(serverId: string, command: string[], options: { maxOutputBytes: number }): Promise<ExecResult> {
    const s = this.running(serverId, 'execute in');
    const { output, exitCode } = fakeShell(command, s.files);
    const all = Buffer.from(output);
    return { output: all.subarray(0, options.maxOutputBytes), exitCode, truncated: all.length > options.maxOutputBytes };
  }

  async createExec(serverId: string, command: string[], options: { tty: boolean }): Promise<string> {
    const s = this.running(serverId, 'execute in');
    const handle = randomBytes(32).toString('hex');
    s.execs.set(handle, { command, tty: options.tty, started: false });
    return handle;
  }

  async startExec(serverId: string, execId: string): Promise<ProcessStream> {
    const e = this.running(serverId, 'execute in').execs.get(execId);
    if (!e || e.started) throw new NotFoundError(`No exec ${execId} for server ${serverId}.`);
    e.started = true;
    return echoSession();
  }

  async resizeExec(serverId: string, execId: string, _size: TtySize): Promise<void> {
    if (!this.server(serverId).execs.has(execId)) throw new NotFoundError(`No exec ${execId} for server ${serverId}.`);
  }

  async attach(serverId: string): Promise<ProcessStream> {
    this.running(serverId, 'attach to');
    return echoSession();
  }

  async resizeTty(serverId: string, _size: TtySize): Promise<void> {
    this.running(serverId, 'resize the terminal of');
  }

  async logs(serverId: string, options: LogOptions): Promise<Readable> {
    const s = this.server(serverId);
    const stamp = new Date(s.bootedAt).toISOString();
    let lines = options.stdout && (options.since === null || options.since * 1000 <= s.bootedAt) ? [`fake host ${this.cap.hostname}: server ${serverId} booted`] : [];
    if (options.tail !== null) lines = options.tail === 0 ? [] : lines.slice(-options.tail);
    return Readable.from(lines.map((l) => `${options.timestamps ? `${stamp} ` : ''}${l}\n`));
  }

  async archiveGet(serverId: string, p: string): Promise<{ stat: ArchiveStat; data: Readable }> {
    const s = this.server(serverId);
    const at = path.posix.resolve('/', p);
    const base = path.posix.basename(at) || '/';
    const mtime = new Date(s.bootedAt).toISOString();
    const file = s.files.get(at);
    if (file) {
      return { stat: { name: base, size: file.length, mode: 0o644, mtime, linkTarget: '' }, data: Readable.from([writeTar([{ type: 'file', path: base, content: file }])]) };
    }
    if (!s.dirs.has(at)) throw new NotFoundError(`Could not find the file ${p} in server ${serverId}.`);
    const entries: TarEntry[] = [{ type: 'directory', path: base }];
    for (const d of [...s.dirs].filter((d) => d.startsWith(`${at === '/' ? '' : at}/`)).sort()) entries.push({ type: 'directory', path: `${base}/${path.posix.relative(at, d)}` });
    for (const [f, content] of [...s.files].filter(([f]) => f.startsWith(`${at === '/' ? '' : at}/`))) entries.push({ type: 'file', path: `${base}/${path.posix.relative(at, f)}`, content });
    return { stat: { name: base, size: 4096, mode: DIR_MODE, mtime, linkTarget: '' }, data: Readable.from([writeTar(entries)]) };
  }

  async archivePut(serverId: string, p: string, data: Readable): Promise<void> {
    const s = this.server(serverId);
    const at = path.posix.resolve('/', p);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of data) {
      size += (chunk as Buffer).length;
      if (size > MAX_FAKE_ARCHIVE_BYTES) throw new BadRequestError('The archive is larger than a fake host takes.');
      chunks.push(chunk as Buffer);
    }
    if (!s.dirs.has(at)) throw new NotFoundError(`Could not find the file ${p} in server ${serverId}.`);
    let entries;
    try {
      entries = readTar(Buffer.concat(chunks));
    } catch (err) {
      throw new BadRequestError(`Not a tar archive: ${(err as Error).message}`);
    }
    for (const e of entries) {
      const target = path.posix.resolve(at, e.path);
      if (!target.startsWith(at === '/' ? '/' : `${at}/`)) throw new BadRequestError(`The archive's path ${e.path} leaves ${p}.`);
      if (e.type === 'directory') s.dirs.add(target);
      else if (e.type === 'file') {
        s.files.set(target, e.content);
        for (let d = path.posix.dirname(target); d !== '/'; d = path.posix.dirname(d)) s.dirs.add(d);
      }
    }
  }

  async stats(serverId: string): Promise<ServerStats> {
    const s = this.running(serverId, 'read the stats of');
    return { cpuPercent: 0, memoryUsageBytes: 1 << 20, memoryLimitBytes: s.memoryMiB * 2 ** 20, blockReadBytes: 0, blockWriteBytes: 0, networkRxBytes: 0, networkTxBytes: 0 };
  }

  async top(serverId: string, _psArgs: string | null): Promise<ProcessTable> {
    const s = this.running(serverId, 'list the processes of');
    const cmd = (s.spec.container?.command ?? s.spec.command ?? ['init']).join(' ');
    return { titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], processes: [['root', '1', '0', '0', '00:00', '?', '00:00:00', cmd]] };
  }

  async commit(serverId: string): Promise<Readable> {
    // capabilities.commit is false: callers do not ask; a direct call is refused plainly.
    throw new ConflictError(`The fake host ${this.cap.hostname} cannot commit server ${serverId}.`);
  }

  async inspect(serverId: string): Promise<ServerInspect> {
    const s = this.server(serverId);
    const c = s.spec.container ?? {};
    const command = c.command ?? s.spec.command ?? ['init'];
    const [path0, ...args] = [...(c.entrypoint ?? []), ...command];
    const booted = new Date(s.bootedAt).toISOString();
    const networks = Object.fromEntries([...s.interfaces.values()].map((n) => [n.name, {
      IPAMConfig: n.ip ? { IPv4Address: n.ip } : null, Links: null, Aliases: c.aliases ?? null, Gateway: n.gateway, IPAddress: n.ip ?? '',
      IPPrefixLen: Number(n.subnet.split('/')[1] ?? 0), IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: n.mac ?? '', DriverOpts: null,
    }]));
    return {
      Id: serverId,
      Created: booted,
      Path: path0,
      Args: args,
      State: {
        Status: s.power === 'running' ? 'running' : s.power === 'paused' ? 'paused' : 'exited', Running: s.power === 'running' || s.power === 'paused',
        Paused: s.power === 'paused', Restarting: false, OOMKilled: false, Dead: false, ExitCode: 0, Error: '', StartedAt: booted, FinishedAt: '0001-01-01T00:00:00Z',
      },
      Image: '',
      Name: `/${serverId}`,
      RestartCount: 0,
      Driver: 'fake',
      Platform: 'linux',
      ExecIDs: null,
      HostConfig: {
        NetworkMode: s.spec.network?.name ?? 'none', Memory: s.memoryMiB * 2 ** 20, NanoCpus: s.vcpus * 1e9, PidsLimit: s.spec.pidsLimit,
        Privileged: false, ReadonlyRootfs: s.spec.readOnlyRoot || c.readOnly === true, RestartPolicy: { Name: c.restartPolicy?.name ?? 'no', MaximumRetryCount: c.restartPolicy?.maximumRetryCount ?? 0 },
      },
      GraphDriver: { Name: 'fake', Data: null },
      Mounts: [],
      Config: {
        Hostname: c.hostname ?? s.spec.hostname, Domainname: '', User: c.user ?? '', Tty: c.tty ?? false, OpenStdin: c.openStdin ?? true,
        Env: [...s.spec.env, ...(c.env ?? [])], Cmd: command, Image: '', WorkingDir: c.workingDir ?? '', Entrypoint: c.entrypoint ?? null,
        Labels: Object.fromEntries(Object.entries(c.labels ?? {}).filter(([k]) => !k.startsWith('hafen.'))),
      },
      NetworkSettings: { Bridge: '', HairpinMode: false, Ports: {}, Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '', Networks: networks },
    };
  }

  /** The server's interfaces by engine network name (for tests). */
  interfacesOf(serverId: string): string[] {
    return [...(this.servers.get(serverId)?.interfaces.keys() ?? [])];
  }

  async listServers(): Promise<{ serverId: string; power: PowerState }[]> {
    return [...this.servers].map(([serverId, s]) => ({ serverId, power: s.power }));
  }
}

/** The fake host's shell: echo, true, false, cat of kept files, `sh -c 'exit N'`; anything else is not found. */
function fakeShell(command: string[], files: Map<string, Buffer>): { output: string; exitCode: number } {
  const [prog, ...args] = command;
  switch (prog) {
    case 'echo':
      return { output: `${args.join(' ')}\n`, exitCode: 0 };
    case 'true':
      return { output: '', exitCode: 0 };
    case 'false':
      return { output: '', exitCode: 1 };
    case 'cat': {
      let output = '';
      for (const a of args) {
        const f = files.get(path.posix.resolve('/', a));
        if (!f) return { output: `${output}cat: can't open '${a}': No such file or directory\n`, exitCode: 1 };
        output += f.toString('utf8');
      }
      return { output, exitCode: 0 };
    }
    case 'sh': {
      const m = args[0] === '-c' ? /^\s*exit\s+(\d+)\s*$/.exec(args[1] ?? '') : null;
      if (m) return { output: '', exitCode: Number(m[1]) };
      return args[0] === '-c' ? fakeShell((args[1] ?? '').split(/\s+/).filter(Boolean), files) : { output: '', exitCode: 0 };
    }
    default:
      return { output: `sh: ${prog}: not found\n`, exitCode: 127 };
  }
}

/** An interactive session on a fake host: what is written comes back (a `cat` on a terminal). */
function echoSession(): ProcessStream {
  const out = new PassThrough();
  return new Duplex({
    read() {
      out.resume();
    },
    write(chunk: Buffer, _enc, done) {
      out.write(chunk, done);
    },
    final(done) {
      out.end();
      done();
    },
    construct(done) {
      out.on('data', (c: Buffer) => {
        if (!this.push(c)) out.pause();
      });
      out.on('end', () => this.push(null));
      done();
    },
  });
}
