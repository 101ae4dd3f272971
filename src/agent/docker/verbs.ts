// The container verbs on a Docker engine (exec, attach, logs, archives, stats, top, commit) for
// the Docker driver. Exec handles are this module's own: engine exec ids never leave it.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { BadRequestError, ConflictError, NotFoundError } from '../../platform/errors.ts';
import type { ArchiveStat, ExecResult, LogOptions, ProcessStream, ProcessTable, ServerStats, TtySize } from '../driver.ts';
import { Demultiplexer, processSession } from './multiplex.ts';

/** A prepared interactive process lapses when not started within this time. */
const EXEC_LAPSE_MS = 10 * 60_000;
/** Prepared processes kept per driver: a bound on what callers can pile up. */
const MAX_PREPARED = 1000;

interface Prepared {
  serverId: string;
  engineId: string;
  tty: boolean;
  createdAt: number;
  started: boolean;
}

type EngineError = Error & { statusCode?: number; json?: { message?: string } };

export class DockerVerbs {
  private readonly prepared = new Map<string, Prepared>();

  constructor(private readonly docker: Docker, private readonly nameOf: (serverId: string) => string) {}

  private container(serverId: string): Docker.Container {
    return this.docker.getContainer(this.nameOf(serverId));
  }

  /** The engine's refusals in the driver's terms: gone is NotFound, a state conflict is Conflict. */
  private fail(serverId: string, err: unknown): never {
    const e = err as EngineError;
    const why = e.json?.message ?? e.message;
    if (e.statusCode === 404) throw new NotFoundError(`No server ${serverId} on this host (${why}).`);
    if (e.statusCode === 409) throw new ConflictError(`Server ${serverId}: ${why}`);
    if (e.statusCode === 400) throw new BadRequestError(`Server ${serverId}: ${why}`);
    throw err;
  }

  async inspect(serverId: string): Promise<Docker.ContainerInspectInfo> {
    try {
      return await this.container(serverId).inspect();
    } catch (err) {
      this.fail(serverId, err);
    }
  }

  private async running(serverId: string, verb: string): Promise<Docker.ContainerInspectInfo> {
    const info = await this.inspect(serverId);
    if (!info.State.Running || info.State.Paused) throw new ConflictError(`Cannot ${verb} server ${serverId}: it is not running.`);
    return info;
  }

  async signal(serverId: string, signal: string): Promise<void> {
    await this.running(serverId, 'kill');
    try {
      await this.container(serverId).kill({ signal });
    } catch (err) {
      this.fail(serverId, err);
    }
  }

  async exec(serverId: string, command: string[], options: { maxOutputBytes: number }): Promise<ExecResult> {
    const c = this.container(serverId);
    try {
      // No inspect first: the engine refuses (409) an exec in a container that is not running or is
      // paused, in words that name its own id, which are replaced here.
      const exec = await c.exec({ Cmd: command, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false }).catch((err: EngineError) => {
        if (err.statusCode === 409) throw new ConflictError(`Cannot execute in server ${serverId}: it is not running.`);
        throw err;
      });
      const socket = (await exec.start({ hijack: true, stdin: false, Detach: false, Tty: false })) as Duplex;
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      await new Promise<void>((resolve, reject) => {
        const out = socket.pipe(new Demultiplexer());
        out.on('data', (chunk: Buffer) => {
          const room = options.maxOutputBytes - size;
          if (room <= 0) return void (truncated = true);
          if (chunk.length > room) truncated = true;
          const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
          chunks.push(part);
          size += part.length;
        });
        out.on('end', resolve);
        out.on('error', reject);
        socket.on('error', reject);
        socket.on('close', () => resolve());
      });
      const info = await exec.inspect();
      return { output: Buffer.concat(chunks), exitCode: info.ExitCode ?? -1, truncated };
    } catch (err) {
      this.fail(serverId, err);
    }
  }

