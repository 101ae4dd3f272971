// Cluster health: a level-triggered sweep that asks every node's engine whether it answers. A node
// whose engine misses several checks in a row is `unhealthy` (its fault says why) and the cluster
// UNHEALTHY with a reason per node; a node that answers again is ready again. The next update of the
// cluster (a resize, to the same count too) replaces unhealthy workers, and unhealthy managers while
// the swarm keeps its quorum without them: see the stack template and NodeRuntime.realise.
import type { ClusterRow, ClusterStore } from './store.ts';
import type { NodeRuntime } from './nodes.ts';

export interface HealthOptions {
  /** How often the nodes are checked. */
  intervalMs: number;
  /** How long one check waits for an engine. */
  pingTimeoutMs: number;
  /** Checks in a row a node must miss to be unhealthy (one slow answer on a busy machine is not a fault). */
  misses: number;
}

export const DEFAULT_HEALTH: HealthOptions = { intervalMs: 5000, pingTimeoutMs: 5000, misses: 3 };

/** Health is read only between operations: nodes come and go while a cluster is in progress. */
const SETTLED = (row: ClusterRow) => row.status.endsWith('_COMPLETE') && row.status !== 'DELETE_COMPLETE';

export class ClusterHealth {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Consecutive missed checks per node. */
  private readonly missed = new Map<string, number>();

  constructor(
    private readonly store: ClusterStore,
    private readonly nodes: NodeRuntime,
    private readonly log: (msg: string) => void,
    private readonly options: HealthOptions = DEFAULT_HEALTH,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((err: Error) => this.log(`clusters: health: ${err.message}`))
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every settled cluster. */
  async sweep(): Promise<void> {
    const seen = new Set<string>();
    for (const row of await this.store.allClusters()) {
      if (!SETTLED(row)) continue;
      await this.check(row, seen).catch((err: Error) => this.log(`clusters: health of ${row.uuid}: ${err.message}`));
    }
    for (const id of [...this.missed.keys()]) if (!seen.has(id)) this.missed.delete(id);
  }

  private async check(row: ClusterRow, seen: Set<string>): Promise<void> {
    const tls = await this.nodes.tls(row);
    const nodes = (await this.store.nodes(row.uuid)).filter((n) => (n.state === 'ready' || n.state === 'unhealthy') && n.infra_address);
    if (nodes.length === 0) return;
    for (const n of nodes) seen.add(n.id);
    const answers = await Promise.all(
      nodes.map(async (n) => {
        try {
          await this.nodes.engine(tls, n.infra_address!, this.options.pingTimeoutMs).ping();
          return undefined;
        } catch (err) {
          return (err as Error).message || 'no answer';
        }
      }),
    );
    const reason: Record<string, string> = {};
    let unhealthy = 0;
    for (const [i, n] of nodes.entries()) {
      const failure = answers[i];
      const misses = failure === undefined ? 0 : (this.missed.get(n.id) ?? 0) + 1;
      if (misses === 0) this.missed.delete(n.id);
      else this.missed.set(n.id, misses);
      const bad = failure !== undefined && (misses >= this.options.misses || n.state === 'unhealthy');
      if (bad && n.state !== 'unhealthy') {
        const fault = `the engine of node ${n.name} at ${n.infra_address} does not answer: ${failure}`;
        await this.store.updateNode(n.id, { state: 'unhealthy', fault });
        this.log(`clusters: ${row.uuid}: ${fault}`);
      } else if (!bad && failure === undefined && n.state === 'unhealthy') {
        await this.store.updateNode(n.id, { state: 'ready', fault: null });
      }
      reason[`${n.name}.Ready`] = bad ? 'False' : 'True';
      if (bad) {
        unhealthy++;
        reason[`${n.name}.Reason`] = `the node's engine does not answer: ${failure}`.slice(0, 255);
      }
    }
    const status = unhealthy > 0 ? 'UNHEALTHY' : 'HEALTHY';
    const text = JSON.stringify(reason);
    if (row.health_status === status && row.health_status_reason === text) return;
    // Only while the cluster is still settled: an operation that started meanwhile owns the row.
    await this.store.updateCluster(row.uuid, { health_status: status, health_status_reason: text }, [row.status]);
  }
}
