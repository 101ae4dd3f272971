// The metadata definitions catalog's rules (Glance's metadefs): who sees a namespace (public ones
// everyone, private ones their owner's project, admins all; an invisible one answers 404 like an
// unknown one), who changes the catalog (admins, by policy), protected namespaces, and the views.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../../platform/auth/context.ts';
import type { PolicyEngine } from '../../platform/auth/policy.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../platform/errors.ts';
import type { AssociationBodyT, NamespaceBodyT, NamespaceListQueryT, ObjectBodyT, PropertyDefinitionT } from './schemas.ts';
import type { AssociationRow, ChildKind, ChildRow, MetadefStore, NamespaceRow } from './store.ts';

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 25;

const time = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');
/** WSME leaves unset attributes out; glanceclient's models refuse nulls where the schema says string. */
const defined = <T extends Record<string, unknown>>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;

export const metadefPolicy: Record<string, string> = {
  'image:get_metadef_namespace': 'role:reader',
  'image:get_metadef_namespaces': 'role:reader',
  'image:add_metadef_namespace': 'role:admin',
  'image:modify_metadef_namespace': 'role:admin',
  'image:delete_metadef_namespace': 'role:admin',
  'image:get_metadef_object': 'role:reader',
  'image:get_metadef_objects': 'role:reader',
  'image:add_metadef_object': 'role:admin',
  'image:modify_metadef_object': 'role:admin',
  'image:delete_metadef_object': 'role:admin',
  'image:get_metadef_property': 'role:reader',
  'image:get_metadef_properties': 'role:reader',
  'image:add_metadef_property': 'role:admin',
  'image:modify_metadef_property': 'role:admin',
  'image:delete_metadef_property': 'role:admin',
  'image:get_metadef_tag': 'role:reader',
  'image:get_metadef_tags': 'role:reader',
  'image:add_metadef_tag': 'role:admin',
  'image:add_metadef_tags': 'role:admin',
  'image:modify_metadef_tag': 'role:admin',
  'image:delete_metadef_tag': 'role:admin',
  'image:delete_metadef_tags': 'role:admin',
  'image:list_metadef_resource_types': 'role:reader',
  'image:get_metadef_resource_type': 'role:reader',
  'image:add_metadef_resource_type_association': 'role:admin',
  'image:remove_metadef_resource_type_association': 'role:admin',
};

const KIND_NAMES: Record<ChildKind, string> = { objects: 'object', properties: 'property', tags: 'tag' };

export class MetadefService {
  constructor(private readonly store: MetadefStore, private readonly policy: PolicyEngine) {}

  private enforce(ctx: RequestContext, action: string): void {
    this.policy.enforce(`image:${action}`, ctx, {});
  }

  private isAdmin(ctx: RequestContext): boolean {
    return this.policy.authorize('image:admin', ctx);
  }

  private projectOf(ctx: RequestContext): string {
    return ctx.scope.kind === 'project' ? ctx.scope.projectId : '';
  }

  /** The namespace if the caller may see it; 404 otherwise, as if it did not exist. */
  async visible(ctx: RequestContext, name: string): Promise<NamespaceRow> {
    const row = await this.store.namespace(name);
    if (!row || (row.visibility !== 'public' && row.owner !== this.projectOf(ctx) && !this.isAdmin(ctx))) {
      throw new NotFoundError(`Metadata definition namespace=${name} was not found.`);
    }
    return row;
  }

  /** A namespace the caller may change: visible, and the change allowed by policy. */
  private async writable(ctx: RequestContext, name: string, action: string): Promise<NamespaceRow> {
    const row = await this.visible(ctx, name);
    this.enforce(ctx, action);
    return row;
  }

  private assertUnprotected(row: NamespaceRow, what: string): void {
    if (row.protected) throw new ForbiddenError(`Namespace ${row.namespace} is protected and cannot ${what}.`);
  }

  // ---- namespaces

