// Heat v1's request schemas, as TypeBox: what each orchestration route accepts in its path, query
// and body. Wire names stay as Heat spells them. Bodies keep Heat's leniency about keys it does not
// know (heatclient sends some, such as `files_container`), but every key it reads is typed here.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/** A query parameter given once or repeated. */
const OneOrMany = Type.Union([Type.String(), Type.Array(Type.String())]);
/** Heat reads "true"/"false" strings and JSON booleans alike. */
const Bool = Type.Union([Type.Boolean(), Type.String()]);

// ---- path parameters

export const TenantParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 64 }) });
const stackPath = { tenant: Type.String({ minLength: 1, maxLength: 64 }), sname: Type.String({ minLength: 1, maxLength: 255 }), sid: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) };
export const StackParams = Type.Object(stackPath);
export const OutputParams = Type.Object({ ...stackPath, key: Type.String({ minLength: 1, maxLength: 255 }) });
export const ResourceParams = Type.Object({ ...stackPath, res: Type.String({ minLength: 1, maxLength: 255 }) });
export const EventParams = Type.Object({ ...stackPath, res: Type.String({ minLength: 1, maxLength: 255 }), event: Type.String({ minLength: 1, maxLength: 64 }) });
export const TypeParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 64 }), type: Type.String({ minLength: 1, maxLength: 255 }) });
export const VersionParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 64 }), version: Type.String({ minLength: 1, maxLength: 255 }) });
export const HandleParams = Type.Object({ handle: Type.String({ minLength: 1, maxLength: 255 }) });

// ---- queries

export const StackListQuery = Type.Object(
  {
    name: Type.Optional(OneOrMany),
    status: Type.Optional(OneOrMany),
    action: Type.Optional(OneOrMany),
    tags: Type.Optional(OneOrMany),
    tags_any: Type.Optional(OneOrMany),
    not_tags: Type.Optional(OneOrMany),
    not_tags_any: Type.Optional(OneOrMany),
    show_nested: Type.Optional(Type.String()),
    show_deleted: Type.Optional(Type.String()),
    show_hidden: Type.Optional(Type.String()),
    global_tenant: Type.Optional(Type.String()),
    sort_keys: Type.Optional(Type.String({ maxLength: 255 })),
    sort_dir: Type.Optional(Type.String({ maxLength: 8 })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$' })),
    marker: Type.Optional(Type.String({ maxLength: 64 })),
    with_count: Type.Optional(Type.String()),
    tenant: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    owner_id: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type StackListQuery = Static<typeof StackListQuery>;

export const StackShowQuery = Type.Object({ resolve_outputs: Type.Optional(OneOrMany) }, { additionalProperties: true });

export const ResourceListQuery = Type.Object(
  {
    nested_depth: Type.Optional(Type.String({ pattern: '^[0-9]{1,2}$' })),
    with_detail: Type.Optional(Type.String()),
    name: Type.Optional(OneOrMany),
    type: Type.Optional(OneOrMany),
    status: Type.Optional(OneOrMany),
    action: Type.Optional(OneOrMany),
    id: Type.Optional(OneOrMany),
  },
  { additionalProperties: true },
);

export const EventListQuery = Type.Object(
  {
    nested_depth: Type.Optional(Type.String({ pattern: '^[0-9]{1,2}$' })),
    resource_action: Type.Optional(OneOrMany),
    resource_status: Type.Optional(OneOrMany),
    resource_name: Type.Optional(OneOrMany),
    resource_type: Type.Optional(OneOrMany),
    sort_keys: Type.Optional(Type.String()),
    sort_dir: Type.Optional(Type.String({ maxLength: 8 })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$' })),
    marker: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: true },
);

export const ResourceTypesQuery = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 4096 })),
    with_description: Type.Optional(Type.String()),
    support_status: Type.Optional(Type.String()),
    version: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export const TypeTemplateQuery = Type.Object({ template_type: Type.Optional(Type.Union([Type.Literal('hot'), Type.Literal('cfn')])) }, { additionalProperties: true });
export const FunctionsQuery = Type.Object({ with_condition_func: Type.Optional(Type.String()) }, { additionalProperties: true });
export const SignalQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: true });

