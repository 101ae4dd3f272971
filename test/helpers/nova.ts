// Nova over HTTP at a chosen microversion, and through the openstack CLI, for tests of one cloud:
// requests carry `OpenStack-API-Version: compute X.Y` and a token given late (tests get theirs in `before`).
import type { TestCloud } from './cloud.ts';
import { waitFor } from './compute.ts';

export const NOVA = '/compute/v2.1';

export interface NovaCalls {
  get(path: string, version?: string, token?: string): ReturnType<TestCloud['request']>;
  send(method: string, path: string, body: unknown, version?: string, token?: string): ReturnType<TestCloud['request']>;
  /** `openstack <args>` as a cloud of clouds.yaml (the demo project's unless named). */
  os(args: string[], cloud?: string): Promise<string>;
  /** `openstack <args> -f json`, parsed. */
  json(args: string[], cloud?: string): Promise<any>;
  /** Waits for a server to be ACTIVE (read as admin); an ERROR ends the wait with its fault. */
  active(id: string): Promise<any>;
}

export function novaCalls(o: { cloud: () => TestCloud; token: () => string; admin: () => string; version: string }): NovaCalls {
  const at = (v: string) => ({ 'openstack-api-version': `compute ${v}` });
  const get: NovaCalls['get'] = (path, v = o.version, token = o.token()) => o.cloud().request('GET', `${NOVA}${path}`, { token, headers: at(v) });
  const send: NovaCalls['send'] = (method, path, body, v = o.version, token = o.token()) => o.cloud().request(method, `${NOVA}${path}`, { token, body, headers: at(v) });
  const os: NovaCalls['os'] = (args, cloud = 'hafen-demo') => o.cloud().openstack(args, cloud);
  return {
    get,
    send,
    os,
    json: async (args, cloud) => JSON.parse(await os([...args, '-f', 'json'], cloud)),
    active: (id) =>
      waitFor(`${id} ACTIVE`, async () => {
        const s = (await get(`/servers/${id}`, '2.1', o.admin())).body.server;
        if (s.status === 'ERROR') throw new Error(JSON.stringify(s.fault));
        return s.status === 'ACTIVE' ? s : undefined;
      }),
  };
}
