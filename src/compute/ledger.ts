// The capacity ledger in memory: what each host has allocated (sums of its servers' flavors, the
// servers and their groups), kept from the server rows. The store updates it on every write it
// makes to a server's host, flavor or group; `refresh` rebuilds it from the rows (reconciliation
// does, so other controllers' writes show within one pass).
import type { AllocationRow } from './tables.ts';

/** What one host has allocated. */
export interface HostAllocation {
  vcpus: number;
  ramMiB: number;
  diskGiB: number;
  servers: number;
  serverIds: ReadonlySet<string>;
  groupIds: ReadonlySet<string>;
}

interface MutableHostAllocation {
  vcpus: number;
  ramMiB: number;
  diskGiB: number;
  servers: number;
  serverIds: Set<string>;
  groupIds: Set<string>;
  groupCounts: Map<string, number>;
}

export class HostLedger {
  private readonly allocations = new Map<string, AllocationRow>();
  private readonly byHost = new Map<string, MutableHostAllocation>();
  private writes = 0;
  private readonly lastWrite = new Map<string, number>();
  /** Servers whose claim is not yet written (see claim). */
  private readonly claims = new Set<string>();

  hosts(): ReadonlyMap<string, HostAllocation> {
    return this.byHost;
  }

  /** A mark to pass to refresh: writes after it win over the rows read after it. */
  version(): number {
    return this.writes;
  }

  /**
   * Rebuilds the ledger from live rows read after `since`; servers written since then, and claims not
   * yet written, keep their newer entry.
   */
  refresh(rows: AllocationRow[], since: number): void {
    const kept = new Map<string, AllocationRow | undefined>();
    for (const [id, v] of this.lastWrite) if (v > since) kept.set(id, this.allocations.get(id));
    for (const id of this.claims) kept.set(id, this.allocations.get(id));
    this.allocations.clear();
    this.byHost.clear();
    for (const r of rows) if (!kept.has(r.id)) this.place(r);
    for (const r of kept.values()) if (r) this.place(r);
    for (const [id, v] of this.lastWrite) if (v <= since) this.lastWrite.delete(id);
  }

  /**
   * Records an allocation whose row is being written (a scheduling decision): it counts at once and
   * outlives any refresh until `set` records the row as written.
   */
  claim(r: AllocationRow): void {
    this.set(r.id, r);
    this.claims.add(r.id);
  }

  /**
   * Records a claimed allocation as written (undefined: its row was gone), unless the server was
   * written since the claim (a delete that came in between has the last word).
   */
  settle(id: string, r: AllocationRow | undefined): void {
    if (this.claims.has(id)) this.set(id, r);
  }

  /** Records a server's allocation as it now is (undefined: it is gone). */
  set(id: string, r: AllocationRow | undefined): void {
    this.claims.delete(id);
    this.lastWrite.set(id, ++this.writes);
    this.unplace(id);
    if (r) this.place(r);
  }

  private place(r: AllocationRow): void {
    if (!r.host_id) return;
    this.allocations.set(r.id, r);
    let h = this.byHost.get(r.host_id);
    if (!h) this.byHost.set(r.host_id, (h = { vcpus: 0, ramMiB: 0, diskGiB: 0, servers: 0, serverIds: new Set(), groupIds: new Set(), groupCounts: new Map() }));
    h.vcpus += Number(r.vcpus);
    h.ramMiB += Number(r.memory_mib);
    h.diskGiB += Number(r.disk_gib);
    h.servers++;
    h.serverIds.add(r.id);
    if (r.server_group_id) {
      h.groupCounts.set(r.server_group_id, (h.groupCounts.get(r.server_group_id) ?? 0) + 1);
      h.groupIds.add(r.server_group_id);
    }
  }

  private unplace(id: string): void {
    const r = this.allocations.get(id);
    if (!r) return;
    this.allocations.delete(id);
    const h = this.byHost.get(r.host_id!);
    if (!h) return;
    h.vcpus -= Number(r.vcpus);
    h.ramMiB -= Number(r.memory_mib);
    h.diskGiB -= Number(r.disk_gib);
    h.servers--;
    h.serverIds.delete(id);
    if (r.server_group_id) {
      const n = (h.groupCounts.get(r.server_group_id) ?? 1) - 1;
      if (n > 0) h.groupCounts.set(r.server_group_id, n);
      else {
        h.groupCounts.delete(r.server_group_id);
        h.groupIds.delete(r.server_group_id);
      }
    }
    if (h.servers === 0) this.byHost.delete(r.host_id!);
  }
}
