import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { blockTaken, machineBlocksInUse, masqueradeBlocks, parseBlock, routeBlocks } from './machine-blocks.ts';

describe('blocks in use on this machine', () => {
  it('reads route destinations, a down bridge included, and leaves the default route out', () => {
    const table = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'br-dead\t00FA1FAC\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    ].join('\n');
    const blocks = routeBlocks(table);
    assert.equal(blocks.length, 2);
    assert.equal(blockTaken('192.0.2.0/24', blocks), true);
    assert.equal(blockTaken('172.31.250.0/24', blocks), true);
    assert.equal(blockTaken('172.31.251.0/24', blocks), false);
    assert.equal(blockTaken('10.0.0.0/8', blocks), false);
  });

  it("counts the sources of masquerade rules, whose bridge may be gone", () => {
    const rules = [
      '-P POSTROUTING ACCEPT',
      '-A POSTROUTING -s 172.31.250.0/24 ! -o br-5cd0a2fb8bb9 -j MASQUERADE',
      '-A POSTROUTING -s 10.79.41.7 -j MASQUERADE',
      '-A POSTROUTING -s 10.1.0.0/16 -j SNAT --to-source 1.2.3.4',
      '-A POSTROUTING -j HAFEN-82fda1-FIP-SNAT',
    ].join('\n');
    const blocks = masqueradeBlocks(rules);
    assert.deepEqual(blocks, [parseBlock('172.31.250.0/24'), parseBlock('10.79.41.7/32')]);
    assert.equal(blockTaken('172.31.250.0/24', blocks), true);
    assert.equal(blockTaken('10.79.41.0/24', blocks), true);
    assert.equal(blockTaken('10.1.0.0/24', blocks), false);
  });

  it('takes what is not a block as taken, and finds this machine\'s own routes', async () => {
    assert.equal(blockTaken('not-a-cidr', []), true);
    assert.equal(blockTaken('10.0.0.0/33', []), true);
    const used = await machineBlocksInUse();
    assert.ok(used.some((b) => b.first === b.last), 'interface addresses are among them');
  });
});
