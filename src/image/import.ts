// The interoperable image import workflow: data staged with PUT /stage then imported
// (glance-direct), fetched from an http URL on loopback (web-download), or pulled from a Docker
// Registry HTTP API v2 server on loopback and assembled into a docker save archive (docker-registry).
// Every fetch stays on loopback, away from hafen's own ports, follows no redirect and gives up when
// the other side goes quiet; every byte staged or pulled counts against the image quota as it lands.
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Config } from '../config.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, HafenError, NotFoundError } from '../platform/errors.ts';
import type { ImageService } from './service.ts';
import type { ImageStore } from './store.ts';
import type { ByteReservation } from './quota.ts';
import { assertLoopbackUrl } from '../platform/http/loopback-url.ts';

export const IMPORT_METHODS = ['glance-direct', 'web-download', 'docker-registry'] as const;
/** The one store hafen keeps image data in, as Glance names stores in os_glance_* properties. */
export const STORE_ID = 'file';
/** Manifests and configs are small JSON documents; a registry sending more is refused. */
const DOCUMENT_LIMIT = 4 << 20;

export interface ImportTask {
  id: string;
  type: 'api_image_import';
  status: 'pending' | 'processing' | 'success' | 'failure';
  owner: string;
  image_id: string;
  method: string;
  message: string;
  /** Bytes fetched so far, and the total when known: the progress of a pull. */
  bytes_done: number;
  bytes_total: number | null;
  created_at: string;
  updated_at: string;
}

/** Loopback only: an import never reaches beyond this machine. */
export { assertLoopbackUrl };

/**
 * Ports on loopback that belong to hafen itself: its API (which also serves the agent endpoint),
 * the engines it drives over TCP, its database, and Docker's well-known engine ports. A fetch on a
 * caller's behalf never goes there.
 */
export { hafenPorts } from '../platform/http/loopback-url.ts';

export interface ImporterOptions {
  dataDir: string;
  /** A fetch whose other side sends nothing for this long fails (headers and every body chunk). */
  idleTimeoutMs: number;
  refusedPorts: Set<number>;
}

export class ImageImporter {
  private readonly tasks = new Map<string, ImportTask>();
  private readonly stagingDir: string;
  /** Staged data's share of the image quota, held until it is imported or thrown away. */
  private readonly staged = new Map<string, ByteReservation>();

  constructor(private readonly images: ImageService, private readonly store: ImageStore, private readonly options: ImporterOptions) {
    this.stagingDir = path.join(options.dataDir, 'images', '.staging');
    // Staged data and pulls from before a restart are gone with their tasks (their images are queued again).
    fs.rmSync(this.stagingDir, { recursive: true, force: true });
    fs.mkdirSync(this.stagingDir, { recursive: true });
    images.onDeleted(async (id) => this.dropStaged(id));
  }

  private stagedFile(id: string): string {
    return path.join(this.stagingDir, id);
  }

  private async dropStaged(id: string): Promise<void> {
    this.staged.get(id)?.release();
    this.staged.delete(id);
    await fs.promises.rm(this.stagedFile(id), { force: true });
  }

  /** A URL the cloud may fetch for a caller: http(s) on loopback, not on a port of hafen's own. */
  checkUrl(raw: string): URL {
    return assertLoopbackUrl(raw, this.options.refusedPorts);
  }

  /** PUT /v2/images/{id}/stage: keeps the data aside until an import asks for it. */
  async stage(ctx: RequestContext, id: string, data: Readable, contentLength?: number): Promise<void> {
    this.images.enforce(ctx, 'upload_image');
    this.images.enforce(ctx, 'modify_image');
    const row = await this.images.owned(ctx, id);
    if (row.status !== 'queued') throw new ConflictError(`Image status transition from ${row.status} to uploading is not allowed`);
    const reservation = await this.images.ledgers.reserve(row.owner, contentLength ?? 0);
    if (!(await this.store.transition(id, ['queued'], 'uploading'))) {
      reservation.release();
      throw new ConflictError(`Image status transition from ${row.status} to uploading is not allowed`);
    }
    const tmp = `${this.stagedFile(id)}.${randomUUID()}`;
    try {
      const meter = reservation.meter();
      await pipeline(data, meter, fs.createWriteStream(tmp));
      reservation.settle(meter.total);
      await fs.promises.rename(tmp, this.stagedFile(id));
      this.staged.set(id, reservation);
    } catch (err) {
      reservation.release();
      await fs.promises.rm(tmp, { force: true });
      await this.store.transition(id, ['uploading'], 'queued');
      if (err instanceof HafenError) throw err;
      throw new BadRequestError(`The staged data could not be stored: ${(err as Error).message}`);
    }
    // Deleted while staging: nothing to keep.
    if ((await this.store.get(id))?.status !== 'uploading') await this.dropStaged(id);
  }

