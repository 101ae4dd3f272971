// OS::Heat::WaitConditionHandle: a signal URL with its own secret, for a container or a script to
// report SUCCESS or FAILURE to; the paired OS::Heat::WaitCondition waits for those signals.
import { randomBytes, randomUUID } from 'node:crypto';
import { BadRequestError } from '../../../platform/errors.ts';
import type { ResourceType } from '../types.ts';
import { API_HOST_ALIAS } from '../../../platform/http/api-host.ts';

export interface WaitSignal {
  id: string;
  status: 'SUCCESS' | 'FAILURE';
  reason: string;
  data: unknown;
}

/**
 * Where a server posts its signal: the cloud's API under the name every server has for it (its
 * network's gateway, where the controller answers signals for its own engines), on the API's port.
 */
export function signalUrl(publicUrl: string, handleId: string): string {
  const u = new URL(publicUrl);
  return `${u.protocol}//${API_HOST_ALIAS}:${u.port || (u.protocol === 'https:' ? 443 : 80)}/orchestration/v1/signal/${handleId}`;
}

export const heatWaitConditionHandle: ResourceType = {
  type: 'OS::Heat::WaitConditionHandle',
  description: 'Resource for managing signals from a wait condition: a URL and a token to POST {"status": "SUCCESS"} to.',
  properties: {
    signal_transport: { type: 'string', default: 'TOKEN_SIGNAL', description: 'How the signal arrives; hafen answers TOKEN_SIGNAL.', constraints: [{ allowed_values: ['TOKEN_SIGNAL'] }] },
  },
  attributes: {
    token: { description: 'Token for the signal endpoint (send it as X-Auth-Token).', type: 'string' },
    endpoint: { description: 'Endpoint/url which can be used for signalling the handle.', type: 'string' },
    curl_cli: { description: 'Convenience attribute, provides curl CLI command prefix, which can be used for signalling handle completion or failure.', type: 'string' },
    signal: { description: 'JSON serialized map that includes the endpoint, token and/or other attributes the client must use for signalling this handle.', type: 'string' },
  },
  async create(h) {
    const id = randomUUID();
    h.data.secret = randomBytes(24).toString('base64url');
    h.data.signals = [];
    return id;
  },
  async attribute(h, id, name) {
    if (!id) return null;
    const endpoint = signalUrl(h.publicUrl, id);
    const token = h.data.secret as string;
    switch (name) {
      case 'token':
        return token;
      case 'endpoint':
        return endpoint;
      case 'curl_cli':
        return `curl -i -X POST -H 'X-Auth-Token: ${token}' -H 'Content-Type: application/json' -H 'Accept: application/json' ${endpoint}`;
      case 'signal':
        return JSON.stringify({ endpoint, token });
      default:
        return null;
    }
  },
  async signal(h, _id, details) {
    const d = (details && typeof details === 'object' ? details : {}) as Record<string, unknown>;
    const status = d.status === undefined ? 'SUCCESS' : String(d.status).toUpperCase();
    if (status !== 'SUCCESS' && status !== 'FAILURE') throw new BadRequestError(`Metadata format invalid: status must be SUCCESS or FAILURE, not ${String(d.status)}`);
    const signals = (h.data.signals as WaitSignal[] | undefined) ?? [];
    signals.push({ id: d.id === undefined ? String(signals.length + 1) : String(d.id), status, reason: d.reason === undefined ? 'Signal ' + (signals.length + 1) + ' received' : String(d.reason), data: d.data ?? null });
    h.data.signals = signals;
  },
};
