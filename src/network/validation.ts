// The network routes' schema checks: TypeBox's compiler instead of Fastify's default (which would
// silently drop unknown attributes), failures answered as Neutron words them, in its envelope.
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { FastifySchemaCompiler } from 'fastify';
import { NeutronBadRequest } from './errors.ts';

function failure(httpPart: string | undefined, path: string, type: ValueErrorType, message: string, value: unknown): Error {
  const segments = path.split('/').filter(Boolean);
  const field = segments[segments.length - 1] ?? httpPart ?? 'body';
  if (httpPart !== 'body') return new NeutronBadRequest('HTTPBadRequest', `Invalid ${httpPart ?? 'input'} parameter ${field}: ${message}.`);
  if (type === ValueErrorType.ObjectAdditionalProperties) return new NeutronBadRequest('HTTPBadRequest', `Unrecognized attribute(s) '${field}'`);
  if (type === ValueErrorType.ObjectRequiredProperty) {
    if (segments.length <= 1) return new NeutronBadRequest('BadRequest', `Resource body required: '${field}' missing.`);
    return new NeutronBadRequest('BadRequest', `Failed to parse request. Required attribute '${field}' not specified`);
  }
  if (segments.length === 0) return new NeutronBadRequest('BadRequest', 'Resource body required.');
  const shown = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  return new NeutronBadRequest('BadRequest', `Invalid input for ${field}. Reason: ${shown} is not valid: ${message.toLowerCase()}.`);
}

/** Compiles a route schema once; the check returns Neutron's error for the first problem found. */
export const neutronValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  return (data: unknown) => {
    if (check.Check(data)) return { value: data };
    // An additional property first: it names what the client sent that Neutron would not take.
    const errors = [...check.Errors(data)];
    const first = errors.find((e) => e.type === ValueErrorType.ObjectAdditionalProperties) ?? errors.find((e) => e.type === ValueErrorType.ObjectRequiredProperty) ?? errors[0]!;
    return { error: failure(httpPart, first.path, first.type, first.message, first.value) };
  };
};
