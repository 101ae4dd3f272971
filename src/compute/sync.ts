// Reconciliation, level-triggered: the rows compared with what each connected engine runs, and
// the difference converged. A dead container shows SHUTOFF, a missing one ERROR with a fault, a
// labelled container without a row is removed; after a restart, builds and deletes cut short are
// failed or finished cleanly.
import type { ComputeDriver, PowerState } from '../agent/driver.ts';
import { ownerContext, type ComputeCore } from './core.ts';
import type { Hosts } from './hosts.ts';
import type { Servers } from './servers.ts';
import { faultJson, POWER, powerCode } from './states.ts';
import type { ServerStateRow } from './tables.ts';

export class Sync {
  private running: Promise<void> | undefined;

  constructor(
    private readonly core: ComputeCore,
    private readonly hosts: Hosts,
    private readonly servers: Servers,
  ) {}

  async reconcile(opts: { afterRestart?: boolean } = {}): Promise<void> {
    // One pass at a time: a slow pass makes the next tick wait for it rather than overlap.
    if (this.running) return this.running;
    this.running = this.reconcileOnce(opts).finally(() => (this.running = undefined));
    return this.running;
  }

  private async reconcileOnce(opts: { afterRestart?: boolean }): Promise<void> {
    const { store } = this.core;
    if (opts.afterRestart) {
      for (const s of await store.serverStates()) {
        if (s.task_state === 'deleting') {
          await this.servers.finishDelete(s, ownerContext(s));
        } else if (s.vm_state === 'building') {
          const driver = s.host_id ? this.hosts.driver(s.host_id) : undefined;
          if (driver) await driver.destroy(s.id);
          await store.updateServer(s.id, { vm_state: 'error', task_state: null, host_id: null, fault: faultJson('The build was interrupted by a restart of the controller.') });
        } else if (s.task_state) {
          await store.updateServer(s.id, { task_state: null });
        }
      }
    }
    // Hosts are asked side by side, each with a deadline: one engine that hangs must not keep the
    // others from reporting. Those that answer get one heartbeat; then the rows are read once.
    const reports = await Promise.all(
      this.hosts.connected().map(async ([hostId, driver]) => {
        try {
          return { hostId, driver, running: await withDeadline(driver.listServers(), Math.max(1000, this.core.config.hostDownAfterMs / 2)) };
        } catch {
          return undefined; // engine unreachable: the stale heartbeat marks the host down
        }
      }),
    );
    const answered = reports.filter((r): r is NonNullable<typeof r> => r !== undefined);
    await store.heartbeats(answered.map((r) => r.hostId));
    const since = store.ledger.version();
    const rows = await store.serverStates();
    store.ledger.refresh(rows, since);
    // The projects' kept usage is summed from the rows again at the next boot (as the ledger, it heals).
    store.forgetUsage();
    const byHost = new Map<string, ServerStateRow[]>();
    for (const r of rows) {
      if (!r.host_id) continue;
      let list = byHost.get(r.host_id);
      if (!list) byHost.set(r.host_id, (list = []));
      list.push(r);
    }
    await Promise.all(answered.map((r) => this.reconcileHost(r.driver, r.running, byHost.get(r.hostId) ?? [])));
  }

  private async reconcileHost(driver: ComputeDriver, running: { serverId: string; power: PowerState }[], hostRows: ServerStateRow[]): Promise<void> {
    const { store } = this.core;
    const rows = new Map<string, ServerStateRow>(hostRows.map((s) => [s.id, s]));
    const seen = new Set<string>();
    for (const c of running) {
      seen.add(c.serverId);
      const row = rows.get(c.serverId) ?? (await store.server(c.serverId));
      if (!row) {
        await driver.destroy(c.serverId);
        continue;
      }
      if (row.task_state || row.vm_state === 'building') continue;
      const want = powerCode(c.power);
      if (c.power === 'shutdown' || c.power === 'crashed') {
        if (row.vm_state !== 'stopped' || row.power_state !== want) await store.updateServer(row.id, { vm_state: 'stopped', power_state: want }, { task_state: null });
      } else if (c.power === 'running' && row.vm_state === 'stopped') {
        await store.updateServer(row.id, { vm_state: 'active', power_state: want }, { task_state: null });
      }
    }
    for (const row of rows.values()) {
      if (seen.has(row.id) || row.task_state || row.vm_state === 'building' || row.vm_state === 'error') continue;
      // The host was asked before the rows were read: a server that became ACTIVE in between is not missing.
      if ((await driver.state(row.id).catch(() => undefined))?.power !== 'missing') continue;
      await store.updateServer(row.id, { vm_state: 'error', power_state: POWER.NOSTATE, fault: faultJson('The container of this server disappeared from its host.') }, { task_state: null });
    }
  }
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}
