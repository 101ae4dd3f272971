// The clusters service's narrow interface for other services (orchestration's
// OS::Magnum::ClusterTemplate and OS::Magnum::Cluster): Magnum's template and cluster calls in
// Magnum's wire bodies (JSON patches for updates), answered as Magnum's API shows them, through the
// same checks, policy, quotas and project scoping as the API.
import type { RequestContext } from '../platform/auth/context.ts';
import type { ClusterService } from './clusters.ts';
import type { TemplateService } from './templates.ts';
import type { TemplateRow } from './store.ts';
import { clusterView, templateView } from './views.ts';

type Body = Record<string, unknown>;
export type JsonPatch = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown }[];

export interface ClustersClient {
  /** POST /v1/clustertemplates; answers the template as Magnum shows it. */
  createTemplate(ctx: RequestContext, body: Body): Promise<Body & { uuid: string }>;
  /** By uuid or name, among the templates the caller sees; NotFoundError otherwise. */
  showTemplate(ctx: RequestContext, ident: string): Promise<Body & { uuid: string }>;
  updateTemplate(ctx: RequestContext, ident: string, patch: JsonPatch): Promise<Body & { uuid: string }>;
  deleteTemplate(ctx: RequestContext, ident: string): Promise<void>;
  /** POST /v1/clusters at microversion 1.`minor`; the cluster's work goes on after it answers. */
  createCluster(ctx: RequestContext, body: Body, minor: number): Promise<{ uuid: string }>;
  /** The cluster as GET /v1/clusters/{ident} shows it (status, addresses, stack_id ...). */
  showCluster(ctx: RequestContext, ident: string): Promise<Body & { uuid: string; status: string; status_reason: string | null }>;
  /** PATCH (node_count); the update goes on after it answers. */
  updateCluster(ctx: RequestContext, ident: string, patch: JsonPatch, minor: number): Promise<void>;
  /** Starts the delete; the cluster answers 404 once it is gone. */
  deleteCluster(ctx: RequestContext, ident: string): Promise<void>;
}

export function createClustersClient(templates: TemplateService, clusters: ClusterService, publicUrl: string): ClustersClient {
  const base = `${publicUrl}/container-infra/v1`;
  const view = (row: TemplateRow): Body & { uuid: string } => ({ ...templateView(base, row), uuid: row.uuid });
  return {
    createTemplate: async (ctx, body) => view(await templates.create(ctx, body)),
    showTemplate: async (ctx, ident) => view(await templates.show(ctx, ident)),
    updateTemplate: async (ctx, ident, patch) => view(await templates.update(ctx, ident, patch)),
    deleteTemplate: (ctx, ident) => templates.delete(ctx, ident),
    createCluster: async (ctx, body, minor) => ({ uuid: (await clusters.create(ctx, { body, minor })).uuid }),
    async showCluster(ctx, ident) {
      const row = await clusters.show(ctx, ident);
      return clusterView(base, row, await clusters.detailOf(row)) as Body & { uuid: string; status: string; status_reason: string | null };
    },
    async updateCluster(ctx, ident, patch, minor) {
      await clusters.update(ctx, ident, patch, minor);
    },
    deleteCluster: (ctx, ident) => clusters.delete(ctx, ident),
  };
}

/** The client before the service exists (orchestration is made first): calls wait for `provide`. */
export function deferredClustersClient(): { client: ClustersClient; provide(real: ClustersClient): void } {
  let provide!: (real: ClustersClient) => void;
  const ready = new Promise<ClustersClient>((resolve) => (provide = resolve));
  return {
    client: {
      createTemplate: async (ctx, body) => (await ready).createTemplate(ctx, body),
      showTemplate: async (ctx, ident) => (await ready).showTemplate(ctx, ident),
      updateTemplate: async (ctx, ident, patch) => (await ready).updateTemplate(ctx, ident, patch),
      deleteTemplate: async (ctx, ident) => (await ready).deleteTemplate(ctx, ident),
      createCluster: async (ctx, body, minor) => (await ready).createCluster(ctx, body, minor),
      showCluster: async (ctx, ident) => (await ready).showCluster(ctx, ident),
      updateCluster: async (ctx, ident, patch, minor) => (await ready).updateCluster(ctx, ident, patch, minor),
      deleteCluster: async (ctx, ident) => (await ready).deleteCluster(ctx, ident),
    },
    provide,
  };
}