  task(ctx: RequestContext, id: string): ImportTask {
    const t = this.tasks.get(id);
    if (!t || (t.owner !== (ctx.scope.kind === 'project' ? ctx.scope.projectId : '') && !ctx.roles.includes('admin'))) {
      throw new NotFoundError(`Task with the given ID ${id} not found`);
    }
    return t;
  }

  tasksOf(ctx: RequestContext, imageId: string): ImportTask[] {
    return [...this.tasks.values()].filter((t) => t.image_id === imageId && (t.owner === (ctx.scope.kind === 'project' ? ctx.scope.projectId : '') || ctx.roles.includes('admin')));
  }

  /** POST /v2/images/{id}/import: validates, answers 202 with the task; the work runs in the background. */
  async start(ctx: RequestContext, id: string, body: unknown): Promise<ImportTask> {
    const method = (body as { method?: { name?: unknown; uri?: unknown } } | undefined)?.method;
    const name = method?.name;
    const uri = method?.uri;
    if (typeof name !== 'string' || !(IMPORT_METHODS as readonly string[]).includes(name)) {
      throw new BadRequestError(`Import method ${String(name)} is not supported; use one of ${IMPORT_METHODS.join(', ')}.`);
    }
    this.images.enforce(ctx, 'upload_image');
    this.images.enforce(ctx, 'modify_image');
    const row = await this.images.owned(ctx, id);
    let source: (task: ImportTask) => Promise<{ data: Readable; length?: number }>;
    let from: 'queued' | 'uploading';
    if (name === 'glance-direct') {
      if (row.status !== 'uploading' || !this.staged.has(id)) throw new ConflictError('Image needs to be staged before glance-direct import.');
      from = 'uploading';
      source = async () => {
        const length = (await fs.promises.stat(this.stagedFile(id))).size;
        // The staged bytes become the image's: the upload counts them again as it reads.
        this.staged.get(id)?.release();
        this.staged.delete(id);
        return { data: fs.createReadStream(this.stagedFile(id), { highWaterMark: 1 << 20 }), length };
      };
    } else {
      if (row.status !== 'queued') throw new ConflictError(`Image status ${row.status} does not allow import; it must be queued.`);
      if (typeof uri !== 'string') throw new BadRequestError(`Import method ${name} needs a uri.`);
      from = 'queued';
      if (name === 'web-download') {
        const url = this.checkUrl(uri);
        source = async (task) => {
          const res = await this.fetch(url);
          if (!res.ok || !res.body) throw new Error(`GET ${url.href} answered ${res.status}`);
          const length = Number(res.headers.get('content-length')) || undefined;
          task.bytes_total = length ?? null;
          return { data: res.body, ...(length ? { length } : {}) };
        };
      } else {
        const ref = parseReference(uri, this.options.refusedPorts);
        source = async (task) => this.pull(ref, row.owner, task);
      }
    }
    // Importing from now on: a second import, an upload or a stage meanwhile is refused.
    if (!(await this.store.transition(id, [from], 'importing', { properties: JSON.stringify(withImportProps(row.properties, { os_glance_importing_to_stores: STORE_ID, os_glance_failed_import: '' })) }))) {
      throw new ConflictError(`Image ${id} changed status while the import was being started.`);
    }
    const now = new Date().toISOString();
    const task: ImportTask = {
      id: randomUUID(),
      type: 'api_image_import',
      status: 'pending',
      owner: row.owner,
      image_id: id,
      method: name,
      message: '',
      bytes_done: 0,
      bytes_total: null,
      created_at: now,
      updated_at: now,
    };
    this.tasks.set(task.id, task);
    void this.run(task, source);
    return task;
  }

