// The clusters' X.509: certificates openssl accepts, requests of any usual kind signed with their
// subject kept, and bad requests refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { issuedBy, newAuthority, newCertificate, parseCsr, signRequest } from './x509.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hafen-x509-'));
const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('clusters x509', () => {
  it('makes a CA and server and client certificates that openssl verifies, with the right names and usages', async () => {
    const ca = await newAuthority('cluster test CA');
    const server = await newCertificate(ca, 'front', 'server', { ips: ['127.77.0.5'], dnsNames: ['localhost'] });
    const client = await newCertificate(ca, 'hafen', 'client');
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    fs.writeFileSync(path.join(dir, 'server.pem'), server.cert);
    fs.writeFileSync(path.join(dir, 'client.pem'), client.cert);
    assert.match(openssl(['verify', '-CAfile', 'ca.pem', '-purpose', 'sslserver', 'server.pem']), /server.pem: OK/);
    assert.match(openssl(['verify', '-CAfile', 'ca.pem', '-purpose', 'sslclient', 'client.pem']), /client.pem: OK/);
    const x = new X509Certificate(server.cert);
    assert.match(x.subjectAltName ?? '', /IP Address:127.77.0.5/);
    assert.ok(x.checkIssued(new X509Certificate(ca.cert)));
    assert.ok(new X509Certificate(ca.cert).ca);
    assert.ok(issuedBy(client.cert, ca.cert));
    assert.ok(!issuedBy(client.cert, (await newAuthority('other')).cert));
  });

  it('signs any well-formed request (1024-bit RSA with SHA-1 included) with SHA-256, copying its subject', async () => {
    const ca = await newAuthority('cluster test CA');
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    for (const [name, args] of [
      ['rsa1024-sha1', ['-newkey', 'rsa:1024', '-sha1']],
      ['rsa2048-sha256', ['-newkey', 'rsa:2048', '-sha256']],
      ['ec-sha384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-sha384']],
    ] as [string, string[]][]) {
      openssl(['req', '-new', ...args, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=system:masters/CN=admin-${name}`]);
      const cert = signRequest(ca, parseCsr(fs.readFileSync(path.join(dir, `${name}.csr`), 'utf8')));
      fs.writeFileSync(path.join(dir, `${name}.pem`), cert);
      assert.match(openssl(['verify', '-CAfile', 'ca.pem', `${name}.pem`]), /OK/, name);
      const text = openssl(['x509', '-in', `${name}.pem`, '-noout', '-text']);
      assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/, name);
      assert.match(text, new RegExp(`Subject: O ?= ?system:masters, CN ?= ?admin-${name}`), name);
      assert.match(text, /TLS Web Client Authentication/, name);
      // The certificate's key is the request's.
      const certKey = openssl(['x509', '-in', `${name}.pem`, '-noout', '-pubkey']);
      const reqKey = openssl(['req', '-in', `${name}.csr`, '-noout', '-pubkey']);
      assert.equal(certKey, reqKey, name);
    }
  });

  it('refuses what is not a request, and a request whose signature does not verify', () => {
    for (const bad of ['', 'hello', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', 'x'.repeat(70000)]) {
      assert.throws(() => parseCsr(bad), /Received invalid csr/);
    }
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 't.key', '-out', 't.csr', '-subj', '/CN=tampered']);
    const good = fs.readFileSync(path.join(dir, 't.csr'), 'utf8');
    const der = Buffer.from(good.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5] ^= 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => parseCsr(tampered), /does not verify/);
  });
});
