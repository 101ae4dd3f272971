// URLs the cloud itself may fetch on a caller's behalf (image web-download, template_url): http(s) on
// loopback only, so a request can never make hafen reach any other address, and not on the ports
// the caller names as hafen's own (its API and agent endpoint, engines, database).
import type { Config } from '../../config.ts';
import { BadRequestError } from '../errors.ts';

export function assertLoopbackUrl(raw: string, refusedPorts?: ReadonlySet<number>): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new BadRequestError(`Invalid URI: ${raw}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BadRequestError(`URI scheme ${u.protocol} is not allowed; use http or https.`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new BadRequestError(`URI host ${host} is not allowed: only loopback addresses are fetched.`);
  }
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  if (refusedPorts?.has(port)) throw new BadRequestError(`URI port ${port} is not allowed: it belongs to the cloud itself.`);
  return u;
}

/** The ports that are the cloud's own (API and agent endpoint, engines, database): never fetched. */
export function hafenPorts(config: Pick<Config, 'port' | 'publicUrl' | 'dockerHosts' | 'databaseUrl'>): Set<number> {
  const ports = new Set<number>([2375, 2376, config.port]);
  const portOf = (raw: string, fallback: number) => {
    try {
      const u = new URL(raw);
      return u.port ? Number(u.port) : fallback;
    } catch {
      return undefined;
    }
  };
  const add = (p: number | undefined) => p !== undefined && p > 0 && ports.add(p);
  add(portOf(config.publicUrl, config.publicUrl.startsWith('https:') ? 443 : 80));
  for (const h of config.dockerHosts) if (h.startsWith('tcp://')) add(portOf(h.replace(/^tcp:/, 'http:'), 2375));
  if (/^postgres(ql)?:/.test(config.databaseUrl)) add(portOf(config.databaseUrl.replace(/^postgres(ql)?:/, 'http:'), 5432));
  return ports;
}
