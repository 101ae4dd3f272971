// Servers: create, list, show, update, delete, actions, metadata, instance actions and interfaces.
import { contextOf, type RequestContext } from '../../platform/auth/context.ts';
import type { ServerRow } from '../tables.ts';
import {
  AnyQuery,
  IdKeyParams,
  IdParams,
  InterfaceAttachmentBody,
  MetadataBody,
  novaBool,
  ServerActionBody,
  ServerCreateBody,
  ServerListQuery,
  ServerPortParams,
  ServerRequestParams,
  ServerUpdateBody,
} from '../schemas.ts';
import { interfaceAttachmentView, serverDetails, serverView } from '../views.ts';
import { ServerViewCache, writeTo } from '../server-view-cache.ts';
import { bodyBuffer } from './body-buffers.ts';
import { formatMicroversion } from '../../platform/http/microversion.ts';
import { BadRequestError } from '../../platform/errors.ts';
import { atOf, type ComputeRoutes } from './index.ts';
import { nextLinks } from './paging.ts';
import { newerThan, removedAt } from './versions.ts';
import { floatingIpAction } from './proxies/floating-ips.ts';
import { securityGroupAction } from './proxies/security-groups.ts';

export function serverRoutes({ app, compute, base, publicUrl }: ComputeRoutes): void {
  type Req = Parameters<typeof atOf>[0];
  const detailed = (request: Req, ctx: RequestContext, rows: ServerRow[], withGroups = false) => serverDetails(compute, ctx, rows, base, atOf(request), withGroups);
  /** One server as show, update and rebuild answer it (with its groups from 2.71). */
  const detailedOne = async (request: Req, ctx: RequestContext, row: ServerRow) => (await detailed(request, ctx, [row], true))[0]!;

  app.post('/v2.1/servers', { schema: { body: ServerCreateBody } }, async (request, reply) => {
    const s = request.body.server;
    newerThan(request, s, { description: '2.19', tags: '2.52', trusted_image_certificates: '2.63', host: '2.74', hypervisor_hostname: '2.74' });
    removedAt(request, s, { personality: '2.57' });
    if (atOf(request)('2.37') && s.networks === undefined) throw new BadRequestError("Invalid input for field/attribute server. 'networks' is a required property");
    const rows = await compute.build.create(contextOf(request), request.body, request.id);
    reply.code(202);
    const first = rows[0]!;
    if (novaBool(request.body.return_reservation_id ?? s.return_reservation_id)) return { reservation_id: `r-${first.id.slice(0, 8)}` };
    return {
      server: {
        id: first.id,
        links: serverView(first, base, { admin: false, detail: false }).links,
        'OS-DCF:diskConfig': s['OS-DCF:diskConfig'] ?? 'MANUAL',
        security_groups: (JSON.parse(first.security_groups) as string[]).map((name) => ({ name })),
        // A password is only answered when one was given: a container has no password to generate.
        ...(s.adminPass !== undefined ? { adminPass: s.adminPass } : {}),
      },
    };
  });
  app.get('/v2.1/servers', { schema: { querystring: ServerListQuery } }, async (request) => {
    const rows = await compute.listing.list(contextOf(request), request.query, 'server', atOf(request));
    return { servers: rows.map((s) => serverView(s, base, { admin: false, detail: false })), ...nextLinks('servers', `${base}/servers`, request.query, rows) };
  });
  // The longest answer of the API (1,000 servers a page): views kept by revision, joined as text.
  const views = new ServerViewCache(compute, base);
  app.get('/v2.1/servers/detail', { schema: { querystring: ServerListQuery } }, async (request, reply) => {
    const ctx = contextOf(request);
    const at = atOf(request);
    const page = await compute.listing.listRevisions(ctx, request.query, 'server', at);
    const servers = await views.page(ctx, page, at, formatMicroversion(request.microversion!));
    const next = nextLinks('servers', `${base}/servers/detail`, request.query, page).servers_links;
    const tail = `${next ? `,"servers_links":${JSON.stringify(next)}` : ''}}`;
    const body = bodyBuffer(reply, servers.bound + 16 + tail.length * 3);
    let n = body.write('{"servers":', 0);
    n = writeTo(servers, body, n);
    n += body.write(tail, n);
    reply.type('application/json');
    return body.subarray(0, n);
  });
  // What a client waiting for a server polls (every 25 ms in bench/compute): its view kept by revision too.
  app.get('/v2.1/servers/:id', { schema: { params: IdParams, querystring: AnyQuery } }, async (request, reply) => {
    const server = await views.show(contextOf(request), request.params.id, atOf(request), formatMicroversion(request.microversion!), true);
    const body = Buffer.allocUnsafe(server.bound + 12);
    let n = body.write('{"server":', 0);
    n = writeTo(server, body, n);
    n += body.write('}', n);
    reply.type('application/json');
    return body.subarray(0, n);
  });
  app.put('/v2.1/servers/:id', { schema: { params: IdParams, body: ServerUpdateBody } }, async (request) => {
    const ctx = contextOf(request);
    newerThan(request, request.body.server, { description: '2.19' });
    return { server: await detailedOne(request, ctx, await compute.servers.update(ctx, request.params.id, request.body)) };
  });
  app.delete('/v2.1/servers/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await compute.servers.delete(contextOf(request), request.params.id, request.id);
    reply.code(204).send();
  });
  app.post('/v2.1/servers/:id/action', { schema: { params: IdParams, body: ServerActionBody } }, async (request, reply) => {
    const ctx = contextOf(request);
    const body = request.body;
    newerThan(request, body.rebuild, { description: '2.19', key_name: '2.54', user_data: '2.57', trusted_image_certificates: '2.63' });
    removedAt(request, body.rebuild, { personality: '2.57' });
    newerThan(request, body.lock ?? undefined, { locked_reason: '2.73' });
    if (await floatingIpAction(compute, request, request.params.id, body)) return reply.code(202).send();
    if (await securityGroupAction(compute, request, request.params.id, body)) return reply.code(202).send();
    const result = await compute.actions.run(ctx, request.params.id, body, request.id);
    if (result === undefined) return reply.code(202).send();
    const name = Object.keys(body)[0];
    if (name === 'rebuild') return reply.code(202).send({ server: await detailedOne(request, ctx, await compute.server(ctx, request.params.id)) });
    if (name === 'createImage') {
      // Until 2.45 the image is named by a Location header; from 2.45 in the body.
      const imageId = (result as { image_id: string }).image_id;
      if (atOf(request)('2.45')) return reply.code(202).send(result);
      reply.header('location', `${publicUrl}/image/v2/images/${imageId}`);
      return reply.code(202).send();
    }
    return reply.code(200).send(result);
  });

  // ---- metadata
  app.get('/v2.1/servers/:id/metadata', { schema: { params: IdParams } }, async (request) => ({
    metadata: await compute.servers.metadata(contextOf(request), request.params.id),
  }));
  app.post('/v2.1/servers/:id/metadata', { schema: { params: IdParams, body: MetadataBody } }, async (request) => ({
    metadata: await compute.servers.setMetadata(contextOf(request), request.params.id, request.body.metadata, false),
  }));
  app.put('/v2.1/servers/:id/metadata', { schema: { params: IdParams, body: MetadataBody } }, async (request) => ({
    metadata: await compute.servers.setMetadata(contextOf(request), request.params.id, request.body.metadata, true),
  }));
  app.delete('/v2.1/servers/:id/metadata/:key', { schema: { params: IdKeyParams } }, async (request, reply) => {
    await compute.servers.deleteMetadata(contextOf(request), request.params.id, request.params.key);
    reply.code(204).send();
  });

  // ---- instance actions
  app.get('/v2.1/servers/:id/os-instance-actions', { schema: { params: IdParams, querystring: AnyQuery } }, async (request) => {
    const actions = await compute.instanceActions.list(contextOf(request), request.params.id);
    return {
      instanceActions: actions.map((a) => ({
        action: a.action,
        instance_uuid: a.server_id,
        request_id: a.request_id,
        user_id: a.user_id,
        project_id: a.project_id,
        start_time: a.start_time,
        message: a.message,
      })),
    };
  });
  app.get('/v2.1/servers/:id/os-instance-actions/:req', { schema: { params: ServerRequestParams } }, async (request) => {
    const a = await compute.instanceActions.get(contextOf(request), request.params.id, request.params.req);
    return {
      instanceAction: {
        action: a.action,
        instance_uuid: a.server_id,
        request_id: a.request_id,
        user_id: a.user_id,
        project_id: a.project_id,
        start_time: a.start_time,
        message: a.message,
        events: JSON.parse(a.events) as unknown[],
      },
    };
  });

  // ---- interfaces
  app.get('/v2.1/servers/:id/os-interface', { schema: { params: IdParams } }, async (request) => ({
    interfaceAttachments: (await compute.interfaces.list(contextOf(request), request.params.id)).map((b) => interfaceAttachmentView(b, atOf(request))),
  }));
  app.get('/v2.1/servers/:id/os-interface/:port', { schema: { params: ServerPortParams } }, async (request) => ({
    interfaceAttachment: interfaceAttachmentView(await compute.interfaces.get(contextOf(request), request.params.id, request.params.port), atOf(request)),
  }));
  app.post('/v2.1/servers/:id/os-interface', { schema: { params: IdParams, body: InterfaceAttachmentBody } }, async (request) => {
    // 2.49: a device tag (accepted, not kept: containers have no device metadata to carry it).
    newerThan(request, request.body.interfaceAttachment, { tag: '2.49' });
    const attached = await compute.interfaces.attach(contextOf(request), request.params.id, request.body, request.id);
    return { interfaceAttachment: interfaceAttachmentView(attached, atOf(request)) };
  });
  app.delete('/v2.1/servers/:id/os-interface/:port', { schema: { params: ServerPortParams } }, async (request, reply) => {
    await compute.interfaces.detach(contextOf(request), request.params.id, request.params.port, request.id);
    reply.code(202).send();
  });
}
