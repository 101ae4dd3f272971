// Zun's request schemas (zun/api/controllers/v1/schemas) as TypeBox, one per route part. A body's
// schema is the widest its microversions allow; what a version adds or changes (command as a list
// from 1.20, host from 1.39, entrypoint from 1.40) is checked by containers.ts with the version.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** Zun's `boolean`: a JSON boolean or its spellings. */
export const ZunBoolean = Type.Union([Type.Boolean(), Type.Union(['True', 'true', 'False', 'false'].map((v) => Type.Literal(v)))]);
/** Zun's `boolean_extended` (query values): the spellings oslo's strutils takes. */
export const BOOL_TRUE = ['True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes'];
export const BOOL_FALSE = ['False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'];
export const QueryBoolean = Type.Union([...BOOL_TRUE, ...BOOL_FALSE].map((v) => Type.Literal(v)));

const NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$';
export const ContainerName = Type.String({ minLength: 2, maxLength: 255, pattern: NAME_PATTERN });
const ImageName = Type.String({ minLength: 2, maxLength: 255, pattern: '[a-zA-Z0-9][a-zA-Z0-9_.-]' });
const Cpu = Type.Union([Type.Number(), Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9]*(\\.([0-9]+))?$' }), Type.Null()]);
const Size = Type.Union([Type.Integer(), Type.String({ maxLength: 32, pattern: '^[0-9]+$' }), Type.Null()]);
const Strings = (max: number) => Type.Array(Type.String({ maxLength: 4096 }), { maxItems: max });
const StringMap = Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ maxLength: 4096 }), { maxProperties: 256 });

export const RestartPolicy = Type.Object(
  {
    Name: Type.Union(['no', 'always', 'on-failure', 'unless-stopped'].map((v) => Type.Literal(v))),
    MaximumRetryCount: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ maxLength: 10, pattern: '^[0-9]+$' }), Type.Null()])),
  },
  { additionalProperties: false },
);

export const Net = Type.Object(
  {
    network: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    'v4-fixed-ip': Type.Optional(Type.String({ format: 'ipv4' })),
    'v6-fixed-ip': Type.Optional(Type.String({ maxLength: 64 })),
    port: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);
export type NetT = Static<typeof Net>;

export const Mount = Type.Object(
  {
    type: Type.Optional(Type.String({ maxLength: 16 })),
    source: Type.Optional(Type.String({ maxLength: 1 << 20 })),
    destination: Type.Optional(Type.String({ maxLength: 4096 })),
    size: Type.Optional(Type.Union([Type.String({ maxLength: 16 }), Type.Integer()])),
  },
  { additionalProperties: false },
);

export const Healthcheck = Type.Object(
  {
    cmd: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    interval: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
    retries: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
    timeout: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
  },
  { additionalProperties: false },
);

/** POST /v1/containers at 1.40 (and earlier, where the version check refuses what came later). */
export const ContainerCreate = Type.Object(
  {
    name: Type.Optional(Nullable(ContainerName)),
    image: ImageName,
    command: Type.Optional(Type.Union([Type.String({ maxLength: 65536 }), Strings(1024), Type.Null()])),
    cpu: Type.Optional(Cpu),
    cpu_policy: Type.Optional(Type.Union([Type.Literal('dedicated'), Type.Literal('shared')])),
    memory: Type.Optional(Size),
    workdir: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
    auto_remove: Type.Optional(Nullable(Type.Boolean())),
    image_pull_policy: Type.Optional(Nullable(Type.Union(['never', 'always', 'ifnotpresent', 'Never', 'Always', 'IfNotPresent'].map((v) => Type.Literal(v))))),
    labels: Type.Optional(Nullable(StringMap)),
    environment: Type.Optional(Nullable(StringMap)),
    restart_policy: Type.Optional(Nullable(RestartPolicy)),
    interactive: Type.Optional(ZunBoolean),
    tty: Type.Optional(ZunBoolean),
    image_driver: Type.Optional(Nullable(Type.Union([Type.Literal('glance'), Type.Literal('docker'), Type.Literal('None')]))),
    security_groups: Type.Optional(Nullable(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 16 }))),
    hints: Type.Optional(Nullable(Type.Record(Type.String({ maxLength: 255 }), Type.Unknown(), { maxProperties: 16 }))),
    mounts: Type.Optional(Nullable(Type.Array(Mount, { maxItems: 32 }))),
    nets: Type.Optional(Nullable(Type.Array(Net, { maxItems: 8 }))),
    runtime: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    hostname: Type.Optional(Nullable(Type.String({ minLength: 2, maxLength: 63 }))),
    disk: Type.Optional(Size),
    availability_zone: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255 }))),
    auto_heal: Type.Optional(ZunBoolean),
    privileged: Type.Optional(ZunBoolean),
    healthcheck: Type.Optional(Nullable(Healthcheck)),
    exposed_ports: Type.Optional(Nullable(Type.Record(Type.String({ maxLength: 16 }), Type.Unknown(), { maxProperties: 64 }))),
    registry: Type.Optional(Type.String({ minLength: 2, maxLength: 255, pattern: NAME_PATTERN })),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' })),
    entrypoint: Type.Optional(Nullable(Strings(256))),
  },
  { additionalProperties: false },
);
export type ContainerCreateT = Static<typeof ContainerCreate>;

