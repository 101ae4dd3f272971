// The metadata definitions catalog's schemas: the JSON schemas Glance publishes under
// /v2/schemas/metadefs/* (glanceclient builds its models from them and checks every body against
// them, so names, required attributes and additionalProperties match Glance's), and the TypeBox
// schemas the routes declare for what they accept.
import { Type, type Static } from '@sinclair/typebox';

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string', null];

const definitions = {
  positiveInteger: { type: 'integer', minimum: 0 },
  positiveIntegerDefault0: { allOf: [{ $ref: '#/definitions/positiveInteger' }, { default: 0 }] },
  stringArray: { type: 'array', items: { type: 'string' }, uniqueItems: true },
  property: {
    type: 'object',
    additionalProperties: {
      type: 'object',
      required: ['title', 'type'],
      properties: {
        name: { type: 'string', maxLength: 80 },
        title: { type: 'string' },
        description: { type: 'string' },
        operators: { type: 'array', items: { type: 'string' } },
        type: { type: 'string', enum: TYPES },
        required: { $ref: '#/definitions/stringArray' },
        minimum: { type: 'number' },
        maximum: { type: 'number' },
        maxLength: { $ref: '#/definitions/positiveInteger' },
        minLength: { $ref: '#/definitions/positiveIntegerDefault0' },
        pattern: { type: 'string', format: 'regex' },
        enum: { type: 'array' },
        readonly: { type: 'boolean' },
        default: {},
        items: { type: 'object', properties: { type: { type: 'string', enum: TYPES }, enum: { type: 'array' } } },
        maxItems: { $ref: '#/definitions/positiveInteger' },
        minItems: { $ref: '#/definitions/positiveIntegerDefault0' },
        uniqueItems: { type: 'boolean', default: false },
        additionalItems: { type: 'boolean' },
      },
    },
  },
};

const timestamps = (what: string) => ({
  created_at: { type: 'string', readOnly: true, description: `Date and time of ${what} creation`, format: 'date-time' },
  updated_at: { type: 'string', readOnly: true, description: `Date and time of the last ${what} modification`, format: 'date-time' },
});
const links = { schema: { readOnly: true, type: 'string' }, self: { readOnly: true, type: 'string' } };

const namespaceProperties = {
  namespace: { type: 'string', description: 'The unique namespace text.', maxLength: 80 },
  display_name: { type: 'string', description: 'The user friendly name for the namespace. Used by UI if available.', maxLength: 80 },
  description: { type: 'string', description: 'Provides a user friendly description of the namespace.', maxLength: 500 },
  visibility: { type: 'string', description: 'Scope of namespace accessibility.', enum: ['public', 'private'] },
  protected: { type: 'boolean', description: 'If true, namespace will not be deletable.' },
  owner: { type: 'string', description: 'Owner of the namespace.', maxLength: 255 },
  ...timestamps('namespace'),
  ...links,
  resource_type_associations: {
    type: 'array',
    items: { type: 'object', properties: { name: { type: 'string' }, prefix: { type: 'string' }, properties_target: { type: 'string' } } },
  },
  properties: { $ref: '#/definitions/property' },
  objects: {
    type: 'array',
    items: {
      type: 'object',
      properties: { name: { type: 'string' }, description: { type: 'string' }, required: { $ref: '#/definitions/stringArray' }, properties: { $ref: '#/definitions/property' } },
    },
  },
  tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
};

const objectProperties = {
  name: { type: 'string', maxLength: 80 },
  description: { type: 'string' },
  required: { $ref: '#/definitions/stringArray' },
  properties: { $ref: '#/definitions/property' },
  ...links,
  ...timestamps('object'),
};

const propertyProperties = definitions.property.additionalProperties.properties;

const tagProperties = { name: { type: 'string', maxLength: 80 }, ...timestamps('tag') };

