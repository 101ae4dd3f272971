// A minimal reader for the ustar archives the container verbs exchange (cp in and out): regular
// files and directories with their paths (prefix field and GNU long names), for the fake host and tests.

export interface TarFile {
  path: string;
  type: 'file' | 'directory' | 'other';
  mode: number;
  content: Buffer;
}

const BLOCK = 512;

function field(h: Buffer, start: number, length: number): string {
  const raw = h.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? raw.length : nul).toString('utf8');
}

function octalField(h: Buffer, start: number, length: number): number {
  const text = field(h, start, length).trim();
  return text ? parseInt(text, 8) : 0;
}

/** The entries of an archive, in order; throws on an archive cut short. */
export function readTar(archive: Buffer): TarFile[] {
  const out: TarFile[] = [];
  let longName: string | undefined;
  for (let i = 0; i + BLOCK <= archive.length; ) {
    const h = archive.subarray(i, i + BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = octalField(h, 124, 12);
    const flag = String.fromCharCode(h[156] || 48);
    const start = i + BLOCK;
    if (start + size > archive.length) throw new Error('tar: the archive is cut short');
    const content = archive.subarray(start, start + size);
    i = start + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'L') {
      longName = content.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (flag === 'x' || flag === 'g') continue; // pax headers: the plain fields serve here
    const prefix = field(h, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    longName = undefined;
    out.push({
      path: name.replace(/^\.\//, '').replace(/\/+$/, ''),
      type: flag === '0' || flag === '\0' ? 'file' : flag === '5' ? 'directory' : 'other',
      mode: octalField(h, 100, 8),
      content: Buffer.from(content),
    });
  }
  return out;
}
