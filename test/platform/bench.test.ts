// test: exclusive (measures speed: other tests running beside it would skew it)
// The benchmark runner stays runnable: a short platform-noop run prints both targets and the ratio.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { checkoutDir } from '../../src/config.ts';

it('runs the platform-noop benchmark and prints requests/s, p99 and their ratio', () => {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(checkoutDir, 'bench', 'run.ts'), 'platform-noop', '--duration', '0.5', '--warmup', '0.2', '--connections', '4'],
    { encoding: 'utf8', timeout: 60_000, cwd: checkoutDir },
  );
  assert.match(out, /^bare fastify +\d+ req\/s +p50 [\d.]+ ms +p99 [\d.]+ ms/m);
  assert.match(out, /^hafen platform +\d+ req\/s +p50 [\d.]+ ms +p99 [\d.]+ ms/m);
  assert.match(out, /^ratio \(platform \/ bare\): throughput [\d.]+x, p99 [\d.]+x$/m);
});
