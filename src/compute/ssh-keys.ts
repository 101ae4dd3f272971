// SSH key material: generating an RSA pair as OpenSSH public key + PEM private key, and the MD5
// fingerprint Nova shows, for generated and imported keys alike.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { BadRequestError } from '../platform/errors.ts';

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function mpint(b: Buffer): Buffer {
  // Positive integers with the high bit set get a leading zero byte.
  return sshString(b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

export function generateKeypair(comment: string): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), mpint(Buffer.from(jwk.e, 'base64url')), mpint(Buffer.from(jwk.n, 'base64url'))]);
  return {
    publicKey: `ssh-rsa ${blob.toString('base64')} ${comment}`,
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
  };
}

/** The colon-separated MD5 fingerprint of an OpenSSH public key; 400 if it is not one. */
export function fingerprint(publicKey: string): string {
  const parts = publicKey.trim().split(/\s+/);
  if (parts.length < 2 || !/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521))$/.test(parts[0]!)) {
    throw new BadRequestError('Keypair data is invalid: failed to generate fingerprint');
  }
  const blob = Buffer.from(parts[1]!, 'base64');
  if (blob.length < 20 || blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() !== parts[0]) {
    throw new BadRequestError('Keypair data is invalid: failed to generate fingerprint');
  }
  return createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');
}
