// The JSON schemas Glance publishes at /v2/schemas/*, which glanceclient reads to validate and
// to tell core attributes from additional properties; and the TypeBox schemas the routes declare.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
const imageProperties = {
  id: { type: 'string', description: 'An identifier for the image', pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$' },
  name: { type: ['null', 'string'], maxLength: 255, description: 'Descriptive name for the image' },
  status: { type: 'string', readOnly: true, enum: ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'] },
  visibility: { type: 'string', enum: ['community', 'public', 'private', 'shared'] },
  protected: { type: 'boolean' },
  os_hidden: { type: 'boolean' },
  checksum: { type: ['null', 'string'], readOnly: true, maxLength: 32 },
  os_hash_algo: { type: ['null', 'string'], readOnly: true, maxLength: 64 },
  os_hash_value: { type: ['null', 'string'], readOnly: true, maxLength: 128 },
  owner: { type: ['null', 'string'], maxLength: 255 },
  size: { type: ['null', 'integer'], readOnly: true },
  virtual_size: { type: ['null', 'integer'], readOnly: true },
  container_format: { type: ['null', 'string'], enum: [null, 'ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'] },
  disk_format: { type: ['null', 'string'], enum: [null, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'] },
  created_at: { type: 'string', readOnly: true },
  updated_at: { type: 'string', readOnly: true },
  tags: { type: 'array', items: { type: 'string', maxLength: 255 } },
  min_ram: { type: 'integer' },
  min_disk: { type: 'integer' },
  self: { type: 'string', readOnly: true },
  file: { type: 'string', readOnly: true },
  schema: { type: 'string', readOnly: true },
  locations: { type: 'array', items: { type: 'object' } },
  direct_url: { type: 'string', readOnly: true },
};

export const imageSchema = {
  name: 'image',
  properties: imageProperties,
  additionalProperties: { type: 'string' },
  links: [
    { rel: 'self', href: '{self}' },
    { rel: 'enclosure', href: '{file}' },
    { rel: 'describedby', href: '{schema}' },
  ],
};

export const imagesSchema = {
  name: 'images',
  properties: {
    images: { type: 'array', items: imageSchema },
    schema: { type: 'string' },
    first: { type: 'string' },
    next: { type: 'string' },
  },
  links: [
    { rel: 'first', href: '{first}' },
    { rel: 'next', href: '{next}' },
    { rel: 'describedby', href: '{schema}' },
  ],
};

export const memberSchema = {
  name: 'member',
  properties: {
    image_id: { type: 'string' },
    member_id: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'accepted', 'rejected'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    schema: { type: 'string', readOnly: true },
  },
};

export const membersSchema = {
  name: 'members',
  properties: { members: { type: 'array', items: memberSchema }, schema: { type: 'string' } },
  links: [{ rel: 'describedby', href: '{schema}' }],
};

// ---- what the image routes accept (TypeBox: Fastify validates each route; the service checks
// bodies from other callers, orchestration's, against the same schemas)

export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'] as const;
export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'] as const;
export const VISIBILITIES = ['private', 'shared', 'community', 'public'] as const;
/** Attributes the API owns: named in a create or patch, they are refused with 403 (as Glance does), whatever their value. */
export const READ_ONLY = ['id', 'status', 'owner', 'size', 'virtual_size', 'checksum', 'os_hash_algo', 'os_hash_value', 'created_at', 'updated_at', 'self', 'file', 'schema', 'locations', 'direct_url', 'docker_image_id'] as const;
/** Glance's image_property_quota default: properties per image. */
const MAX_PROPERTIES = 128;

const literals = <T extends readonly string[]>(values: T) => Type.Union(values.map((v) => Type.Literal(v)));
const nullable = <T extends TSchema>(t: T) => Type.Union([Type.Null(), t]);

/** The attributes a user sets, as they are typed. */
const writable = {
  name: Type.Optional(nullable(Type.String({ maxLength: 255 }))),
  container_format: Type.Optional(nullable(literals(CONTAINER_FORMATS))),
  disk_format: Type.Optional(nullable(literals(DISK_FORMATS))),
  visibility: Type.Optional(literals(VISIBILITIES)),
  protected: Type.Optional(Type.Boolean()),
  os_hidden: Type.Optional(Type.Boolean()),
  min_ram: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
  min_disk: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: MAX_PROPERTIES })),
};
const readOnly = Object.fromEntries(READ_ONLY.filter((k) => k !== 'id' && k !== 'owner').map((k) => [k, Type.Optional(Type.Unknown())]));
/** Additional properties are strings (Glance's image schema). */
const PropertyValue = Type.String({ maxLength: 65_535 });

export const ImageCreateBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' })),
    owner: Type.Optional(nullable(Type.String({ minLength: 1, maxLength: 255 }))),
    ...writable,
    ...readOnly,
  },
  { additionalProperties: PropertyValue, maxProperties: MAX_PROPERTIES + 32 },
);
export type ImageCreateBodyT = Static<typeof ImageCreateBody>;

