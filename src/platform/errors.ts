// Domain errors every service throws; platform/http renders them once, in each API's own envelope.
// Services never build HTTP error bodies themselves.

export abstract class HafenError extends Error {
  abstract readonly status: number;
  /** Extra headers the response must carry (e.g. Retry-After, WWW-Authenticate). */
  headers: Record<string, string> = {};
}

export class BadRequestError extends HafenError {
  override readonly name: string = 'BadRequestError';
  readonly status = 400;
}

export class UnauthorizedError extends HafenError {
  override readonly name: string = 'UnauthorizedError';
  readonly status = 401;
  constructor(message = 'The request you have made requires authentication.') {
    super(message);
  }
}

export class ForbiddenError extends HafenError {
  override readonly name: string = 'ForbiddenError';
  readonly status = 403;
  constructor(message = 'You are not authorized to perform the requested action.') {
    super(message);
  }
}

export class OverQuotaError extends HafenError {
  override readonly name: string = 'OverQuotaError';
  readonly status: number;
  constructor(message: string, readonly resource: string, status = 403) {
    super(message);
    this.status = status;
  }
}

export class NotFoundError extends HafenError {
  override readonly name: string = 'NotFoundError';
  readonly status = 404;
}

export class MethodNotAllowedError extends HafenError {
  override readonly name: string = 'MethodNotAllowedError';
  readonly status = 405;
}

export class ConflictError extends HafenError {
  override readonly name: string = 'ConflictError';
  readonly status = 409;
}

export class PayloadTooLargeError extends HafenError {
  override readonly name: string = 'PayloadTooLargeError';
  readonly status = 413;
}

export class UnsupportedMediaTypeError extends HafenError {
  override readonly name: string = 'UnsupportedMediaTypeError';
  readonly status = 415;
}

export class NotAcceptableError extends HafenError {
  override readonly name: string = 'NotAcceptableError';
  readonly status = 406;
}

/** A call the API has but this cloud cannot carry out (Nova's 501 for drivers without the feature). */
export class NotImplementedError extends HafenError {
  override readonly name: string = 'NotImplementedError';
  readonly status = 501;
}

export class ServiceUnavailableError extends HafenError {
  override readonly name: string = 'ServiceUnavailableError';
  readonly status = 503;
}

export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}

export function isConflict(err: unknown): err is ConflictError {
  return err instanceof ConflictError;
}

/** Runs `fn` and treats "already gone" as success: every delete can be repeated safely. */
export async function ignoreNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
