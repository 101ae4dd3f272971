// Logging in as a cloud of $HAFEN_DATA_DIR/clouds.yaml: a project token and the catalog's public
// endpoint of a service, for the hafen commands that call the APIs.
import fs from 'node:fs';
import YAML from 'yaml';
import type { Config } from '../config.ts';

interface CloudAuth {
  auth: { auth_url: string; username: string; password: string; project_name: string; user_domain_name: string; project_domain_name: string };
}

export interface Session {
  token: string;
  /** The public endpoint of a service type, without a trailing slash. */
  endpoint(type: string): string;
}

export async function logIn(config: Config, cloudName: string): Promise<Session> {
  const clouds = YAML.parse(fs.readFileSync(`${config.dataDir}/clouds.yaml`, 'utf8')) as { clouds: Record<string, CloudAuth> };
  const cloud = clouds.clouds[cloudName];
  if (!cloud) throw new Error(`no cloud ${cloudName} in ${config.dataDir}/clouds.yaml`);
  const a = cloud.auth;
  const res = await fetch(`${a.auth_url.replace(/\/+$/, '')}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: a.username, domain: { name: a.user_domain_name }, password: a.password } } },
        scope: { project: { name: a.project_name, domain: { name: a.project_domain_name } } },
      },
    }),
  });
  if (res.status !== 201) throw new Error(`authentication failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { token: { catalog: { type: string; endpoints: { interface: string; url: string }[] }[] } };
  return {
    token: res.headers.get('x-subject-token')!,
    endpoint(type) {
      const e = body.token.catalog.find((c) => c.type === type)?.endpoints.find((x) => x.interface === 'public');
      if (!e) throw new Error(`the catalog has no ${type} service`);
      return e.url.replace(/\/+$/, '');
    },
  };
}
