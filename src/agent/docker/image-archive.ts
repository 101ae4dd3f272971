// What an engine is given to load from a `docker save` archive: its content and nothing that names
// it. Tags in an archive are the uploader's words; loaded as given they would re-point any tag on
// the engine (another image's, hafen's helper's). The archive is re-written as it streams: regular
// files pass with fresh headers, `manifest.json` comes last with its RepoTags removed, and
// `repositories`, OCI `index.json`/`oci-layout`, links, devices and extended headers are dropped.
import path from 'node:path';
import { Readable } from 'node:stream';

const BLOCK = 512;
const MANIFEST_LIMIT = 4 << 20;
/** Files through which an archive names (tags) what it holds. */
const NAMING_FILES = new Set(['repositories', 'index.json', 'oci-layout']);

/**
 * An archive entry's name as an engine extracting the archive sees it (leading `./` or `/` and
 * `a/../` resolved), or undefined when it would leave the archive's root or names nothing.
 */
export function archivePath(raw: string): string | undefined {
  if (raw.includes('\0') || raw.includes('\\')) return undefined;
  const p = path.posix.normalize(raw.replace(/^\/+/, ''));
  if (!p || p === '.' || p === '..' || p.startsWith('../') || p.endsWith('/')) return undefined;
  return p;
}

function field(header: Buffer, from: number, len: number): string {
  const raw = header.subarray(from, from + len);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? len : end).toString('utf8');
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return parseInt(field(header, 148, 8).trim(), 8) === sum;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A ustar header of a plain file owned by root. */
function fileHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100 || Buffer.byteLength(name.slice(0, cut)) > 155) throw new Error(`archive entry name too long: ${name}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii');
  h.write(octal(0, 8), 116, 8, 'ascii');
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(0, 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** The manifest an engine loads without naming anything: exactly one image, its config and layers. */
function untaggedManifest(raw: Buffer, present: Set<string>): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Error('manifest.json is not JSON');
  }
  if (!Array.isArray(parsed) || parsed.length !== 1) throw new Error('manifest.json must describe exactly one image');
  const m = parsed[0] as { Config?: unknown; Layers?: unknown };
  if (typeof m.Config !== 'string' || !Array.isArray(m.Layers) || m.Layers.some((l) => typeof l !== 'string')) throw new Error('manifest.json has no Config or Layers');
  const names = [m.Config, ...(m.Layers as string[])].map((n) => archivePath(n));
  for (const n of names) if (!n || !present.has(n)) throw new Error(`manifest.json names ${n ?? 'a path outside the archive'}, which the archive does not hold`);
  return Buffer.from(JSON.stringify([{ Config: names[0], RepoTags: null, Layers: names.slice(1) }]));
}

/** The archive as an engine should load it: content only, no names. Errors end the stream. */
export function untaggedArchive(source: AsyncIterable<Buffer>): Readable {
  async function* rewrite(): AsyncGenerator<Buffer> {
    let pending = Buffer.alloc(0);
    let size = 0; // of the current entry
    let remaining = 0; // its content bytes still to come
    let pad = 0; // the input's padding after it, skipped
    let mode: 'pass' | 'skip' | 'manifest' = 'skip';
    let manifestParts: Buffer[] = [];
    let manifest: Buffer | undefined;
    let ended = false;
    const present = new Set<string>();
    for await (const chunk of source) {
      let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      pending = Buffer.alloc(0);
      while (buf.length > 0 && !ended) {
        if (remaining > 0) {
          const take = Math.min(remaining, buf.length);
          const part = buf.subarray(0, take);
          if (mode === 'pass') yield part;
          else if (mode === 'manifest') manifestParts.push(Buffer.from(part));
          remaining -= take;
          buf = buf.subarray(take);
          if (remaining === 0) {
            if (mode === 'pass') yield padding(size);
            if (mode === 'manifest') manifest = Buffer.concat(manifestParts);
          }
          continue;
        }
        if (pad > 0) {
          const take = Math.min(pad, buf.length);
          pad -= take;
          buf = buf.subarray(take);
          continue;
        }
        if (buf.length < BLOCK) {
          pending = Buffer.from(buf);
          break;
        }
        const header = buf.subarray(0, BLOCK);
        buf = buf.subarray(BLOCK);
        if (header.every((b) => b === 0)) {
          ended = true;
          break;
        }
        if (!checksumOk(header)) throw new Error('the image data is not a tar archive (bad header checksum)');
        size = parseInt(field(header, 124, 12).trim() || '0', 8);
        if (!Number.isSafeInteger(size) || size < 0) throw new Error('an archive entry has a bad size');
        const type = field(header, 156, 1) || '0';
        const prefix = field(header, 345, 155);
        const name = archivePath(prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
        remaining = size;
        pad = (BLOCK - (size % BLOCK)) % BLOCK;
        mode = 'skip';
        if (type !== '0' || !name || NAMING_FILES.has(name)) continue;
        if (name === 'manifest.json') {
          if (size > MANIFEST_LIMIT) throw new Error('manifest.json is too large');
          mode = 'manifest';
          manifestParts = [];
          if (size === 0) manifest = Buffer.alloc(0);
          continue;
        }
        mode = 'pass';
        present.add(name);
        yield fileHeader(name, size);
      }
      if (ended) break;
    }
    if (!ended) throw new Error('the archive is truncated');
    if (!manifest) throw new Error('manifest.json is missing');
    const out = untaggedManifest(manifest, present);
    yield fileHeader('manifest.json', out.length);
    yield out;
    yield padding(out.length);
    yield Buffer.alloc(2 * BLOCK);
  }
  return Readable.from(rewrite(), { objectMode: false });
}
