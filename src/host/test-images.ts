// The images hafen builds locally because no registry can be reached: hafen/busybox:latest, a root
// filesystem of Debian's static busybox plus its applet links, imported into an engine once.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { engineClient, followEngineStream } from './engine-client.ts';
import { writeTar, type TarEntry } from './tar-writer.ts';

export const BUSYBOX_IMAGE = 'hafen/busybox:latest';
const BUSYBOX_BINARY = '/bin/busybox';
const ROOTFS_MTIME = Date.UTC(2026, 0, 1) / 1000;

/** The root filesystem of the busybox image as a tar archive. */
export function busyboxRootfsTar(busybox = BUSYBOX_BINARY): Buffer {
  if (!fs.existsSync(busybox)) throw new Error(`${busybox} is missing (scripts/setup.sh installs Debian's busybox-static)`);
  // --list-full names each applet with its usual directory (bin/sh, usr/bin/awk, sbin/ifconfig).
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').map((l) => l.trim()).filter(Boolean);
  const dirs = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc', 'root', 'home', 'var', 'var/tmp', 'proc', 'sys', 'dev', 'run', 'mnt'];
  const entries: TarEntry[] = dirs.map((d) => ({ type: 'directory', path: d }));
  entries.push({ type: 'directory', path: 'tmp', mode: 0o1777 });
  entries.push({ type: 'file', path: 'bin/busybox', content: fs.readFileSync(busybox), mode: 0o755 });
  for (const applet of applets) {
    if (applet === 'bin/busybox') continue;
    entries.push({ type: 'symlink', path: applet, target: '/bin/busybox' });
  }
  entries.push({ type: 'file', path: 'etc/passwd', content: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') });
  entries.push({ type: 'file', path: 'etc/group', content: Buffer.from('root:x:0:\nnogroup:x:65534:\n') });
  // Fixed times, so the same busybox gives the same layer (and image id) on every host and every run.
  return writeTar(entries, ROOTFS_MTIME);
}

/**
 * Makes sure `hafen/busybox:latest` exists in the engine at `endpoint` (socket path, unix:// or tcp://);
 * imports it when missing. Resolves with true when it imported, false when the image was there.
 */
export async function ensureBusyboxEngineImage(endpoint: string, name = BUSYBOX_IMAGE): Promise<boolean> {
  return ensureBusyboxImageIn(engineClient(endpoint), name);
}

/** The same, for an engine client at hand. */
export async function ensureBusyboxImageIn(docker: Docker, name = BUSYBOX_IMAGE): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return false;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  const colon = name.lastIndexOf(':');
  const [repo, tag] = colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, 'latest'];
  const stream = await docker.importImage(Readable.from([busyboxRootfsTar()]), { repo, tag, changes: ['CMD ["/bin/sh"]'] });
  await followEngineStream(docker, stream);
  return true;
}