  async list(ctx: RequestContext, q: NamespaceListQueryT) {
    this.enforce(ctx, 'get_metadef_namespaces');
    const limit = Math.min(q.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
    const after = q.marker ? await this.visible(ctx, q.marker) : undefined;
    const rows = await this.store.namespaces({
      visibleTo: this.projectOf(ctx),
      all: this.isAdmin(ctx),
      ...(q.visibility ? { visibility: q.visibility } : {}),
      ...(q.resource_types ? { resourceTypes: q.resource_types.split(',').map((s) => s.trim()).filter(Boolean).slice(0, 100) } : {}),
      sortKey: q.sort_key ?? 'created_at',
      sortDir: q.sort_dir ?? 'desc',
      limit,
      ...(after ? { after } : {}),
    });
    const associations = await this.store.associations(rows.map((r) => r.id));
    const namespaces = rows.map((r) => this.namespaceView(r, associations.filter((a) => a.namespace_id === r.id)));
    return { namespaces, next: rows.length === limit && limit > 0 ? rows[rows.length - 1]!.namespace : undefined };
  }

  async show(ctx: RequestContext, name: string, resourceType?: string) {
    this.enforce(ctx, 'get_metadef_namespace');
    const row = await this.visible(ctx, name);
    return this.detail(row, resourceType);
  }

  async create(ctx: RequestContext, body: NamespaceBodyT) {
    this.enforce(ctx, 'add_metadef_namespace');
    let owner = this.projectOf(ctx);
    if (body.owner !== undefined && body.owner !== owner) {
      if (!this.isAdmin(ctx)) throw new ForbiddenError(`You are not permitted to create namespaces owned by '${body.owner}'.`);
      owner = body.owner;
    }
    if (!owner) throw new BadRequestError('A namespace needs an owner: use a project-scoped token or give owner.');
    const now = new Date().toISOString();
    const row: NamespaceRow = {
      id: randomUUID(),
      namespace: body.namespace,
      display_name: body.display_name ?? null,
      description: body.description ?? null,
      visibility: body.visibility ?? 'private',
      protected: body.protected ? 1 : 0,
      owner,
      created_at: now,
      updated_at: now,
    };
    const child = (name: string, value: unknown): ChildRow => ({ namespace_id: row.id, name, body: JSON.stringify(value), created_at: now, updated_at: now });
    const children = [
      { kind: 'properties' as const, rows: Object.entries(body.properties ?? {}).map(([name, def]) => child(name, def)) },
      { kind: 'objects' as const, rows: (body.objects ?? []).map((o) => child(o.name, objectBody(o))) },
      { kind: 'tags' as const, rows: [...new Set((body.tags ?? []).map((t) => t.name))].map((name) => child(name, {})) },
    ];
    const associations: AssociationRow[] = (body.resource_type_associations ?? []).map((a) => association(row.id, a, now));
    await this.store.insertNamespace(row, children, associations);
    return this.detail(row);
  }

  async update(ctx: RequestContext, name: string, body: NamespaceBodyT) {
    const row = await this.writable(ctx, name, 'modify_metadef_namespace');
    if (body.owner !== undefined && body.owner !== row.owner && !this.isAdmin(ctx)) throw new ForbiddenError('Only an admin may give a namespace to another project.');
    const changes: Partial<NamespaceRow> = {
      namespace: body.namespace,
      display_name: body.display_name ?? null,
      description: body.description ?? null,
      ...(body.visibility ? { visibility: body.visibility } : {}),
      ...(body.protected !== undefined ? { protected: body.protected ? 1 : 0 } : {}),
      ...(body.owner ? { owner: body.owner } : {}),
    };
    await this.store.updateNamespace(row.id, changes);
    const updated = (await this.store.namespace(body.namespace))!;
    return this.namespaceView(updated, []);
  }

  async delete(ctx: RequestContext, name: string): Promise<void> {
    const row = await this.writable(ctx, name, 'delete_metadef_namespace');
    this.assertUnprotected(row, 'be deleted');
    await this.store.deleteNamespace(row.id);
  }

  // ---- objects, properties, tags

  async items(ctx: RequestContext, name: string, kind: ChildKind) {
    this.enforce(ctx, `get_metadef_${kind}`);
    const row = await this.visible(ctx, name);
    return { row, items: await this.store.children(kind, row.id) };
  }

  async item(ctx: RequestContext, name: string, kind: ChildKind, itemName: string) {
    this.enforce(ctx, `get_metadef_${KIND_NAMES[kind]}`);
    const row = await this.visible(ctx, name);
    const item = await this.store.child(kind, row.id, itemName);
    if (!item) throw new NotFoundError(`Metadata definition ${KIND_NAMES[kind]} not found: ${itemName} in namespace ${name}.`);
    return { row, item };
  }

  async addItems(ctx: RequestContext, name: string, kind: ChildKind, items: { name: string; body: unknown }[], replaceAll = false) {
    const row = await this.writable(ctx, name, kind === 'tags' && items.length !== 1 ? 'add_metadef_tags' : `add_metadef_${KIND_NAMES[kind]}`);
    const now = new Date().toISOString();
    const rows = items.map((i) => ({ namespace_id: row.id, name: i.name, body: JSON.stringify(i.body), created_at: now, updated_at: now }));
    await this.store.insertChildren(kind, rows, replaceAll);
    return { row, items: rows };
  }

  async updateItem(ctx: RequestContext, name: string, kind: ChildKind, itemName: string, next: { name: string; body: unknown }) {
    const row = await this.writable(ctx, name, `modify_metadef_${KIND_NAMES[kind]}`);
    if (!(await this.store.updateChild(kind, row.id, itemName, { name: next.name, body: JSON.stringify(next.body) }))) {
      throw new NotFoundError(`Metadata definition ${KIND_NAMES[kind]} not found: ${itemName} in namespace ${name}.`);
    }
    return { row, item: (await this.store.child(kind, row.id, next.name))! };
  }

  async deleteItem(ctx: RequestContext, name: string, kind: ChildKind, itemName: string): Promise<void> {
    const row = await this.writable(ctx, name, `delete_metadef_${KIND_NAMES[kind]}`);
    this.assertUnprotected(row, `have its ${kind} deleted`);
    if (!(await this.store.deleteChild(kind, row.id, itemName))) throw new NotFoundError(`Metadata definition ${KIND_NAMES[kind]} not found: ${itemName} in namespace ${name}.`);
  }

  async deleteItems(ctx: RequestContext, name: string, kind: ChildKind): Promise<void> {
    const row = await this.writable(ctx, name, kind === 'tags' ? 'delete_metadef_tags' : `delete_metadef_${KIND_NAMES[kind]}`);
    this.assertUnprotected(row, `have its ${kind} deleted`);
    await this.store.deleteChildren(kind, row.id);
  }

  // ---- resource types

  async resourceTypes(ctx: RequestContext) {
    this.enforce(ctx, 'list_metadef_resource_types');
    return (await this.store.resourceTypes()).map((r) => ({ name: r.name, created_at: time(r.created_at), updated_at: time(r.updated_at) }));
  }

  async associationsOf(ctx: RequestContext, name: string) {
    this.enforce(ctx, 'get_metadef_resource_type');
    const row = await this.visible(ctx, name);
    return (await this.store.associations([row.id])).map(associationView);
  }

  async associate(ctx: RequestContext, name: string, body: AssociationBodyT) {
    const row = await this.writable(ctx, name, 'add_metadef_resource_type_association');
    const a = association(row.id, body, new Date().toISOString());
    await this.store.associate(a);
    return associationView(a);
  }

  async deassociate(ctx: RequestContext, name: string, resourceType: string): Promise<void> {
    const row = await this.writable(ctx, name, 'remove_metadef_resource_type_association');
    this.assertUnprotected(row, 'lose a resource type association');
    if (!(await this.store.deassociate(row.id, resourceType))) throw new NotFoundError(`Namespace ${name} is not associated with resource type ${resourceType}.`);
  }

  // ---- views

  namespaceView(r: NamespaceRow, associations: AssociationRow[]) {
    return defined({
      namespace: r.namespace,
      display_name: r.display_name,
      description: r.description,
      visibility: r.visibility,
      protected: Boolean(r.protected),
      owner: r.owner,
      created_at: time(r.created_at),
      updated_at: time(r.updated_at),
      self: `/v2/metadefs/namespaces/${r.namespace}`,
      schema: '/v2/schemas/metadefs/namespace',
      ...(associations.length ? { resource_type_associations: associations.map(associationView) } : {}),
    });
  }

  /** The namespace with what it holds; with a resource type, property names carry its prefix. */
  private async detail(r: NamespaceRow, resourceType?: string) {
    const [objects, properties, tags, associations] = await Promise.all([
      this.store.children('objects', r.id),
      this.store.children('properties', r.id),
      this.store.children('tags', r.id),
      this.store.associations([r.id]),
    ]);
    const prefix = resourceType ? associations.find((a) => a.resource_type === resourceType)?.prefix ?? '' : '';
    return {
      ...this.namespaceView(r, associations),
      ...(properties.length ? { properties: Object.fromEntries(properties.map((p) => [prefix + p.name, propertyDefinition(p)])) } : {}),
      ...(objects.length ? { objects: objects.map((o) => objectView(r.namespace, o, prefix)) } : {}),
      ...(tags.length ? { tags: tags.map((t) => ({ name: t.name })) } : {}),
    };
  }
}

function association(namespaceId: string, a: AssociationBodyT, now: string): AssociationRow {
  return { namespace_id: namespaceId, resource_type: a.name, prefix: a.prefix ?? null, properties_target: a.properties_target ?? null, created_at: now, updated_at: now };
}

export function associationView(a: AssociationRow) {
  return defined({ name: a.resource_type, prefix: a.prefix, properties_target: a.properties_target, created_at: time(a.created_at), updated_at: time(a.updated_at) });
}

/** What an object keeps besides its name. */
export function objectBody(o: ObjectBodyT) {
  return defined({ description: o.description, required: o.required, properties: o.properties });
}

export function objectView(namespace: string, row: ChildRow, prefix = '') {
  const body = JSON.parse(row.body) as { description?: string; required?: string[]; properties?: Record<string, unknown> };
  return defined({
    name: row.name,
    description: body.description,
    required: body.required?.map((n) => prefix + n),
    properties: body.properties ? Object.fromEntries(Object.entries(body.properties).map(([k, v]) => [prefix + k, v])) : {},
    created_at: time(row.created_at),
    updated_at: time(row.updated_at),
    self: `/v2/metadefs/namespaces/${namespace}/objects/${row.name}`,
    schema: '/v2/schemas/metadefs/object',
  });
}

/** A stored property definition (without its name, which is the key). */
export function propertyDefinition(row: ChildRow): Omit<PropertyDefinitionT, 'name'> {
  return JSON.parse(row.body) as Omit<PropertyDefinitionT, 'name'>;
}

export function propertyView(row: ChildRow) {
  return { name: row.name, ...propertyDefinition(row) };
}

export function tagView(row: ChildRow) {
  return { name: row.name, created_at: time(row.created_at), updated_at: time(row.updated_at) };
}
