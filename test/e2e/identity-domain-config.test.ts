// Domain-specific configuration (/v3/domains/{d}/config): through python-keystoneclient, then each
// group and option path over HTTP, Keystone's 403 for what a domain may not set, the password never
// shown, and no one but an administrator reading or writing it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';

const exec = promisify(execFile);
const python = '/usr/bin/python3';

describe('domain-specific configuration', () => {
  let t: TestCloud;
  before(async () => {
    t = await startTestCloud('identity-domain-config');
  });
  after(async () => t.close());

  it('is kept, read, updated and deleted through python-keystoneclient', async () => {
    const admin = t.cloud.identity.credentials.admin;
    const script = path.join(import.meta.dirname, 'python', 'domain_configs.py');
    const { stdout } = await exec(python, [script, `${t.url}/identity/v3`, admin.username, admin.password, admin.project], {
      timeout: 120_000,
      env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`python failed: ${err.stderr || err.message}`);
    });
    const seen = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.deepEqual(seen.created.identity, { driver: 'ldap' });
    assert.deepEqual(seen.created.ldap, { url: 'ldap://127.0.0.1:1/', user: 'cn=admin' }, 'the password is kept, never shown');
    assert.deepEqual(seen.got.ldap, seen.created.ldap);
    assert.equal(seen.updated.ldap.url, 'ldap://127.0.0.2:1/');
    assert.equal(seen.updated.ldap.user, 'cn=admin');
    assert.equal(seen.invalid, 'forbidden');
    assert.equal(seen.after_delete, 'not found');
  });

  it('answers each group and option, and keeps members out', async () => {
    const admin = await t.token('admin');
    const demo = await t.token('demo');
    const domain = (await t.request('POST', '/identity/v3/domains', { token: admin, body: { domain: { name: 'config-http' } } })).body.domain.id;
    const url = `/identity/v3/domains/${domain}/config`;
    const call = (method: string, p: string, body?: unknown, token = admin) => t.request(method, `${url}${p}`, { token, body });

    assert.equal((await call('GET', '')).status, 404);
    assert.equal((await call('PATCH', '', { config: { identity: { driver: 'sql' } } })).status, 404, 'nothing to update yet');
    const put = await call('PUT', '', { config: { identity: { driver: 'ldap', list_limit: 100 }, ldap: { url: 'ldap://127.0.0.1:1/', password: 'p' } } });
    assert.equal(put.status, 201);
    assert.equal((await call('PUT', '', { config: { identity: { driver: 'ldap', list_limit: 100 }, ldap: { url: 'ldap://127.0.0.1:1/', password: 'p' } } })).status, 200, 'a second PUT replaces');
    assert.deepEqual((await call('GET', '/identity')).body, { config: { identity: { driver: 'ldap', list_limit: 100 } } });
    assert.deepEqual((await call('GET', '/identity/list_limit')).body, { config: { list_limit: 100 } });
    assert.equal((await call('GET', '/ldap/password')).status, 404, 'the password is not shown');
    assert.equal((await call('GET', '/nosuch')).status, 404);

    const patchedOption = await call('PATCH', '/ldap/url', { config: { url: 'ldap://127.0.0.3:1/' } });
    assert.equal(patchedOption.status, 200);
    assert.equal(patchedOption.body.config.ldap.url, 'ldap://127.0.0.3:1/');
    const patchedGroup = await call('PATCH', '/identity', { config: { identity: { list_limit: 5 } } });
    assert.deepEqual(patchedGroup.body.config.identity, { driver: 'ldap', list_limit: 5 });
    for (const [p, body] of [
      ['', { config: { secret_group: { a: 1 } } }],
      ['', { config: { identity: { backdoor: 'x' } } }],
      ['', { config: {} }],
      ['/identity', { config: { ldap: { url: 'x' } } }],
      ['/ldap/url', { config: { user: 'x' } }],
    ] as const) {
      const r = await call(p === '' ? 'PUT' : 'PATCH', p, body);
      assert.equal(r.status, 403, `${p} ${JSON.stringify(body)}`);
      assert.equal(r.body.error.code, 403);
    }
    assert.equal((await call('PUT', '', { config: { identity: { driver: { nested: true } } } })).status, 400);

    // Members neither read nor write it, nor does a project-scoped token of the domain's own.
    assert.equal((await call('GET', '', undefined, demo)).status, 403);
    assert.equal((await call('PUT', '', { config: { identity: { driver: 'sql' } } }, demo)).status, 403);
    assert.equal((await call('DELETE', '/identity', undefined, demo)).status, 403);

    assert.equal((await call('DELETE', '/identity/list_limit')).status, 204);
    assert.deepEqual((await call('GET', '/identity')).body.config.identity, { driver: 'ldap' });
    assert.equal((await call('DELETE', '/identity')).status, 204);
    assert.equal((await call('GET', '/identity')).status, 404);
    assert.equal((await call('DELETE', '')).status, 204);
    assert.equal((await call('GET', '')).status, 404);
    assert.equal((await t.request('GET', '/identity/v3/domains/0123456789abcdef0123456789abcdef/config', { token: admin })).status, 404);

    // A deleted domain takes its configuration with it.
    await call('PUT', '', { config: { identity: { driver: 'sql' } } });
    await t.request('PATCH', `/identity/v3/domains/${domain}`, { token: admin, body: { domain: { enabled: false } } });
    assert.equal((await t.request('DELETE', `/identity/v3/domains/${domain}`, { token: admin })).status, 204);
    const left = await t.cloud.identity.service.store.db.selectFrom('identity_domain_configs').selectAll().where('domain_id', '=', domain).execute();
    assert.deepEqual(left, []);
  });
});