const associationProperties = {
  name: { type: 'string', description: 'Resource type names should be aligned with Heat resource types whenever possible.', maxLength: 80 },
  prefix: { type: 'string', description: 'The prefix that properties of the namespace take when applied to the resource type (with its separator, e.g. a colon).', maxLength: 80 },
  properties_target: { type: 'string', description: 'Which of the resource type\'s key/value sets the properties apply to, where it has several.', maxLength: 80 },
  ...timestamps('resource type association'),
};

/** Glance's Schema.raw(): no attribute beyond those named. */
function schema(name: string, properties: Record<string, unknown>, required: string[], defs?: Record<string, unknown>) {
  return { name, properties, additionalProperties: false, ...(defs ? { definitions: defs } : {}), ...(required.length ? { required } : {}) };
}

const collectionLinks = [
  { rel: 'first', href: '{first}' },
  { rel: 'next', href: '{next}' },
  { rel: 'describedby', href: '{schema}' },
];

/** Glance's CollectionSchema: the item schema under `name` as an array, its definitions hoisted. */
function collection(name: string, item: { definitions?: unknown }) {
  const { definitions: defs, ...rest } = item;
  return {
    name,
    properties: { [name]: { type: 'array', items: rest }, first: { type: 'string' }, next: { type: 'string' }, schema: { type: 'string' } },
    links: collectionLinks,
    ...(defs ? { definitions: defs } : {}),
  };
}

export const namespaceSchema = schema('namespace', namespaceProperties, ['namespace'], definitions);
export const objectSchema = schema('object', objectProperties, ['name'], definitions);
export const propertySchema = schema('property', propertyProperties, ['type', 'title', 'name'], {
  positiveInteger: definitions.positiveInteger,
  positiveIntegerDefault0: definitions.positiveIntegerDefault0,
  stringArray: { ...definitions.stringArray, minItems: 1 },
});
export const tagSchema = schema('tag', tagProperties, ['name']);
export const associationSchema = schema('resource_type_association', associationProperties, ['name']);

export const metadefSchemas: Record<string, unknown> = {
  namespace: namespaceSchema,
  namespaces: collection('namespaces', namespaceSchema),
  object: objectSchema,
  objects: collection('objects', objectSchema),
  property: propertySchema,
  // Glance's DictCollectionSchema: properties keyed by name, `name` not required inside.
  properties: (() => {
    const { definitions: defs, ...item } = propertySchema;
    return {
      name: 'properties',
      properties: { properties: { type: 'object', additionalProperties: { ...item, required: ['type', 'title'] } }, first: { type: 'string' }, next: { type: 'string' }, schema: { type: 'string' } },
      links: collectionLinks,
      definitions: defs,
    };
  })(),
  tag: tagSchema,
  tags: collection('tags', tagSchema),
  resource_type: associationSchema,
  resource_types: collection('resource_type_associations', associationSchema),
};

// ---- what the routes accept (TypeBox: Fastify validates, the handlers get these types)

/** Timestamps and links a client sends back unchanged from what it read (glanceclient's updates do). */
const ReadBack = {
  created_at: Type.Optional(Type.String({ maxLength: 64 })),
  updated_at: Type.Optional(Type.String({ maxLength: 64 })),
  schema: Type.Optional(Type.String({ maxLength: 300 })),
  self: Type.Optional(Type.String({ maxLength: 300 })),
};

const Name80 = Type.String({ minLength: 1, maxLength: 80 });
const PropertyType = Type.Union([Type.Literal('array'), Type.Literal('boolean'), Type.Literal('integer'), Type.Literal('number'), Type.Literal('object'), Type.Literal('string'), Type.Null()]);

