// The composition root's side of the clusters service's clients: each narrow interface of
// clients.ts answered by the service that owns it, through that service's own checks.
import type { RequestContext } from '../platform/auth/context.ts';
import { isNotFound } from '../platform/errors.ts';
import type { ImageService } from '../image/service.ts';
import type { ComputeClient } from '../compute/client.ts';
import type { NetworkService } from '../network/service.ts';
import type { OrchestrationService } from '../orchestration/service.ts';
import type { StackRow } from '../orchestration/store.ts';
import type { ClusterClients, FlavorSummary, ImageSummary, StackSummary, WorkloadClient } from './clients.ts';
import { isUuid } from './attributes.ts';
import { infrastructureClient } from '../compute/infrastructure.ts';

export interface ClusterServices {
  image: ImageService;
  compute: ComputeClient;
  network: NetworkService;
  orchestration: OrchestrationService;
  externalNetworkId: () => string | undefined;
}

const imageSummary = (r: { id: string; name: string | null; status: string; container_format: string | null; properties: string | Record<string, string>; checksum: string | null }): ImageSummary => ({
  id: r.id,
  name: r.name,
  status: r.status,
  containerFormat: r.container_format,
  properties: typeof r.properties === 'string' ? (JSON.parse(r.properties) as Record<string, string>) : r.properties,
  checksum: r.checksum,
});

// Orchestration's recovery fails an operation a restart cut short with this reason.
const INTERRUPTED = /^Engine restarted during (CREATE|UPDATE)$/;
const stackSummary = (s: StackRow): StackSummary => ({ id: s.id, name: s.name, action: s.action, status: s.status, statusReason: s.status_reason, interrupted: s.status === 'FAILED' && INTERRUPTED.test(s.status_reason) });

export function clusterClients(s: ClusterServices): ClusterClients {
  const infra = infrastructureClient(s.compute);
  const workloads: WorkloadClient = {
    boot: (ctx, boot, requestId) => infra.boot(ctx, boot, requestId),
    get: (ctx, id) => infra.get(ctx, id),
    delete: (ctx, id, requestId) => infra.delete(ctx, id, requestId),
    release: (id) => infra.release(id),
  };
  const projectOf = (ctx: RequestContext) => (ctx.scope.kind === 'project' ? ctx.scope.projectId : '');
  return {
    images: {
      async find(ctx, ident) {
        if (isUuid(ident)) {
          try {
            return [imageSummary(await s.image.find(ctx, ident.toLowerCase()))];
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        return (await s.image.list(ctx, {})).filter((r) => r.name === ident).map(imageSummary);
      },
      async list(ctx) {
        return (await s.image.list(ctx, {})).map(imageSummary);
      },
      openData: (ctx, id) => s.image.openData(ctx, id),
    },
    flavors: {
      async find(ctx, ident): Promise<FlavorSummary[]> {
        const rows = await s.compute.flavors(ctx);
        return rows.filter((f) => f.id === ident || f.name === ident).map((f) => ({ id: f.id, name: f.name, vcpus: f.vcpus, ram: f.ram, disk: f.disk }));
      },
    },
    networks: {
      async networks(ctx) {
        return (await s.network.list(ctx, 'network')).map((n) => ({ id: n.id, name: String(n.name ?? ''), external: Boolean(n['router:external']), projectId: n.project_id }));
      },
      async subnets(ctx) {
        return (await s.network.list(ctx, 'subnet')).map((n) => ({ id: n.id, name: String(n.name ?? ''), networkId: String(n.network_id) }));
      },
      async createNodePort(ctx, networkId, name) {
        const port = await s.network.createPort(ctx, { network_id: networkId, name, port_security_enabled: false, project_id: projectOf(ctx) });
        const ips = (port.fixed_ips ?? []) as { ip_address: string }[];
        return { id: port.id, fixedIp: ips[0]?.ip_address ?? null };
      },
      async deletePort(ctx, portId) {
        try {
          await s.network.deletePort(ctx, portId);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      },
      externalNetworkId: s.externalNetworkId,
    },
    keypairs: {
      async exists(ctx, name) {
        try {
          await s.compute.keypair(ctx, name);
          return true;
        } catch (err) {
          if (isNotFound(err)) return false;
          throw err;
        }
      },
    },
    stacks: {
      async create(ctx, spec) {
        const row = await s.orchestration.create(ctx, projectOf(ctx), { stack_name: spec.name, template: spec.template, ...(spec.timeoutMins ? { timeout_mins: spec.timeoutMins } : {}), disable_rollback: true, tags: 'magnum' });
        return stackSummary(row);
      },
      async update(ctx, stackId, template) {
        const row = await s.orchestration.find(ctx, projectOf(ctx), stackId);
        await s.orchestration.update(ctx, row, { template }, true);
      },
      async delete(ctx, stackId) {
        if (!ctx) return s.orchestration.deleteOwned(stackId);
        let row: StackRow;
        try {
          row = await s.orchestration.find(ctx, projectOf(ctx), stackId);
        } catch (err) {
          if (isNotFound(err)) return;
          throw err;
        }
        await s.orchestration.delete(ctx, row);
      },
      retry: (stackId) => s.orchestration.retryOwned(stackId),
      async get(ctx, stackId) {
        try {
          return stackSummary(await s.orchestration.find(ctx, projectOf(ctx), stackId));
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
      async peek(stackId) {
        const row = await s.orchestration.peek(stackId);
        return row ? stackSummary(row) : undefined;
      },
    },
    workloads,
  };
}
