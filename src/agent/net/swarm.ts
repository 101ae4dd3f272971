// Multi-host tenant networks: the hosts form one Docker swarm (first host manages), and a Neutron
// network becomes an attachable overlay network (Docker's own VXLAN) that plain containers on any host join.
import type Docker from 'dockerode';
import type { PortBinding } from './contract.ts';
import { CLOUD_LABEL, MANAGED_LABEL } from '../labels.ts';

export interface SwarmMember {
  docker: Docker;
  /** The address the host advertises to the others (its address on the hosts' network). */
  address: string;
}

/** Makes the first member a manager and joins the rest as workers; members already in the swarm stay. */
export async function formSwarm(members: SwarmMember[]): Promise<void> {
  const [manager, ...workers] = members;
  if (!manager) return;
  const state = async (m: SwarmMember) => ((await m.docker.info()) as { Swarm: { LocalNodeState: string } }).Swarm.LocalNodeState;
  if ((await state(manager)) !== 'active') {
    await manager.docker.swarmInit({ ListenAddr: `${manager.address}:2377`, AdvertiseAddr: `${manager.address}:2377` });
  }
  const swarm = (await manager.docker.swarmInspect()) as { JoinTokens: { Worker: string } };
  for (const w of workers) {
    if ((await state(w)) === 'active') continue;
    await w.docker.swarmJoin({ ListenAddr: `${w.address}:2377`, AdvertiseAddr: `${w.address}:2377`, RemoteAddrs: [`${manager.address}:2377`], JoinToken: swarm.JoinTokens.Worker });
  }
  // Attaching to an overlay on a node the manager does not yet see as ready times out: wait for all.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const nodes = (await manager.docker.listNodes()) as { Status: { State: string } }[];
    if (nodes.length >= members.length && nodes.every((n) => n.Status.State === 'ready')) return;
    if (Date.now() > deadline) throw new Error(`swarm: ${nodes.filter((n) => n.Status.State === 'ready').length} of ${members.length} nodes ready after 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Creates the overlay network for a binding on the manager if it does not exist, labelled with the cloud's id when given. */
export async function ensureOverlayNetwork(manager: Docker, net: PortBinding['engineNetwork'] & { cloudId?: string }): Promise<void> {
  const existing = await manager.listNetworks({ filters: { name: [net.name] } });
  if (existing.some((n: { Name: string }) => n.Name === net.name)) return;
  await manager.createNetwork({
    Name: net.name,
    Driver: 'overlay',
    Attachable: true,
    Internal: net.internal,
    CheckDuplicate: true,
    IPAM: { Driver: 'default', Config: [{ Subnet: net.subnet, ...(net.gateway ? { Gateway: net.gateway } : {}) }] },
    Options: { 'com.docker.network.driver.mtu': String(Math.min(net.mtu, 1450)) },
    Labels: { 'hafen.network': 'true', [MANAGED_LABEL]: 'true', ...(net.cloudId ? { [CLOUD_LABEL]: net.cloudId } : {}) },
  });
}
