// How compute's routes check their input against their TypeBox schemas: bodies as Nova does
// (no type coercion, unknown keys refused rather than dropped), query strings and path parameters
// with strings coerced to the declared types; a violation is a 400 in Nova's words
// ("Invalid input for field/attribute <field>. Value: <value>. <why>").
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema, Static } from '@sinclair/typebox';
import type { FastifySchemaCompiler } from 'fastify';
import { BadRequestError } from '../platform/errors.ts';
import { IPV4_PATTERN, UUID_PATTERN } from './schemas.ts';

const bodies = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: false, verbose: true });
const strings = new Ajv({ allErrors: false, coerceTypes: 'array', removeAdditional: false, useDefaults: true, strict: false, verbose: true });

/** The field an error is about, as Nova names it (the last path segment, or the missing or unexpected key). */
function fieldOf(e: ErrorObject, part: string): string {
  const segments = e.instancePath.split('/').filter((x) => x && !/^[0-9]+$/.test(x));
  const last = segments[segments.length - 1]?.replace(/~1/g, '/').replace(/~0/g, '~');
  if (e.keyword === 'required') return String((e.params as { missingProperty: string }).missingProperty);
  return last ?? part;
}

function describe(value: unknown): string {
  if (value === undefined) return 'None';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function why(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return `'${(e.params as { missingProperty: string }).missingProperty}' is a required property`;
    case 'additionalProperties':
      return `Additional properties are not allowed ('${(e.params as { additionalProperty: string }).additionalProperty}' was unexpected)`;
    case 'enum':
      return `${describe(e.data)} is not one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
    case 'pattern':
      // Nova checks ids with its 'uuid' format: its words name the format, not a pattern.
      if ((e.params as { pattern: string }).pattern === UUID_PATTERN) return `'${describe(e.data)}' is not a 'uuid'`;
      if ((e.params as { pattern: string }).pattern === IPV4_PATTERN) return `'${describe(e.data)}' is not a 'ipv4'`;
      return `${describe(e.data)} ${e.message ?? 'is invalid'}`;
    case 'minProperties':
    case 'maxProperties':
      return e.message ?? 'wrong number of properties';
    default:
      return `${describe(e.data)} ${e.message ?? 'is invalid'}`;
  }
}

/** The error to show of those Ajv reports: a choice among constants is named as Nova names it. */
export function novaErrorOf(errors: ErrorObject[], part: string): BadRequestError {
  const last = errors[errors.length - 1]!;
  if (last.keyword === 'anyOf') {
    const branches = errors.filter((e) => e.instancePath === last.instancePath && e !== last);
    if (branches.length > 0 && branches.every((e) => e.keyword === 'const')) {
      const allowed = branches.map((e) => (e.params as { allowedValue: unknown }).allowedValue);
      return new BadRequestError(`Invalid input for field/attribute ${fieldOf(last, part)}. Value: ${describe(last.data)}. ${describe(last.data)} is not one of ${JSON.stringify(allowed)}`);
    }
  }
  return novaValidationError(errors[0]!, part);
}

export function novaValidationError(e: ErrorObject, part: string): BadRequestError {
  const field = fieldOf(e, part);
  const value = e.keyword === 'required' ? undefined : e.data;
  return new BadRequestError(`Invalid input for field/attribute ${field}. Value: ${describe(value)}. ${why(e)}`);
}

/** Fastify's validator compiler for compute's scope. */
export const novaValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodies : strings;
  const check: ValidateFunction = ajv.compile(schema as object);
  const part = httpPart ?? 'body';
  return (data: unknown) => {
    if (check(data)) return { value: data };
    return { error: novaErrorOf(check.errors!, part) };
  };
};

const compiled = new WeakMap<object, ValidateFunction>();

/** Checks a body that did not come through HTTP (compute's client) against the same schema, with the same errors. */
export function checkedBody<T extends TSchema>(schema: T, value: unknown): Static<T> {
  let check = compiled.get(schema);
  if (!check) compiled.set(schema, (check = bodies.compile(schema)));
  if (!check(value)) throw novaErrorOf(check.errors!, 'body');
  return value as Static<T>;
}
