// Zun's error body and the errors only Zun has. Every failure of /container answers
// {"errors": [{"request_id", "code", "status", "title", "detail", "links"}]}, `code` being
// `container.` and the exception's class name in kebab case (container.container-not-found).
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../platform/errors.ts';
import type { ErrorRenderer } from '../platform/http/envelopes.ts';

/** hafen's generic errors under the name of Zun's exception that says the same. */
const zunNames: Record<string, string> = {
  BadRequestError: 'Invalid',
  UnauthorizedError: 'NotAuthorized',
  ForbiddenError: 'PolicyNotAuthorized',
  NotFoundError: 'NotFound',
  MethodNotAllowedError: 'MethodNotAllowed',
  NotAcceptableError: 'NotAcceptable',
  ConflictError: 'Conflict',
  OverQuotaError: 'OverQuota',
  PayloadTooLargeError: 'RequestEntityTooLarge',
  UnsupportedMediaTypeError: 'UnsupportedMediaType',
  ServiceUnavailableError: 'ServiceUnavailable',
  AgentUnavailableError: 'ContainerHostNotUp',
};

/** Zun's convert_excp_to_err_code: CamelCase words (and acronyms, digits) joined by dashes. */
export function zunErrorCode(name: string): string {
  const words = name.match(/[A-Z]?[a-z]+|[A-Z]{2,}(?=[A-Z][a-z]|\d|\W|$)|\d+/g) ?? [name];
  return words.map((w) => w.toLowerCase()).join('-');
}

export const zunError: ErrorRenderer = ({ status, message, type, requestId }) => ({
  errors: [
    {
      request_id: requestId ?? '',
      code: status >= 500 ? 'container.server' : `container.${zunErrorCode(zunNames[type] ?? type)}`,
      status,
      title: message,
      detail: message,
      links: [],
    },
  ],
});

export class ContainerNotFound extends NotFoundError {
  override readonly name = 'ContainerNotFound';
  constructor(ident: string) {
    super(`Container ${ident} could not be found.`);
  }
}

export class CapsuleNotFound extends NotFoundError {
  override readonly name = 'CapsuleNotFound';
  constructor(ident: string) {
    super(`Capsule ${ident} could not be found.`);
  }
}

export class RegistryNotFound extends NotFoundError {
  override readonly name = 'RegistryNotFound';
  constructor(ident: string) {
    super(`Registry ${ident} could not be found.`);
  }
}

export class ResourceNotFound extends NotFoundError {
  override readonly name = 'ResourceNotFound';
  constructor(kind: string, ident: string) {
    super(`The ${kind} resource ${ident} could not be found.`);
  }
}

/** A verb the container's status does not allow (Zun's words). */
export class InvalidStateException extends ConflictError {
  override readonly name = 'InvalidStateException';
  constructor(id: string, action: string, state: string) {
    super(`Cannot ${action} container ${id} in ${state} state`);
  }
}

/** An image that is not among the project's docker images (Zun answers 400). */
export class ImageNotFound extends BadRequestError {
  override readonly name = 'ImageNotFound';
  constructor(image: string) {
    super(`Image ${image} could not be found.`);
  }
}

export class InvalidValue extends BadRequestError {
  override readonly name = 'InvalidValue';
}

export class ValidationError extends BadRequestError {
  override readonly name = 'ValidationError';
}

export class InvalidParamInVersion extends BadRequestError {
  override readonly name = 'InvalidParamInVersion';
  constructor(param: string, version: string, min: string) {
    super(`Invalid param ${param} because current request version is ${version}. ${param} is only supported from ${min}`);
  }
}

export class NoInteractiveFlag extends BadRequestError {
  override readonly name = 'NoInteractiveFlag';
}

export class PolicyNotAuthorized extends ForbiddenError {
  override readonly name = 'PolicyNotAuthorized';
  constructor(action: string) {
    super(`Policy doesn't allow ${action} to be performed.`);
  }
}

/** A capsule template Zun cannot take (its kind, its spec). */
export class InvalidCapsuleTemplate extends BadRequestError {
  override readonly name = 'InvalidCapsuleTemplate';
  constructor(detail: string) {
    super(`Capsule template is invalid: ${detail}`);
  }
}
