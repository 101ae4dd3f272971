// Keystone v3 catalog management: regions, services and endpoints (create, update, delete).
import type { HttpServer } from '../platform/http/server.ts';
import { contextOf } from '../platform/auth/context.ts';
import { BadRequestError } from '../platform/errors.ts';
import { objectBody } from './service.ts';
import type { Req, RouteKit } from './route-kit.ts';
import { endpointView, regionView, serviceView } from './views.ts';

export function catalogRoutes(app: HttpServer, { identity, links }: RouteKit): void {
  app.post('/v3/regions', async (request: Req, reply) => {
    const row = await identity.createRegion(contextOf(request), objectBody(request.body, 'region'));
    reply.code(201);
    return { region: regionView(row, links) };
  });
  // PUT creates a region with the id in the path (201), as Keystone does; an existing id is a conflict.
  app.put('/v3/regions/:id', async (request: Req, reply) => {
    const body = request.body === undefined ? {} : objectBody(request.body, 'region');
    if (body.id !== undefined && body.id !== request.params.id) {
      throw new BadRequestError("Invalid input for field 'region.id': it must match the id in the URL.");
    }
    const row = await identity.createRegion(contextOf(request), { ...body, id: request.params.id });
    reply.code(201);
    return { region: regionView(row, links) };
  });
  app.patch('/v3/regions/:id', async (request: Req) => ({
    region: regionView(await identity.updateRegion(contextOf(request), request.params.id, objectBody(request.body, 'region')), links),
  }));
  app.delete('/v3/regions/:id', async (request: Req, reply) => {
    await identity.deleteRegion(contextOf(request), request.params.id);
    reply.code(204).send();
  });
  app.post('/v3/services', async (request: Req, reply) => {
    const row = await identity.createService(contextOf(request), objectBody(request.body, 'service'));
    reply.code(201);
    return { service: serviceView(row, links) };
  });
  app.patch('/v3/services/:id', async (request: Req) => ({
    service: serviceView(await identity.updateService(contextOf(request), request.params.id, objectBody(request.body, 'service')), links),
  }));
  app.delete('/v3/services/:id', async (request: Req, reply) => {
    await identity.deleteService(contextOf(request), request.params.id);
    reply.code(204).send();
  });
  app.post('/v3/endpoints', async (request: Req, reply) => {
    const row = await identity.createEndpoint(contextOf(request), objectBody(request.body, 'endpoint'));
    reply.code(201);
    return { endpoint: endpointView(row, links) };
  });
  app.patch('/v3/endpoints/:id', async (request: Req) => ({
    endpoint: endpointView(await identity.updateEndpoint(contextOf(request), request.params.id, objectBody(request.body, 'endpoint')), links),
  }));
  app.delete('/v3/endpoints/:id', async (request: Req, reply) => {
    await identity.deleteEndpoint(contextOf(request), request.params.id);
    reply.code(204).send();
  });
}
