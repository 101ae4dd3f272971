// The container verbs as Zun answers them: logs (streamed as the JSON string Zun returns), execute
// (run to its end, or prepared for an interactive session over a websocket), tty resizes, top,
// stats, archives in and out (base64 from 1.25), and commit into the image service.
import { StringDecoder } from 'node:string_decoder';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { RequestContext } from '../platform/auth/context.ts';
import { PayloadTooLargeError } from '../platform/errors.ts';
import type { ZunCore } from './core.ts';
import type { Consoles } from './consoles.ts';
import { InvalidValue, NoInteractiveFlag } from './errors.ts';
import { shellSplit, isTrue, type Minor } from './containers.ts';
import type { LogsQueryT } from './schemas.ts';
import { assertState } from './states.ts';
import { specOf } from './views.ts';

/** The most output a non-interactive execute answers with (the rest is cut, the process runs on to its end). */
export const MAX_EXEC_OUTPUT_BYTES = 4 << 20;
/** The largest archive cp moves either way (it travels whole in one JSON body). */
export const MAX_ARCHIVE_BYTES = 16 << 20;

/** How much of a JSON string stream's output is gathered before it goes on, and for how long at most. */
const JSON_STREAM_BATCH_BYTES = 64 << 10;
const JSON_STREAM_BATCH_MS = 10;

/**
 * A byte stream as the body of one JSON string: `"` + escaped text + `"`, UTF-8 kept whole across
 * chunks. The engine hands a log over in many small reads; each piece that goes on costs every later
 * stage (and the HTTP answer) a write, so the output is gathered up to 64 KiB, or 10 ms after its
 * first byte, whichever comes first: a stream still, never more than 64 KiB held.
 */
export class JsonStringStream extends Transform {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '"';
  private timer: NodeJS.Timeout | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending += JSON.stringify(this.decoder.write(chunk)).slice(1, -1);
    if (this.pending.length >= JSON_STREAM_BATCH_BYTES) this.pass();
    else this.timer ??= setTimeout(() => this.pass(), JSON_STREAM_BATCH_MS);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.pending += JSON.stringify(this.decoder.end()).slice(1, -1) + '"';
    this.pass();
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    clearTimeout(this.timer);
    done(err);
  }

  private pass(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.destroyed) return;
    const out = this.pending;
    this.pending = '';
    this.push(out);
  }
}

/** Zun's `since`: Unix seconds, or `YYYY-MM-DD HH:MM:SS,mmm` (UTC), or an ISO time. */
export function sinceSeconds(raw: string | undefined): number | null {
  if (raw === undefined || raw === '' || raw === 'None') return null;
  if (/^\d+$/.test(raw)) return Number(raw);
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),(\d{1,6})$/.exec(raw);
  const t = m ? Date.parse(`${m[1]}T${m[2]}.${m[3]!.padEnd(3, '0').slice(0, 3)}Z`) : Date.parse(raw);
  if (Number.isNaN(t)) throw new InvalidValue(`Invalid since value ${raw}: Unix seconds or YYYY-MM-DD HH:MM:SS,mmm.`);
  return Math.floor(t / 1000);
}