export const ContainerUpdate = Type.Object(
  {
    cpu: Type.Optional(Cpu),
    memory: Type.Optional(Size),
    name: Type.Optional(Nullable(ContainerName)),
    auto_heal: Type.Optional(ZunBoolean),
  },
  { additionalProperties: false },
);
export type ContainerUpdateT = Static<typeof ContainerUpdate>;

export const IdentParams = Type.Object({ ident: Type.String({ minLength: 1, maxLength: 255 }) });
export const ActionParams = Type.Object({ ident: Type.String({ minLength: 1, maxLength: 255 }), request_id: Type.String({ minLength: 1, maxLength: 255 }) });

export const CreateQuery = Type.Object({ run: Type.Optional(QueryBoolean) }, { additionalProperties: false });
export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ maxLength: 20 })),
    marker: Type.Optional(Type.String({ maxLength: 255 })),
    sort_key: Type.Optional(Type.String({ maxLength: 64 })),
    sort_dir: Type.Optional(Type.String({ maxLength: 8 })),
    all_projects: Type.Optional(QueryBoolean),
    name: Type.Optional(Type.String({ maxLength: 255 })),
    image: Type.Optional(Type.String({ maxLength: 255 })),
    project_id: Type.Optional(Type.String({ maxLength: 64 })),
    user_id: Type.Optional(Type.String({ maxLength: 64 })),
    memory: Type.Optional(Type.String({ maxLength: 32 })),
    host: Type.Optional(Type.String({ maxLength: 255 })),
    task_state: Type.Optional(Type.String({ maxLength: 64 })),
    status: Type.Optional(Type.String({ maxLength: 32 })),
    auto_remove: Type.Optional(Type.String({ maxLength: 8 })),
  },
  { additionalProperties: false },
);
export type ListQueryT = Static<typeof ListQuery>;
export const ShowQuery = Type.Object({ all_projects: Type.Optional(QueryBoolean) }, { additionalProperties: false });
export const DeleteQuery = Type.Object({ force: Type.Optional(QueryBoolean), all_projects: Type.Optional(QueryBoolean), stop: Type.Optional(QueryBoolean) }, { additionalProperties: false });
const Timeout = Type.String({ maxLength: 10, pattern: '^[0-9]*$' });
export const TimeoutQuery = Type.Object({ timeout: Type.Optional(Timeout), all_projects: Type.Optional(QueryBoolean) }, { additionalProperties: false });
export const AnyActionQuery = Type.Object({ all_projects: Type.Optional(QueryBoolean) }, { additionalProperties: false });
export const RebuildQuery = Type.Object({ image: Type.Optional(ImageName), image_driver: Type.Optional(Type.Union([Type.Literal('glance'), Type.Literal('docker')])), all_projects: Type.Optional(QueryBoolean) }, { additionalProperties: false });
/** Signals by name (SIGKILL, KILL, kill, sigkill) or number; `None` (what the client sends without one) is SIGKILL. */
export const KillQuery = Type.Object({ signal: Type.Optional(Type.String({ maxLength: 16, pattern: '^(None|[A-Za-z0-9+]+)$' })) }, { additionalProperties: false });
export const LogsQuery = Type.Object(
  {
    stdout: Type.Optional(QueryBoolean),
    stderr: Type.Optional(QueryBoolean),
    timestamps: Type.Optional(QueryBoolean),
    tail: Type.Optional(Type.String({ maxLength: 16 })),
    since: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type LogsQueryT = Static<typeof LogsQuery>;
export const ExecuteQuery = Type.Object(
  {
    command: Type.String({ minLength: 1, maxLength: 65536 }),
    run: Type.Optional(Type.Union(['True', 'true', 'False', 'false'].map((v) => Type.Literal(v)))),
    interactive: Type.Optional(Type.Union(['True', 'true', 'False', 'false'].map((v) => Type.Literal(v)))),
  },
  { additionalProperties: false },
);
const Dim = Type.String({ maxLength: 6, pattern: '^[0-9]*$' });
export const ResizeQuery = Type.Object({ h: Type.Optional(Dim), w: Type.Optional(Dim) }, { additionalProperties: false });
export const ExecResizeQuery = Type.Object({ exec_id: Type.String({ minLength: 64, maxLength: 64, pattern: '^[a-f0-9]*$' }), h: Type.Optional(Dim), w: Type.Optional(Dim) }, { additionalProperties: false });
export const TopQuery = Type.Object({ ps_args: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false });
export const ArchivePath = Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false });
/** put_archive's body: the tar archive, base64 from 1.25 (raw text before). */
export const ArchiveBody = Type.Object({ data: Type.String() }, { additionalProperties: false });
export const CommitQuery = Type.Object(
  { repository: Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9][a-zA-Z0-9_./-]*$' }), tag: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' })) },
  { additionalProperties: false },
);
export const SecurityGroupQuery = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });
export const NetworkDetachQuery = Type.Object({ network: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), port: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }, { additionalProperties: false });
export const NetworkAttachQuery = Type.Object(
  { network: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), port: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), fixed_ip: Type.Optional(Type.String({ format: 'ipv4' })) },
  { additionalProperties: false },
);
export const RenameQuery = Type.Object({ name: ContainerName }, { additionalProperties: false });

