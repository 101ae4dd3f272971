// The shared listener's per-request work: the completion record it writes directly is the record
// pino writes for the same fields, and the request metrics count what was answered.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { completionLog, createHttpServer } from './server.ts';

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(l);
      done();
    },
  });
  return { stream, lines };
}

const withoutTime = (line: string) => line.replace(/,"time":\d+/, '');

describe('http server', () => {
  it("writes one completion record a request, the same line pino writes for its fields", async () => {
    const { stream, lines } = capture();
    const app = createHttpServer({ logLevel: 'info', maxJsonBodyBytes: 1024, logFormat: 'json', logStream: stream });
    app.get('/things/:id', async () => ({ ok: true }));
    await app.ready();
    try {
      for (const url of ['/things/1?secret=x', '/nowhere/"quoted"\\path?token=y', '/things/caf%C3%A9', '/healthz']) {
        const before = lines.length;
        const res = await app.inject({ method: 'GET', url });
        assert.equal(lines.length, before + 1, `one record for ${url}`);
        const line = lines.at(-1)!;
        const record = JSON.parse(line) as { reqId: string; req: { method: string; url: string }; res: { statusCode: number }; responseTime: number; msg: string };
        assert.equal(record.req.url, new URL(url, 'http://h').pathname, 'the path without its query');
        assert.equal(record.res.statusCode, res.statusCode);
        assert.equal(record.reqId, res.headers['x-openstack-request-id']);
        assert.equal(record.msg, 'request completed');
        // pino's own rendering of the same fields, through the same root logger
        app.log.info({ reqId: record.reqId, req: record.req, res: record.res, responseTime: record.responseTime }, 'request completed');
        assert.equal(withoutTime(line), withoutTime(lines.at(-1)!));
      }
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /hafen_http_requests_total\{method="GET",route="\/things\/:id",status="200"\} 2/);
      assert.match(metrics.body, /hafen_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
      assert.match(metrics.body, /hafen_http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/things\/:id"\} 2/);
      assert.match(metrics.body, /hafen_http_request_duration_seconds_count\{method="GET",route="\/things\/:id"\} 2/);
    } finally {
      await app.close();
    }
  });

  it('writes nothing below its level, and goes through pino for a logger that adds to its records', () => {
    const quiet = capture();
    completionLog(pino({ level: 'warn' }, quiet.stream))('req-1', 'GET', '/x', 200, 1.5);
    assert.deepEqual(quiet.lines, []);

    const mixed = capture();
    const logger = pino({ mixin: () => ({ cloud: 'c1' }) }, mixed.stream);
    completionLog(logger)('req-2', 'GET', '/x', 204, 2.5);
    const record = JSON.parse(mixed.lines[0]!) as Record<string, unknown>;
    assert.equal(record.cloud, 'c1');
    assert.deepEqual(record.req, { method: 'GET', url: '/x' });
    assert.equal(record.reqId, 'req-2');
  });
});
