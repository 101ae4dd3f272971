// A cloud whose in-process agent drives the shared test engine, with a busybox image registered
// in the image service whose command keeps the container running.
import fs from 'node:fs';
import path from 'node:path';
import { startTestCloud, type TestCloud } from './cloud.ts';
import { testEngineSocket } from './engine.ts';
import { claimDefaultNetworkRange } from './subnets.ts';
import { busyboxDockerArchive } from '../../src/host/busybox-image.ts';

export async function startComputeCloud(name: string, env: Record<string, string> = {}): Promise<{ t: TestCloud; socket: string; imageTar: string }> {
  const socket = await testEngineSocket();
  // Default networks from a range of this cloud's own: another file's cloud on the engine cannot pick the same /24.
  const t = await startTestCloud(name, { HAFEN_DOCKER_HOSTS: `unix://${socket}`, HAFEN_RECONCILE_INTERVAL: '1', HAFEN_DEFAULT_NETWORK_RANGE: await claimDefaultNetworkRange(), ...env });
  const imageTar = path.join(t.dataDir, 'busybox.tar');
  fs.writeFileSync(imageTar, busyboxDockerArchive({ cmd: ['sh', '-c', 'echo booted; exec sleep 3600'] }));
  return { t, socket, imageTar };
}

/**
 * Polls `fn` every 100 ms until it gives a value. The default deadline is for a machine at load 10-20
 * (2 cores, three files at once beside other work): a boot there can take most of a minute.
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
