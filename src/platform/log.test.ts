// The readable log: formats of request records and events, and when each format applies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatRecord, resolveLogFormat } from './log.ts';

describe('log format', () => {
  it('is readable on a terminal and JSON elsewhere unless asked', () => {
    assert.equal(resolveLogFormat('auto', { isTTY: true }), 'text');
    assert.equal(resolveLogFormat('auto', {}), 'json');
    assert.equal(resolveLogFormat('json', { isTTY: true }), 'json');
    assert.equal(resolveLogFormat('text', {}), 'text');
  });

  it('writes a request as one short line and an event with its fields and error', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
    assert.equal(
      formatRecord({ level: 30, time, reqId: 'req-1', req: { method: 'GET', url: '/compute/v2.1/servers' }, res: { statusCode: 200 }, responseTime: 3.14159, msg: 'request completed' }),
      '03:04:05.006 GET /compute/v2.1/servers 200 3.1 ms req-1\n',
    );
    assert.equal(formatRecord({ level: 40, time, msg: 'engine slow', host: 'h 1', service: 'compute' }), '03:04:05.006 WARN  compute: engine slow host="h 1"\n');
    const withError = formatRecord({ level: 50, time, msg: 'request failed', reqId: 'req-2', err: { message: 'boom', stack: 'Error: boom\n    at x' } });
    assert.equal(withError, '03:04:05.006 ERROR request failed req-2\n    Error: boom\n        at x\n');
  });
});
