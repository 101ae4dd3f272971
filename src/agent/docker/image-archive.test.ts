import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeTar } from '../../host/tar-writer.ts';
import { archivePath, untaggedArchive } from './image-archive.ts';

async function rewrite(archive: Buffer, chunk = 700): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < archive.length; i += chunk) parts.push(archive.subarray(i, i + chunk));
  const out: Buffer[] = [];
  for await (const b of untaggedArchive((async function* () { yield* parts; })())) out.push(b as Buffer);
  return Buffer.concat(out);
}

/** Lists (name, content) of a tar with GNU tar itself, the reference reader. */
function readWithTar(archive: Buffer): Map<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'untag-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.tar'), archive);
    fs.mkdirSync(path.join(dir, 'x'));
    execFileSync('tar', ['-xf', path.join(dir, 'a.tar'), '-C', path.join(dir, 'x')]);
    const files = new Map<string, string>();
    const walk = (d: string, rel: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path.join(d, e.name), r);
        else files.set(r, e.isSymbolicLink() ? `-> ${fs.readlinkSync(path.join(d, e.name))}` : fs.readFileSync(path.join(d, e.name), 'utf8'));
      }
    };
    walk(path.join(dir, 'x'), '');
    return files;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('untaggedArchive', () => {
  const manifest = (tags: string[]) => Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: tags, Layers: ['l1/layer.tar'] }]));

  it('keeps content, drops tags and every file that names an image', async () => {
    const input = writeTar([
      { type: 'directory', path: 'l1' },
      { type: 'file', path: 'l1/layer.tar', content: Buffer.from('layer bytes, not a multiple of 512') },
      { type: 'file', path: 'l1/VERSION', content: Buffer.from('1.0') },
      { type: 'file', path: './c.json', content: Buffer.from('{"config":{}}') },
      { type: 'file', path: 'manifest.json', content: manifest(['hafen/busybox:latest']) },
      { type: 'file', path: 'repositories', content: Buffer.from('{"hafen/busybox":{"latest":"x"}}') },
      { type: 'file', path: 'index.json', content: Buffer.from('{"manifests":[{"annotations":{"io.containerd.image.name":"hafen/busybox:latest"}}]}') },
      { type: 'file', path: 'oci-layout', content: Buffer.from('{}') },
    ]);
    const files = readWithTar(await rewrite(input));
    assert.deepEqual([...files.keys()].sort(), ['c.json', 'l1/VERSION', 'l1/layer.tar', 'manifest.json']);
    assert.equal(files.get('l1/layer.tar'), 'layer bytes, not a multiple of 512');
    assert.deepEqual(JSON.parse(files.get('manifest.json')!), [{ Config: 'c.json', RepoTags: null, Layers: ['l1/layer.tar'] }]);
  });

  it('drops links, so a symlinked manifest.json cannot stand in for the one checked', async () => {
    const input = writeTar([
      { type: 'file', path: 'l1/layer.tar', content: Buffer.from('x') },
      { type: 'file', path: 'c.json', content: Buffer.from('{}') },
      { type: 'file', path: 'evil.json', content: manifest(['victim:latest']) },
      { type: 'file', path: 'manifest.json', content: manifest([]) },
      { type: 'symlink', path: 'manifest.json', target: 'evil.json' },
      { type: 'symlink', path: 'up', target: '/' },
    ]);
    const files = readWithTar(await rewrite(input, 512));
    assert.deepEqual(JSON.parse(files.get('manifest.json')!)[0].RepoTags, null);
    assert.equal(files.has('up'), false);
  });

  it('refuses a manifest naming files the archive does not hold, and truncated archives', async () => {
    const missing = writeTar([{ type: 'file', path: 'c.json', content: Buffer.from('{}') }, { type: 'file', path: 'manifest.json', content: manifest([]) }]);
    await assert.rejects(rewrite(missing), /does not hold/);
    const outside = writeTar([
      { type: 'file', path: 'c.json', content: Buffer.from('{}') },
      { type: 'file', path: 'manifest.json', content: Buffer.from(JSON.stringify([{ Config: '../c.json', Layers: [] }])) },
    ]);
    await assert.rejects(rewrite(outside), /does not hold|outside/);
    const whole = writeTar([{ type: 'file', path: 'l1/layer.tar', content: Buffer.alloc(2000, 1) }, { type: 'file', path: 'c.json', content: Buffer.from('{}') }, { type: 'file', path: 'manifest.json', content: manifest([]) }]);
    await assert.rejects(rewrite(whole.subarray(0, 1500)), /truncated/);
    await assert.rejects(rewrite(Buffer.alloc(1024, 7)), /not a tar archive/);
  });

  it('resolves names as an extracting engine does', () => {
    assert.equal(archivePath('./manifest.json'), 'manifest.json');
    assert.equal(archivePath('a/../manifest.json'), 'manifest.json');
    assert.equal(archivePath('/abs/x'), 'abs/x');
    assert.equal(archivePath('../../etc/passwd'), undefined);
    assert.equal(archivePath('a/../../x'), undefined);
    assert.equal(archivePath('dir/'), undefined);
    assert.equal(archivePath('.'), undefined);
  });
});