  private async run(task: ImportTask, source: (task: ImportTask) => Promise<{ data: Readable; length?: number }>): Promise<void> {
    const set = (status: ImportTask['status'], message = '') => Object.assign(task, { status, message, updated_at: new Date().toISOString() });
    set('processing');
    try {
      const { data, length } = await source(task);
      const progress = new Transform({
        transform(chunk: Buffer, _e, done) {
          task.bytes_done += chunk.length;
          done(null, chunk);
        },
      });
      data.on('error', (err) => progress.destroy(err));
      const row = await this.store.get(task.image_id);
      if (!row || row.status !== 'importing') throw new ConflictError(`Image ${task.image_id} is no longer being imported.`);
      await this.images.receive(row, data.pipe(progress), length, 'importing');
      const done = await this.store.get(task.image_id);
      if (done) await this.store.update(task.image_id, { properties: JSON.stringify(withImportProps(done.properties, { os_glance_importing_to_stores: '', os_glance_failed_import: '' })) });
      set('success');
    } catch (err) {
      set('failure', (err as Error).message);
      // Back to queued, naming the store that failed, as Glance does; a deleted image stays deleted.
      const row = await this.store.get(task.image_id);
      if (row && row.status === 'importing') {
        await this.store.transition(task.image_id, ['importing'], 'queued', { properties: JSON.stringify(withImportProps(row.properties, { os_glance_importing_to_stores: '', os_glance_failed_import: STORE_ID })) });
      }
    } finally {
      await this.dropStaged(task.image_id);
    }
  }

