// The token signing key ring: numbered HMAC keys under $HAFEN_DATA_DIR/keys/token-signing.
// The highest number signs; every kept key verifies, so rotation never invalidates live tokens.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface SigningKey {
  id: number;
  secret: Buffer;
}

export interface KeyRing {
  primary: SigningKey;
  byId: Map<number, SigningKey>;
}

export function keyDir(dataDir: string): string {
  return path.join(dataDir, 'keys', 'token-signing');
}

function writeKey(dir: string, id: number): void {
  const file = path.join(dir, `${id}.key`);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, randomBytes(32).toString('base64'), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function keyIds(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d+\.key$/.test(f))
    .map((f) => Number(f.slice(0, -4)))
    .sort((a, b) => a - b);
}

/** Loads the key ring, creating the first key on first start. */
export function loadKeyRing(dataDir: string): KeyRing {
  const dir = keyDir(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (keyIds(dir).length === 0) writeKey(dir, 1);
  const byId = new Map<number, SigningKey>();
  for (const id of keyIds(dir)) {
    byId.set(id, { id, secret: Buffer.from(fs.readFileSync(path.join(dir, `${id}.key`), 'utf8').trim(), 'base64') });
  }
  const primary = byId.get(Math.max(...byId.keys()))!;
  return { primary, byId };
}

/** Adds a new primary key and drops the oldest beyond `keep`. Returns the new key's id. */
export function rotateKeys(dataDir: string, keep: number): { newKeyId: number; removed: number[] } {
  const dir = keyDir(dataDir);
  loadKeyRing(dataDir);
  const ids = keyIds(dir);
  const newKeyId = Math.max(...ids) + 1;
  writeKey(dir, newKeyId);
  const all = [...ids, newKeyId];
  const removed = all.slice(0, Math.max(0, all.length - keep));
  for (const id of removed) fs.rmSync(path.join(dir, `${id}.key`), { force: true });
  return { newKeyId, removed };
}
