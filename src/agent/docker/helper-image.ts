// Images hafen itself runs on an engine (the busybox helper of the dataplane and of config drives),
// loaded without tags and referred to by their content id, so that no name on the engine, whoever
// set it, decides what hafen's helpers run.
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { busyboxDockerArchive } from '../../host/busybox-image.ts';
import { followEngineStream } from '../../host/engine-client.ts';
import { untaggedArchive } from './image-archive.ts';

/**
 * Loads a docker save archive as content only (see untaggedArchive) and resolves with the engine's
 * id of what it loaded (`sha256:` and the config's digest).
 */
export async function loadUntagged(docker: Docker, archive: Readable | AsyncIterable<Buffer>): Promise<string> {
  const output = await followEngineStream(docker, await docker.loadImage(untaggedArchive(archive as AsyncIterable<Buffer>)));
  // An archive without names makes the engine answer "Loaded image ID: sha256:…".
  const ids = output
    .map((o) => (o as { stream?: string }).stream ?? '')
    .join('')
    .match(/Loaded image ID: (sha256:[0-9a-f]{64})/g)
    ?.map((l) => l.slice('Loaded image ID: '.length));
  if (ids?.length !== 1) throw new Error('the engine did not load exactly one image from the archive');
  return ids[0]!;
}

let busyboxArchive: Buffer | undefined;
const helpers = new WeakMap<Docker, Promise<string>>();

/** The engine id of hafen's busybox helper image on this engine, loading it the first time. */
export function helperImage(docker: Docker): Promise<string> {
  let p = helpers.get(docker);
  if (!p) {
    busyboxArchive ??= busyboxDockerArchive();
    const archive = busyboxArchive;
    p = loadUntagged(docker, (async function* () { yield archive; })());
    p.catch(() => helpers.delete(docker));
    helpers.set(docker, p);
  }
  return p;
}

/** After the engine lost the helper image (removed behind hafen's back): the next call loads it again. */
export function forgetHelperImage(docker: Docker): void {
  helpers.delete(docker);
}
