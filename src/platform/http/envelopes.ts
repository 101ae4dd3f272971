// How each OpenStack API spells an error body. A service picks its renderer when it mounts;
// the shared error handler (server.ts) only ever calls one of these.

export interface ErrorInfo {
  status: number;
  message: string;
  /** The domain error's class name, e.g. NotFoundError; Neutron and Heat show a type. */
  type: string;
  /** The request's id (X-OpenStack-Request-Id), for bodies that repeat it (Zun). */
  requestId?: string;
}

export type ErrorRenderer = (err: ErrorInfo) => unknown;

const reasons: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

export function reasonPhrase(status: number): string {
  return reasons[status] ?? 'Error';
}

/** Keystone: {"error": {"code": 404, "title": "Not Found", "message": "..."}} */
export const keystoneError: ErrorRenderer = ({ status, message }) => ({
  error: { code: status, title: reasonPhrase(status), message },
});

const novaKeys: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  406: 'notAcceptable',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

/** Nova: {"itemNotFound": {"code": 404, "message": "..."}} */
export const novaError: ErrorRenderer = ({ status, message }) => ({
  [novaKeys[status] ?? 'computeFault']: { code: status, message },
});

/** Neutron: {"NeutronError": {"type": "NetworkNotFound", "message": "...", "detail": ""}} */
export const neutronError: ErrorRenderer = ({ status, message, type }) => ({
  NeutronError: { type: neutronType(status, type), message, detail: '' },
});

function neutronType(status: number, type: string): string {
  if (!type.endsWith('Error') || type === 'HafenError') return type;
  const generic: Record<number, string> = {
    400: 'BadRequest',
    401: 'NotAuthorized',
    403: 'PolicyNotAuthorized',
    404: 'NotFound',
    405: 'HTTPMethodNotAllowed',
    409: 'Conflict',
    413: 'RequestEntityTooLarge',
    415: 'HTTPUnsupportedMediaType',
  };
  return generic[status] ?? 'InternalError';
}

/** Glance (webob JSON form): {"code": "404 Not Found", "title": "Not Found", "message": "..."} */
export const glanceError: ErrorRenderer = ({ status, message }) => ({
  code: `${status} ${reasonPhrase(status)}`,
  title: reasonPhrase(status),
  message,
});

/** Heat: {"code": 404, "title": "Not Found", "explanation": "...", "error": {"type", "message", "traceback"}} */
export const heatError: ErrorRenderer = ({ status, message, type }) => ({
  code: status,
  title: reasonPhrase(status),
  explanation: message,
  error: { type: type.replace(/Error$/, '') || 'Error', message, traceback: null },
});

/** For paths no service owns. */
export const plainError: ErrorRenderer = ({ status, message }) => ({
  error: { code: status, title: reasonPhrase(status), message },
});
