// The nodes of clusters: each a Docker engine in a compute workload of the project (an
// infrastructure kind), on the cluster's Neutron network and on the node network where the
// controller and the other nodes reach it; managers init or join the swarm, workers join it. Rows
// are written before each step, so a restart or a failure leaves nothing that cannot be removed.
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, NotFoundError } from '../platform/errors.ts';
import { intToIp, ipToInt } from '../platform/ipv4.ts';
import type { InfrastructureSpec, NodeNetworkSpec } from '../agent/driver.ts';
import type { ClusterClients } from './clients.ts';
import type { Sealer } from './seal.ts';
import type { ClusterRow, ClusterStore, NodegroupRow, NodeRow } from './store.ts';
import { newAuthority, newCertificate, type Authority } from './x509.ts';

export const NODE_ENGINE_PORT = 2376;
export const WORKLOAD_KIND = 'cluster-node';
/** Overlay networks of the clusters' swarms come from here (away from tenant and node ranges). */
const SWARM_ADDRESS_POOL = '10.200.0.0/14';
const DEFAULT_FLAVOR = 'm1.medium';

export interface NodeNetworkConfig {
  name: string;
  driver: 'bridge' | 'macvlan';
  subnet: string;
  gateway: string;
  parent: string | null;
  first: number;
  last: number;
}

/** Reads HAFEN_CLUSTER_NODE_NETWORK (see config.ts). */
export function parseNodeNetwork(text: string): NodeNetworkConfig {
  const name = `hafen-nodes-${Math.abs([...text].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7)).toString(36)}`;
  const address = (ip: string): number => {
    const n = ipToInt(ip);
    if (n === undefined) throw new Error(`not a node network: ${text}`);
    return n;
  };
  const bridge = /^bridge:(\d+\.\d+\.\d+)\.0\/(\d+)$/.exec(text);
  if (bridge) {
    const base = address(`${bridge[1]}.0`);
    return { name, driver: 'bridge', subnet: `${bridge[1]}.0/${bridge[2]}`, gateway: `${bridge[1]}.1`, parent: null, first: base + 10, last: base + 250 };
  }
  const m = /^macvlan:([\w.-]+):((\d+\.\d+\.\d+)\.0\/\d+):(\S+)-(\S+)$/.exec(text);
  if (!m) throw new Error(`not a node network: ${text}`);
  return { name, driver: 'macvlan', subnet: m[2]!, gateway: `${m[3]}.1`, parent: m[1]!, first: address(m[4]!), last: address(m[5]!) };
}

export interface ClusterTls {
  /** The tenant-facing CA (client certificates, the front). */
  ca: Authority;
  /** hafen's CA for the nodes' engines, and hafen's client certificate of it. */
  infraCa: Authority;
  infraClient: { cert: string; key: string };
}

export interface RealiseRequest {
  clusterId: string;
  nodegroupId: string;
  count: number;
  networkId: string;
  stackProjectId: string;
}

/** What orchestration's OS::Magnum::NodeGroup asks of the clusters service, for the stack's owner. */
export interface ClusterNodesClient {
  /** Brings the group to `count` ready nodes (boots, joins, removes); resolves when it is there. */
  realise(ctx: RequestContext, request: RealiseRequest, signal: AbortSignal): Promise<void>;
  /** Removes every node of the group (of a cluster of `projectId`); done when there are none. */
  removeGroupOf(ctx: RequestContext, nodegroupId: string, projectId: string): Promise<void>;
  apiAddressOf(nodegroupId: string): Promise<string | null>;
  addressesOf(nodegroupId: string): Promise<string[]>;
}

export interface NodeRuntimeOptions {
  nodeNetwork: NodeNetworkConfig;
  /** How long a node may take from boot to ready. */
  joinTimeoutMs: number;
  requestId: () => string;
}

