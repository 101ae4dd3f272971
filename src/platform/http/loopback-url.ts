// URLs the cloud itself may fetch on a caller's behalf (image web-download, template_url): http(s) on
// loopback only, so a request can never make hafen reach any other address, and not on the ports
// the caller names as hafen's own (its API and agent endpoint, engines, database).
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