async function readCapped(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > max) {
      stream.destroy();
      throw new PayloadTooLargeError(`The archive is larger than ${max} bytes; copy it in smaller parts.`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

const dimension = (v: string | undefined, name: string) => {
  const n = Number(v);
  if (v === undefined || !/^\d+$/.test(v) || n < 1 || n > 10_000) throw new InvalidValue(`Invalid input for ${name}: a positive integer.`);
  return n;
};

export class Verbs {
  constructor(private readonly core: ZunCore, private readonly consoles: Consoles) {}

  /** The container (checked for the verb and its state) and its host's verbs. */
  private async target(ctx: RequestContext, ident: string, action: string, policy = `container:${action}`) {
    const l = await this.core.locate(ctx, ident);
    this.core.enforce(ctx, policy, { project_id: l.row.project_id });
    assertState(l.row.uuid, l.state, action);
    return { l, verbs: await this.core.clients.compute.verbs(ctx, l.row.uuid) };
  }

  async logs(ctx: RequestContext, ident: string, q: LogsQueryT): Promise<Readable> {
    const { verbs } = await this.target(ctx, ident, 'logs');
    let tail: number | null = null;
    if (q.tail !== undefined && q.tail !== 'all' && q.tail !== 'None') {
      // Zun takes what int() takes, and anything else as all.
      tail = /^\d+$/.test(q.tail) ? Number(q.tail) : null;
    }
    const stdout = q.stdout === undefined ? true : isTrue(q.stdout);
    const stderr = q.stderr === undefined ? true : isTrue(q.stderr);
    const data = await verbs.logs({ stdout, stderr, tail, timestamps: isTrue(q.timestamps), since: sinceSeconds(q.since) });
    const out = new JsonStringStream();
    data.on('error', (err) => out.destroy(err));
    out.on('close', () => data.destroy());
    return data.pipe(out);
  }

  async execute(ctx: RequestContext, ident: string, command: string, run: boolean, interactive: boolean): Promise<Record<string, unknown>> {
    const { l, verbs } = await this.target(ctx, ident, 'execute');
    const argv = shellSplit(command);
    if (argv.length === 0) throw new InvalidValue('The command is empty.');
    if (run) {
      const r = await verbs.exec(argv, { maxOutputBytes: MAX_EXEC_OUTPUT_BYTES });
      return { output: r.output.toString('utf8'), exit_code: r.exitCode, exec_id: null, proxy_url: null };
    }
    const execId = await verbs.createExec(argv, { tty: interactive });
    return { output: null, exit_code: null, exec_id: execId, proxy_url: this.consoles.issue(ctx, l.row, execId) };
  }

  async execResize(ctx: RequestContext, ident: string, execId: string, h: string | undefined, w: string | undefined): Promise<void> {
    const { verbs } = await this.target(ctx, ident, 'execute_resize');
    await verbs.resizeExec(execId, { height: dimension(h, 'h'), width: dimension(w, 'w') });
  }

  /** The websocket URL `appcontainer attach` connects to (an interactive container's). */
  async attach(ctx: RequestContext, ident: string): Promise<string> {
    const { l } = await this.target(ctx, ident, 'attach');
    if (!specOf(l.row).interactive) throw new NoInteractiveFlag("Container doesn't support to be attached, please check the interactive set properly");
    return this.consoles.issue(ctx, l.row, null);
  }

  async resizeTty(ctx: RequestContext, ident: string, h: string | undefined, w: string | undefined): Promise<void> {
    const { verbs } = await this.target(ctx, ident, 'resize');
    await verbs.resizeTty({ height: dimension(h, 'h'), width: dimension(w, 'w') });
  }

  async top(ctx: RequestContext, ident: string, psArgs: string | undefined): Promise<{ Titles: string[]; Processes: string[][] }> {
    const args = psArgs === undefined || psArgs === 'None' || psArgs === '' ? null : psArgs;
    // ps runs on the host (the engine filters its lines to the container's processes): plain options only.
    if (args !== null && !/^[A-Za-z0-9 ,+=_-]{1,64}$/.test(args)) throw new InvalidValue(`Invalid ps_args ${args}.`);
    const { verbs } = await this.target(ctx, ident, 'top');
    const t = await verbs.top(args);
    return { Titles: t.titles, Processes: t.processes };
  }

  async stats(ctx: RequestContext, ident: string): Promise<Record<string, unknown>> {
    const { l, verbs } = await this.target(ctx, ident, 'stats');
    const s = await verbs.stats();
    const usage = s.memoryUsageBytes / 2 ** 20;
    const limit = s.memoryLimitBytes / 2 ** 20;
    return {
      CONTAINER: l.row.name,
      'CPU %': s.cpuPercent,
      'MEM USAGE(MiB)': usage,
      'MEM LIMIT(MiB)': limit,
      'MEM %': limit > 0 ? (usage / limit) * 100 : 0,
      'BLOCK I/O(B)': `${s.blockReadBytes}/${s.blockWriteBytes}`,
      'NET I/O(B)': `${s.networkRxBytes}/${s.networkTxBytes}`,
    };
  }

  async getArchive(ctx: RequestContext, ident: string, path: string, minor: Minor): Promise<Record<string, unknown>> {
    const { verbs } = await this.target(ctx, ident, 'get_archive');
    const { stat, data } = await verbs.archiveGet(path).catch((err: Error) => {
      // Zun answers a path the engine does not have as invalid input.
      if (err.name === 'NotFoundError') throw new InvalidValue(err.message);
      throw err;
    });
    const tar = await readCapped(data, MAX_ARCHIVE_BYTES);
    return { data: minor >= 25 ? tar.toString('base64') : tar.toString('latin1'), stat };
  }

  async putArchive(ctx: RequestContext, ident: string, path: string, data: string, minor: Minor): Promise<void> {
    const { verbs } = await this.target(ctx, ident, 'put_archive');
    if (minor >= 25 && !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(data)) throw new InvalidValue('The archive data is not base64.');
    const tar = minor >= 25 ? Buffer.from(data, 'base64') : Buffer.from(data, 'latin1');
    if (tar.length > MAX_ARCHIVE_BYTES) throw new PayloadTooLargeError(`The archive is larger than ${MAX_ARCHIVE_BYTES} bytes.`);
    await verbs.archivePut(path, Readable.from([tar])).catch((err: Error) => {
      if (err.name === 'NotFoundError') throw new InvalidValue(err.message);
      throw err;
    });
  }

  /** Commits into a new private docker image of the project (`repository`, tagged `tag`): its uuid at once, the data after. */
  async commit(ctx: RequestContext, ident: string, repository: string, tag: string | undefined, requestId: string): Promise<{ uuid: string }> {
    const core = this.core;
    const { l, verbs } = await this.target(ctx, ident, 'commit');
    const image = await core.clients.images.createImage(ctx, repository, [tag ?? 'latest']);
    const actionId = await core.startAction(ctx, l.row, 'commit', requestId, 'compute__do_container_commit');
    core.track((async () => {
      try {
        await core.clients.images.upload(ctx, image.id, await verbs.commit());
        await core.finishAction(l.row.uuid, actionId, undefined, true);
      } catch (err) {
        await core.finishAction(l.row.uuid, actionId, err as Error, true);
      }
    })());
    return { uuid: image.id };
  }
}
