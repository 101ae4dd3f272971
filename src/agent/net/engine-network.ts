// The engine side of a Neutron network: one bridge network per Neutron network, named by the
// binding, internal unless a router with an external gateway joins it; containers join with their fixed IP.
import type Docker from 'dockerode';
import type { PortBinding } from './contract.ts';
import { CLOUD_LABEL, MANAGED_LABEL } from '../labels.ts';

const LABEL_NETWORK = 'hafen.network';
const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';

/**
 * An engine network as a host makes it. `bridgeName`: the Linux bridge's name (15 characters at most),
 * which carries the cloud's mark so that its host guard and other clouds on the machine can tell it apart.
 */
export type EngineNetworkSpec = PortBinding['engineNetwork'] & { bridgeName?: string; cloudId?: string };

/**
 * Creates the engine network for a binding if it does not exist; recreates it if `internal` changed
 * and it is unused. If its address range is held by hafen networks no container uses any more
 * (left by a deleted network or an earlier cloud on a shared engine), those are removed first.
 */
export function ensureEngineNetwork(docker: Docker, net: EngineNetworkSpec): Promise<void> {
  // One creation at a time per engine: concurrent creates of one network race inside the engine.
  const key = docker as unknown as object;
  const previous = ensuring.get(key) ?? Promise.resolve();
  const next = previous.then(() => ensureNow(docker, net));
  ensuring.set(key, next.catch(() => undefined));
  return next;
}

const ensuring = new WeakMap<object, Promise<void>>();
/** Engine networks this process created, by name, with when. */
const madeHere = new Map<string, number>();

async function ensureNow(docker: Docker, net: EngineNetworkSpec): Promise<void> {
  try {
    await createOrKeep(docker, net);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 403 || !/overlap/i.test(String((err as Error).message))) throw err;
    await pruneUnusedNetworks(docker, net.cloudId);
    await createOrKeep(docker, net);
  }
}

/** Unused hafen networks of this cloud (or of no cloud, made before marks) go; another cloud's stay. */
async function pruneUnusedNetworks(docker: Docker, cloudId: string | undefined): Promise<void> {
  const ours = (await docker.listNetworks({ filters: { label: [`${MANAGED_LABEL}=true`] } })).filter((n: { Labels?: Record<string, string> }) => !cloudId || !n.Labels?.[CLOUD_LABEL] || n.Labels[CLOUD_LABEL] === cloudId);
  for (const n of ours) {
    const info = (await docker.getNetwork(n.Id).inspect().catch(() => undefined)) as { Name?: string; Containers?: object; Scope?: string } | undefined;
    if (!info || info.Scope === 'swarm' || Object.keys(info.Containers ?? {}).length > 0) continue;
    // A network this process made moments ago is about to get its first container.
    const made = madeHere.get(info.Name ?? '');
    if (made !== undefined && Date.now() - made < 30_000) continue;
    await docker.getNetwork(n.Id).remove().catch(() => undefined);
  }
}

async function createOrKeep(docker: Docker, net: EngineNetworkSpec): Promise<void> {
  madeHere.set(net.name, Date.now());
  const existing = await docker.getNetwork(net.name).inspect().catch((e: { statusCode?: number }) => (e.statusCode === 404 ? undefined : Promise.reject(e)));
  if (existing) {
    const used = Object.keys((existing as { Containers?: object }).Containers ?? {}).length > 0;
    const bridge = (existing as { Options?: Record<string, string> }).Options?.[BRIDGE_NAME_OPTION];
    const same = (existing as { Internal: boolean }).Internal === net.internal && (net.bridgeName === undefined || bridge === net.bridgeName);
    if (same || used) return;
    await docker.getNetwork(net.name).remove();
  }
  await docker
    .createNetwork({
      Name: net.name,
      Driver: 'bridge',
      Internal: net.internal,
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: net.subnet, ...(net.gateway ? { Gateway: net.gateway } : {}) }] },
      Options: { 'com.docker.network.driver.mtu': String(net.mtu), ...(net.bridgeName ? { [BRIDGE_NAME_OPTION]: net.bridgeName } : {}) },
      Labels: { [LABEL_NETWORK]: 'true', [MANAGED_LABEL]: 'true', ...(net.cloudId ? { [CLOUD_LABEL]: net.cloudId } : {}) },
    })
    .catch((e: { statusCode?: number }) => (e.statusCode === 409 ? undefined : Promise.reject(e)));
}

/** Removes the engine network; succeeds when it is already gone. */
export async function removeEngineNetwork(docker: Docker, name: string): Promise<void> {
  await docker
    .getNetwork(name)
    .remove()
    .catch((e: { statusCode?: number }) => (e.statusCode === 404 ? undefined : Promise.reject(e)));
}
