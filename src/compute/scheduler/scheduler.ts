// Chooses a host: runs the filter chain (logging how many hosts each kept), then the weighers
// (normalised to 0..1 and multiplied by the operator's multipliers). It only chooses; the ledger
// it reads is the server rows.
import { ServiceUnavailableError } from '../../platform/errors.ts';
import type { HostFilter, HostState, HostWeigher, SchedulingRequest } from './types.ts';
import { computeFilter } from './filters/compute.ts';
import { availabilityZoneFilter } from './filters/availability-zone.ts';
import { ramFilter } from './filters/ram.ts';
import { vcpuFilter } from './filters/vcpu.ts';
import { diskFilter } from './filters/disk.ts';
import { imageArchitectureFilter } from './filters/image-architecture.ts';
import { affinityFilter } from './filters/affinity.ts';
import { antiAffinityFilter } from './filters/anti-affinity.ts';
import { sameHostFilter } from './filters/same-host.ts';
import { differentHostFilter } from './filters/different-host.ts';
import { retryFilter } from './filters/retry.ts';
import { requestedHostFilter } from './filters/requested-host.ts';
import { ramWeigher } from './weighers/ram.ts';
import { softAffinityWeigher, softAntiAffinityWeigher } from './weighers/server-group-soft.ts';

export const defaultFilters: HostFilter[] = [
  retryFilter,
  requestedHostFilter,
  computeFilter,
  availabilityZoneFilter,
  ramFilter,
  vcpuFilter,
  diskFilter,
  imageArchitectureFilter,
  affinityFilter,
  antiAffinityFilter,
  sameHostFilter,
  differentHostFilter,
];

export class NoValidHost extends ServiceUnavailableError {
  override readonly name: string = 'NoValidHost';
}

export interface Weighing {
  weigher: HostWeigher;
  multiplier: number;
}

/**
 * Free RAM spreads servers; a soft group policy outweighs it (its weight is 0 or 1 after
 * normalising, so twice the RAM weigher's range), as the group asked where room allows.
 */
export const defaultWeighers: Weighing[] = [
  { weigher: ramWeigher, multiplier: 1 },
  { weigher: softAffinityWeigher, multiplier: 2 },
  { weigher: softAntiAffinityWeigher, multiplier: 2 },
];

export function chooseHost(
  hosts: HostState[],
  request: SchedulingRequest,
  filters: HostFilter[] = defaultFilters,
  weighers: Weighing[] = defaultWeighers,
  log: (msg: string) => void = () => {},
): HostState {
  // One pass over the hosts: each runs the chain until a filter removes it. Filter i keeps the hosts
  // that pass it and every filter before it, so the counts (and the filter that removed the last
  // host) are those of running the filters one after the other, without a list per filter.
  // A filter the request gives nothing to judge passes every host and is not run.
  const removedBy = new Uint32Array(filters.length);
  const judging = filters.flatMap((f, i) => (f.judges?.(request) ?? true ? [i] : []));
  const candidates: HostState[] = [];
  for (const h of hosts) {
    let j = 0;
    while (j < judging.length && filters[judging[j]!]!.passes(h, request)) j++;
    if (j === judging.length) candidates.push(h);
    else removedBy[judging[j]!]!++;
  }
  let left = hosts.length;
  for (const [i, f] of filters.entries()) {
    const kept = left - removedBy[i]!;
    log(`${f.name}: ${left} -> ${kept} hosts`);
    if (kept === 0) throw new NoValidHost(`No valid host was found. ${f.name} removed the last ${left} candidate host(s).`);
    left = kept;
  }
  const scores = new Float64Array(candidates.length);
  for (const { weigher, multiplier } of weighers) {
    if (weigher.judges?.(request) === false) continue;
    const raw = candidates.map((h) => weigher.weigh(h, request));
    let min = Infinity;
    let max = -Infinity;
    for (const r of raw) {
      if (r < min) min = r;
      if (r > max) max = r;
    }
    if (max === min) continue;
    for (let i = 0; i < raw.length; i++) scores[i]! += multiplier * ((raw[i]! - min) / (max - min));
  }
  // The best score wins; ties go to the first host name (one pass, no sort: thousands of hosts).
  let best = 0;
  for (let i = 1; i < candidates.length; i++) {
    if (scores[i]! > scores[best]! || (scores[i] === scores[best] && candidates[i]!.host.hostname < candidates[best]!.host.hostname)) best = i;
  }
  return candidates[best]!;
}