export class NodeRuntime implements ClusterNodesClient {
  private readonly tlsCache = new Map<string, ClusterTls>();
  /** Per cluster, one membership change at a time (swarm joins and removals). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: ClusterStore,
    private readonly clients: ClusterClients,
    private readonly sealer: Sealer,
    private readonly options: NodeRuntimeOptions,
    private readonly log: (msg: string) => void,
  ) {}

  // ---- certificates

  /** The cluster's certificate authorities, made on first use; keys stay sealed in the database. */
  async tls(cluster: ClusterRow): Promise<ClusterTls> {
    const cached = this.tlsCache.get(cluster.uuid);
    if (cached) return cached;
    let row = await this.store.certificates(cluster.uuid);
    if (!row) {
      const ca = await newAuthority(`${cluster.name.slice(0, 40)} cluster CA`);
      const infraCa = await newAuthority(`hafen nodes of ${cluster.uuid}`);
      const infraClient = await newCertificate(infraCa, 'hafen', 'client');
      row = {
        cluster_id: cluster.uuid,
        ca_cert: ca.cert,
        ca_key_sealed: this.sealer.seal(ca.key),
        infra_ca_cert: infraCa.cert,
        infra_ca_key_sealed: this.sealer.seal(infraCa.key),
        infra_client_cert: infraClient.cert,
        infra_client_key_sealed: this.sealer.seal(infraClient.key),
        rotated_at: null,
      };
      await this.store.putCertificates(row);
    }
    const tls: ClusterTls = {
      ca: { cert: row.ca_cert, key: this.sealer.open(row.ca_key_sealed) },
      infraCa: { cert: row.infra_ca_cert, key: this.sealer.open(row.infra_ca_key_sealed) },
      infraClient: { cert: row.infra_client_cert, key: this.sealer.open(row.infra_client_key_sealed) },
    };
    this.tlsCache.set(cluster.uuid, tls);
    return tls;
  }

  /** A new tenant-facing CA: client certificates of the old one stop working at the front. */
  async rotateCa(cluster: ClusterRow): Promise<ClusterTls> {
    const current = await this.tls(cluster);
    const ca = await newAuthority(`${cluster.name.slice(0, 40)} cluster CA`);
    const row = await this.store.certificates(cluster.uuid);
    await this.store.putCertificates({ ...row!, ca_cert: ca.cert, ca_key_sealed: this.sealer.seal(ca.key), rotated_at: new Date().toISOString() });
    const next = { ...current, ca };
    this.tlsCache.set(cluster.uuid, next);
    return next;
  }

  forget(clusterId: string): void {
    this.tlsCache.delete(clusterId);
  }

  /** The engine API of a node, as hafen reaches it (TLS with hafen's client certificate of the cluster). */
  engine(tls: ClusterTls, address: string, timeoutMs = 30_000): Docker {
    return new Docker({ protocol: 'https', host: address, port: NODE_ENGINE_PORT, ca: tls.infraCa.cert, cert: tls.infraClient.cert, key: tls.infraClient.key, version: 'v1.41', timeout: timeoutMs });
  }

  async readyNodes(clusterId: string): Promise<NodeRow[]> {
    return (await this.store.nodes(clusterId)).filter((n) => n.state === 'ready');
  }

  /**
   * Managers of the cluster to try, first the oldest ready ones, then those the health check found
   * unhealthy (a busy machine can make an engine miss checks; a last resort beats no manager).
   */
  async managers(clusterId: string): Promise<NodeRow[]> {
    const masters = (await this.store.nodes(clusterId)).filter((n) => n.role === 'master' && n.infra_address);
    return [...masters.filter((n) => n.state === 'ready'), ...masters.filter((n) => n.state === 'unhealthy')];
  }

  // ---- membership

