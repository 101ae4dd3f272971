// Test fixture for multi-host tests: N nested Docker hosts on the shared test engine, each reachable
// at tcp://172.31.250.x:2375, removed again (with their network) by the returned teardown.
import { startNestedHosts, type NestedHostSet } from '../../src/host/nested-hosts.ts';
import { testEngineSocket } from './engine.ts';

export type { NestedHost, NestedHostSet } from '../../src/host/nested-hosts.ts';

/** Starts `count` nested hosts; call `teardown()` in the test's `after`. */
export async function startTestHosts(count: number): Promise<NestedHostSet> {
  return startNestedHosts({ outerEndpoint: await testEngineSocket(), count });
}
