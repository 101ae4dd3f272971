import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evictOne } from './clock-eviction.ts';

describe('CLOCK eviction', () => {
  it('drops the oldest unused entry and gives used ones a second chance', () => {
    const map = new Map([
      ['a', { used: true }],
      ['b', { used: false }],
      ['c', { used: true }],
    ]);
    evictOne(map);
    assert.deepEqual([...map.keys()], ['c', 'a']);
    assert.equal(map.get('a')!.used, false);
    assert.equal(map.get('c')!.used, true);
  });

  it('removes one entry even when every entry was used', () => {
    const map = new Map([
      ['a', { used: true }],
      ['b', { used: true }],
    ]);
    evictOne(map);
    assert.deepEqual([...map.keys()], ['b']);
    assert.equal(map.get('b')!.used, false);
  });

  it('leaves an empty map alone', () => {
    const map = new Map<string, { used: boolean }>();
    evictOne(map);
    assert.equal(map.size, 0);
  });
});
