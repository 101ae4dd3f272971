// X.509 for the clusters' certificate authorities, in DER by hand with Node's own crypto doing the
// keys and signatures: a CA per cluster, server and client certificates, and the signing of any
// well-formed PKCS#10 request (its subject and public key copied, the certificate signed with SHA-256).
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { BadRequestError } from '../platform/errors.ts';

const generate = promisify(generateKeyPair);

// ---- DER writing

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag]), length(content.length), content]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, content: Buffer) => tlv(0xa0 + n, content);
const octets = (b: Buffer) => tlv(0x04, b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && (b[i + 1]! & 0x80) === 0) i++;
  let v = b.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return tlv(0x02, v);
}

function oid(text: string): Buffer {
  const parts = text.split('.').map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A BIT STRING of whole bytes, or of `bits` leading bits (named bit lists such as keyUsage). */
function bitString(b: Buffer, unused = 0): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
}

function time(d: Date): Buffer {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const body = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  return y < 2050 ? tlv(0x17, Buffer.from(`${p(y % 100)}${body}`)) : tlv(0x18, Buffer.from(`${p(y, 4)}${body}`));
}

/** A distinguished name of (attribute OID, value) pairs, one RDN each. */
export function distinguishedName(attrs: [string, string][]): Buffer {
  return seq(...attrs.map(([type, value]) => set(seq(oid(type), utf8(value)))));
}
export const CN = '2.5.4.3';
export const O = '2.5.4.10';

// ---- DER reading

interface Node {
  tag: number;
  /** The whole element (header and content). */
  raw: Buffer;
  content: Buffer;
}

function read(buf: Buffer, at = 0): Node & { end: number } {
  if (at + 2 > buf.length) throw new Error('truncated');
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || at + 2 + n > buf.length) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
    head += n;
  }
  const end = at + head + len;
  if (end > buf.length) throw new Error('truncated');
  return { tag, raw: buf.subarray(at, end), content: buf.subarray(at + head, end), end };
}

function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let at = 0; at < node.content.length; ) {
    const c = read(node.content, at);
    out.push(c);
    at = c.end;
  }
  return out;
}