// ---- capsules (zun/api/controllers/v1/schemas/capsules.py and parameter_types' capsule_template)

const CapsuleResources = Type.Object(
  {
    cpu: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1024 })),
    memory: Type.Optional(Type.Integer({ minimum: 4, maximum: 1 << 20 })),
  },
  { additionalProperties: false },
);

export const CapsuleContainer = Type.Object(
  {
    name: Type.Optional(ContainerName),
    image: ImageName,
    command: Type.Optional(Nullable(Strings(256))),
    args: Type.Optional(Nullable(Strings(256))),
    resources: Type.Optional(Nullable(Type.Object({ requests: Type.Optional(Nullable(CapsuleResources)), limits: Type.Optional(Nullable(CapsuleResources)) }, { additionalProperties: false }))),
    ports: Type.Optional(Nullable(Type.Array(
      Type.Object(
        {
          name: Type.Optional(Type.String({ maxLength: 255 })),
          containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
          hostPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
          protocol: Type.Optional(Type.Union(['TCP', 'UDP', 'tcp', 'udp'].map((v) => Type.Literal(v)))),
        },
        { additionalProperties: false },
      ),
      { maxItems: 64 },
    ))),
    volumeMounts: Type.Optional(Nullable(Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }), mountPath: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }), { maxItems: 32 }))),
    env: Type.Optional(Nullable(StringMap)),
    workDir: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255 }))),
    imagePullPolicy: Type.Optional(Nullable(Type.Union(['Always', 'IfNotPresent', 'Never', 'always', 'ifnotpresent', 'never'].map((v) => Type.Literal(v))))),
    stdin: Type.Optional(ZunBoolean),
    tty: Type.Optional(ZunBoolean),
  },
  { additionalProperties: false },
);
export type CapsuleContainerT = Static<typeof CapsuleContainer>;

export const CapsuleRestartPolicy = Type.Union(['Always', 'OnFailure', 'Never'].map((v) => Type.Literal(v)));

export const CapsuleVolume = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$' }),
    emptyDir: Type.Optional(Nullable(Type.Object({ medium: Type.Optional(Nullable(Type.String({ maxLength: 16 }))), sizeLimit: Type.Optional(Nullable(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ maxLength: 32 })]))) }, { additionalProperties: false }))),
    cinder: Type.Optional(Nullable(Type.Object({}, { additionalProperties: true }))),
  },
  { additionalProperties: false },
);

export const CapsuleTemplate = Type.Object(
  {
    kind: Type.String({ maxLength: 32 }),
    capsuleVersion: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
    metadata: Type.Object(
      {
        name: Type.Optional(Nullable(ContainerName)),
        labels: Type.Optional(Nullable(StringMap)),
        annotations: Type.Optional(Nullable(StringMap)),
      },
      { additionalProperties: false },
    ),
    // Deprecated in Zun (spec.restartPolicy replaces it), still accepted.
    restartPolicy: Type.Optional(CapsuleRestartPolicy),
    spec: Type.Object(
      {
        containers: Type.Array(CapsuleContainer, { minItems: 1, maxItems: 16 }),
        initContainers: Type.Optional(Type.Unknown()),
        volumes: Type.Optional(Nullable(Type.Array(CapsuleVolume, { maxItems: 16 }))),
        restartPolicy: Type.Optional(CapsuleRestartPolicy),
      },
      { additionalProperties: true },
    ),
    availabilityZone: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255 }))),
    architecture: Type.Optional(Nullable(Type.String({ maxLength: 16 }))),
    nets: Type.Optional(Nullable(Type.Array(Net, { maxItems: 1 }))),
  },
  { additionalProperties: false },
);
export type CapsuleTemplateT = Static<typeof CapsuleTemplate>;

/** POST /v1/capsules: the template as an object, or as a JSON string (Zun parses it). */
export const CapsuleCreate = Type.Object(
  { template: Type.Union([Type.String({ minLength: 1, maxLength: 1 << 20 }), Type.Object({}, { additionalProperties: true })]) },
  { additionalProperties: false },
);
export type CapsuleCreateT = Static<typeof CapsuleCreate>;

export const CapsuleListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ maxLength: 10 })),
    marker: Type.Optional(Type.String({ maxLength: 64 })),
    sort_key: Type.Optional(Type.String({ maxLength: 32 })),
    sort_dir: Type.Optional(Type.String({ maxLength: 8 })),
    all_projects: Type.Optional(QueryBoolean),
  },
  { additionalProperties: false },
);
export type CapsuleListQueryT = Static<typeof CapsuleListQuery>;
export const CapsuleDeleteQuery = Type.Object({ all_projects: Type.Optional(QueryBoolean) }, { additionalProperties: false });
