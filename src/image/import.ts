// The interoperable image import workflow: data staged with PUT /stage then imported
// (glance-direct), fetched from an http URL on loopback (web-download), or pulled from a Docker
// Registry HTTP API v2 server on loopback and assembled into a docker save archive (docker-registry).
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, NotFoundError } from '../platform/errors.ts';
import type { ImageService } from './service.ts';
import type { ImageStore } from './store.ts';
import { assertLoopbackUrl } from '../platform/http/loopback-url.ts';

export const IMPORT_METHODS = ['glance-direct', 'web-download', 'docker-registry'] as const;

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

export class ImageImporter {
  private readonly tasks = new Map<string, ImportTask>();
  private readonly stagingDir: string;

  constructor(private readonly images: ImageService, private readonly store: ImageStore, dataDir: string) {
    this.stagingDir = path.join(dataDir, 'images', '.staging');
    // Staged data and pulls from before a restart are gone with their tasks (their images are queued again).
    fs.rmSync(this.stagingDir, { recursive: true, force: true });
    fs.mkdirSync(this.stagingDir, { recursive: true });
  }

  private stagedFile(id: string): string {
    return path.join(this.stagingDir, id);
  }

  /** PUT /v2/images/{id}/stage: keeps the data aside until an import asks for it. */
  async stage(ctx: RequestContext, id: string, data: Readable): Promise<void> {
    const row = await this.images.find(ctx, id);
    this.images.assertOwner(ctx, row);
    if (row.status !== 'queued') throw new ConflictError(`Image status transition from ${row.status} to uploading is not allowed`);
    const tmp = `${this.stagedFile(id)}.${randomUUID()}`;
    try {
      await pipeline(data, fs.createWriteStream(tmp));
      await fs.promises.rename(tmp, this.stagedFile(id));
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw new BadRequestError(`The staged data could not be stored: ${(err as Error).message}`);
    }
    await this.store.transition(id, ['queued'], 'uploading');
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
    if (typeof name !== 'string' || !(IMPORT_METHODS as readonly string[]).includes(name)) {
      throw new BadRequestError(`Import method ${String(name)} is not supported; use one of ${IMPORT_METHODS.join(', ')}.`);
    }
    const row = await this.images.find(ctx, id);
    this.images.assertOwner(ctx, row);
    let source: () => Promise<Readable>;
    if (name === 'glance-direct') {
      if (row.status !== 'uploading' || !fs.existsSync(this.stagedFile(id))) throw new ConflictError('Image needs to be staged before glance-direct import.');
      source = async () => fs.createReadStream(this.stagedFile(id));
    } else {
      if (row.status !== 'queued') throw new ConflictError(`Image status ${row.status} does not allow import; it must be queued.`);
      if (typeof method?.uri !== 'string') throw new BadRequestError(`Import method ${name} needs a uri.`);
      if (name === 'web-download') {
        const url = assertLoopbackUrl(method.uri);
        source = async () => {
          const res = await fetch(url, { redirect: 'error' });
          if (!res.ok || !res.body) throw new Error(`GET ${url.href} answered ${res.status}`);
          task.bytes_total = Number(res.headers.get('content-length')) || null;
          return counted(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), task);
        };
      } else {
        const ref = parseReference(method.uri);
        source = async () => counted(await pullDockerArchive(ref, this.stagingDir, task), task);
      }
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
    void this.run(ctx, task, source);
    return task;
  }

  private async run(ctx: RequestContext, task: ImportTask, source: () => Promise<Readable>): Promise<void> {
    const set = (status: ImportTask['status'], message = '') => Object.assign(task, { status, message, updated_at: new Date().toISOString() });
    set('processing');
    try {
      // Staged images pass through queued again so that upload() owns the saving -> active step.
      await this.store.transition(task.image_id, ['uploading'], 'queued');
      await this.images.upload(ctx, task.image_id, await source());
      set('success');
    } catch (err) {
      set('failure', (err as Error).message);
    } finally {
      await fs.promises.rm(this.stagedFile(task.image_id), { force: true });
    }
  }
}

function counted(stream: Readable, task: ImportTask): Readable {
  stream.on('data', (chunk: Buffer) => {
    task.bytes_done += chunk.length;
  });
  return stream;
}

// ---- docker-registry: registry/repo:tag or registry/repo@sha256:...

interface Reference {
  registry: string;
  repository: string;
  reference: string;
}

