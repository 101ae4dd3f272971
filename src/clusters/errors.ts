// Magnum's error body and the few errors only Magnum has. Magnum's API wraps every failure as
// {"errors": [{"request_id", "code", "status", "title", "detail", "links"}]}; the title is the
// message up to its first full stop, the detail the whole message.
import { BadRequestError, ForbiddenError, NotFoundError } from '../platform/errors.ts';
import type { ErrorRenderer } from '../platform/http/envelopes.ts';

export const magnumError: ErrorRenderer = ({ status, message }) => ({
  errors: [
    {
      request_id: '',
      code: status >= 500 ? 'server' : 'client',
      status,
      title: message.split('.', 1)[0] ?? message,
      detail: message,
      links: [],
    },
  ],
});

export class ClusterTemplateNotFound extends NotFoundError {
  override readonly name = 'ClusterTemplateNotFound';
  constructor(ident: string) {
    super(`ClusterTemplate ${ident} could not be found.`);
  }
}

export class ClusterNotFound extends NotFoundError {
  override readonly name = 'ClusterNotFound';
  constructor(ident: string) {
    super(`Cluster ${ident} could not be found.`);
  }
}

export class NodegroupNotFound extends NotFoundError {
  override readonly name = 'NodeGroupNotFound';
  constructor(ident: string) {
    super(`Nodegroup ${ident} could not be found.`);
  }
}

/** Magnum's NotSupported: an operation this cloud does not do (400). */
export class NotSupported extends BadRequestError {
  override readonly name = 'NotSupported';
  constructor(operation: string) {
    super(`${operation} is not supported.`);
  }
}

export class PolicyNotAuthorized extends ForbiddenError {
  override readonly name = 'PolicyNotAuthorized';
  constructor(action: string) {
    super(`Policy doesn't allow ${action} to be performed.`);
  }
}

export const invalidInput = (field: string, value: unknown, why: string) =>
  new BadRequestError(`Invalid input for field/attribute ${field}. Value: ${JSON.stringify(value) ?? 'None'}. ${why}`);
