// One front per cluster: an address of the fronts' pool each (kept in the cluster's row, so that a
// restart listens where the tenant's configuration points), started when the cluster is prepared and
// on start-up, rotated with the cluster's CA, stopped when the cluster is gone.
import type { ClusterRow, ClusterStore } from './store.ts';
import { ClusterFront } from './front.ts';
import type { ClusterImages } from './images.ts';
import type { NodeRuntime } from './nodes.ts';

export const FRONT_PORT = 2376;

export class Fronts {
  private readonly fronts = new Map<string, ClusterFront>();
  private readonly starting = new Map<string, Promise<void>>();

  constructor(
    private readonly store: ClusterStore,
    private readonly nodes: NodeRuntime,
    private readonly images: ClusterImages,
    private readonly pool: string,
    private readonly log: (msg: string) => void,
  ) {}

  /** Gives the cluster an address of the pool (once) and its API address. */
  async allocate(row: ClusterRow): Promise<ClusterRow> {
    if (row.front_address) return row;
    const [a, b, c] = this.pool.split('.').map(Number) as [number, number, number];
    for (let attempt = 0; attempt < 10; attempt++) {
      const used = await this.store.usedFrontAddresses();
      let address: string | undefined;
      for (let d = 2; d < 255; d++) if (!used.has(`${a}.${b}.${c}.${d}`)) {
        address = `${a}.${b}.${c}.${d}`;
        break;
      }
      if (!address) throw new Error(`no free address left for the cluster's API in ${this.pool}`);
      try {
        await this.store.updateCluster(row.uuid, { front_address: address, front_port: FRONT_PORT, api_address: `tcp://${address}:${FRONT_PORT}` });
        return { ...row, front_address: address, front_port: FRONT_PORT, api_address: `tcp://${address}:${FRONT_PORT}` };
      } catch {
        // Another cluster took it at the same moment: the next one.
      }
    }
    throw new Error('could not allocate an address for the cluster\'s API');
  }

  /** Listens for the cluster if it should and does not yet. */
  ensure(row: ClusterRow): Promise<void> {
    if (!row.front_address || this.fronts.has(row.uuid)) return Promise.resolve();
    let p = this.starting.get(row.uuid);
    if (!p) {
      p = this.start(row).finally(() => this.starting.delete(row.uuid));
      this.starting.set(row.uuid, p);
    }
    return p;
  }

  private async start(row: ClusterRow): Promise<void> {
    const tls = await this.nodes.tls(row);
    const front = new ClusterFront(row.uuid, row.front_address!, row.front_port ?? FRONT_PORT, tls, {
      managers: async () => (await this.nodes.managers(row.uuid)).map((m) => ({ address: m.infra_address! })),
      nodeAddresses: async () => new Map((await this.nodes.readyNodes(row.uuid)).filter((n) => n.swarm_node_id).map((n) => [n.swarm_node_id!, n.infra_address!])),
      ensureImage: async (ref) => this.images.ensure((await this.store.cluster(row.uuid)) ?? row, ref),
      pull: async (ref) => this.images.ensure((await this.store.cluster(row.uuid)) ?? row, ref),
      log: this.log,
    });
    await front.start();
    this.fronts.set(row.uuid, front);
  }

  async rotate(row: ClusterRow): Promise<void> {
    const front = this.fronts.get(row.uuid);
    if (front) await front.rotate(await this.nodes.tls(row));
  }

  async stop(clusterId: string): Promise<void> {
    const front = this.fronts.get(clusterId);
    this.fronts.delete(clusterId);
    await front?.stop();
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.starting.values()]);
    for (const id of [...this.fronts.keys()]) await this.stop(id);
  }

  async syncPublished(clusterId: string): Promise<void> {
    await this.fronts.get(clusterId)?.syncPublished();
  }
}
