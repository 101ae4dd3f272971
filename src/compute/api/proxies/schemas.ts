// What Nova's proxy APIs accept, as Nova's schemas of them say (nova/api/openstack/compute/schemas):
// most keep unknown keys (Nova never refused them on these deprecated APIs); sizes are bounded here.
import { Type, type Static } from '@sinclair/typebox';

const Text = Type.String({ maxLength: 1024 });
const IdParam = Type.String({ minLength: 1, maxLength: 255 });
/** Nova's multi_params(non_negative_integer) as a query string gives it. */
const NonNegative = Type.Integer({ minimum: 0 });
const Positive = Type.Integer({ minimum: 1 });
/** A field Nova never validated: a scalar, bounded. */
const Loose = Type.Union([Type.String({ maxLength: 255 }), Type.Number(), Type.Null()]);

export const ProxyIdParams = Type.Object({ id: IdParam });
export const ServerIdParams = Type.Object({ server_id: IdParam });
export const ImageKeyParams = Type.Object({ image_id: IdParam, key: Type.String({ minLength: 1, maxLength: 255 }) });
export const ImageIdParams = Type.Object({ image_id: IdParam });
export const ProxyQuery = Type.Object({}, { additionalProperties: Text });

export const SecurityGroupListQuery = Type.Object(
  { limit: Type.Optional(NonNegative), offset: Type.Optional(NonNegative), all_tenants: Type.Optional(Text) },
  { additionalProperties: Text },
);

export const SecurityGroupBody = Type.Object(
  { security_group: Type.Object({ name: Type.String({ maxLength: 255 }), description: Type.String({ maxLength: 255 }) }, { additionalProperties: true }) },
  { additionalProperties: true },
);
export type SecurityGroupBody = Static<typeof SecurityGroupBody>;

const UuidOrNull = Type.Union([Type.String({ pattern: '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$' }), Type.Null()]);
export const SecurityGroupRuleBody = Type.Object(
  {
    security_group_rule: Type.Object(
      {
        parent_group_id: Type.String({ pattern: '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$' }),
        group_id: Type.Optional(UuidOrNull),
        ip_protocol: Type.Optional(Loose),
        from_port: Type.Optional(Loose),
        to_port: Type.Optional(Loose),
        cidr: Type.Optional(Loose),
      },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: true },
);
export type SecurityGroupRuleBody = Static<typeof SecurityGroupRuleBody>;

/** POST /os-floating-ips: an optional pool (the body itself may be absent or null). */
export const FloatingIpCreateBody = Type.Union([Type.Object({ pool: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])) }, { additionalProperties: true }), Type.Null()]);
export type FloatingIpCreateBody = Static<typeof FloatingIpCreateBody>;

/** Whatever a removed API is sent: it answers 410 before reading it. */
export const AnyBody = Type.Optional(Type.Unknown());

export const ImageListQuery = Type.Object(
  {
    name: Type.Optional(Text),
    status: Type.Optional(Text),
    'changes-since': Type.Optional(Text),
    server: Type.Optional(Text),
    type: Type.Optional(Text),
    minRam: Type.Optional(NonNegative),
    minDisk: Type.Optional(NonNegative),
    limit: Type.Optional(Positive),
    page_size: Type.Optional(Positive),
    marker: Type.Optional(Text),
    offset: Type.Optional(Positive),
  },
  { additionalProperties: Text },
);
export type ImageListQuery = Static<typeof ImageListQuery>;

/** Image metadata as Nova's schema has it: keys of letters, digits and `-_:. `, string values up to 255. */
const ImageMetadata = Type.Record(Type.String({ pattern: '^[a-zA-Z0-9-_:. ]{1,255}$' }), Type.String({ maxLength: 255 }), { additionalProperties: false });
export const ImageMetadataBody = Type.Object({ metadata: ImageMetadata }, { additionalProperties: false });
export const ImageMetaItemBody = Type.Object(
  { meta: Type.Record(Type.String({ pattern: '^[a-zA-Z0-9-_:. ]{1,255}$' }), Type.String({ maxLength: 255 }), { minProperties: 1, maxProperties: 1, additionalProperties: false }) },
  { additionalProperties: false },
);
