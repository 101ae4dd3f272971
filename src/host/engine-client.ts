// A dockerode client for one Docker endpoint as hafen names them (a socket path, unix:///path or
// tcp://host:port?cert_dir=/dir), pinned to Engine API 1.41 so that Debian's dockerd 20.10 and newer
// ones all answer. An engine reached over TCP is always reached with TLS and a client certificate.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import Docker from 'dockerode';

export const ENGINE_API_VERSION = 'v1.41';

/** The files of a client certificate directory, named as Docker's own client names them (DOCKER_CERT_PATH). */
export const CLIENT_CERT_FILES = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

export type EngineEndpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number; certDir: string };

export class EngineEndpointError extends Error {
  override readonly name = 'EngineEndpointError';
}

const UNIX = /^unix:\/\/(\/.+)$/;
const TCP = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[\w.-]+):(\d{1,5})(?:\?cert_dir=([^&]+))?$/;

/** Whether `raw` has the shape of an endpoint hafen accepts (a tcp:// one may still lack its certificates). */
export function isEngineEndpoint(raw: string): boolean {
  return UNIX.test(raw) || TCP.test(raw);
}

/**
 * Parses an endpoint; a tcp:// one takes its client certificate directory from `?cert_dir=` or
 * `defaultCertDir` and is refused without one: hafen never speaks to an engine over plain TCP.
 */
export function parseEngineEndpoint(raw: string, defaultCertDir?: string): EngineEndpoint {
  const unix = UNIX.exec(raw);
  if (unix) return { kind: 'unix', socketPath: unix[1]! };
  if (raw.startsWith('/')) return { kind: 'unix', socketPath: raw };
  const tcp = TCP.exec(raw);
  if (!tcp) throw new EngineEndpointError(`"${raw}" is not unix:///path or tcp://host:port[?cert_dir=/dir]`);
  const certDir = tcp[3] ? decodeURIComponent(tcp[3]) : defaultCertDir;
  if (!certDir) throw new EngineEndpointError(`${raw}: an engine reached over TCP needs TLS: give ?cert_dir=/dir (or HAFEN_DOCKER_CERT_DIR) holding ca.pem, cert.pem and key.pem`);
  if (!path.isAbsolute(certDir)) throw new EngineEndpointError(`${raw}: the certificate directory must be an absolute path`);
  return { kind: 'tcp', host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2]), certDir };
}

/** The endpoint written out again, with its certificate directory (what engineClient takes). */
export function formatEngineEndpoint(e: EngineEndpoint): string {
  if (e.kind === 'unix') return `unix://${e.socketPath}`;
  const host = e.host.includes(':') ? `[${e.host}]` : e.host;
  return `tcp://${host}:${e.port}?cert_dir=${encodeURIComponent(e.certDir)}`;
}

/** The endpoint as others may see it (host rows, host ids, registrations): without local file paths. */
export function engineEndpointLabel(raw: string): string {
  return raw.replace(/\?.*$/, '');
}

/** Whether the engine runs on this machine (reached through a unix socket here). */
export function isLocalEngine(raw: string): boolean {
  return raw.startsWith('unix://') || raw.startsWith('/');
}

/** Checks that a certificate directory holds the three files; names the first one missing. */
export function checkCertDir(certDir: string): void {
  for (const f of Object.values(CLIENT_CERT_FILES)) {
    if (!fs.existsSync(path.join(certDir, f))) throw new EngineEndpointError(`${path.join(certDir, f)} is missing (a client certificate directory holds ${Object.values(CLIENT_CERT_FILES).join(', ')})`);
  }
}

export function engineClient(endpoint: string): Docker {
  const e = parseEngineEndpoint(endpoint);
  if (e.kind === 'unix') return new Docker({ socketPath: e.socketPath, version: ENGINE_API_VERSION });
  checkCertDir(e.certDir);
  const read = (f: string) => fs.readFileSync(path.join(e.certDir, f));
  const tls = { ca: read(CLIENT_CERT_FILES.ca), cert: read(CLIENT_CERT_FILES.cert), key: read(CLIENT_CERT_FILES.key) };
  // Connections are kept and reused: one TLS handshake serves many Engine API calls (docker-modem
  // takes an `agent`, which its type declarations leave out).
  const options = { host: e.host, port: e.port, protocol: 'https' as const, ...tls, agent: new https.Agent({ ...tls, keepAlive: true, maxSockets: 16 }), version: ENGINE_API_VERSION };
  return new Docker(options as Docker.DockerOptions);
}

/** Resolves when a streamed Engine API answer (pull, import, load, build) ends; rejects on its first error. */
export function followEngineStream(docker: Docker, stream: NodeJS.ReadableStream): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: unknown[]) => {
      if (err) return reject(err);
      const failed = output.find((o) => (o as { error?: string }).error) as { error?: string } | undefined;
      if (failed) return reject(new Error(failed.error));
      resolve(output);
    });
  });
}
