// The tar writer read back by GNU tar: names, types, modes, link targets and contents survive.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { writeTar } from './tar-writer.ts';

it('writes archives GNU tar lists and extracts faithfully', () => {
  const longDir = `deep/${'d'.repeat(80)}`;
  const archive = writeTar([
    { type: 'directory', path: 'bin' },
    { type: 'directory', path: 'tmp', mode: 0o1777 },
    { type: 'directory', path: longDir },
    { type: 'file', path: 'bin/tool', content: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
    { type: 'file', path: `${longDir}/${'f'.repeat(60)}`, content: Buffer.alloc(513, 7) },
    { type: 'symlink', path: 'bin/sh', target: '/bin/tool' },
  ]);
  assert.equal(archive.length % 512, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-writer-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.tar'), archive);
    const listing = execFileSync('tar', ['-tvf', path.join(dir, 'a.tar')], { encoding: 'utf8' });
    assert.match(listing, /^drwxrwxrwt root\/root .* tmp\/$/m);
    assert.match(listing, /^-rwxr-xr-x root\/root +18 .* bin\/tool$/m);
    assert.match(listing, /^lrwxrwxrwx root\/root .* bin\/sh -> \/bin\/tool$/m);
    fs.mkdirSync(path.join(dir, 'out'));
    execFileSync('tar', ['-xf', path.join(dir, 'a.tar'), '-C', path.join(dir, 'out')]);
    assert.equal(fs.readFileSync(path.join(dir, 'out/bin/tool'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.deepEqual(fs.readFileSync(path.join(dir, 'out', longDir, 'f'.repeat(60))), Buffer.alloc(513, 7));
    assert.equal(fs.readlinkSync(path.join(dir, 'out/bin/sh')), '/bin/tool');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
