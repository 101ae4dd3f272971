// Streaming validation of a `docker save` archive: a pass-through that reads tar headers as bytes go
// by, keeps manifest.json and the image config, hashes every layer, and at the end says whether the
// archive is whole and its layers match its manifest — and what the image config records.
import { createHash, type Hash } from 'node:crypto';
import path from 'node:path';
import { BadRequestError } from '../platform/errors.ts';

const BLOCK = 512;
const SMALL_FILE_LIMIT = 4 << 20;
/** What all kept metadata files (manifest, configs) may add up to: an archive beyond it is refused. */
const SMALL_FILES_TOTAL = 32 << 20;

export interface DockerImageFacts {
  architecture: string;
  os: string;
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: string[];
  exposedPorts: string[];
  workingDir: string;
  repoTags: string[];
  layerCount: number;
  /** `sha256:` and the digest of the image config: the id an engine gives the loaded image. */
  configDigest: string;
}

/**
 * An entry's name as an engine extracting the archive sees it (`./`, leading `/` and `a/../`
 * resolved), or undefined when it leaves the archive's root: the same rule the Docker driver applies
 * when it hands the archive to an engine, so both read the same files.
 */
export function archivePath(raw: string): string | undefined {
  if (raw.includes('\0') || raw.includes('\\')) return undefined;
  const p = path.posix.normalize(raw.replace(/^\/+/, ''));
  if (!p || p === '.' || p === '..' || p.startsWith('../') || p.endsWith('/')) return undefined;
  return p;
}

interface Entry {
  name: string;
  size: number;
  sha256?: string;
}

/** Where the validator's per-entry sha256 work goes: this thread, or a hashing thread (hash-workers.ts). */
export interface EntryHashing {
  /** The entry's next bytes; `at` is where they start in the shared buffer the caller scanned. */
  update(entry: number, part: Buffer, at: number): void;
  /** The entry is complete: `set` receives its hex digest, now or later. */
  end(entry: number, set: (hex: string) => void): void;
}

/** sha256 on the calling thread (checks of stored data, tests). */
export class InlineHashing implements EntryHashing {
  private readonly open = new Map<number, Hash>();
  update(entry: number, part: Buffer): void {
    let h = this.open.get(entry);
    if (!h) this.open.set(entry, (h = createHash('sha256')));
    h.update(part);
  }
  end(entry: number, set: (hex: string) => void): void {
    const h = this.open.get(entry) ?? createHash('sha256');
    this.open.delete(entry);
    set(h.digest('hex'));
  }
}

/** Beyond this many entries the data is not a docker save archive (they hold a handful per layer). */
const MAX_ENTRIES = 65_536;

export class DockerArchiveValidator {
  private pending = Buffer.alloc(0);
  private remaining = 0; // bytes of the current entry's data still to come
  private padding = 0;
  private current: { seq: number; name: string; size: number; small?: Buffer[] } | undefined;
  private seq = 0;
  private ended = false;
  private readonly entries = new Map<string, Entry>();
  private readonly smallFiles = new Map<string, Buffer>();
  private smallBytes = 0;
  private malformed: string | undefined;

  constructor(private readonly hashing: EntryHashing = new InlineHashing()) {}