export function parseReference(raw: string): Reference {
  const m = /^(?:docker:\/\/)?([^/]+)\/(.+?)(?::([\w][\w.-]{0,127})|@(sha256:[0-9a-f]{64}))?$/.exec(raw);
  if (!m) throw new BadRequestError(`Invalid image reference ${raw}: expected registry/repository:tag or registry/repository@sha256:digest.`);
  assertLoopbackUrl(`http://${m[1]}/`);
  return { registry: m[1]!, repository: m[2]!, reference: m[3] ?? m[4] ?? 'latest' };
}

/**
 * Pulls an image (manifest, config, layers) from a registry on loopback and writes it as a docker
 * save archive in `workDir`; resolves with a stream of that archive, removed once read.
 */
async function pullDockerArchive(ref: Reference, workDir: string, task: ImportTask): Promise<Readable> {
  const base = `http://${ref.registry}/v2/${ref.repository}`;
  const accept = ['application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.oci.image.manifest.v1+json'].join(', ');
  const res = await fetch(`${base}/manifests/${ref.reference}`, { headers: { accept } });
  if (!res.ok) throw new Error(`the registry answered ${res.status} for ${ref.repository}:${ref.reference}`);
  const manifest = (await res.json()) as { config?: { digest: string }; layers?: { digest: string; size: number; mediaType: string }[] };
  if (!manifest.config || !Array.isArray(manifest.layers)) throw new Error('the registry manifest is not a single-platform image manifest (v2 schema 2 or OCI)');
  task.bytes_total = manifest.layers.reduce((n, l) => n + l.size, 0);
  const dir = path.join(workDir, `pull-${randomUUID()}`);
  await fs.promises.mkdir(dir);
  try {
    const configRes = await fetch(`${base}/blobs/${manifest.config.digest}`);
    if (!configRes.ok) throw new Error(`config blob: ${configRes.status}`);
    const config = Buffer.from(await configRes.arrayBuffer());
    if (`sha256:${createHash('sha256').update(config).digest('hex')}` !== manifest.config.digest) throw new Error('the config blob does not match its digest');
    const layers: { file: string; size: number; diffId: string }[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      const blob = await fetch(`${base}/blobs/${layer.digest}`);
      if (!blob.ok || !blob.body) throw new Error(`layer blob ${layer.digest}: ${blob.status}`);
      const file = path.join(dir, `layer-${i}.tar`);
      const compressedHash = createHash('sha256');
      const diffHash = createHash('sha256');
      const body = Readable.fromWeb(blob.body as import('node:stream/web').ReadableStream);
      body.on('data', (c: Buffer) => {
        compressedHash.update(c);
        task.bytes_done += c.length;
      });
      const gz = /gzip/.test(layer.mediaType);
      const out = fs.createWriteStream(file);
      const tee = new Transform({
        transform(chunk: Buffer, _e, done) {
          diffHash.update(chunk);
          done(null, chunk);
        },
      });
      await (gz ? pipeline(body, createGunzip(), tee, out) : pipeline(body, tee, out));
      if (`sha256:${compressedHash.digest('hex')}` !== layer.digest) throw new Error(`layer ${layer.digest} does not match its digest`);
      layers.push({ file, size: (await fs.promises.stat(file)).size, diffId: diffHash.digest('hex') });
    }
    const configName = `${manifest.config.digest.slice(7)}.json`;
    const archiveManifest = [{ Config: configName, RepoTags: [`${ref.repository}:${ref.reference.startsWith('sha256:') ? 'latest' : ref.reference}`], Layers: layers.map((l) => `${l.diffId}/layer.tar`) }];
    // A tar stream whose layer entries are read from the files just written.
    async function* archive() {
      for (const l of layers) {
        yield tarHeader(`${l.diffId}/layer.tar`, l.size);
        yield* fs.createReadStream(l.file);
        yield padding(l.size);
      }
      for (const [name, content] of [
        [configName, config],
        ['manifest.json', Buffer.from(JSON.stringify(archiveManifest))],
      ] as [string, Buffer][]) {
        yield tarHeader(name, content.length);
        yield content;
        yield padding(content.length);
      }
      yield Buffer.alloc(1024);
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
    const stream = Readable.from(archive());
    stream.on('close', () => void fs.promises.rm(dir, { recursive: true, force: true }));
    return stream;
  } catch (err) {
    await fs.promises.rm(dir, { recursive: true, force: true });
    throw err;
  }
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