  async createExec(serverId: string, command: string[], options: { tty: boolean }): Promise<string> {
    await this.running(serverId, 'execute in');
    this.sweep();
    if (this.prepared.size >= MAX_PREPARED) throw new ConflictError('Too many interactive processes prepared on this host; start or let some lapse first.');
    try {
      const exec = await this.container(serverId).exec({ Cmd: command, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: options.tty });
      const handle = randomBytes(32).toString('hex');
      this.prepared.set(handle, { serverId, engineId: exec.id, tty: options.tty, createdAt: Date.now(), started: false });
      return handle;
    } catch (err) {
      this.fail(serverId, err);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [handle, p] of this.prepared) if (now - p.createdAt > EXEC_LAPSE_MS) this.prepared.delete(handle);
  }

  private handle(serverId: string, execId: string): Prepared {
    this.sweep();
    const p = this.prepared.get(execId);
    if (!p || p.serverId !== serverId) throw new NotFoundError(`No exec ${execId} for server ${serverId}.`);
    return p;
  }

  async startExec(serverId: string, execId: string): Promise<ProcessStream> {
    const p = this.handle(serverId, execId);
    if (p.started) throw new NotFoundError(`Exec ${execId} was started already.`);
    p.started = true;
    try {
      const socket = (await this.docker.getExec(p.engineId).start({ hijack: true, stdin: true, Detach: false, Tty: p.tty })) as Duplex;
      return processSession(socket, !p.tty);
    } catch (err) {
      this.fail(serverId, err);
    }
  }

  async resizeExec(serverId: string, execId: string, size: TtySize): Promise<void> {
    const p = this.handle(serverId, execId);
    if (!p.tty) return;
    try {
      await this.docker.getExec(p.engineId).resize({ h: size.height, w: size.width });
    } catch (err) {
      // A process not started yet (or gone already) has no tty to resize: as the engine, no harm done.
      if ((err as EngineError).statusCode === 409 || (err as EngineError).statusCode === 500) return;
      this.fail(serverId, err);
    }
  }

