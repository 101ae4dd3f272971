// A `docker save` archive of the busybox image, written without any Docker engine: the layer is
// the busybox root filesystem, with the config and manifest.json that `docker load` reads.
import { createHash } from 'node:crypto';
import { writeTar } from './tar-writer.ts';
import { busyboxRootfsTar } from './test-images.ts';

export interface ArchiveOptions {
  repoTag?: string;
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  exposedPorts?: string[];
  /** The image's labels (tests play images that carry hafen's own label names). */
  labels?: Record<string, string>;
}

/** A docker save archive holding one image whose single layer is `layer` (a root filesystem tar). */
export function dockerArchive(layer: Buffer, options: ArchiveOptions = {}): Buffer {
  const diffId = createHash('sha256').update(layer).digest('hex');
  const config = {
    architecture: 'amd64',
    os: 'linux',
    created: '2026-01-01T00:00:00Z',
    config: {
      Cmd: options.cmd ?? ['/bin/sh'],
      Env: options.env ?? ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
      WorkingDir: options.workingDir ?? '/',
      ...(options.exposedPorts ? { ExposedPorts: Object.fromEntries(options.exposedPorts.map((p) => [p, {}])) } : {}),
      ...(options.labels ? { Labels: options.labels } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    history: [{ created: '2026-01-01T00:00:00Z', created_by: 'hafen busybox-image' }],
  };
  const configJson = Buffer.from(JSON.stringify(config));
  const configName = `${createHash('sha256').update(configJson).digest('hex')}.json`;
  const repoTag = options.repoTag ?? 'busybox:latest';
  const [repo, tag] = repoTag.split(':');
  const manifest = [{ Config: configName, RepoTags: [repoTag], Layers: [`${diffId}/layer.tar`] }];
  return writeTar([
    { type: 'directory', path: diffId },
    { type: 'file', path: `${diffId}/VERSION`, content: Buffer.from('1.0') },
    { type: 'file', path: `${diffId}/layer.tar`, content: layer },
    { type: 'file', path: configName, content: configJson },
    { type: 'file', path: 'manifest.json', content: Buffer.from(JSON.stringify(manifest)) },
    { type: 'file', path: 'repositories', content: Buffer.from(JSON.stringify({ [repo]: { [tag ?? 'latest']: diffId } })) },
  ]);
}

/** The busybox image (Debian's busybox-static and its applet links) as a docker save archive. */
export function busyboxDockerArchive(options: ArchiveOptions = {}): Buffer {
  return dockerArchive(busyboxRootfsTar(), options);
}
