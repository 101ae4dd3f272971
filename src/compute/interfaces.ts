// Interface attach and detach (os-interface): a port bound through the network service and
// plugged into the container by its host's driver, all or nothing; one change at a time per server.
// Several on one network are allowed (the host makes the further ones itself, see the driver).
import type { ComputeDriver, InterfaceSpec } from '../agent/driver.ts';
import type { RequestContext } from '../platform/auth/context.ts';
import { BadRequestError, ConflictError, HafenError, NotFoundError } from '../platform/errors.ts';
import type { NicRequest, PortBinding } from '../network/client.ts';
import type { ComputeCore } from './core.ts';
import type { Hosts } from './hosts.ts';
import type { InterfaceAttachmentBody } from './schemas.ts';
import type { InstanceActions } from './instance-actions.ts';
import { assertUnlocked } from './servers.ts';
import type { ServerRow, WorkloadKind } from './tables.ts';


export class Interfaces {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly core: ComputeCore,
    private readonly hosts: Hosts,
    private readonly actions: InstanceActions,
  ) {}

  private serialisedOn<T>(serverId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(serverId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(serverId, settled);
    void settled.then(() => {
      if (this.queues.get(serverId) === settled) this.queues.delete(serverId);
    });
    return next;
  }

  async list(ctx: RequestContext, id: string, kind: WorkloadKind = 'server'): Promise<PortBinding[]> {
    this.core.enforce(ctx, 'os_interface:index');
    const row = await this.core.server(ctx, id, kind);
    return this.core.network.bindingsOf(row.id);
  }

  async get(ctx: RequestContext, id: string, portId: string): Promise<PortBinding> {
    this.core.enforce(ctx, 'os_interface:show');
    const row = await this.core.server(ctx, id);
    const b = (await this.core.network.bindingsOf(row.id)).find((x) => x.portId === portId);
    if (!b) throw new NotFoundError(`Instance ${id} has no interface with port ${portId}.`);
    return b;
  }

  /**
   * Plugs a port (given, or made on a network with an optional fixed IP, or on the project's default
   * network) into the server. All or nothing: if the host cannot plug it, the port is unbound again.
   */
  async attach(ctx: RequestContext, id: string, body: InterfaceAttachmentBody, requestId: string, kind: WorkloadKind = 'server'): Promise<PortBinding> {
    this.core.enforce(ctx, 'os_interface:create');
    const nic = parseInterfaceAttachment(body);
    const network = this.core.network;
    return this.serialisedOn(id, async () => {
      const row = await this.core.server(ctx, id, kind);
      assertUnlocked(this.core, ctx, row);
      assertInterfaceState(row, 'attach_interface');
      const driver = this.hosts.driverOf(row.host_id);
      if (!driver.capabilities.interfaceHotplug) throw new ConflictError(`The host of instance ${id} cannot attach interfaces to running servers.`);
      const before = await network.bindingsOf(id);
      if (nic && 'portId' in nic && before.some((b) => b.portId === nic.portId)) throw new ConflictError(`Port ${nic.portId} is still in use.`);
      const request: NicRequest = nic ?? { networkId: await this.core.defaultNetwork(ctx, row.project_id) };
      const [binding] = await network.bindPorts(ctx, id, row.host_id!, [request], { projectId: row.project_id, ...(row.kind === 'container' ? { deviceOwner: 'compute:zun' } : {}) });
      try {
        await driver.attachInterface(id, interfaceSpec(binding!));
      } catch (err) {
        await network.unbindPort(ctx, id, binding!.portId).catch(() => undefined);
        throw hostFailure(err, `Failed to attach network adapter device to ${id}`);
      }
      await network.serverRunning(id);
      await this.actions.record(row, 'attach_interface', requestId, ctx, true);
      return binding!;
    });
  }

  /** Unplugs the port from the server, then deletes it (made for the server) or releases it (given). */
  async detach(ctx: RequestContext, id: string, portId: string, requestId: string, kind: WorkloadKind = 'server'): Promise<void> {
    this.core.enforce(ctx, 'os_interface:delete');
    const network = this.core.network;
    await this.serialisedOn(id, async () => {
      const row = await this.core.server(ctx, id, kind);
      assertUnlocked(this.core, ctx, row);
      assertInterfaceState(row, 'detach_interface');
      const binding = (await network.bindingsOf(id)).find((b) => b.portId === portId);
      if (!binding) throw new NotFoundError(`Port ${portId} is not attached to instance ${id}.`);
      await this.hosts
        .driverOf(row.host_id)
        .detachInterface(id, binding.engineNetwork.name, binding.fixedIps[0]?.ipAddress ?? null)
        .catch((err: unknown) => Promise.reject(hostFailure(err, `Failed to detach network adapter device from ${id}`)));
      await network.unbindPort(ctx, id, portId);
      await this.actions.record(row, 'detach_interface', requestId, ctx, true);
    });
  }
}

function assertInterfaceState(row: ServerRow, action: string): void {
  if (!['active', 'paused', 'stopped'].includes(row.vm_state)) throw new ConflictError(`Cannot '${action}' instance ${row.id} while it is in vm_state ${row.vm_state}`);
  if (row.task_state) throw new ConflictError(`Cannot '${action}' instance ${row.id} while it is in task_state ${row.task_state}`);
}

/**
 * Plugs the server's ports in again after its container started: a host keeps the interfaces its
 * engine made, not the further ones on a network that hafen made itself (see the driver's
 * attachInterface), which go with the container's namespace. Ports plugged in already are left.
 */
export async function replugInterfaces(core: ComputeCore, driver: ComputeDriver, serverId: string): Promise<void> {
  if (!driver.capabilities.interfaceHotplug) return;
  const bindings = await core.network.bindingsOf(serverId);
  // Only a server with two ports on one network has interfaces its host did not keep.
  if (new Set(bindings.map((b) => b.networkId)).size === bindings.length) return;
  for (const b of bindings) await driver.attachInterface(serverId, interfaceSpec(b));
}

/** What the host needs to plug a port in. */
export function interfaceSpec(b: PortBinding): InterfaceSpec {
  return {
    name: b.engineNetwork.name,
    subnet: b.engineNetwork.subnet,
    gateway: b.engineNetwork.gateway,
    internal: b.engineNetwork.internal,
    ip: b.fixedIps[0]?.ipAddress ?? null,
    mac: b.macAddress,
  };
}

/** A host's failure as Nova reports it (500, its own words); the engine's reason stays in `cause`, for the log. */
class HostFailure extends HafenError {
  override readonly name = 'HostFailure';
  readonly status = 500;
}

function hostFailure(err: unknown, message: string): Error {
  if (err instanceof HafenError) return err;
  return new HostFailure(message, { cause: err });
}

/**
 * Nova 2.1's interfaceAttachment (shape checked by its schema): a port, or a network with at most
 * one fixed IP, or nothing (null: the project's default network).
 */
export function parseInterfaceAttachment(body: InterfaceAttachmentBody): NicRequest | null {
  const att = body.interfaceAttachment;
  if (att === undefined) return null;
  const fixedIp = att.fixed_ips?.[0]?.ip_address;
  if (att.port_id !== undefined && att.net_id !== undefined) throw new BadRequestError('Must not input both network_id and port_id');
  if (fixedIp !== undefined && att.net_id === undefined) throw new BadRequestError('Must input network_id when request IP address');
  if (att.port_id !== undefined) return { portId: att.port_id };
  if (att.net_id !== undefined) return { networkId: att.net_id, ...(fixedIp ? { fixedIp } : {}) };
  return null;
}