/** An image's user attributes after a patch: what the patch result must satisfy (null removes a property). */
export const ImageChanges = Type.Object({ ...writable }, { additionalProperties: nullable(PropertyValue), maxProperties: MAX_PROPERTIES + 32 });

/** A JSON-patch body: 2.1 operations ({op, path, value}) or 2.0 ones ({replace: path, value}); read per media type. */
export const PatchBody = Type.Array(Type.Record(Type.String({ maxLength: 300 }), Type.Unknown()), { maxItems: 256 });
export const PatchOperation = Type.Object(
  { op: literals(['add', 'replace', 'remove'] as const), path: Type.String({ minLength: 1, maxLength: 300 }), value: Type.Optional(Type.Unknown()) },
  { additionalProperties: false },
);
export type PatchOperationT = Static<typeof PatchOperation>;

export const ImageParams = Type.Object({ id: Type.String({ maxLength: 255 }) });
export const TagParams = Type.Object({ id: Type.String({ maxLength: 255 }), tag: Type.String({ minLength: 1, maxLength: 255 }) });
export const MemberParams = Type.Object({ id: Type.String({ maxLength: 255 }), member: Type.String({ minLength: 1, maxLength: 255 }) });
export const TaskParams = Type.Object({ id: Type.String({ maxLength: 255 }) });

const inList = (values: readonly string[]) => Type.String({ maxLength: 2000, pattern: `^(in:)?(${values.join('|')})(,(${values.join('|')}))*$` });
export const ImageListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 0 })),
  marker: Type.Optional(Type.String({ maxLength: 255 })),
  sort: Type.Optional(Type.String({ maxLength: 300 })),
  sort_key: Type.Optional(Type.String({ maxLength: 300 })),
  sort_dir: Type.Optional(Type.String({ maxLength: 100 })),
  name: Type.Optional(Type.String({ maxLength: 2000 })),
  id: Type.Optional(Type.String({ maxLength: 2000 })),
  owner: Type.Optional(Type.String({ maxLength: 2000 })),
  status: Type.Optional(Type.String({ maxLength: 2000 })),
  visibility: Type.Optional(literals([...VISIBILITIES, 'all'] as const)),
  member_status: Type.Optional(literals(['pending', 'accepted', 'rejected', 'all'] as const)),
  container_format: Type.Optional(inList(CONTAINER_FORMATS)),
  disk_format: Type.Optional(inList(DISK_FORMATS)),
  tag: Type.Optional(Type.String({ maxLength: 255 })),
  // Booleans as Python clients spell them too (True, false, 1, yes): read as oslo's bool_from_string.
  protected: Type.Optional(Type.String({ maxLength: 8 })),
  os_hidden: Type.Optional(Type.String({ maxLength: 8 })),
  size_min: Type.Optional(Type.Integer({ minimum: 0 })),
  size_max: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type ImageListQueryT = Static<typeof ImageListQuery>;

export const MemberCreateBody = Type.Object({ member: Type.String({ minLength: 1, maxLength: 255 }) });
export const MemberUpdateBody = Type.Object({ status: literals(['pending', 'accepted', 'rejected'] as const) });

export const ImportBody = Type.Object({
  method: Type.Object({ name: Type.String({ maxLength: 64 }), uri: Type.Optional(Type.String({ maxLength: 4096 })) }),
  stores: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 16 })),
  all_stores: Type.Optional(Type.Boolean()),
  all_stores_must_succeed: Type.Optional(Type.Boolean()),
});
export type ImportBodyT = Static<typeof ImportBody>;
/** A query boolean as oslo reads it: 1, t, true, on, y, yes (any case) are true, anything else false. */
export function queryBoolean(raw: string | undefined): boolean | undefined {
  return raw === undefined ? undefined : ['1', 't', 'true', 'on', 'y', 'yes'].includes(raw.trim().toLowerCase());
}
/** Data routes take the raw stream; nothing to parse. */
export const DataBody = Type.Optional(Type.Unknown());
