// Private keys at rest: sealed with AES-256-GCM under a key of the controller's data directory (made
// once, mode 0600), so that the database alone never holds a usable key.
import fs from 'node:fs';
import path from 'node:path';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface Sealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

export function fileSealer(dataDir: string): Sealer {
  const file = path.join(dataDir, 'clusters-seal.key');
  let key: Buffer;
  try {
    key = fs.readFileSync(file);
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const fresh = randomBytes(32);
    try {
      fs.writeFileSync(file, fresh, { mode: 0o600, flag: 'wx' });
      key = fresh;
    } catch {
      key = fs.readFileSync(file); // another controller made it first
    }
  }
  if (key.length !== 32) throw new Error(`${file}: not a 32-byte key`);
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return `v1:${iv.toString('base64')}:${c.getAuthTag().toString('base64')}:${body.toString('base64')}`;
    },
    open(sealed) {
      const [v, iv, tag, body] = sealed.split(':');
      if (v !== 'v1' || !iv || !tag || body === undefined) throw new Error('not a sealed value');
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      d.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(body, 'base64')), d.final()]).toString('utf8');
    },
  };
}