/** One property definition (a JSON-schema fragment, as Glance stores it). */
export const PropertyDefinition = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 80 })),
    title: Type.String({ maxLength: 255 }),
    type: PropertyType,
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    operators: Type.Optional(Type.Array(Type.String({ maxLength: 80 }), { maxItems: 100 })),
    required: Type.Optional(Type.Array(Type.String({ maxLength: 80 }), { maxItems: 1000, uniqueItems: true })),
    minimum: Type.Optional(Type.Number()),
    maximum: Type.Optional(Type.Number()),
    maxLength: Type.Optional(Type.Integer({ minimum: 0 })),
    minLength: Type.Optional(Type.Integer({ minimum: 0 })),
    pattern: Type.Optional(Type.String({ maxLength: 1000 })),
    enum: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 1000 })),
    readonly: Type.Optional(Type.Boolean()),
    default: Type.Optional(Type.Unknown()),
    items: Type.Optional(Type.Object({ type: PropertyType, enum: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 1000 })) }, { additionalProperties: false })),
    maxItems: Type.Optional(Type.Integer({ minimum: 0 })),
    minItems: Type.Optional(Type.Integer({ minimum: 0 })),
    uniqueItems: Type.Optional(Type.Boolean()),
    additionalItems: Type.Optional(Type.Boolean()),
    confidential: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type PropertyDefinitionT = Static<typeof PropertyDefinition>;

const PropertyMap = Type.Record(Type.String({ minLength: 1, maxLength: 80 }), Type.Omit(PropertyDefinition, ['name']), { maxProperties: 1000 });

export const ObjectBody = Type.Object(
  {
    name: Name80,
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    required: Type.Optional(Type.Array(Type.String({ maxLength: 80 }), { maxItems: 1000, uniqueItems: true })),
    properties: Type.Optional(PropertyMap),
    ...ReadBack,
  },
  { additionalProperties: false },
);
export type ObjectBodyT = Static<typeof ObjectBody>;

export const TagBody = Type.Object({ name: Name80 }, { additionalProperties: false });
const NestedTag = Type.Object({ name: Name80, ...ReadBack }, { additionalProperties: false });
export const TagsBody = Type.Object({ tags: Type.Array(TagBody, { maxItems: 1000 }) }, { additionalProperties: false });

export const AssociationBody = Type.Object(
  {
    name: Name80,
    prefix: Type.Optional(Type.String({ maxLength: 80 })),
    properties_target: Type.Optional(Type.String({ maxLength: 80 })),
    ...ReadBack,
  },
  { additionalProperties: false },
);
export type AssociationBodyT = Static<typeof AssociationBody>;

export const NamespaceBody = Type.Object(
  {
    namespace: Name80,
    display_name: Type.Optional(Type.String({ maxLength: 80 })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])),
    protected: Type.Optional(Type.Boolean()),
    owner: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    resource_type_associations: Type.Optional(Type.Array(AssociationBody, { maxItems: 100 })),
    properties: Type.Optional(PropertyMap),
    objects: Type.Optional(Type.Array(ObjectBody, { maxItems: 1000 })),
    tags: Type.Optional(Type.Array(NestedTag, { maxItems: 1000 })),
    ...ReadBack,
  },
  { additionalProperties: false },
);
export type NamespaceBodyT = Static<typeof NamespaceBody>;

export const NamespaceParams = Type.Object({ namespace: Type.String({ minLength: 1, maxLength: 80 }) });
export const ItemParams = Type.Object({ namespace: Type.String({ minLength: 1, maxLength: 80 }), name: Type.String({ minLength: 1, maxLength: 255 }) });
export const NamespaceListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 0 })),
  marker: Type.Optional(Type.String({ maxLength: 80 })),
  sort_key: Type.Optional(Type.Union([Type.Literal('created_at'), Type.Literal('updated_at'), Type.Literal('namespace')])),
  sort_dir: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])),
  resource_types: Type.Optional(Type.String({ maxLength: 2000 })),
});
export type NamespaceListQueryT = Static<typeof NamespaceListQuery>;
export const SchemaParams = Type.Object({ kind: Type.String({ maxLength: 40 }) });
