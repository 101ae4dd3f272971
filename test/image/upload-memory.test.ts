// Streams stay streams: a large upload (sent by curl from another process) does not raise the
// controller's RSS by more than a few tens of MiB, and the stored data hashes right.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud } from '../helpers/cloud.ts';

describe('image upload memory', () => {
  it('keeps RSS flat while 768 MiB stream through', async () => {
    const t = await startTestCloud('upload-memory', { HAFEN_DOCKER_HOSTS: 'unix:///nonexistent.sock' });
    const file = path.join(t.dataDir, 'big.bin');
    try {
      const block = Buffer.alloc(1 << 20, 7);
      const fd = fs.openSync(file, 'w');
      const md5 = createHash('md5');
      for (let i = 0; i < 768; i++) {
        block.writeUInt32LE(i, 0);
        md5.update(block);
        fs.writeSync(fd, block);
      }
      fs.closeSync(fd);
      const token = await t.token('demo');
      const warm = await t.request('POST', '/image/v2/images', { token, body: { name: 'warm', container_format: 'bare', disk_format: 'raw' } });
      await t.request('PUT', `/image/v2/images/${warm.body.id}/file`, { token, body: Buffer.alloc(4 << 20), headers: { 'content-type': 'application/octet-stream' } });
      const img = await t.request('POST', '/image/v2/images', { token, body: { name: 'big', container_format: 'bare', disk_format: 'raw' } });
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const code = await new Promise<string>((resolve, reject) => {
        let out = '';
        const curl = spawn('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '-H', `x-auth-token: ${token}`, '-H', 'content-type: application/octet-stream', '-T', file, `${t.url}/image/v2/images/${img.body.id}/file`]);
        curl.stdout.on('data', (c: Buffer) => (out += c.toString()));
        curl.on('exit', (c) => (c === 0 ? resolve(out) : reject(new Error(`curl exited ${c}`))));
      });
      clearInterval(sampler);
      assert.equal(code, '204');
      const riseMiB = (peak - before) / 2 ** 20;
      assert.ok(riseMiB < 64, `RSS rose by ${riseMiB.toFixed(0)} MiB`);
      const shown = await t.request('GET', `/image/v2/images/${img.body.id}`, { token });
      assert.equal(shown.body.size, 768 << 20);
      assert.equal(shown.body.checksum, md5.digest('hex'));
    } finally {
      fs.rmSync(file, { force: true });
      await t.close();
    }
  });
});
