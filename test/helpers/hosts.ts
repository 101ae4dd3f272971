// Test fixture for multi-host tests: N nested Docker hosts on the shared test engine, each reachable
// at tcp://172.31.250.x:2376 with TLS (hafen's client certificate under the shared engine's pki/),
// removed again (with their network) by the returned teardown.
import path from 'node:path';
import { startNestedHosts, type NestedHostSet } from '../../src/host/nested-hosts.ts';
import { testEngineDir, testEngineSocket } from './engine.ts';

export type { NestedHost, NestedHostSet } from '../../src/host/nested-hosts.ts';

/** The CA and client certificate of the test hosts, shared by every set on the shared engine. */
export const testHostsPkiDir = path.join(testEngineDir, 'pki');

/** Starts `count` nested hosts; call `teardown()` in the test's `after`. */
export async function startTestHosts(count: number): Promise<NestedHostSet> {
  return startNestedHosts({ outerEndpoint: await testEngineSocket(), count, pkiDir: testHostsPkiDir });
}
