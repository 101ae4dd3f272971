// The clusters service's view of compute's client for its nodes: infrastructure workloads of kind
// `cluster-node`, booted, placed and charged like servers, never shown or acted on through Nova's API.
import type { RequestContext } from '../platform/auth/context.ts';
import { isNotFound } from '../platform/errors.ts';
import type { InfrastructureSpec } from '../agent/driver.ts';
import type { ComputeClient, Workload } from './client.ts';

export interface InfrastructureBootRequest {
  name: string;
  flavorId: string;
  /** Checked as a server's image would be; the workload itself runs hafen's engine image. */
  imageId: string;
  /** A port made for the workload beforehand (bound to it at boot). */
  portId: string;
  spreadFrom: string[];
  spec: InfrastructureSpec;
}

export interface InfrastructureWorkload {
  id: string;
  status: 'building' | 'active' | 'error' | 'stopped' | 'deleted';
  fault: string | null;
  fixedIp: string | null;
}

export interface InfrastructureClient {
  boot(ctx: RequestContext, boot: InfrastructureBootRequest, requestId: string): Promise<InfrastructureWorkload>;
  get(ctx: RequestContext, id: string): Promise<InfrastructureWorkload | undefined>;
  /** Removes the workload and waits until it is gone; done when it is already gone. */
  delete(ctx: RequestContext, id: string, requestId: string): Promise<void>;
  release(id: string): Promise<void>;
}

const KIND = 'cluster-node';

export function infrastructureClient(compute: ComputeClient): InfrastructureClient {
  const view = async (ctx: RequestContext, w: Workload): Promise<InfrastructureWorkload> => {
    const addresses = w.vmState === 'active' ? await compute.addresses(ctx, w.id, KIND).catch(() => undefined) : undefined;
    const fixed = Object.values(addresses ?? {}).flat()[0]?.addr ?? null;
    const status = w.vmState === 'active' ? 'active' : w.vmState === 'building' ? 'building' : w.vmState === 'error' ? 'error' : w.vmState === 'deleted' ? 'deleted' : 'stopped';
    return { id: w.id, status, fault: w.fault?.message ?? null, fixedIp: fixed };
  };
  const get = async (ctx: RequestContext, id: string) => {
    try {
      return await view(ctx, await compute.show(ctx, id, KIND));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    async boot(ctx, boot, requestId) {
      const body = { server: { name: boot.name, imageRef: boot.imageId, flavorRef: boot.flavorId, networks: [{ port: boot.portId }], config_drive: false } };
      const [w] = await compute.boot(ctx, body, requestId, { kind: KIND, infrastructure: { spec: boot.spec, spreadFrom: boot.spreadFrom } });
      return view(ctx, w!);
    },
    get,
    async delete(ctx, id, requestId) {
      try {
        await compute.delete(ctx, id, requestId, KIND);
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      for (let i = 0; i < 1200; i++) {
        const w = await get(ctx, id);
        if (!w || w.status === 'deleted') return;
        if (w.status === 'error' && /^Delete failed/.test(w.fault ?? '')) throw new Error(`node workload ${id} could not be deleted: ${w.fault}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`node workload ${id} was not deleted within two minutes`);
    },
    release: (id) => compute.release(id),
  };
}
