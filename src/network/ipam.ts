// IPv4 address arithmetic and subnet validation (CIDR, gateway, allocation pools). Pure functions;
// the store's address ledger is what makes allocation unique.
import { InvalidInput, NeutronBadRequest } from './errors.ts';

export function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  network: number;
  prefix: number;
  /** First and last address of the block. */
  first: number;
  last: number;
  text: string;
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(String(text));
  if (!m) return undefined;
  const addr = ipToInt(m[1]!);
  const prefix = Number(m[2]);
  if (addr === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  return { network, prefix, first: network, last: network + size - 1, text: `${intToIp(network)}/${prefix}` };
}

export function isIpv6(text: string): boolean {
  return /^[0-9a-fA-F:]+(\/\d{1,3})?$/.test(text) && text.includes(':');
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.first <= b.last && b.first <= a.last;
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.first && ip <= c.last;
}

export interface AllocationPool {
  start: string;
  end: string;
}

export interface SubnetLayout {
  cidr: string;
  gateway_ip: string | null;
  allocation_pools: AllocationPool[];
}

/** Validates CIDR, gateway and pools as Neutron does, filling Neutron's defaults. */
export function layoutSubnet(cidrText: unknown, gateway: unknown, pools: unknown): SubnetLayout {
  if (typeof cidrText !== 'string') throw new InvalidInput(`'${String(cidrText)}' is not a valid IP subnet.`);
  const cidr = parseCidr(cidrText);
  if (!cidr) throw new InvalidInput(`'${cidrText}' is not a valid IP subnet.`);
  if (cidr.prefix > 30) throw new InvalidInput(`'${cidrText}' is too small: a subnet needs at least a /30.`);
  if (cidr.text !== cidrText && !cidrText.endsWith(`/${cidr.prefix}`)) throw new InvalidInput(`'${cidrText}' is not a valid IP subnet.`);
  const broadcast = cidr.last;
  let gatewayIp: string | null;
  if (gateway === null) gatewayIp = null;
  else if (gateway === undefined) gatewayIp = intToIp(cidr.first + 1);
  else {
    const g = typeof gateway === 'string' ? ipToInt(gateway) : undefined;
    if (g === undefined) throw new InvalidInput(`'${String(gateway)}' is not a valid IP address.`);
    if (!contains(cidr, g) || g === cidr.first || g === broadcast) {
      throw new NeutronBadRequest('GatewayIpNotInSubnet', `Invalid input for operation: Gateway IP ${String(gateway)} is not in subnet ${cidr.text}.`);
    }
    gatewayIp = gateway as string;
  }
  const g = gatewayIp === null ? undefined : ipToInt(gatewayIp)!;
  let ranges: [number, number][];
  if (pools === undefined || pools === null) {
    // Neutron's default: the whole block minus network, broadcast and gateway addresses.
    ranges = [];
    let start = cidr.first + 1;
    if (g !== undefined && g === start) start++;
    const end = broadcast - 1;
    if (g !== undefined && g > start && g < end) {
      ranges.push([start, g - 1], [g + 1, end]);
    } else ranges.push([start, g === end ? end - 1 : end]);
  } else {
    if (!Array.isArray(pools)) throw new InvalidInput('allocation_pools must be a list.');
    ranges = pools.map((p: { start?: unknown; end?: unknown }) => {
      const s = typeof p?.start === 'string' ? ipToInt(p.start) : undefined;
      const e = typeof p?.end === 'string' ? ipToInt(p.end) : undefined;
      if (s === undefined || e === undefined || s > e) throw new InvalidInput(`Invalid allocation pool ${JSON.stringify(p)}.`);
      if (!contains(cidr, s) || !contains(cidr, e) || s === cidr.first || e === broadcast) {
        throw new NeutronBadRequest('OutOfBoundsAllocationPool', `The allocation pool ${p.start as string}-${p.end as string} spans beyond the subnet cidr ${cidr.text}.`);
      }
      if (g !== undefined && g >= s && g <= e) {
        throw new NeutronConflictGateway(gatewayIp!, `${p.start as string}-${p.end as string}`);
      }
      return [s, e] as [number, number];
    });
    const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![0] <= sorted[i - 1]![1]) throw new NeutronBadRequest('OverlappingAllocationPools', 'Found overlapping allocation pools.');
    }
  }
  return { cidr: cidr.text, gateway_ip: gatewayIp, allocation_pools: ranges.map(([s, e]) => ({ start: intToIp(s), end: intToIp(e) })) };
}

class NeutronConflictGateway extends NeutronBadRequest {
  constructor(gateway: string, pool: string) {
    super('GatewayConflictWithAllocationPools', `Gateway ip ${gateway} conflicts with allocation pool ${pool}.`);
  }
}

export function inPools(pools: AllocationPool[], ip: number): boolean {
  return pools.some((p) => ip >= ipToInt(p.start)! && ip <= ipToInt(p.end)!);
}

/** Candidate addresses in pool order, skipping the taken ones; a bounded scan so /8 subnets stay cheap. */
export function* freeAddresses(pools: AllocationPool[], taken: Set<string>): Generator<string> {
  for (const p of pools) {
    for (let n = ipToInt(p.start)!; n <= ipToInt(p.end)!; n++) {
      const ip = intToIp(n);
      if (!taken.has(ip)) yield ip;
    }
  }
}
