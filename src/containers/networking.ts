// A container's networks and security groups as Zun manages them: list its networks, attach and
// detach one (the container keeps running), add and remove a security group on its ports.
import type { RequestContext } from '../platform/auth/context.ts';
import { ConflictError } from '../platform/errors.ts';
import type { ZunCore, Located } from './core.ts';
import { InvalidValue } from './errors.ts';
import { assertState } from './states.ts';

export class Networking {
  constructor(private readonly core: ZunCore) {}

  private async target(ctx: RequestContext, ident: string, action: string): Promise<Located> {
    const l = await this.core.locate(ctx, ident);
    this.core.enforce(ctx, `container:${action}`, { project_id: l.row.project_id });
    return l;
  }

  /** The network named (id or name) among those the caller sees. */
  private async network(ctx: RequestContext, ident: string): Promise<string> {
    const matches = (await this.core.clients.network.networks(ctx)).filter((n) => n.id === ident || n.name === ident);
    if (matches.length > 1) throw new ConflictError('Multiple neutron networks exist with same name. Please use the uuid instead.');
    if (!matches[0]) throw new InvalidValue(`Neutron network ${ident} could not be found.`);
    return matches[0].id;
  }

  async list(ctx: RequestContext, ident: string, minor: number): Promise<Record<string, unknown>[]> {
    const l = await this.target(ctx, ident, 'network_list');
    const out: Record<string, unknown>[] = [];
    for (const [netId, entries] of Object.entries(l.workload?.addresses ?? {})) {
      if (minor < 18) {
        for (const e of entries) out.push({ net_id: netId, subnet_id: e.subnet_id, port_id: e.port, version: e.version, ip_address: e.addr });
        continue;
      }
      const byPort = new Map<string, { subnet_id: string; version: number; ip_address: string }[]>();
      for (const e of entries) {
        let list = byPort.get(e.port);
        if (!list) byPort.set(e.port, (list = []));
        list.push({ subnet_id: e.subnet_id, version: e.version, ip_address: e.addr });
      }
      for (const [portId, fixedIps] of byPort) out.push({ net_id: netId, port_id: portId, fixed_ips: fixedIps });
    }
    return out;
  }

  async detach(ctx: RequestContext, ident: string, q: { network?: string; port?: string }, requestId: string): Promise<void> {
    const l = await this.target(ctx, ident, 'network_detach');
    assertState(l.row.uuid, l.state, 'network_detach');
    if ((q.network === undefined) === (q.port === undefined)) throw new InvalidValue('Give a network or a port to detach.');
    const addresses = l.workload?.addresses ?? {};
    let portIds: string[];
    if (q.port !== undefined) {
      const port = await this.core.clients.network.port(ctx, q.port);
      if (!port || !(addresses[port.networkId] ?? []).some((a) => a.port === port.id)) throw new InvalidValue(`Port '${q.port}' is not attached to container '${ident}'.`);
      portIds = [port.id];
    } else {
      const netId = await this.network(ctx, q.network!);
      if (!addresses[netId]) throw new InvalidValue(`Network '${q.network}' is not attached to container '${ident}'.`);
      portIds = [...new Set(addresses[netId]!.map((a) => a.port))];
    }
    const actionId = await this.core.startAction(ctx, l.row, 'network_detach', requestId, 'compute__do_network_detach');
    try {
      for (const p of portIds) await this.core.clients.compute.detachPort(ctx, l.row.uuid, p, requestId);
      await this.core.finishAction(l.row.uuid, actionId, undefined, true);
    } catch (err) {
      await this.core.finishAction(l.row.uuid, actionId, err as Error, true);
      throw err;
    }
  }

  async attach(ctx: RequestContext, ident: string, q: { network?: string; port?: string; fixed_ip?: string }, requestId: string): Promise<void> {
    const l = await this.target(ctx, ident, 'network_attach');
    assertState(l.row.uuid, l.state, 'network_attach');
    if (q.network !== undefined && q.port !== undefined) throw new InvalidValue('Give a network or a port to attach, not both.');
    const addresses = l.workload?.addresses ?? {};
    let nic: { networkId: string; fixedIp?: string } | { portId: string };
    if (q.port !== undefined) {
      const port = await this.core.clients.network.port(ctx, q.port);
      if (!port) throw new InvalidValue(`Neutron port ${q.port} could not be found.`);
      if (addresses[port.networkId]) throw new InvalidValue(`Cannot attach port '${q.port}' to container '${ident}' because another port on the same network is already attached to this container.`);
      nic = { portId: port.id };
    } else {
      if (q.network === undefined) throw new InvalidValue('Give a network or a port to attach.');
      const netId = await this.network(ctx, q.network);
      if (addresses[netId]) throw new InvalidValue(`Network '${q.network}' is already connected to container '${ident}'.`);
      nic = { networkId: netId, ...(q.fixed_ip ? { fixedIp: q.fixed_ip } : {}) };
    }
    const actionId = await this.core.startAction(ctx, l.row, 'network_attach', requestId, 'compute__do_network_attach');
    try {
      await this.core.clients.compute.attachNic(ctx, l.row.uuid, nic, requestId);
      await this.core.finishAction(l.row.uuid, actionId, undefined, true);
    } catch (err) {
      await this.core.finishAction(l.row.uuid, actionId, err as Error, true);
      throw err;
    }
  }

  /** Adds (or removes) a security group on every port of the container. */
  async securityGroup(ctx: RequestContext, ident: string, name: string, add: boolean, requestId: string): Promise<void> {
    const action = add ? 'add_security_group' : 'remove_security_group';
    const l = await this.target(ctx, ident, action);
    assertState(l.row.uuid, l.state, action);
    let id: string;
    try {
      id = await this.core.clients.network.securityGroupId(ctx, name);
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') throw new InvalidValue(`Security group ${name} not found.`);
      throw err;
    }
    const current = JSON.parse(l.row.security_groups) as string[];
    if (add && current.includes(id)) throw new InvalidValue(`Security group ${id} has been added to container.`);
    if (!add && !current.includes(id)) throw new InvalidValue(`Security group ${id} was not added to container.`);
    const groups = add ? [...current, id] : current.filter((g) => g !== id);
    const actionId = await this.core.startAction(ctx, l.row, action, requestId, `compute__${add ? 'add' : 'remove'}_security_group`);
    try {
      const ports = new Set(Object.values(l.workload?.addresses ?? {}).flat().map((a) => a.port));
      for (const p of ports) await this.core.clients.network.setPortSecurityGroups(ctx, p, groups);
      await this.core.store.updateContainer(l.row.uuid, { security_groups: JSON.stringify(groups) });
      await this.core.finishAction(l.row.uuid, actionId, undefined, true);
    } catch (err) {
      await this.core.finishAction(l.row.uuid, actionId, err as Error, true);
      throw err;
    }
  }
}
