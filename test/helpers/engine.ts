// One real Docker engine shared by every test in a run: project-owned, under .hafen-test/.
import path from 'node:path';
import { checkoutDir } from '../../src/config.ts';
import { ensureLocalEngine } from '../../src/host/local-engine.ts';

export const testEngineDir = path.join(checkoutDir, '.hafen-test', 'engine-shared');

/** Starts (or reuses) the shared test engine; resolves with its unix socket path. */
export async function testEngineSocket(): Promise<string> {
  const engine = await ensureLocalEngine(testEngineDir);
  return engine.socket;
}
