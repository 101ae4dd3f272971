// IPv4 dotted quads as 32-bit unsigned numbers and back: the one parser the network service's IPAM,
// the host's block checks and the clusters' node addresses share.

/** `a.b.c.d` as a number (0 to 2^32 - 1); undefined for anything else. */
export function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) return undefined;
    n = n * 256 + part;
  }
  return n;
}

/** A number (0 to 2^32 - 1) as `a.b.c.d`. */
export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