  /** Reads the next bytes of the archive; `at` is where `chunk` starts in the caller's shared buffer. */
  scan(chunk: Buffer, at = 0): void {
    if (this.malformed) return;
    // Offsets in `buf` map to the shared buffer past the carried-over header bytes (data never starts in them).
    const base = at - this.pending.length;
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    this.pending = Buffer.alloc(0);
    while (pos < buf.length && !this.malformed) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, buf.length - pos);
        const part = buf.subarray(pos, pos + take);
        if (this.current) {
          this.hashing.update(this.current.seq, part, base + pos);
          this.current.small?.push(Buffer.from(part));
        }
        this.remaining -= take;
        pos += take;
        if (this.remaining === 0) this.finishEntry();
        continue;
      }
      if (this.padding > 0) {
        const take = Math.min(this.padding, buf.length - pos);
        this.padding -= take;
        pos += take;
        continue;
      }
      if (this.ended) return; // trailing zero blocks and slack after the end marker
      if (buf.length - pos < BLOCK) {
        this.pending = Buffer.from(buf.subarray(pos));
        return;
      }
      const header = buf.subarray(pos, pos + BLOCK);
      pos += BLOCK;
      if (header.every((b) => b === 0)) {
        this.ended = true;
        continue;
      }
      this.startEntry(header);
    }
    buf = Buffer.alloc(0);
  }

  private startEntry(header: Buffer): void {
    const str = (from: number, len: number) => header.subarray(from, from + len).toString('utf8').replace(/\0.*$/s, '');
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    const stored = parseInt(str(148, 8).trim(), 8);
    if (stored !== sum) {
      this.malformed = 'the data is not a tar archive (bad header checksum)';
      return;
    }
    const prefix = str(345, 155);
    const name = archivePath(prefix ? `${prefix}/${str(0, 100)}` : str(0, 100)) ?? '';
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = str(156, 1) || '0';
    if (!Number.isFinite(size) || size < 0) {
      this.malformed = `tar entry ${name} has a bad size`;
      return;
    }
    if (++this.seq > MAX_ENTRIES) {
      this.malformed = `it holds more than ${MAX_ENTRIES} files`;
      return;
    }
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    // Only regular files reach the engine (links, devices and extended headers are dropped on load).
    const regular = type === '0';
    if (!regular || !name) {
      this.current = undefined;
      if (size === 0) this.finishEntry();
      return;
    }
    // Metadata that facts() reads: manifest.json and configs (`<digest>.json`, or OCI `blobs/sha256/<digest>`).
    const small = (name.endsWith('.json') || name.startsWith('blobs/')) && size <= SMALL_FILE_LIMIT;
    this.current = { seq: this.seq, name, size, ...(small ? { small: [] } : {}) };
    if (size === 0) this.finishEntry();
  }

  private finishEntry(): void {
    const c = this.current;
    this.current = undefined;
    if (!c) return;
    const entry: Entry = { name: c.name, size: c.size };
    this.entries.set(c.name, entry);
    this.hashing.end(c.seq, (hex) => (entry.sha256 = hex));
    if (c.small) {
      const content = Buffer.concat(c.small);
      // OCI blobs are layers too: only JSON documents are kept.
      if (c.name.startsWith('blobs/') && content[0] !== 0x7b) return;
      this.smallBytes += content.length - (this.smallFiles.get(c.name)?.length ?? 0);
      if (this.smallBytes > SMALL_FILES_TOTAL) this.malformed = 'its metadata files are too large';
      this.smallFiles.set(c.name, content);
    }
  }

  /** Call after the data ended and its hashes are in: the image facts, or a BadRequestError saying what is wrong. */
  facts(): DockerImageFacts {
    const bad = (why: string) => new BadRequestError(`The image data is not a valid docker save archive: ${why}.`);
    if (this.malformed) throw bad(this.malformed);
    if (this.remaining > 0 || this.pending.length > 0 || (!this.ended && this.entries.size === 0)) throw bad('the archive is truncated');
    if (!this.ended) throw bad('the archive is truncated (no end-of-archive marker)');
    const manifestRaw = this.smallFiles.get('manifest.json');
    if (!manifestRaw) throw bad('manifest.json is missing');
    let manifest: { Config?: string; Layers?: string[]; RepoTags?: string[] | null }[];
    try {
      manifest = JSON.parse(manifestRaw.toString('utf8'));
    } catch {
      throw bad('manifest.json is not JSON');
    }
    if (!Array.isArray(manifest) || manifest.length !== 1) throw bad('manifest.json must describe exactly one image');
    const raw = manifest[0]!;
    if (typeof raw.Config !== 'string' || !Array.isArray(raw.Layers) || raw.Layers.some((l) => typeof l !== 'string')) throw bad('manifest.json has no Config or Layers');
    const names = [raw.Config, ...raw.Layers].map((n) => archivePath(n));
    if (names.some((n) => n === undefined)) throw bad('manifest.json names a file outside the archive');
    const m = { Config: names[0]!, Layers: names.slice(1) as string[], RepoTags: raw.RepoTags };
    const configRaw = this.smallFiles.get(m.Config);
    if (!configRaw) throw bad(`the image config ${m.Config} named by manifest.json is missing`);
    let config: {
      architecture?: string;
      os?: string;
      config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; ExposedPorts?: Record<string, unknown> | null; WorkingDir?: string };
      rootfs?: { diff_ids?: string[] };
    };
    try {
      config = JSON.parse(configRaw.toString('utf8'));
    } catch {
      throw bad(`the image config ${m.Config} is not JSON`);
    }
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== m.Layers.length) throw bad(`the manifest lists ${m.Layers.length} layers but the config ${diffIds.length}`);
    m.Layers.forEach((layer, i) => {
      const entry = this.entries.get(layer);
      if (!entry) throw bad(`layer ${layer} named by manifest.json is missing`);
      // Uncompressed layers must hash to their diff id; compressed ones (newer savers) are checked by size only.
      if (entry.sha256 && `sha256:${entry.sha256}` !== diffIds[i] && !layer.startsWith('blobs/')) {
        throw bad(`layer ${layer} does not match its diff id ${diffIds[i]}`);
      }
    });
    const c = config.config ?? {};
    return {
      architecture: config.architecture ?? 'amd64',
      os: config.os ?? 'linux',
      entrypoint: c.Entrypoint ?? null,
      cmd: c.Cmd ?? null,
      env: c.Env ?? [],
      exposedPorts: Object.keys(c.ExposedPorts ?? {}),
      workingDir: c.WorkingDir ?? '',
      repoTags: Array.isArray(m.RepoTags) ? m.RepoTags.filter((t) => typeof t === 'string') : [],
      layerCount: m.Layers.length,
      configDigest: `sha256:${this.entries.get(m.Config)!.sha256}`,
    };
  }
}

/** Image properties recorded from the docker config, which compute reads to run the image. */
export function dockerProperties(f: DockerImageFacts): Record<string, string> {
  return {
    architecture: f.architecture === 'amd64' ? 'x86_64' : f.architecture,
    os_type: f.os,
    docker_entrypoint: JSON.stringify(f.entrypoint),
    docker_cmd: JSON.stringify(f.cmd),
    docker_env: JSON.stringify(f.env),
    docker_exposed_ports: JSON.stringify(f.exposedPorts),
    docker_workdir: f.workingDir,
    docker_repo_tags: JSON.stringify(f.repoTags),
  };
}
