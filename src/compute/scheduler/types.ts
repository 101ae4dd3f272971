// What the scheduler reasons about: a host with its free capacity (from the one ledger, the server
// rows), and a request. Filters are predicates with a name; weighers return raw numbers.
import type { HostRow } from '../store.ts';

export interface HostState {
  host: HostRow;
  up: boolean;
  usedVcpus: number;
  usedRamMiB: number;
  usedDiskGiB: number;
  /** Server ids on the host, and the server groups they belong to. */
  serverIds: ReadonlySet<string>;
  groupIds: ReadonlySet<string>;
}

export interface SchedulingRequest {
  vcpus: number;
  ramMiB: number;
  diskGiB: number;
  availabilityZone: string | null;
  imageArchitecture: string | null;
  group: { id: string; policy: 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity' } | null;
  /** Whether the group already has members on some host. */
  groupHasMembers: boolean;
  sameHost: string[];
  differentHost: string[];
  /** Hosts already tried for this build (rescheduling). */
  ignoreHosts: string[];
  ratios: { cpu: number; ram: number; disk: number };
  /** Only this host (by name or id), when given. */
  requestedHost?: string | null;
}

export interface HostFilter {
  name: string;
  passes(host: HostState, request: SchedulingRequest): boolean;
  /** False when the request gives the filter nothing to judge (it would pass every host): not run. */
  judges?(request: SchedulingRequest): boolean;
}

export interface HostWeigher {
  name: string;
  /** Higher is better; raw, normalised by the scheduler. */
  weigh(host: HostState, request: SchedulingRequest): number;
  /** False when the request gives the weigher nothing to weigh (every host the same): not run. */
  judges?(request: SchedulingRequest): boolean;
}
