// The pieces Keystone's request schemas are made of (keystone/common/validation/parameter_types),
// shared by the identity routes; each route module declares its own bodies from these.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Ids hafen makes are 32 hex digits; regions and ids given by users may be other strings. */
export const Id = Type.String({ minLength: 1, maxLength: 64 });
/** A name: 1 to 255 characters, not only blanks. */
export const Name = (maxLength = 255) => Type.String({ minLength: 1, maxLength, pattern: '\\S' });
export const Description = Type.String({ maxLength: 65535 });
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/** A project or domain tag: no '/' or ','; at most 80 on one project. */
export const Tag = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^,/]*$' });
export const Tags = Type.Array(Tag, { maxItems: 80 });

export const IdParams = Type.Object({ id: Id });

/** Keystone's boolean query values: true, 1, yes (any case) are true; anything else is false. */
export function queryTrue(v: string | undefined): boolean {
  return v !== undefined && ['true', '1', 'yes', ''].includes(v.toLowerCase());
}

// ---- projects and domains

const ProjectFields = {
  domain_id: Type.Optional(Nullable(Id)),
  parent_id: Type.Optional(Nullable(Id)),
  description: Type.Optional(Nullable(Description)),
  enabled: Type.Optional(Type.Boolean()),
  is_domain: Type.Optional(Type.Boolean()),
  tags: Type.Optional(Tags),
  options: Type.Optional(Type.Object({})),
};
export const ProjectCreate = Type.Object({ name: Name(64), ...ProjectFields });
export const ProjectUpdate = Type.Object({ name: Type.Optional(Name(64)), ...ProjectFields });
export type ProjectCreate = Static<typeof ProjectCreate>;
export type ProjectUpdate = Static<typeof ProjectUpdate>;

const DomainFields = {
  description: Type.Optional(Nullable(Description)),
  enabled: Type.Optional(Type.Boolean()),
  tags: Type.Optional(Tags),
  options: Type.Optional(Type.Object({})),
};
export const DomainCreate = Type.Object({ name: Name(64), ...DomainFields });
export const DomainUpdate = Type.Object({ name: Type.Optional(Name(64)), ...DomainFields });
export type DomainCreate = Static<typeof DomainCreate>;
export type DomainUpdate = Static<typeof DomainUpdate>;

// ---- users

const OptionFlag = Type.Optional(Nullable(Type.Boolean()));
export const UserOptionsSchema = Type.Object(
  {
    ignore_change_password_upon_first_use: OptionFlag,
    ignore_password_expiry: OptionFlag,
    ignore_lockout_failure_attempts: OptionFlag,
    ignore_user_inactivity: OptionFlag,
    lock_password: OptionFlag,
    multi_factor_auth_enabled: OptionFlag,
    multi_factor_auth_rules: Type.Optional(
      Nullable(Type.Array(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 10 }), { maxItems: 20 })),
    ),
  },
  { additionalProperties: false },
);
const Password = Type.String({ maxLength: 4096 });
const UserFields = {
  domain_id: Type.Optional(Id),
  default_project_id: Type.Optional(Nullable(Id)),
  enabled: Type.Optional(Type.Boolean()),
  password: Type.Optional(Nullable(Password)),
  description: Type.Optional(Nullable(Description)),
  email: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  options: Type.Optional(UserOptionsSchema),
};
/** Users keep any other attribute they are given (Keystone's `extra`). */
export const UserCreate = Type.Object({ name: Name(255), ...UserFields }, { additionalProperties: true, maxProperties: 64 });
export const UserUpdate = Type.Object({ name: Type.Optional(Name(255)), ...UserFields }, { additionalProperties: true, maxProperties: 64 });
export type UserCreate = Static<typeof UserCreate> & Record<string, unknown>;
export type UserUpdate = Static<typeof UserUpdate> & Record<string, unknown>;
export const PasswordChange = Type.Object({ user: Type.Object({ original_password: Password, password: Type.String({ minLength: 1, maxLength: 4096 }) }) });
export type PasswordChange = Static<typeof PasswordChange>['user'];

// ---- application credentials and their access rules

/** Keystone's access rule: a service type, an HTTP method and a path pattern (`*`, `**`, `{name}`). */
export const AccessRuleInput = Type.Object(
  {
    id: Type.Optional(Id),
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9_-]+$' })),
    method: Type.Optional(Type.Union(['POST', 'GET', 'HEAD', 'PATCH', 'PUT', 'DELETE'].map((m) => Type.Literal(m)))),
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 225, pattern: '^/' })),
  },
  { additionalProperties: false },
);
export type AccessRuleInput = Static<typeof AccessRuleInput>;
const RoleRef = Type.Object({ id: Type.Optional(Id), name: Type.Optional(Name(255)) });
export const AppCredentialCreate = Type.Object({
  application_credential: Type.Object({
    name: Name(255),
    description: Type.Optional(Nullable(Description)),
    secret: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 4096 }))),
    expires_at: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    roles: Type.Optional(Type.Array(RoleRef, { maxItems: 100 })),
    unrestricted: Type.Optional(Nullable(Type.Boolean())),
    access_rules: Type.Optional(Nullable(Type.Array(AccessRuleInput, { maxItems: 100 }))),
  }),
});
export type AppCredentialCreate = Static<typeof AppCredentialCreate>['application_credential'];
export const AccessRuleQuery = Type.Object({
  service: Type.Optional(Type.String({ maxLength: 64 })),
  method: Type.Optional(Type.String({ maxLength: 16 })),
  path: Type.Optional(Type.String({ maxLength: 225 })),
});
