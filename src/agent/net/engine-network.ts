// The engine side of a Neutron network: one bridge network per Neutron network, named by the
// binding, internal unless a router with an external gateway joins it; containers join with their fixed IP.
import type Docker from 'dockerode';
import type { PortBinding } from '../../network/client.ts';

const LABEL_NETWORK = 'hafen.network';

/** Creates the engine network for a binding if it does not exist; recreates it if `internal` changed and it is unused. */
export async function ensureEngineNetwork(docker: Docker, net: PortBinding['engineNetwork']): Promise<void> {
  const existing = await docker.getNetwork(net.name).inspect().catch((e: { statusCode?: number }) => (e.statusCode === 404 ? undefined : Promise.reject(e)));
  if (existing) {
    const used = Object.keys((existing as { Containers?: object }).Containers ?? {}).length > 0;
    if ((existing as { Internal: boolean }).Internal === net.internal || used) return;
    await docker.getNetwork(net.name).remove();
  }
  await docker
    .createNetwork({
      Name: net.name,
      Driver: 'bridge',
      Internal: net.internal,
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: net.subnet, ...(net.gateway ? { Gateway: net.gateway } : {}) }] },
      Options: { 'com.docker.network.driver.mtu': String(net.mtu) },
      Labels: { [LABEL_NETWORK]: 'true', 'hafen.managed': 'true' },
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

/** Connects a running container with the port's fixed IPv4 address (the MAC is set at create time on API 1.41). */
export async function connectContainer(docker: Docker, containerId: string, binding: PortBinding): Promise<void> {
  const ip = binding.fixedIps[0]?.ipAddress;
  await docker.getNetwork(binding.engineNetwork.name).connect({ Container: containerId, EndpointConfig: { IPAMConfig: ip ? { IPv4Address: ip } : {} } });
}

export async function disconnectContainer(docker: Docker, containerId: string, networkName: string): Promise<void> {
  await docker
    .getNetwork(networkName)
    .disconnect({ Container: containerId, Force: true })
    .catch((e: { statusCode?: number }) => (e.statusCode === 404 ? undefined : Promise.reject(e)));
}
