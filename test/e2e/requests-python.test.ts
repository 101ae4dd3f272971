// Requests as Python's OpenStack clients send them (openstacksdk over keystoneauth, and the same
// headers by hand): `Content-Type: application/json` on every request, `Content-Length: 0` on a
// body-less PUT and none on GET and DELETE. Each API accepts them and answers `application/json`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestCloud, type TestCloud } from '../helpers/cloud.ts';

const exec = promisify(execFile);
// Debian's python3 carries python3-openstacksdk; another python3 earlier on PATH may not.
const python = '/usr/bin/python3';

describe('body-less requests from Python clients', () => {
  let t: TestCloud;
  before(async () => {
    t = await startTestCloud('requests-python');
  });
  after(async () => t.close());

  it('grants, checks, revokes and deletes through openstacksdk, and every API takes body-less requests', async () => {
    const admin = t.cloud.identity.credentials.admin;
    const script = path.join(import.meta.dirname, 'python', 'bodyless_requests.py');
    const { stdout } = await exec(python, [script, `${t.url}/identity/v3`, admin.username, admin.password, admin.project], {
      timeout: 120_000,
      env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`python failed: ${err.stderr || err.message}`);
    });
    const out = JSON.parse(stdout);
    assert.equal(out.granted, true);
    assert.equal(out.after_revoke, false);
    assert.equal(out.user_gone, true);
    assert.equal(out.project_gone, true);
    assert.equal(out.network_gone, true);
    assert.deepEqual(out.image_tags, ['py-tag']);
    const raw = out.raw as Record<string, { status: number; type: string | null; body: string }>;
    const expect: Record<string, number> = {
      'keystone GET': 200,
      'keystone HEAD grant': 404,
      'keystone PUT grant': 204,
      'keystone DELETE grant': 204,
      'keystone POST no body': 400,
      'nova GET': 200,
      'nova DELETE missing': 404,
      'nova POST no body': 400,
      'neutron GET': 200,
      'neutron DELETE missing': 404,
      'glance GET': 200,
      'glance DELETE missing': 404,
      'heat GET': 200,
      'heat DELETE missing': 404,
      'heat POST no body': 400,
    };
    for (const [name, status] of Object.entries(expect)) {
      const r = raw[name]!;
      assert.equal(r.status, status, `${name}: ${r.status} ${r.body}`);
      assert.doesNotMatch(r.body, /must not be empty/, name);
      if (r.status !== 204 && !name.includes('HEAD')) assert.equal(r.type, 'application/json', `${name} answers application/json`);
    }
    // The body-less POST is refused in each API's own envelope.
    assert.ok(JSON.parse(raw['keystone POST no body']!.body).error.code === 400);
    assert.ok(JSON.parse(raw['nova POST no body']!.body).badRequest);
    assert.equal(JSON.parse(raw['heat POST no body']!.body).code, 400);
  });
});
