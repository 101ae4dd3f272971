// Users' patterns: RE2 semantics (no catastrophic backtracking, no back-references), off the event
// loop, and abandoned after the time limit while the loop keeps turning.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matchUserPattern, PatternError, stopPatternWorker } from './user-pattern.ts';

describe('user patterns', () => {
  after(stopPatternWorker);

  it('matches whole inputs or finds within them', async () => {
    assert.deepEqual(await matchUserPattern('[a-z]+[0-9]?', ['abc1', 'abc12', 'ABC'], 'whole'), [true, false, false]);
    assert.deepEqual(await matchUserPattern('b+', ['abbc', 'ac'], 'find'), [true, false]);
  });

  it('answers the classic backtracking bombs at once', async () => {
    const started = Date.now();
    assert.deepEqual(await matchUserPattern('(a+)+$', [`${'a'.repeat(5000)}b`], 'whole'), [false]);
    assert.deepEqual(await matchUserPattern('(x+x+)+y', ['x'.repeat(5000)], 'find'), [false]);
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
  });

  it('refuses what RE2 cannot run, with a 400', async () => {
    await assert.rejects(matchUserPattern('(a)\\1', ['aa'], 'whole'), PatternError);
    await assert.rejects(matchUserPattern('(?=a)a', ['a'], 'whole'), PatternError);
    await assert.rejects(matchUserPattern('x'.repeat(5000), ['x'], 'whole'), PatternError);
  });

  it('gives up on a check past its time limit while the event loop keeps answering', async () => {
    let ticks = 0;
    let worstGap = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      ticks++;
      worstGap = Math.max(worstGap, Date.now() - last);
      last = Date.now();
    }, 10);
    try {
      await assert.rejects(matchUserPattern('(?:[a-z]{0,100}){0,10}', ['x'.repeat(200_000)], 'whole', 300), /took longer/);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 5, 'the loop turned');
    assert.ok(worstGap < 200, `the loop was blocked for ${worstGap} ms`);
    // A new worker serves the next check.
    assert.deepEqual(await matchUserPattern('ok', ['ok'], 'whole'), [true]);
  });
});
