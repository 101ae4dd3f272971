// An agent's credential as an operator makes one: a user holding only the hafen-agent role on a
// project of agents, its application credential, and a clouds.yaml naming it (for `--cloud`).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { TestCloud } from './cloud.ts';

export interface AgentCredentials {
  /** `id:secret` of the agent user's application credential (HAFEN_AGENT_CREDENTIAL). */
  applicationCredential: string;
  /** A clouds.yaml with the cloud `hafen-agent` (the agent user's password). */
  cloudsYaml: string;
  userId: string;
  /** A token of the agent user, scoped to the agents' project. */
  token: string;
}

export async function makeAgentCredentials(t: TestCloud, name = 'agent'): Promise<AgentCredentials> {
  const admin = await t.token('admin');
  const ok = (r: { status: number; text: string }, status: number) => assert.equal(r.status, status, r.text);
  let project = (await t.request('GET', '/identity/v3/projects?name=hafen-agents', { token: admin })).body.projects[0];
  if (!project) {
    const made = await t.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'hafen-agents', description: 'remote agents' } } });
    ok(made, 201);
    project = made.body.project;
  }
  const password = `pw-${name}-${Date.now()}`;
  const user = await t.request('POST', '/identity/v3/users', { token: admin, body: { user: { name, password, default_project_id: project.id } } });
  ok(user, 201);
  const role = (await t.request('GET', '/identity/v3/roles?name=hafen-agent', { token: admin })).body.roles[0];
  assert.ok(role, 'bootstrap made the hafen-agent role');
  ok(await t.request('PUT', `/identity/v3/projects/${project.id}/users/${user.body.user.id}/roles/${role.id}`, { token: admin }), 204);
  const tok = await t.request('POST', '/identity/v3/auth/tokens', {
    body: { auth: { identity: { methods: ['password'], password: { user: { id: user.body.user.id, password } } }, scope: { project: { id: project.id } } } },
  });
  ok(tok, 201);
  const token = tok.headers.get('x-subject-token')!;
  const cred = await t.request('POST', `/identity/v3/users/${user.body.user.id}/application_credentials`, { token, body: { application_credential: { name: `${name}-credential` } } });
  ok(cred, 201);
  const cloudsYaml = path.join(t.dataDir, `clouds-${name}.yaml`);
  const auth = { auth_url: `${t.url}/identity/v3`, username: name, password, user_domain_name: 'Default', project_name: 'hafen-agents', project_domain_name: 'Default' };
  fs.writeFileSync(cloudsYaml, YAML.stringify({ clouds: { 'hafen-agent': { auth, region_name: 'RegionOne', identity_api_version: 3 } } }), { mode: 0o600 });
  return { applicationCredential: `${cred.body.application_credential.id}:${cred.body.application_credential.secret}`, cloudsYaml, userId: user.body.user.id, token };
}
