// The certificates API of a cluster: its CA certificate, client certificates signed from a CSR, and
// the rotation of its CA (client certificates of the old CA stop working at the cluster's front).
import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { RequestContext } from '../platform/auth/context.ts';
import type { HttpServer } from '../platform/http/server.ts';
import { BadRequestError } from '../platform/errors.ts';
import { AnyBody, ctxOf, type Route } from './api.ts';
import type { ClusterService } from './clusters.ts';
import { ClusterNotFound, NotSupported } from './errors.ts';
import type { Fronts } from './fronts.ts';
import type { NodeRuntime } from './nodes.ts';
import type { ClusterRow, ClusterStore } from './store.ts';
import type { TemplateService } from './templates.ts';
import { links } from './views.ts';
import { parseCsr, signRequest } from './x509.ts';

export class CertificateService {
  constructor(
    private readonly store: ClusterStore,
    private readonly templates: TemplateService,
    private readonly clusters: ClusterService,
    private readonly nodes: NodeRuntime,
    private readonly fronts: Fronts,
  ) {}

  private async cluster(ctx: RequestContext, ident: string, action: string): Promise<ClusterRow> {
    this.templates.enforce(ctx, action);
    return this.clusters.find(ctx, ident);
  }

  async ca(ctx: RequestContext, ident: string): Promise<{ cluster: ClusterRow; pem: string }> {
    const cluster = await this.cluster(ctx, ident, 'certificate:get');
    return { cluster, pem: (await this.nodes.tls(cluster)).ca.cert };
  }

  async sign(ctx: RequestContext, body: unknown): Promise<{ cluster: ClusterRow; pem: string; csr: string }> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('Invalid input for field/attribute certificate. The body must be a JSON object.');
    const b = body as Record<string, unknown>;
    const unknown = Object.keys(b).filter((k) => !['cluster_uuid', 'bay_uuid', 'csr', 'ca_cert_type', 'pem', 'links'].includes(k));
    if (unknown.length) throw new BadRequestError(`Unknown attribute for argument certificate: ${unknown.join(', ')}`);
    const ident = b.cluster_uuid ?? b.bay_uuid;
    if (typeof ident !== 'string' || !ident) throw new BadRequestError('Invalid input for field/attribute cluster_uuid. Value: None. Mandatory field missing.');
    if (typeof b.csr !== 'string' || !b.csr) throw new BadRequestError('Invalid input for field/attribute csr. Value: None. Mandatory field missing.');
    let cluster: ClusterRow;
    try {
      cluster = await this.cluster(ctx, ident, 'certificate:create');
    } catch (err) {
      // Magnum answers an unknown cluster in a signing request as the request's fault.
      if (err instanceof ClusterNotFound) throw new BadRequestError(err.message);
      throw err;
    }
    const csr = parseCsr(b.csr);
    const tls = await this.nodes.tls(cluster);
    return { cluster, pem: signRequest(tls.ca, csr), csr: b.csr };
  }

  async rotate(ctx: RequestContext, ident: string): Promise<ClusterRow> {
    const cluster = await this.cluster(ctx, ident, 'certificate:rotate_ca');
    const template = await this.store.template(cluster.cluster_template_id);
    const attrs = template ? (JSON.parse(template.attrs) as Record<string, unknown>) : {};
    if (attrs.tls_disabled === true) throw new NotSupported('Rotating the CA certificate on a non-TLS cluster');
    if (cluster.status.endsWith('_IN_PROGRESS')) throw new BadRequestError(`Cluster ${cluster.name} already has an operation in progress.`);
    await this.nodes.rotateCa(cluster);
    await this.fronts.rotate(cluster);
    return cluster;
  }
}

type Ident = { Params: { ident: string } };
const Params = Type.Object({ ident: Type.String({ minLength: 1, maxLength: 255 }) });

export function certificateRoutes(certs: CertificateService): Route {
  return (app: HttpServer, base: string) => {
    const view = (cluster: ClusterRow, pem: string, csr?: string) => ({
      cluster_uuid: cluster.uuid,
      bay_uuid: cluster.uuid,
      pem,
      ...(csr ? { csr } : {}),
      links: links(base, 'certificates', cluster.uuid),
    });
    app.get<Ident>('/v1/certificates/:ident', { schema: { params: Params, querystring: Type.Object({ ca_cert_type: Type.Optional(Type.String({ maxLength: 64 })) }) } }, async (request: FastifyRequest<Ident>) => {
      const { cluster, pem } = await certs.ca(ctxOf(request), request.params.ident);
      return view(cluster, pem);
    });
    app.post('/v1/certificates', { schema: { body: AnyBody } }, async (request, reply) => {
      const { cluster, pem, csr } = await certs.sign(ctxOf(request), request.body);
      reply.code(201);
      return view(cluster, pem, csr);
    });
    app.patch<Ident>('/v1/certificates/:ident', { schema: { params: Params } }, async (request, reply) => {
      const cluster = await certs.rotate(ctxOf(request), request.params.ident);
      reply.code(202);
      return { uuid: cluster.uuid };
    });
  };
}
