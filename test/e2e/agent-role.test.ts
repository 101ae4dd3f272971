// The agent's credential does what an agent needs and no more (issue 11, item 7): a user holding the
// hafen-agent role (made at bootstrap) reaches /agent/v1 and nothing else, neither admin APIs nor a
// member's reads; a member's or an admin's token does not reach /agent/v1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';
import { makeAgentCredentials, type AgentCredentials } from '../helpers/agents.ts';

describe('the hafen-agent role', () => {
  let t: TestCloud;
  let agent: AgentCredentials;
  /** A token from the agent's application credential, as `hafen agent` logs in. */
  let agentToken: string;

  before(async () => {
    t = await startTestCloud('agent-role', { HAFEN_DOCKER_HOSTS: 'none' });
    agent = await makeAgentCredentials(t);
    const [id, secret] = agent.applicationCredential.split(':');
    const tok = await t.request('POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['application_credential'], application_credential: { id, secret } } } } });
    assert.equal(tok.status, 201, tok.text);
    agentToken = tok.headers.get('x-subject-token')!;
    assert.deepEqual(tok.body.token.roles.map((r: { name: string }) => r.name), ['hafen-agent']);
  });
  after(async () => {
    await t?.close();
  });

  it('reaches the agent endpoint and no admin or project API', async () => {
    // Past the policy check: the registration itself is what is wrong.
    const reg = await t.request('POST', '/agent/v1/sessions', { token: agentToken, body: { hostId: 'x' } });
    assert.equal(reg.status, 400, reg.text);
    const denied: [string, string, unknown?][] = [
      ['GET', '/compute/v2.1/os-hypervisors'],
      ['GET', '/compute/v2.1/os-services'],
      ['POST', '/compute/v2.1/flavors', { flavor: { name: 'x', ram: 64, vcpus: 1, disk: 0 } }],
      ['GET', '/compute/v2.1/servers'],
      ['GET', '/image/v2/images'],
      ['POST', '/image/v2/images', { name: 'x', container_format: 'docker', disk_format: 'raw' }],
      ['GET', '/identity/v3/users'],
      ['POST', '/identity/v3/projects', { project: { name: 'agent-made' } }],
    ];
    for (const [method, path, body] of denied) {
      const r = await t.request(method, path, { token: agentToken, ...(body ? { body } : {}) });
      assert.equal(r.status, 403, `${method} ${path} with an agent's token: ${r.status} ${r.text.slice(0, 200)}`);
    }
    // Neutron shows every authenticated user the shared and external networks, and no others. (The
    // network service checks no role for creating in one's own project: docs/security.md says so.)
    const nets = await t.request('GET', '/network/v2.0/networks', { token: agentToken });
    assert.ok((nets.body.networks ?? []).every((n: { shared: boolean; 'router:external': boolean }) => n.shared || n['router:external']), nets.text);
    // Through the real client too.
    await assert.rejects(t.openstack(['server', 'list'], 'hafen-agent', { OS_CLIENT_CONFIG_FILE: agent.cloudsYaml }), /403|not allowed|Forbidden/i);
  });

  it('keeps members and admins out of the agent endpoint', async () => {
    for (const who of ['demo', 'admin'] as const) {
      const r = await t.request('POST', '/agent/v1/sessions', { token: await t.token(who), body: { hostId: 'x' } });
      assert.equal(r.status, 403, `${who}: ${r.text}`);
    }
    assert.equal((await t.request('POST', '/agent/v1/sessions', { body: {} })).status, 401);
  });
});