  async attach(serverId: string): Promise<ProcessStream> {
    const info = await this.running(serverId, 'attach to');
    try {
      const socket = (await this.container(serverId).attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as unknown as Duplex;
      return processSession(socket, !info.Config.Tty);
    } catch (err) {
      this.fail(serverId, err);
    }
  }

  async resizeTty(serverId: string, size: TtySize): Promise<void> {
    const info = await this.running(serverId, 'resize the terminal of');
    if (!info.Config.Tty) return;
    try {
      await this.container(serverId).resize({ h: size.height, w: size.width });
    } catch (err) {
      this.fail(serverId, err);
    }
  }

  async logs(serverId: string, options: LogOptions): Promise<Readable> {
    const info = await this.inspect(serverId);
    // The engine refuses a request for neither stream; its answer would be empty.
    if (!options.stdout && !options.stderr) return Readable.from([]);
    const query = {
      follow: false,
      stdout: options.stdout,
      stderr: options.stderr,
      timestamps: options.timestamps,
      tail: options.tail === null ? 'all' : String(options.tail),
      ...(options.since !== null ? { since: options.since } : {}),
    };
    try {
      // dockerode buffers a log that does not follow; the engine's answer is taken as the stream it is.
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        this.docker.modem.dial(
          { path: `/containers/${info.Id}/logs?`, method: 'GET', options: query, isStream: true, statusCodes: { 200: true, 404: 'no such container', 500: 'server error' } },
          (err: Error | null, stream: unknown) => (err ? reject(err) : resolve(stream as IncomingMessage)),
        );
      });
      if (info.Config.Tty) return res;
      const out = new Demultiplexer();
      res.on('error', (err) => out.destroy(err));
      out.on('close', () => res.destroy());
      return res.pipe(out);
    } catch (err) {
      this.fail(serverId, err);
    }
  }

  async archiveGet(serverId: string, path: string): Promise<{ stat: ArchiveStat; data: Readable }> {
    await this.inspect(serverId);
    let res: IncomingMessage;
    try {
      res = (await this.container(serverId).getArchive({ path })) as unknown as IncomingMessage;
    } catch (err) {
      this.fail(serverId, err);
    }
    const header = res.headers['x-docker-container-path-stat'];
    let stat: ArchiveStat;
    try {
      const raw = JSON.parse(Buffer.from(String(header ?? ''), 'base64').toString('utf8')) as Partial<ArchiveStat>;
      stat = { name: String(raw.name ?? ''), size: Number(raw.size ?? 0), mode: Number(raw.mode ?? 0), mtime: String(raw.mtime ?? ''), linkTarget: String(raw.linkTarget ?? '') };
    } catch {
      res.destroy();
      throw new Error('the engine sent an archive without its path stat');
    }
    return { stat, data: res };
  }

  async archivePut(serverId: string, path: string, data: Readable): Promise<void> {
    await this.inspect(serverId);
    try {
      await this.container(serverId).putArchive(data as unknown as NodeJS.ReadableStream, { path, noOverwriteDirNonDir: true });
    } catch (err) {
      // The engine answers 403 for a read-only root file system and 400 for a bad archive.
      if ((err as EngineError).statusCode === 403) throw new ConflictError(`Server ${serverId}: ${(err as EngineError).json?.message ?? 'its file system is read-only'}`);
      this.fail(serverId, err);
    }
  }

  async stats(serverId: string): Promise<ServerStats> {
    await this.running(serverId, 'read the stats of');
    let s: EngineStats;
    try {
      s = (await this.container(serverId).stats({ stream: false })) as unknown as EngineStats;
    } catch (err) {
      this.fail(serverId, err);
    }
    return statsOf(s);
  }

  async top(serverId: string, psArgs: string | null): Promise<ProcessTable> {
    await this.running(serverId, 'list the processes of');
    try {
      const t = (await this.container(serverId).top({ ps_args: psArgs ?? '-ef' })) as { Titles?: string[]; Processes?: string[][] };
      return { titles: t.Titles ?? [], processes: t.Processes ?? [] };
    } catch (err) {
      // `ps` refused the arguments (the engine answers 500 with ps's own complaint).
      if ((err as EngineError).statusCode === 500) throw new BadRequestError(`ps ${psArgs ?? ''}: ${(err as EngineError).json?.message ?? (err as Error).message}`);
      this.fail(serverId, err);
    }
  }

  /**
   * Commits the container under a name of hafen's own and streams its docker save archive; the
   * committed image is removed from the engine once the stream is done with (read or destroyed).
   */
  async committedArchive(serverId: string, repo: string, tag: string): Promise<Readable> {
    await this.inspect(serverId);
    const ref = `${repo}:${tag}`;
    try {
      await this.container(serverId).commit({ repo, tag, pause: true });
    } catch (err) {
      this.fail(serverId, err);
    }
    const remove = () => void this.docker.getImage(ref).remove().catch(() => undefined);
    try {
      const stream = (await this.docker.getImage(ref).get()) as unknown as Readable;
      stream.once('close', remove);
      return stream;
    } catch (err) {
      remove();
      throw err;
    }
  }
}

interface EngineStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

/** The engine's sample as docker stats computes it (CPU over the sampling interval, memory without page cache). */
export function statsOf(s: EngineStats): ServerStats {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  const m = s.memory_stats ?? {};
  const cache = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? 0;
  let blockRead = 0;
  let blockWrite = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (e.op.toLowerCase() === 'read') blockRead += e.value;
    else if (e.op.toLowerCase() === 'write') blockWrite += e.value;
  }
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  return {
    cpuPercent,
    memoryUsageBytes: Math.max(0, (m.usage ?? 0) - cache),
    memoryLimitBytes: m.limit ?? 0,
    blockReadBytes: blockRead,
    blockWriteBytes: blockWrite,
    networkRxBytes: rx,
    networkTxBytes: tx,
  };
}
