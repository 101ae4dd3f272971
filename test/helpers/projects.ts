// A second tenant for cross-tenant tests: a project with one member user, and its token.
import assert from 'node:assert/strict';
import type { TestCloud } from './cloud.ts';

export async function memberOfNewProject(t: TestCloud, name: string): Promise<{ projectId: string; userId: string; token: string }> {
  const admin = await t.token('admin');
  const project = await t.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name } } });
  assert.equal(project.status, 201, project.text);
  const password = `pw-${name}-secret`;
  const user = await t.request('POST', '/identity/v3/users', { token: admin, body: { user: { name: `${name}-user`, password } } });
  assert.equal(user.status, 201, user.text);
  const member = await t.request('GET', '/identity/v3/roles?name=member', { token: admin });
  const grant = await t.request('PUT', `/identity/v3/projects/${project.body.project.id}/users/${user.body.user.id}/roles/${member.body.roles[0].id}`, { token: admin });
  assert.equal(grant.status, 204);
  const tok = await t.request('POST', '/identity/v3/auth/tokens', {
    body: {
      auth: {
        identity: { methods: ['password'], password: { user: { id: user.body.user.id, password } } },
        scope: { project: { id: project.body.project.id } },
      },
    },
  });
  assert.equal(tok.status, 201, tok.text);
  return { projectId: project.body.project.id, userId: user.body.user.id, token: tok.headers.get('x-subject-token')! };
}
