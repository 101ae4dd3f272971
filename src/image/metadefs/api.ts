// Glance's metadata definitions catalog under /image/v2/metadefs: namespaces and their objects,
// property definitions, tags and resource type associations; resource types; and the schemas under
// /v2/schemas/metadefs. Each route declares its params, query and body.
import { Type, type Static } from '@sinclair/typebox';
import type { HttpServer } from '../../platform/http/server.ts';
import { contextOf } from '../../platform/auth/context.ts';
import { NotFoundError } from '../../platform/errors.ts';
import {
  AssociationBody,
  ItemParams,
  NamespaceBody,
  NamespaceListQuery,
  NamespaceParams,
  ObjectBody,
  PropertyDefinition,
  SchemaParams,
  TagBody,
  TagsBody,
  metadefSchemas,
  type NamespaceListQueryT,
} from './schemas.ts';
import { objectBody, objectView, propertyDefinition, propertyView, tagView, type MetadefService } from './service.ts';

type Ns = Static<typeof NamespaceParams>;
type Item = Static<typeof ItemParams>;
const ShowQuery = Type.Object({ resource_type: Type.Optional(Type.String({ maxLength: 80 })) });
const NoBody = Type.Optional(Type.Unknown());

export function metadefApi(metadefs: MetadefService) {
  return (app: HttpServer) => {
    app.get<{ Params: Static<typeof SchemaParams> }>('/v2/schemas/metadefs/:kind', { schema: { params: SchemaParams } }, async (request) => {
      const s = metadefSchemas[request.params.kind];
      if (!s) throw new NotFoundError(`No schema ${request.params.kind}.`);
      return s;
    });

    app.get('/v2/metadefs/resource_types', async (request) => ({ resource_types: await metadefs.resourceTypes(contextOf(request)) }));

    // ---- namespaces
    const ns = '/v2/metadefs/namespaces';
    app.get<{ Querystring: NamespaceListQueryT }>(ns, { schema: { querystring: NamespaceListQuery } }, async (request) => {
      const { namespaces, next } = await metadefs.list(contextOf(request), request.query);
      const query = new URLSearchParams(Object.entries(request.query).filter(([k]) => k !== 'marker').map(([k, v]) => [k, String(v)]));
      const first = query.toString() ? `${ns}?${query}` : ns;
      if (next) query.set('marker', next);
      return { namespaces, first, schema: '/v2/schemas/metadefs/namespaces', ...(next ? { next: `${ns}?${query}` } : {}) };
    });
    app.post<{ Body: Static<typeof NamespaceBody> }>(ns, { schema: { body: NamespaceBody } }, async (request, reply) => {
      const created = await metadefs.create(contextOf(request), request.body);
      reply.code(201).header('location', `${ns}/${created.namespace}`);
      return created;
    });
    app.get<{ Params: Ns; Querystring: Static<typeof ShowQuery> }>(`${ns}/:namespace`, { schema: { params: NamespaceParams, querystring: ShowQuery } }, async (request) =>
      metadefs.show(contextOf(request), request.params.namespace, request.query.resource_type),
    );
    app.put<{ Params: Ns; Body: Static<typeof NamespaceBody> }>(`${ns}/:namespace`, { schema: { params: NamespaceParams, body: NamespaceBody } }, async (request) =>
      metadefs.update(contextOf(request), request.params.namespace, request.body),
    );
    app.delete<{ Params: Ns }>(`${ns}/:namespace`, { schema: { params: NamespaceParams } }, async (request, reply) => {
      await metadefs.delete(contextOf(request), request.params.namespace);
      reply.code(204).send();
    });

    // ---- resource type associations
    app.get<{ Params: Ns }>(`${ns}/:namespace/resource_types`, { schema: { params: NamespaceParams } }, async (request) => ({
      resource_type_associations: await metadefs.associationsOf(contextOf(request), request.params.namespace),
    }));
    app.post<{ Params: Ns; Body: Static<typeof AssociationBody> }>(`${ns}/:namespace/resource_types`, { schema: { params: NamespaceParams, body: AssociationBody } }, async (request, reply) => {
      reply.code(201);
      return metadefs.associate(contextOf(request), request.params.namespace, request.body);
    });
    app.delete<{ Params: Item }>(`${ns}/:namespace/resource_types/:name`, { schema: { params: ItemParams } }, async (request, reply) => {
      await metadefs.deassociate(contextOf(request), request.params.namespace, request.params.name);
      reply.code(204).send();
    });

    // ---- objects
    app.get<{ Params: Ns }>(`${ns}/:namespace/objects`, { schema: { params: NamespaceParams } }, async (request) => {
      const { row, items } = await metadefs.items(contextOf(request), request.params.namespace, 'objects');
      return { objects: items.map((o) => objectView(row.namespace, o)), schema: '/v2/schemas/metadefs/objects' };
    });
    app.post<{ Params: Ns; Body: Static<typeof ObjectBody> }>(`${ns}/:namespace/objects`, { schema: { params: NamespaceParams, body: ObjectBody } }, async (request, reply) => {
      const { row, items } = await metadefs.addItems(contextOf(request), request.params.namespace, 'objects', [{ name: request.body.name, body: objectBody(request.body) }]);
      reply.code(201);
      return objectView(row.namespace, items[0]!);
    });
    app.get<{ Params: Item }>(`${ns}/:namespace/objects/:name`, { schema: { params: ItemParams } }, async (request) => {
      const { row, item } = await metadefs.item(contextOf(request), request.params.namespace, 'objects', request.params.name);
      return objectView(row.namespace, item);
    });
    app.put<{ Params: Item; Body: Static<typeof ObjectBody> }>(`${ns}/:namespace/objects/:name`, { schema: { params: ItemParams, body: ObjectBody } }, async (request) => {
      const { row, item } = await metadefs.updateItem(contextOf(request), request.params.namespace, 'objects', request.params.name, { name: request.body.name, body: objectBody(request.body) });
      return objectView(row.namespace, item);
    });
    app.delete<{ Params: Item }>(`${ns}/:namespace/objects/:name`, { schema: { params: ItemParams } }, async (request, reply) => {
      await metadefs.deleteItem(contextOf(request), request.params.namespace, 'objects', request.params.name);
      reply.code(204).send();
    });
    app.delete<{ Params: Ns }>(`${ns}/:namespace/objects`, { schema: { params: NamespaceParams } }, async (request, reply) => {
      await metadefs.deleteItems(contextOf(request), request.params.namespace, 'objects');
      reply.code(204).send();
    });

    // ---- property definitions
    // One object schema (not an intersection: additionalProperties would strip the other half's name).
    const PropertyBody = Type.Object({ ...PropertyDefinition.properties, name: Type.String({ minLength: 1, maxLength: 80 }) }, { additionalProperties: false });
    type PropertyBodyT = Static<typeof PropertyBody>;
    const split = (b: PropertyBodyT) => {
      const { name, ...def } = b;
      return { name, body: def };
    };
    app.get<{ Params: Ns }>(`${ns}/:namespace/properties`, { schema: { params: NamespaceParams } }, async (request) => {
      const { items } = await metadefs.items(contextOf(request), request.params.namespace, 'properties');
      return { properties: Object.fromEntries(items.map((p) => [p.name, propertyDefinition(p)])) };
    });
    app.post<{ Params: Ns; Body: PropertyBodyT }>(`${ns}/:namespace/properties`, { schema: { params: NamespaceParams, body: PropertyBody } }, async (request, reply) => {
      const { items } = await metadefs.addItems(contextOf(request), request.params.namespace, 'properties', [split(request.body)]);
      reply.code(201);
      return propertyView(items[0]!);
    });
    app.get<{ Params: Item }>(`${ns}/:namespace/properties/:name`, { schema: { params: ItemParams } }, async (request) =>
      propertyView((await metadefs.item(contextOf(request), request.params.namespace, 'properties', request.params.name)).item),
    );
    app.put<{ Params: Item; Body: PropertyBodyT }>(`${ns}/:namespace/properties/:name`, { schema: { params: ItemParams, body: PropertyBody } }, async (request) =>
      propertyView((await metadefs.updateItem(contextOf(request), request.params.namespace, 'properties', request.params.name, split(request.body))).item),
    );
    app.delete<{ Params: Item }>(`${ns}/:namespace/properties/:name`, { schema: { params: ItemParams } }, async (request, reply) => {
      await metadefs.deleteItem(contextOf(request), request.params.namespace, 'properties', request.params.name);
      reply.code(204).send();
    });
    app.delete<{ Params: Ns }>(`${ns}/:namespace/properties`, { schema: { params: NamespaceParams } }, async (request, reply) => {
      await metadefs.deleteItems(contextOf(request), request.params.namespace, 'properties');
      reply.code(204).send();
    });

    // ---- tags
    app.get<{ Params: Ns }>(`${ns}/:namespace/tags`, { schema: { params: NamespaceParams } }, async (request) => ({
      tags: (await metadefs.items(contextOf(request), request.params.namespace, 'tags')).items.map(tagView),
    }));
    app.post<{ Params: Ns; Body: Static<typeof TagsBody> }>(`${ns}/:namespace/tags`, { schema: { params: NamespaceParams, body: TagsBody } }, async (request, reply) => {
      // Replaces the namespace's tags, unless X-Openstack-Append asks to add to them (as in Glance).
      const append = String(request.headers['x-openstack-append'] ?? '').toLowerCase() === 'true';
      const names = [...new Set(request.body.tags.map((t) => t.name))];
      await metadefs.addItems(contextOf(request), request.params.namespace, 'tags', names.map((name) => ({ name, body: {} })), !append);
      reply.code(201);
      return { tags: names.map((name) => ({ name })) };
    });
    app.delete<{ Params: Ns }>(`${ns}/:namespace/tags`, { schema: { params: NamespaceParams } }, async (request, reply) => {
      await metadefs.deleteItems(contextOf(request), request.params.namespace, 'tags');
      reply.code(204).send();
    });
    app.get<{ Params: Item }>(`${ns}/:namespace/tags/:name`, { schema: { params: ItemParams } }, async (request) =>
      tagView((await metadefs.item(contextOf(request), request.params.namespace, 'tags', request.params.name)).item),
    );
    app.post<{ Params: Item }>(`${ns}/:namespace/tags/:name`, { schema: { params: ItemParams, body: NoBody } }, async (request, reply) => {
      const { items } = await metadefs.addItems(contextOf(request), request.params.namespace, 'tags', [{ name: request.params.name, body: {} }]);
      reply.code(201);
      return tagView(items[0]!);
    });
    app.put<{ Params: Item; Body: Static<typeof TagBody> }>(`${ns}/:namespace/tags/:name`, { schema: { params: ItemParams, body: TagBody } }, async (request) =>
      tagView((await metadefs.updateItem(contextOf(request), request.params.namespace, 'tags', request.params.name, { name: request.body.name, body: {} })).item),
    );
    app.delete<{ Params: Item }>(`${ns}/:namespace/tags/:name`, { schema: { params: ItemParams } }, async (request, reply) => {
      await metadefs.deleteItem(contextOf(request), request.params.namespace, 'tags', request.params.name);
      reply.code(204).send();
    });
  };
}