  private serial<T>(clusterId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(clusterId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(clusterId, settled);
    void settled.then(() => {
      if (this.locks.get(clusterId) === settled) this.locks.delete(clusterId);
    });
    return next;
  }

  async realise(ctx: RequestContext, req: RealiseRequest, signal: AbortSignal): Promise<void> {
    const cluster = await this.store.cluster(req.clusterId);
    const group = await this.store.nodegroup(req.nodegroupId);
    if (!cluster || cluster.project_id !== req.stackProjectId || !group || group.cluster_id !== cluster.uuid) throw new NotFoundError(`Cluster ${req.clusterId} has no node group ${req.nodegroupId}.`);
    if (req.count < 0 || req.count > 50) throw new BadRequestError(`node_count ${req.count} is out of range (0 to 50).`);
    const tls = await this.tls(cluster);
    const networkId = await this.networkIdOf(ctx, req.networkId);
    // What an earlier, interrupted attempt left half-made goes first, and nodes whose engine stopped
    // answering (they are replaced). Unhealthy managers are replaced only while the healthy ones keep
    // the swarm's quorum without them (each is demoted and removed through a healthy manager, then a
    // new one joins); otherwise they stay, as a new manager could not join a swarm without quorum,
    // and the front fails over to the others meanwhile.
    const managers = (await this.store.nodes(cluster.uuid)).filter((x) => x.role === 'master' && (x.state === 'ready' || x.state === 'unhealthy'));
    const quorumWithout = managers.filter((x) => x.state === 'ready').length * 2 > managers.length;
    const counts = (x: NodeRow) => x.state === 'ready' || (group.role === 'master' && x.state === 'unhealthy' && !quorumWithout);
    for (const n of (await this.store.nodes(cluster.uuid)).filter((x) => x.nodegroup_id === group.uuid && !counts(x))) await this.removeNode(ctx, cluster, tls, n);
    const ready = (await this.store.nodes(cluster.uuid)).filter((x) => x.nodegroup_id === group.uuid && counts(x));
    if (ready.length > req.count) {
      const asked = String((JSON.parse(group.labels) as Record<string, unknown>)['hafen:nodes_to_remove'] ?? '').split(',').filter(Boolean);
      const order = [...ready.filter((n) => asked.includes(n.id) || asked.includes(n.name) || asked.includes(n.workload_id ?? '')), ...ready.filter((n) => !asked.includes(n.id) && !asked.includes(n.name) && !asked.includes(n.workload_id ?? '')).reverse()];
      const going = order.slice(0, ready.length - req.count);
      if (group.role === 'master' && going.length) throw new BadRequestError('Resizing the master nodegroup is not supported.');
      await Promise.all(going.map((n) => this.removeNode(ctx, cluster, tls, n)));
      await this.store.updateNodegroup(group.uuid, { labels: JSON.stringify({ ...(JSON.parse(group.labels) as object), 'hafen:nodes_to_remove': undefined }) });
      return;
    }
    const missing = req.count - ready.length;
    if (missing === 0) return;
    const names = await this.nextNames(cluster, group, missing);
    const results = await Promise.allSettled(names.map((name) => this.addNode(ctx, cluster, group, tls, name, networkId, signal)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) {
      const reason = (failed[0]!.reason as Error).message;
      await this.store.updateNodegroup(group.uuid, { status_reason: reason });
      throw new Error(`${failed.length} of ${names.length} nodes of ${group.name} failed: ${reason}`);
    }
  }

  /** A cluster's `fixed_network` may name its network as Magnum allows (by name or id): ports need the id. */
  private async networkIdOf(ctx: RequestContext, ident: string): Promise<string> {
    const hits = (await this.clients.networks.networks(ctx)).filter((n) => n.id === ident || n.name === ident);
    const exact = hits.find((n) => n.id === ident);
    if (exact) return exact.id;
    if (hits.length === 0) throw new Error(`Network ${ident} could not be found.`);
    if (hits.length > 1) throw new Error(`Multiple networks exist with same name '${ident}'. Please use the network ID instead.`);
    return hits[0]!.id;
  }

  private async nextNames(cluster: ClusterRow, group: NodegroupRow, count: number): Promise<string[]> {
    const taken = new Set((await this.store.nodes(cluster.uuid)).map((n) => n.name));
    const stem = `${cluster.name.slice(0, 40)}-${group.role === 'master' ? 'master' : group.is_default === 1 ? 'node' : group.name.slice(0, 20)}`;
    const out: string[] = [];
    for (let i = 0; out.length < count; i++) if (!taken.has(`${stem}-${i}`)) out.push(`${stem}-${i}`);
    return out;
  }

  /** Takes an address of the node network and writes the node's row (its intent), before anything is made. */
  private async reserve(cluster: ClusterRow, group: NodegroupRow, name: string): Promise<NodeRow> {
    const net = this.options.nodeNetwork;
    for (let attempt = 0; attempt < 20; attempt++) {
      const used = await this.store.usedInfraAddresses(net.name);
      let address: string | undefined;
      for (let n = net.first; n <= net.last; n++) if (!used.has(intToIp(n))) {
        address = intToIp(n);
        break;
      }
      if (!address) throw new Error(`no free address left on the node network ${net.subnet}`);
      const row: NodeRow = { id: randomUUID(), workload_id: null, port_id: null, cluster_id: cluster.uuid, nodegroup_id: group.uuid, role: group.role, name, infra_network: net.name, infra_address: address, fixed_address: null, swarm_node_id: null, state: 'booting', fault: null, created_at: new Date().toISOString() };
      if (await this.store.insertNode(row)) return row;
    }
    throw new Error('could not reserve an address on the node network (contention)');
  }

  private async addNode(ctx: RequestContext, cluster: ClusterRow, group: NodegroupRow, tls: ClusterTls, name: string, networkId: string, signal: AbortSignal): Promise<void> {
    const node = await this.reserve(cluster, group, name);
    try {
      const port = await this.clients.networks.createNodePort(ctx, networkId, name);
      node.port_id = port.id;
      await this.store.updateNode(node.id, { port_id: port.id, fixed_address: port.fixedIp });
      const flavorIdent = group.flavor_id ?? (group.role === 'master' ? cluster.master_flavor_id : cluster.flavor_id) ?? DEFAULT_FLAVOR;
      const flavor = (await this.clients.flavors.find(ctx, flavorIdent))[0];
      if (!flavor) throw new Error(`Unable to find flavor ${flavorIdent}.`);
      const image = (await this.clients.images.find(ctx, group.image_id))[0];
      if (!image) throw new Error(`Image ${group.image_id} could not be found.`);
      const spread = (await this.store.nodes(cluster.uuid)).filter((n) => n.id !== node.id && n.workload_id).map((n) => n.workload_id!);
      const workload = await this.clients.workloads.boot(ctx, { name, flavorId: flavor.id, imageId: image.id, portId: port.id, spreadFrom: spread, spec: await this.spec(cluster, tls, node) }, this.options.requestId());
      node.workload_id = workload.id;
      await this.store.updateNode(node.id, { workload_id: workload.id });
      const deadline = Date.now() + this.options.joinTimeoutMs;
      let stage = 'booting';
      const aborted = () => {
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
        if (Date.now() > deadline) throw new Error(`node ${name} did not join within ${Math.round(this.options.joinTimeoutMs / 1000)} s (still ${stage})`);
      };
      for (;;) {
        aborted();
        const w = await this.clients.workloads.get(ctx, workload.id);
        if (!w || w.status === 'deleted') throw new Error(`node ${name} was deleted while it booted`);
        if (w.status === 'error') throw new Error(`node ${name} could not be booted: ${w.fault ?? 'unknown error'}`);
        if (w.status === 'active') {
          if (w.fixedIp) await this.store.updateNode(node.id, { fixed_address: w.fixedIp });
          break;
        }
        await sleep(100);
      }
      await this.store.updateNode(node.id, { state: 'joining' });
      stage = `waiting for its engine at ${node.infra_address}`;
      const engine = this.engine(tls, node.infra_address!, 10_000);
      for (;;) {
        aborted();
        if (await engine.ping().then(() => true, () => false)) break;
        await sleep(100);
      }
      stage = 'joining the swarm';
      const swarmId = await this.serial(cluster.uuid, async () => {
        const id = await this.join(cluster, tls, node, engine);
        // Recorded before the next node's join (which must see this one in the swarm, ready or not),
        // and at once: a node cut short from here on (a failure, a restart) also leaves the swarm when removed.
        node.swarm_node_id = id;
        await this.store.updateNode(node.id, { swarm_node_id: id });
        return id;
      });
      stage = 'waiting to be ready in the swarm';
      for (;;) {
        aborted();
        const managers = await this.managers(cluster.uuid);
        const m = managers[0] ?? (group.role === 'master' ? node : undefined);
        if (!m) throw new Error('the cluster has no ready manager');
        const list = (await this.engine(tls, m.infra_address!).listNodes().catch(() => [])) as { ID: string; Status: { State: string } }[];
        if (list.some((x) => x.ID === swarmId && x.Status.State === 'ready')) break;
        await sleep(100);
      }
      await this.store.updateNode(node.id, { state: 'ready', swarm_node_id: swarmId, fault: null });
      node.state = 'ready';
    } catch (err) {
      await this.store.updateNode(node.id, { state: 'failed', fault: (err as Error).message }).catch(() => undefined);
      await this.removeNode(ctx, cluster, tls, { ...node, state: 'failed' }).catch((e: Error) => this.log(`clusters: removing failed node ${name}: ${e.message}`));
      throw err;
    }
  }

  /** The first manager starts the swarm; the others join a ready manager with the token of their role. */
  private async join(cluster: ClusterRow, tls: ClusterTls, node: NodeRow, engine: Docker): Promise<string> {
    const info = (await engine.info()) as { Swarm: { LocalNodeState: string; NodeID: string } };
    if (info.Swarm.LocalNodeState === 'active') return info.Swarm.NodeID;
    // The managers to join: the ready ones first, then those that joined but are not ready yet (two
    // masters booted together: the second must join the swarm the first started, not start its own).
    const masters = (await this.store.nodes(cluster.uuid)).filter((n) => n.id !== node.id && n.role === 'master' && n.infra_address);
    const joined = masters.filter((n) => n.state === 'joining' && n.swarm_node_id);
    const managers = [...(await this.managers(cluster.uuid)).filter((m) => m.id !== node.id), ...joined];
    const advertise = `${node.infra_address}:2377`;
    if (managers.length === 0) {
      if (node.role !== 'master') throw new Error('the cluster has no ready manager to join');
      await engine.swarmInit({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: advertise, DefaultAddrPool: [SWARM_ADDRESS_POOL], SubnetSize: 24 });
    } else {
      let lastError: Error | undefined;
      for (const m of managers) {
        try {
          const swarm = (await this.engine(tls, m.infra_address!).swarmInspect()) as { JoinTokens: { Worker: string; Manager: string } };
          await engine.swarmJoin({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: advertise, RemoteAddrs: [`${m.infra_address}:2377`], JoinToken: node.role === 'master' ? swarm.JoinTokens.Manager : swarm.JoinTokens.Worker });
          lastError = undefined;
          break;
        } catch (err) {
          lastError = err as Error;
        }
      }
      if (lastError) throw lastError;
    }
    return ((await engine.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
  }

  /** Removes a node: its workload, its swarm membership, its port, its row. Done when it is gone. */
  async removeNode(ctx: RequestContext | undefined, cluster: ClusterRow, tls: ClusterTls, node: NodeRow): Promise<void> {
    await this.store.updateNode(node.id, { state: 'removing' });
    if (node.workload_id) {
      if (ctx) await this.clients.workloads.delete(ctx, node.workload_id, this.options.requestId());
      else await this.clients.workloads.release(node.workload_id);
    }
    if (node.swarm_node_id) {
      for (const m of (await this.managers(cluster.uuid)).filter((x) => x.id !== node.id)) {
        const member = this.engine(tls, m.infra_address!, 10_000).getNode(node.swarm_node_id);
        // A manager leaves the raft group when demoted; the swarm removes no manager before that.
        if (node.role === 'master') {
          await member
            .inspect()
            .then((info: { Version: { Index: number }; Spec: Record<string, unknown> }) => (info.Spec.Role === 'manager' ? member.update({ version: info.Version.Index, ...info.Spec, Role: 'worker' }) : undefined))
            .catch(() => undefined);
        }
        const done = await member.remove({ force: true }).then(() => true, (e: { statusCode?: number }) => e.statusCode === 404);
        if (done) break;
      }
    }
    if (node.port_id) {
      // Without a caller (a clean-up after a restart) the port stays for the stack's delete to take.
      if (!ctx) return;
      await this.clients.networks.deletePort(ctx, node.port_id);
    }
    await this.store.deleteNode(node.id);
  }

  async removeGroupOf(ctx: RequestContext, nodegroupId: string, projectId: string): Promise<void> {
    const group = await this.store.nodegroup(nodegroupId);
    const cluster = group ? await this.store.cluster(group.cluster_id) : undefined;
    if (!group || !cluster || cluster.project_id !== projectId) return;
    const clusterId = cluster.uuid;
    const tls = await this.tls(cluster);
    const nodes = (await this.store.nodes(clusterId)).filter((n) => n.nodegroup_id === nodegroupId);
    // Workers first, then managers (the last manager takes the swarm with it).
    await Promise.all(nodes.filter((n) => n.role !== 'master').map((n) => this.removeNode(ctx, cluster, tls, n)));
    for (const n of nodes.filter((x) => x.role === 'master')) await this.removeNode(ctx, cluster, tls, n);
  }

  /** Every node of the cluster, without a caller (a failed create after a restart, a deleted cluster). */
  async removeAll(cluster: ClusterRow, ctx?: RequestContext): Promise<void> {
    const tls = await this.tls(cluster).catch(() => undefined);
    for (const n of await this.store.nodes(cluster.uuid)) {
      if (tls) await this.removeNode(ctx, cluster, tls, n).catch((e: Error) => this.log(`clusters: removing node ${n.name}: ${e.message}`));
      else if (n.workload_id) await this.clients.workloads.release(n.workload_id).catch(() => undefined);
    }
  }

  async apiAddressOf(nodegroupId: string): Promise<string | null> {
    const group = await this.store.nodegroup(nodegroupId);
    return group ? ((await this.store.cluster(group.cluster_id))?.api_address ?? null) : null;
  }

  async addressesOf(nodegroupId: string): Promise<string[]> {
    const group = await this.store.nodegroup(nodegroupId);
    if (!group) return [];
    return (await this.store.nodes(group.cluster_id)).filter((n) => n.nodegroup_id === nodegroupId && n.state === 'ready').map((n) => n.infra_address!);
  }

  /** What the node's workload runs: an engine on its node-network address, TLS with hafen's node CA only. */
  private async spec(cluster: ClusterRow, tls: ClusterTls, node: NodeRow): Promise<InfrastructureSpec> {
    const net = this.options.nodeNetwork;
    const server = await newCertificate(tls.infraCa, node.name, 'server', { ips: [node.infra_address!] });
    const nodeNetwork: NodeNetworkSpec = { name: net.name, driver: net.driver, subnet: net.subnet, gateway: net.gateway, parent: net.parent, ip: node.infra_address! };
    const script = [
      'set -e',
      // Charged to the node: its engine's containers live under its own cgroup.
      "cg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit} $1 == \"0\" {print $3; exit}' /proc/self/cgroup)",
      // No registry is reachable: pulls fail at once instead of waiting on a resolver.
      "printf 'nameserver 127.0.0.1\\n' > /etc/resolv.conf",
      `exec /usr/sbin/dockerd --host unix:///run/docker.sock --host tcp://${node.infra_address}:${NODE_ENGINE_PORT} --tlsverify --tlscacert /etc/hafen-node/ca.pem --tlscert /etc/hafen-node/cert.pem --tlskey /etc/hafen-node/key.pem --cgroup-parent "\${cg%/}/engine" --log-level warn`,
    ].join('\n');
    return {
      role: 'nested-engine',
      nodeNetwork,
      files: { '/etc/hafen-node/ca.pem': tls.infraCa.cert, '/etc/hafen-node/cert.pem': server.cert, '/etc/hafen-node/key.pem': server.key },
      command: ['/bin/sh', '-c', script],
      labels: { 'hafen.cluster': cluster.uuid, 'hafen.cluster.node': node.id, 'hafen.cluster.role': node.role },
    };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The nodes client for orchestration before the clusters service exists (orchestration starts first
 * and may resume a stack's delete at once): calls wait until `provide` hands the real one over.
 */
export function deferredNodesClient(): { client: ClusterNodesClient; provide(real: ClusterNodesClient): void } {
  let provide!: (real: ClusterNodesClient) => void;
  const ready = new Promise<ClusterNodesClient>((resolve) => (provide = resolve));
  return {
    client: {
      realise: async (ctx, req, signal) => (await ready).realise(ctx, req, signal),
      removeGroupOf: async (ctx, id, project) => (await ready).removeGroupOf(ctx, id, project),
      apiAddressOf: async (id) => (await ready).apiAddressOf(id),
      addressesOf: async (id) => (await ready).addressesOf(id),
    },
    provide,
  };
}
