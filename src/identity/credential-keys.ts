// Credential blobs are stored encrypted (AES-256-GCM) with a key under
// $HAFEN_DATA_DIR/keys/credential, as Keystone keeps them with its credential keys.
import fs from 'node:fs';
import path from 'node:path';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export class CredentialCipher {
  private readonly key: Buffer;

  constructor(dataDir: string) {
    const dir = path.join(dataDir, 'keys', 'credential');
    const file = path.join(dir, 'primary.key');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(file)) {
      // Controllers starting together: the first rename wins and every one reads the same key.
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, randomBytes(32).toString('base64'), { mode: 0o600 });
      try {
        fs.linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    }
    this.key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1.${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  decrypt(stored: string): string {
    const [version, iv, body, tag] = stored.split('.');
    if (version !== 'v1' || !iv || body === undefined || !tag) throw new Error('credential blob in an unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}