  /** GET on loopback: no redirects, and an AbortError when the other side is quiet for idleTimeoutMs. */
  private async fetch(url: URL, headers: Record<string, string> = {}): Promise<Response & { body: Readable | null }> {
    const abort = new AbortController();
    const idle = this.options.idleTimeoutMs;
    const timer = setTimeout(() => abort.abort(new Error(`${url.host} sent nothing for ${idle / 1000} s`)), idle);
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'error', signal: abort.signal });
    } catch (err) {
      clearTimeout(timer);
      const cause = (err as { cause?: Error }).cause;
      throw new Error(`GET ${url.href} failed: ${cause?.message ?? (err as Error).message}`);
    }
    if (!res.body) {
      clearTimeout(timer);
      return Object.assign(res, { body: null });
    }
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream, { highWaterMark: 1 << 20 });
    const watch = new Transform({
      transform(chunk: Buffer, _e, done) {
        timer.refresh();
        done(null, chunk);
      },
      flush(done) {
        clearTimeout(timer);
        done();
      },
    });
    body.on('error', (err) => watch.destroy(err));
    watch.on('close', () => clearTimeout(timer));
    Object.defineProperty(res, 'body', { value: body.pipe(watch) });
    return res as Response & { body: Readable };
  }

  /** A small JSON document (manifest, config), read up to DOCUMENT_LIMIT bytes and no further. */
  private async document(url: URL, headers: Record<string, string> = {}): Promise<{ bytes: Buffer; contentType: string }> {
    const res = await this.fetch(url, headers);
    if (!res.ok || !res.body) {
      res.body?.destroy();
      throw new Error(`GET ${url.pathname} answered ${res.status}`);
    }
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > DOCUMENT_LIMIT) {
        res.body.destroy();
        throw new Error(`${url.pathname} is larger than ${DOCUMENT_LIMIT} bytes`);
      }
      parts.push(chunk as Buffer);
    }
    return { bytes: Buffer.concat(parts), contentType: res.headers.get('content-type') ?? '' };
  }

  /**
   * Pulls an image (manifest, config, layers) from a registry on loopback and writes it as a docker
   * save archive's parts in the staging directory, every decompressed layer byte counted against
   * the owner's image quota as it lands; resolves with a stream of the archive, removed once read.
   */
  private async pull(ref: Reference, owner: string, task: ImportTask): Promise<{ data: Readable; length: number }> {
    const base = `http://${ref.registry}/v2/${ref.repository}`;
    const accept = ['application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.oci.image.manifest.v1+json'].join(', ');
    let manifest: { config?: { digest?: unknown }; layers?: { digest?: unknown; size?: unknown; mediaType?: unknown }[] };
    try {
      manifest = JSON.parse((await this.document(new URL(`${base}/manifests/${ref.reference}`), { accept })).bytes.toString('utf8'));
    } catch (err) {
      throw new Error(`the registry's manifest for ${ref.repository}:${ref.reference}: ${(err as Error).message}`);
    }
    const digest = /^sha256:[0-9a-f]{64}$/;
    if (typeof manifest.config?.digest !== 'string' || !digest.test(manifest.config.digest) || !Array.isArray(manifest.layers)) {
      throw new Error('the registry manifest is not a single-platform image manifest (v2 schema 2 or OCI)');
    }
    const layersWanted = manifest.layers.map((l) => {
      if (typeof l?.digest !== 'string' || !digest.test(l.digest)) throw new Error('a layer of the manifest has no sha256 digest');
      return { digest: l.digest, size: Number(l.size) || 0, gzip: /gzip/.test(String(l.mediaType ?? '')) };
    });
    task.bytes_total = layersWanted.reduce((n, l) => n + l.size, 0);
    const reservation = await this.images.ledgers.reserve(owner, 0);
    const dir = path.join(this.stagingDir, `pull-${randomUUID()}`);
    await fs.promises.mkdir(dir);
    try {
      const config = (await this.document(new URL(`${base}/blobs/${manifest.config.digest}`))).bytes;
      if (`sha256:${createHash('sha256').update(config).digest('hex')}` !== manifest.config.digest) throw new Error('the config blob does not match its digest');
      const layers: { file: string; size: number; diffId: string }[] = [];
      for (const [i, layer] of layersWanted.entries()) {
        const blob = await this.fetch(new URL(`${base}/blobs/${layer.digest}`));
        if (!blob.ok || !blob.body) {
          blob.body?.destroy();
          throw new Error(`layer blob ${layer.digest}: ${blob.status}`);
        }
        const file = path.join(dir, `layer-${i}.tar`);
        const compressedHash = createHash('sha256');
        const diffHash = createHash('sha256');
        const fetched = new Transform({
          transform(c: Buffer, _e, done) {
            compressedHash.update(c);
            task.bytes_done += c.length;
            done(null, c);
          },
        });
        const hashed = new Transform({
          transform(c: Buffer, _e, done) {
            diffHash.update(c);
            done(null, c);
          },
        });
        // What lands on disk is what counts: the decompressed layer, against the quota as it grows.
        const meter = reservation.meter(reservation.bytes);
        const out = fs.createWriteStream(file);
        if (layer.gzip) await pipeline(blob.body, fetched, createGunzip(), hashed, meter, out);
        else await pipeline(blob.body, fetched, hashed, meter, out);
        if (`sha256:${compressedHash.digest('hex')}` !== layer.digest) throw new Error(`layer ${layer.digest} does not match its digest`);
        layers.push({ file, size: meter.total, diffId: diffHash.digest('hex') });
      }
      const configName = `${manifest.config.digest.slice(7)}.json`;
      const archiveManifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [`${ref.repository}:${ref.reference.startsWith('sha256:') ? 'latest' : ref.reference}`], Layers: layers.map((l) => `${l.diffId}/layer.tar`) }]));
      const meta: [string, Buffer][] = [
        [configName, config],
        ['manifest.json', archiveManifest],
      ];
      const entryLength = (size: number) => 512 + size + ((512 - (size % 512)) % 512);
      const length = layers.reduce((n, l) => n + entryLength(l.size), 0) + meta.reduce((n, [, c]) => n + entryLength(c.length), 0) + 1024;
      // A tar stream whose layer entries are read from the files just written.
      async function* archive() {
        for (const l of layers) {
          yield tarHeader(`${l.diffId}/layer.tar`, l.size);
          yield* fs.createReadStream(l.file, { highWaterMark: 1 << 20 });
          yield padding(l.size);
        }
        for (const [name, content] of meta) {
          yield tarHeader(name, content.length);
          yield content;
          yield padding(content.length);
        }
        yield Buffer.alloc(1024);
      }
      const stream = Readable.from(archive());
      stream.on('close', () => void fs.promises.rm(dir, { recursive: true, force: true }));
      // The layers' share passes to the upload, which reserves the archive's length at once.
      reservation.release();
      return { data: stream, length };
    } catch (err) {
      reservation.release();
      await fs.promises.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

function withImportProps(raw: string, changes: Record<string, string>): Record<string, string> {
  const props = JSON.parse(raw) as Record<string, string>;
  for (const [k, v] of Object.entries(changes)) {
    if (v) props[k] = v;
    else delete props[k];
  }
  return props;
}

// ---- docker-registry: registry/repo:tag or registry/repo@sha256:...

interface Reference {
  registry: string;
  repository: string;
  reference: string;
}

export function parseReference(raw: string, refusedPorts?: Set<number>): Reference {
  const m = /^(?:docker:\/\/)?([^/]+)\/([a-z0-9]+(?:[._/-][a-z0-9]+)*?)(?::([\w][\w.-]{0,127})|@(sha256:[0-9a-f]{64}))?$/.exec(raw);
  if (!m) throw new BadRequestError(`Invalid image reference ${raw}: expected registry/repository:tag or registry/repository@sha256:digest.`);
  assertLoopbackUrl(`http://${m[1]}/`, refusedPorts);
  return { registry: m[1]!, repository: m[2]!, reference: m[3] ?? m[4] ?? 'latest' };
}

function padding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 8, 'ascii');
  h.write('0000000\0', 108, 8, 'ascii');
  h.write('0000000\0', 116, 8, 'ascii');
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii');
  h.write(Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0', 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}
