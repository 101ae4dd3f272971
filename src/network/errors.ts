// Neutron's error types as hafen domain errors: the renderer shows each error's `name` as the
// NeutronError type, so clients that match on "NetworkNotFound" or "IpAddressInUse" keep working.
import { BadRequestError, ConflictError, HafenError, NotFoundError, OverQuotaError } from '../platform/errors.ts';

export class NeutronNotFound extends NotFoundError {
  override readonly name: string;
  constructor(kind: string, id: string) {
    const label = kind.replace(/([A-Z])/g, ' $1').trim().toLowerCase();
    super(`${label.charAt(0).toUpperCase()}${label.slice(1)} ${id} could not be found.`);
    this.name = `${kind}NotFound`;
  }
}

export class NeutronConflict extends ConflictError {
  override readonly name: string;
  constructor(type: string, message: string) {
    super(message);
    this.name = type;
  }
}

export class InvalidInput extends BadRequestError {
  override readonly name: string = 'InvalidInput';
  constructor(message: string) {
    super(`Invalid input for operation: ${message}`);
  }
}

export class NeutronBadRequest extends BadRequestError {
  override readonly name: string;
  constructor(type: string, message: string) {
    super(message);
    this.name = type;
  }
}

export class NeutronOverQuota extends OverQuotaError {
  override readonly name = 'OverQuota';
  constructor(resource: string) {
    super(`Quota exceeded for resources: ['${resource}'].`, resource, 409);
  }
}

/** `If-Match: revision_number=N` that does not match the resource (standard-attr-revisions). */
export class PreconditionFailed extends HafenError {
  override readonly name = 'RevisionNumberConstraintFailed';
  readonly status = 412;
}
