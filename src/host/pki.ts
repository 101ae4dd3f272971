// hafen's own certificate authority for Docker engines reached over TCP: one CA per data directory,
// server certificates for engines (dockerd --tlsverify) and client certificates for hafen, made with openssl.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { CLIENT_CERT_FILES } from './engine-client.ts';

const run = promisify(execFile);

/** Files of an engine's server certificate directory (dockerd --tlscacert/--tlscert/--tlskey). */
export const SERVER_CERT_FILES = { ca: 'ca.pem', cert: 'server-cert.pem', key: 'server-key.pem' } as const;

export interface CertificateAuthority {
  dir: string;
  cert: string;
  key: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 60_000 });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('openssl is missing (scripts/setup.sh installs Debian\'s openssl)');
    throw new Error(`openssl ${args[0]}: ${(e.stderr || e.message).trim()}`);
  }
}

/** A fresh directory next to `dir` (same file system, so that it can be renamed into place), mode 0700. */
function scratchNextTo(dir: string): string {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  return fs.mkdtempSync(path.join(parent, `.${path.basename(dir)}-`));
}

/**
 * The CA kept in `dir` (ca.pem, ca-key.pem), made on first use. Two processes making it at once
 * agree: each builds it in a scratch directory and the first rename wins.
 */
export async function ensureCertificateAuthority(dir: string): Promise<CertificateAuthority> {
  const ca = { dir, cert: path.join(dir, 'ca.pem'), key: path.join(dir, 'ca-key.pem') };
  if (fs.existsSync(ca.cert) && fs.existsSync(ca.key)) return ca;
  const scratch = scratchNextTo(dir);
  try {
    await openssl(
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '3650', '-sha256',
        '-subj', `/O=hafen/CN=hafen engine CA ${randomBytes(4).toString('hex')}`,
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ],
      scratch,
    );
    fs.chmodSync(path.join(scratch, 'ca-key.pem'), 0o600);
    try {
      fs.renameSync(scratch, dir);
    } catch (err) {
      // Someone else's CA got there first (or the directory exists with other files): use theirs.
      if (!fs.existsSync(ca.cert)) throw err;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return ca;
}

export interface CertificateRequest {
  kind: 'server' | 'client';
  commonName: string;
  /** Server certificates: the addresses and names the engine is reached by. */
  ips?: string[];
  dnsNames?: string[];
  days?: number;
}

/**
 * Issues a certificate signed by the CA into `outDir` with the CA's certificate next to it: a server's
 * as ca.pem, server-cert.pem, server-key.pem; a client's as ca.pem, cert.pem, key.pem (Docker's names).
 * The directory is written whole or not at all.
 */
export async function issueCertificate(ca: CertificateAuthority, outDir: string, req: CertificateRequest): Promise<string> {
  const names = req.kind === 'server' ? SERVER_CERT_FILES : CLIENT_CERT_FILES;
  const scratch = scratchNextTo(outDir);
  try {
    const san = [...(req.ips ?? []).map((ip) => `IP:${ip}`), ...(req.dnsNames ?? []).map((d) => `DNS:${d}`)];
    const ext = [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${req.kind === 'server' ? 'serverAuth' : 'clientAuth'}`,
      ...(san.length ? [`subjectAltName=${san.join(',')}`] : []),
    ];
    fs.writeFileSync(path.join(scratch, 'ext.cnf'), `${ext.join('\n')}\n`);
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', names.key, '-out', 'req.csr', '-subj', `/O=hafen/CN=${req.commonName.replace(/[/\\]/g, '_')}`], scratch);
    await openssl(['x509', '-req', '-in', 'req.csr', '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-CAserial', path.join(scratch, 'ca.srl'), '-out', names.cert, '-days', String(req.days ?? 825), '-sha256', '-extfile', 'ext.cnf'], scratch);
    for (const f of ['ext.cnf', 'req.csr', 'ca.srl']) fs.rmSync(path.join(scratch, f), { force: true });
    fs.copyFileSync(ca.cert, path.join(scratch, names.ca));
    fs.chmodSync(path.join(scratch, names.key), 0o600);
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.renameSync(scratch, outDir);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return outDir;
}

/** A client certificate directory for hafen under `dir` (made once, reused while its CA is the same). */
export async function ensureClientCertificate(ca: CertificateAuthority, outDir: string, commonName = `hafen@${os.hostname()}`): Promise<string> {
  const current = path.join(outDir, CLIENT_CERT_FILES.ca);
  const valid = () => fs.existsSync(path.join(outDir, CLIENT_CERT_FILES.key)) && fs.existsSync(current) && fs.readFileSync(current).equals(fs.readFileSync(ca.cert));
  if (valid()) return outDir;
  try {
    return await issueCertificate(ca, outDir, { kind: 'client', commonName });
  } catch (err) {
    // Another process issued it at the same moment: theirs serves as well.
    if (valid()) return outDir;
    throw err;
  }
}