function oidText(node: Node): string {
  const b = node.content;
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (const x of b.subarray(1)) {
    v = v * 128 + (x & 0x7f);
    if (!(x & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

// ---- signatures

/** Signature algorithms a request may be signed with: OID -> the hash crypto.verify takes (null: none, Ed25519). */
const SIGNATURES: Record<string, string | null> = {
  '1.2.840.113549.1.1.4': 'md5',
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
};

function signatureAlgorithm(key: KeyObject): Buffer {
  return key.asymmetricKeyType === 'rsa' ? seq(oid('1.2.840.113549.1.1.11'), tlv(0x05, Buffer.alloc(0))) : seq(oid('1.2.840.10045.4.3.2'));
}

// ---- PEM

export function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function unpem(text: string, labels: string[]): Buffer | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!m || !labels.includes(m[1]!)) return undefined;
  const body = m[2]!.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) return undefined;
  return Buffer.from(body, 'base64');
}

// ---- requests

export interface ParsedRequest {
  subject: Buffer;
  spki: Buffer;
}

/** Reads and checks a PKCS#10 request (PEM); throws BadRequestError "Received invalid csr" otherwise. */
export function parseCsr(text: string): ParsedRequest {
  const invalid = (why: string) => new BadRequestError(`Received invalid csr ${text.length > 80 ? `${text.slice(0, 77)}...` : text} (${why}).`);
  if (typeof text !== 'string' || text.length > 65536) throw invalid('not a PEM certificate request of at most 64 KiB');
  const der = unpem(text, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
  if (!der) throw invalid('no PEM certificate request');
  try {
    const top = read(der);
    if (top.tag !== 0x30 || top.end !== der.length) throw new Error('not one SEQUENCE');
    const [info, alg, sig] = children(top);
    if (!info || !alg || !sig || info.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03) throw new Error('not a CertificationRequest');
    const parts = children(info);
    if (parts.length < 3 || parts[0]!.tag !== 0x02 || parts[1]!.tag !== 0x30 || parts[2]!.tag !== 0x30) throw new Error('not a CertificationRequestInfo');
    const algorithm = oidText(children(alg)[0]!);
    if (!(algorithm in SIGNATURES)) throw new Error(`unknown signature algorithm ${algorithm}`);
    const publicKey = createPublicKey({ key: parts[2]!.raw, format: 'der', type: 'spki' });
    const signature = sig.content.subarray(1);
    const ok = verify(SIGNATURES[algorithm] ?? null, info.raw, publicKey, signature);
    if (!ok) throw new Error('its signature does not verify');
    return { subject: Buffer.from(parts[1]!.raw), spki: Buffer.from(parts[2]!.raw) };
  } catch (err) {
    if (err instanceof BadRequestError) throw err;
    throw invalid((err as Error).message);
  }
}

// ---- certificates

export interface Authority {
  cert: string;
  key: string;
}

export interface IssueOptions {
  subject: Buffer;
  spki: Buffer;
  kind: 'ca' | 'server' | 'client';
  ips?: string[];
  dnsNames?: string[];
  days: number;
}

function subjectKeyId(spki: Buffer): Buffer {
  const key = children(read(spki)).find((c) => c.tag === 0x03)!;
  return createHash('sha1').update(key.content.subarray(1)).digest();
}

function extensions(o: IssueOptions, issuerSpki: Buffer): Buffer {
  const ext = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
  const list = [
    ext('2.5.29.19', true, o.kind === 'ca' ? seq(bool(true)) : seq()),
    // keyUsage: keyCertSign|cRLSign for a CA, digitalSignature|keyEncipherment otherwise
    ext('2.5.29.15', true, o.kind === 'ca' ? bitString(Buffer.from([0x06]), 1) : bitString(Buffer.from([0xa0]), 5)),
    ext('2.5.29.14', false, octets(subjectKeyId(o.spki))),
    ext('2.5.29.35', false, seq(tlv(0x80, subjectKeyId(issuerSpki)))),
  ];
  if (o.kind !== 'ca') list.push(ext('2.5.29.37', false, seq(oid(o.kind === 'server' ? '1.3.6.1.5.5.7.3.1' : '1.3.6.1.5.5.7.3.2'))));
  const names = [...(o.ips ?? []).map((ip) => tlv(0x87, Buffer.from(ip.split('.').map(Number)))), ...(o.dnsNames ?? []).map((n) => tlv(0x82, Buffer.from(n, 'ascii')))];
  if (names.length) list.push(ext('2.5.29.17', false, seq(...names)));
  return explicit(3, seq(...list));
}

/** Issues a certificate signed by `issuer` (or self-signed with `selfKey` for a CA). */
export function issue(o: IssueOptions, issuer: { cert: Buffer; key: KeyObject } | { self: KeyObject }): string {
  const key = 'self' in issuer ? issuer.self : issuer.key;
  let issuerName = o.subject;
  let issuerSpki = o.spki;
  if ('cert' in issuer) {
    const tbs = children(children(read(issuer.cert))[0]!);
    // version, serial, signature, issuer, validity, subject, spki
    issuerName = Buffer.from(tbs[5]!.raw);
    issuerSpki = Buffer.from(tbs[6]!.raw);
  }
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    signatureAlgorithm(key),
    issuerName,
    seq(time(new Date(now - 5 * 60_000)), time(new Date(now + o.days * 86_400_000))),
    o.subject,
    o.spki,
    extensions(o, issuerSpki),
  );
  const signature = sign(key.asymmetricKeyType === 'rsa' ? 'sha256' : 'sha256', tbs, key);
  return pem('CERTIFICATE', seq(tbs, signatureAlgorithm(key), bitString(signature)));
}

/** A fresh P-256 key pair as PEM (PKCS#8 private key) and its SPKI. */
export async function newKey(): Promise<{ key: string; spki: Buffer; object: KeyObject }> {
  const { privateKey, publicKey } = await generate('ec', { namedCurve: 'prime256v1' });
  return { key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, spki: publicKey.export({ format: 'der', type: 'spki' }) as Buffer, object: privateKey };
}

export async function newAuthority(commonName: string): Promise<Authority> {
  const k = await newKey();
  const cert = issue({ subject: distinguishedName([[O, 'hafen'], [CN, commonName]]), spki: k.spki, kind: 'ca', days: 3650 }, { self: k.object });
  return { cert, key: k.key };
}

/** A new key and a certificate for it signed by the authority. */
export async function newCertificate(ca: Authority, commonName: string, kind: 'server' | 'client', names: { ips?: string[]; dnsNames?: string[] } = {}): Promise<{ cert: string; key: string }> {
  const k = await newKey();
  const cert = issue({ subject: distinguishedName([[O, 'hafen'], [CN, commonName]]), spki: k.spki, kind, days: 825, ...names }, authorityOf(ca));
  return { cert, key: k.key };
}

/** Signs a client certificate request with the authority: its subject and key, our extensions. */
export function signRequest(ca: Authority, csr: ParsedRequest): string {
  return issue({ subject: csr.subject, spki: csr.spki, kind: 'client', days: 825 }, authorityOf(ca));
}

function authorityOf(ca: Authority): { cert: Buffer; key: KeyObject } {
  return { cert: unpem(ca.cert, ['CERTIFICATE'])!, key: createPrivateKey(ca.key) };
}

/** Whether `cert` was issued by the authority (its signature checks against the CA's key). */
export function issuedBy(cert: string, ca: string): boolean {
  try {
    return new X509Certificate(cert).verify(new X509Certificate(ca).publicKey);
  } catch {
    return false;
  }
}