// ---- bodies

const Template = Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.String()]);
const specFields = {
  template: Type.Optional(Nullable(Template)),
  template_url: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
  template_format: Type.Optional(Type.String({ maxLength: 32 })),
  files: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown()))),
  environment: Type.Optional(Nullable(Template)),
  environment_files: Type.Optional(Nullable(Type.Array(Type.String()))),
  parameters: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown()))),
  timeout_mins: Type.Optional(Nullable(Type.Union([Type.Integer(), Type.String({ pattern: '^-?[0-9]{1,9}$' })]))),
  disable_rollback: Type.Optional(Nullable(Bool)),
  tags: Type.Optional(Nullable(Type.Union([Type.String(), Type.Array(Type.String())]))),
};

export const StackCreateBody = Type.Object({ stack_name: Type.String({ maxLength: 255 }), ...specFields }, { additionalProperties: true });
export type StackCreateBody = Static<typeof StackCreateBody>;
export const StackPreviewBody = Type.Object({ stack_name: Type.Optional(Type.String({ maxLength: 255 })), ...specFields }, { additionalProperties: true });
export const StackUpdateBody = Type.Object({ ...specFields, clear_parameters: Type.Optional(Nullable(Type.Array(Type.String()))), existing: Type.Optional(Bool) }, { additionalProperties: true });
export type StackSpecBody = Static<typeof StackUpdateBody> & { stack_name?: string };
export const ValidateBody = Type.Object({ ...specFields, show_nested: Type.Optional(Bool), ignore_errors: Type.Optional(Type.String()) }, { additionalProperties: true });

const Empty = Nullable(Type.Object({}, { additionalProperties: true }));
export const ActionBody = Type.Object(
  { suspend: Type.Optional(Empty), resume: Type.Optional(Empty), check: Type.Optional(Empty), cancel_update: Type.Optional(Empty), cancel_without_rollback: Type.Optional(Empty) },
  { additionalProperties: false, minProperties: 1, maxProperties: 1 },
);
export type ActionBody = Static<typeof ActionBody>;
export const MarkUnhealthyBody = Type.Object({ mark_unhealthy: Type.Boolean(), resource_status_reason: Type.Optional(Type.String({ maxLength: 255 })) }, { additionalProperties: false });
/** A signal's details: anything a resource type makes sense of (a wait condition's status and data). */
export const SignalBody = Type.Optional(Nullable(Type.Unknown()));

// ---- software configuration API

const Id = Type.String({ minLength: 1, maxLength: 64 });
export const SoftwareConfigParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 64 }), config: Id });
export const SoftwareDeploymentParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 64 }), deployment: Id });
export const SoftwareServerParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 64 }), server: Id });
export const SoftwareConfigListQuery = Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$' })), marker: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: true });
export const SoftwareDeploymentListQuery = Type.Object({ server_id: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: true });
const IoList = Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 64 });
export const SoftwareConfigBody = Type.Object(
  {
    name: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
    group: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
    config: Type.Optional(Nullable(Type.String())),
    inputs: Type.Optional(Nullable(IoList)),
    outputs: Type.Optional(Nullable(IoList)),
    options: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown()))),
  },
  { additionalProperties: false },
);
const deploymentFields = {
  config_id: Type.Optional(Id),
  action: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  status: Type.Optional(Nullable(Type.Union([Type.Literal('IN_PROGRESS'), Type.Literal('COMPLETE'), Type.Literal('FAILED')]))),
  status_reason: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
  input_values: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown()))),
  output_values: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown()))),
};
export const SoftwareDeploymentCreateBody = Type.Object(
  { ...deploymentFields, config_id: Id, server_id: Id, stack_user_project_id: Type.Optional(Nullable(Type.String({ maxLength: 64 }))) },
  { additionalProperties: false },
);
export const SoftwareDeploymentUpdateBody = Type.Object(deploymentFields, { additionalProperties: false });
