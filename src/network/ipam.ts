// IPv4 address arithmetic, subnet validation (CIDR, gateway, allocation pools), and the allocator that
// picks free addresses. The store's address ledger (its key) is what makes allocation unique; the
// allocator's per-subnet map of taken addresses only makes the search cheap.
import { InvalidInput, NeutronBadRequest, NeutronConflict } from './errors.ts';
import { intToIp, ipToInt } from '../platform/ipv4.ts';

export { intToIp, ipToInt } from '../platform/ipv4.ts';

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

/** What the allocator needs of the ledger: claim one address (false when taken) and read a subnet's. */
export interface AddressLedger {
  claimAddress(subnetId: string, ipAddress: string, ownerId: string, portId: string | null): Promise<boolean>;
  addressesIn(subnetId: string): Promise<string[]>;
}

export interface SubnetAddressing {
  id: string;
  network_id: string;
  cidr: string;
  gateway_ip: string | null;
  pools: AllocationPool[];
}

/** One subnet's pools as one index space, with a bit per address that is known to be taken. */
class PoolMap {
  readonly ranges: [number, number][];
  readonly size: number;
  readonly taken: Uint8Array;
  /** No index below this one is free (as far as this map knows). */
  low = 0;
  readonly loadedAt = Date.now();

  constructor(readonly key: string, pools: AllocationPool[]) {
    this.ranges = pools.map((p) => [ipToInt(p.start)!, ipToInt(p.end)!]);
    this.size = this.ranges.reduce((n, [a, b]) => n + (b - a + 1), 0);
    this.taken = new Uint8Array(Math.ceil(this.size / 8));
  }

  indexOf(ip: number): number | undefined {
    let base = 0;
    for (const [a, b] of this.ranges) {
      if (ip >= a && ip <= b) return base + (ip - a);
      base += b - a + 1;
    }
    return undefined;
  }

  addressAt(index: number): number {
    let i = index;
    for (const [a, b] of this.ranges) {
      if (i <= b - a) return a + i;
      i -= b - a + 1;
    }
    throw new RangeError(`index ${index} beyond the pools`);
  }

  isTaken(i: number): boolean {
    return (this.taken[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  mark(i: number, taken: boolean): void {
    if (taken) this.taken[i >> 3]! |= 1 << (i & 7);
    else {
      this.taken[i >> 3]! &= ~(1 << (i & 7));
      if (i < this.low) this.low = i;
    }
  }

  /** The lowest index at or after `low` not known to be taken; skips whole taken bytes. */
  nextFree(): number | undefined {
    for (let i = this.low; i < this.size; ) {
      if ((i & 7) === 0 && this.taken[i >> 3] === 0xff) {
        i += 8;
        continue;
      }
      if (!this.isTaken(i)) return i;
      i++;
    }
    return undefined;
  }
}

/**
 * Picks addresses for ports, floating IPs and gateways: the requested one, or the lowest free one of
 * the pools (addresses return to the pool when released). The map of a subnet is read from the ledger
 * once and kept; a claim another controller won meanwhile just marks the address and moves on, and a
 * map older than `maxAgeMs` (or one that ran dry) is read again, so releases elsewhere are seen.
 */
export class AddressAllocator {
  private readonly maps = new Map<string, PoolMap>();

  constructor(private readonly maxAgeMs = 60_000) {}

  private async mapOf(ledger: AddressLedger, subnet: SubnetAddressing, fresh = false): Promise<PoolMap> {
    const key = `${subnet.id} ${JSON.stringify(subnet.pools)}`;
    const known = this.maps.get(subnet.id);
    if (known && known.key === key && !fresh && Date.now() - known.loadedAt < this.maxAgeMs) return known;
    const map = new PoolMap(key, subnet.pools);
    for (const ip of await ledger.addressesIn(subnet.id)) {
      const i = map.indexOf(ipToInt(ip)!);
      if (i !== undefined) map.mark(i, true);
    }
    if (subnet.gateway_ip) {
      const g = map.indexOf(ipToInt(subnet.gateway_ip)!);
      if (g !== undefined) map.mark(g, true);
    }
    this.maps.set(subnet.id, map);
    return map;
  }

  /**
   * Claims `wanted` (checked against the subnet; the gateway address only for `gateway`, a router's
   * interface) or the lowest free pool address for the owner.
   */
  async allocate(ledger: AddressLedger, subnet: SubnetAddressing, ownerId: string, portId: string | null, wanted?: string, gateway = false): Promise<string> {
    const cidr = parseCidr(subnet.cidr)!;
    if (wanted !== undefined) {
      const n = ipToInt(wanted);
      if (n === undefined || !contains(cidr, n) || n === cidr.first || n === cidr.last) {
        throw new NeutronBadRequest('InvalidIpForSubnet', `IP address ${wanted} is not a valid IP for the specified subnet.`);
      }
      if ((wanted === subnet.gateway_ip && !gateway) || !(await ledger.claimAddress(subnet.id, wanted, ownerId, portId))) {
        throw new NeutronConflict('IpAddressInUse', `Unable to complete operation for network ${subnet.network_id}. The IP address ${wanted} is in use.`);
      }
      const map = this.maps.get(subnet.id);
      const i = map?.indexOf(n);
      if (map && i !== undefined) map.mark(i, true);
      return wanted;
    }
    for (let pass = 0; pass < 2; pass++) {
      const map = await this.mapOf(ledger, subnet, pass > 0);
      for (let i = map.nextFree(); i !== undefined; i = map.nextFree()) {
        map.mark(i, true);
        map.low = i + 1;
        const ip = intToIp(map.addressAt(i));
        if (await ledger.claimAddress(subnet.id, ip, ownerId, portId)) return ip;
      }
      if (Date.now() - map.loadedAt < 100 && pass === 0) break;
    }
    throw new NeutronConflict('IpAddressGenerationFailure', `No more IP addresses available on network ${subnet.network_id}.`);
  }

  /** The address is free again (its row deleted). */
  released(subnetId: string, ip: string): void {
    const map = this.maps.get(subnetId);
    const i = map?.indexOf(ipToInt(ip) ?? -1);
    if (map && i !== undefined) map.mark(i, false);
  }

  /** Forgets what it knows (after a transaction that claimed addresses rolled back, or a subnet change). */
  forget(subnetId?: string): void {
    if (subnetId) this.maps.delete(subnetId);
    else this.maps.clear();
  }
}
