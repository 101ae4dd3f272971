// The HTTP platform seen from outside: discovery, request ids, envelopes, limits, health, metrics.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.ts';
import { createCloud } from '../../src/main.ts';
import { routesOf } from '../../src/platform/http/server.ts';
import { freePort, startTestCloud, testDataDir, type TestCloud } from '../helpers/cloud.ts';

describe('http platform', () => {
  let t: TestCloud;
  before(async () => {
    t = await startTestCloud('platform', { HAFEN_MAX_JSON_BODY: '4096' });
  });
  after(async () => t.close());

  it('answers /healthz and carries a request id on every response', async () => {
    const res = await t.request('GET', '/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok' });
    assert.match(res.headers.get('x-openstack-request-id') ?? '', /^req-[0-9a-f-]{36}$/);
    const missing = await t.request('GET', '/nowhere');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('x-openstack-request-id') ?? '', /^req-/);
  });

  it('serves the identity version document at its root', async () => {
    const res = await t.request('GET', '/identity/');
    assert.equal(res.status, 300);
    assert.equal(res.body.versions.values[0].id, 'v3.14');
    assert.equal(res.body.versions.values[0].links[0].href, `${t.url}/identity/v3/`);
  });

  it('answers malformed JSON, wrong content type, oversize bodies, unknown routes and methods in Keystone envelopes', async () => {
    const bad = await t.request('POST', '/identity/v3/auth/tokens', { body: '{"auth": ' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 400);
    const media = await t.request('POST', '/identity/v3/auth/tokens', { body: 'x', headers: { 'content-type': 'text/csv' } });
    assert.equal(media.status, 415);
    assert.equal(media.body.error.code, 415);
    const big = await t.request('POST', '/identity/v3/auth/tokens', { body: JSON.stringify({ pad: 'x'.repeat(8000) }) });
    assert.equal(big.status, 413);
    assert.equal(big.body.error.title, 'Request Entity Too Large');
    const unknown = await t.request('GET', '/identity/v3/nothing-here');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.title, 'Not Found');
    const method = await t.request('PUT', '/identity/v3/auth/tokens');
    assert.equal(method.status, 405);
    assert.equal(method.body.error.code, 405);
    assert.match(method.headers.get('allow') ?? '', /POST/);
  });

  it('takes a body-less request with Content-Type application/json on every route of every service', async () => {
    const admin = await t.token('admin');
    const routes = routesOf(t.cloud.app).filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/bench'));
    assert.ok(routes.length > 200, `${routes.length} routes`);
    const unknownId = '0'.repeat(32);
    for (const r of routes) {
      const url = r.url.replace(/:[A-Za-z_]+/g, unknownId).replace(/\*/g, 'x');
      // Content-Length: 0 where a client sends it (PUT/POST/PATCH), none on GET and DELETE.
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-auth-token': admin };
      const res = await fetch(`${t.url}${url}`, { method: r.method, headers, body: ['GET', 'DELETE'].includes(r.method) ? undefined : '' });
      const text = await res.text();
      // 501 is an answer of its own where OpenStack gives it (Nova's power actions of os-hosts, bare metal without Ironic).
      const notImplemented = res.status === 501 && /"notImplemented"/.test(text);
      assert.ok(res.status < 500 || notImplemented, `${r.method} ${r.url}: ${res.status} ${text.slice(0, 200)}`);
      assert.doesNotMatch(text, /must not be empty/, `${r.method} ${r.url}`);
      const service = /^\/(identity|compute|network|image|orchestration)\//.test(r.url);
      if (service && text.startsWith('{')) assert.equal(res.headers.get('content-type'), 'application/json', `${r.method} ${r.url}`);
    }
  });

  it('takes a DELETE with no body sent as application/octet-stream, as zunclient and magnumclient send it', async () => {
    const admin = await t.token('admin');
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const url of [`/container/v1/containers/${unknown}?force=False`, `/container-infra/v1/clusters/${unknown}`]) {
      const res = await fetch(`${t.url}${url}`, { method: 'DELETE', headers: { 'content-type': 'application/octet-stream', 'content-length': '0', 'x-auth-token': admin } });
      assert.equal(res.status, 404, `${url}: ${await res.text()}`);
    }
    // Data of that type with content is still not a body these APIs read.
    const data = await fetch(`${t.url}/container/v1/containers`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-auth-token': admin }, body: 'x' });
    assert.equal(data.status, 415);
  });

  it('exposes Prometheus metrics by route', async () => {
    await t.request('GET', '/identity/v3');
    const res = await t.request('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.text, /hafen_http_requests_total\{method="GET",route="\/identity\/v3",status="200"\} \d+/);
    assert.match(res.text, /hafen_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/identity\/v3"\}/);
  });
});

describe('request logging', () => {
  const startLogged = async (env: Record<string, string>) => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const config = loadConfig({ HAFEN_DATA_DIR: testDataDir('platform-log'), HAFEN_PORT: String(await freePort()), HAFEN_LOG_LEVEL: 'info', HAFEN_PASSWORD_HASH_COST: '1024', ...env });
    const cloud = await createCloud(config, { logStream });
    await cloud.listen();
    return { lines, cloud, url: config.publicUrl };
  };

  it('writes one JSON line per request, with the id the response carries, when not on a terminal', async () => {
    const { lines, cloud, url } = await startLogged({});
    try {
      const res = await fetch(`${url}/identity/v3/projects?name=secret-query`);
      assert.equal(res.status, 401);
      const id = res.headers.get('x-openstack-request-id');
      assert.match(id ?? '', /^req-/);
      const mine = lines.map((l) => JSON.parse(l)).filter((l) => l.reqId === id);
      assert.equal(mine.length, 1, 'one line per request');
      assert.equal(mine[0].req.method, 'GET');
      assert.equal(mine[0].req.url, '/identity/v3/projects', 'the path, without its query');
      assert.equal(mine[0].res.statusCode, 401);
      assert.equal(typeof mine[0].responseTime, 'number');
      assert.ok(!lines.some((l) => l.includes('secret-query')));
    } finally {
      await cloud.close();
    }
  });

  it('writes one short readable line per request with HAFEN_LOG_FORMAT=text', async () => {
    const { lines, cloud, url } = await startLogged({ HAFEN_LOG_FORMAT: 'text' });
    try {
      const res = await fetch(`${url}/identity/v3/projects`);
      const id = res.headers.get('x-openstack-request-id')!;
      const mine = lines.filter((l) => l.includes(id));
      assert.equal(mine.length, 1, lines.join('\n'));
      assert.match(mine[0]!, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} GET /identity/v3/projects 401 [0-9.]+ ms ${id}$`));
      cloud.app.log.warn({ host: 'h1' }, 'engine slow');
      assert.ok(lines.some((l) => /^\d\d:\d\d:\d\d\.\d{3} WARN  engine slow host=h1$/.test(l)), lines.join('\n'));
      assert.ok(lines.every((l) => !l.startsWith('{')), 'no JSON on the readable log');
    } finally {
      await cloud.close();
    }
  });
});
