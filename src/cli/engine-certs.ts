// `hafen engine-certs`: hafen's own CA for Docker engines reached over TCP ($HAFEN_DATA_DIR/pki/ca),
// a server certificate for each such engine (dockerd --tlsverify) and hafen's client certificate.
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { ensureCertificateAuthority, ensureClientCertificate, issueCertificate, SERVER_CERT_FILES } from '../host/pki.ts';

const caDir = () => path.join(loadConfig().dataDir, 'pki', 'ca');

export function registerEngineCerts(program: Command): void {
  const certs = program.command('engine-certs').description("Certificates for Docker engines reached over TCP (TLS with hafen's own CA)");
  certs
    .command('server')
    .description("Issue an engine's server certificate (copy the directory to the host and start dockerd with --tlsverify)")
    .requiredOption('--address <ip>', 'an address the engine is reached at (repeat with commas: 10.0.0.5,10.0.0.6)')
    .option('--name <dns>', 'a DNS name of the host as well')
    .requiredOption('--out <dir>', 'where to write ca.pem, server-cert.pem, server-key.pem')
    .action(async (opts: { address: string; name?: string; out: string }) => {
      const ips = opts.address.split(',').map((a) => a.trim()).filter(Boolean);
      if (ips.some((ip) => !/^[\d.]+$|^[0-9a-fA-F:]+$/.test(ip))) fail('--address takes IP addresses');
      const ca = await ensureCertificateAuthority(caDir());
      const out = await issueCertificate(ca, path.resolve(opts.out), { kind: 'server', commonName: opts.name ?? ips[0]!, ips, ...(opts.name ? { dnsNames: [opts.name] } : {}) });
      process.stdout.write(
        `server certificate in ${out}\nstart the engine with:\n  dockerd --tlsverify --tlscacert ${out}/${SERVER_CERT_FILES.ca} --tlscert ${out}/${SERVER_CERT_FILES.cert} --tlskey ${out}/${SERVER_CERT_FILES.key} --host tcp://${ips[0]}:2376 --userns-remap hafen-remap\n`,
      );
    });
  certs
    .command('client')
    .description("Make (or show) hafen's client certificate: the directory HAFEN_DOCKER_CERT_DIR or ?cert_dir= names")
    .option('--out <dir>', 'where to write ca.pem, cert.pem, key.pem (default: $HAFEN_DATA_DIR/pki/client)')
    .action(async (opts: { out?: string }) => {
      const ca = await ensureCertificateAuthority(caDir());
      const out = await ensureClientCertificate(ca, path.resolve(opts.out ?? path.join(loadConfig().dataDir, 'pki', 'client')));
      process.stdout.write(`client certificate in ${out}\nHAFEN_DOCKER_CERT_DIR=${out}\n`);
    });
}

function fail(message: string): never {
  process.stderr.write(`hafen engine-certs: ${message}\n`);
  process.exit(1);
}
