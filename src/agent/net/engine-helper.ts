// Runs one of the host's network tools on a host reached only through its engine: a short-lived
// helper container with NET_ADMIN and the host's /usr and /lib mounted read-only, removed afterwards.
import fs from 'node:fs';
import type Docker from 'dockerode';
import { BUSYBOX_IMAGE } from '../../host/test-images.ts';
import { forgetHelperImage, helperImage } from '../docker/helper-image.ts';

export interface EngineHelperOptions {
  /** Whose network namespace: `host` (the engine's host) or `container:<id>`. */
  networkMode: string;
  /** A shell script run by the image's /bin/sh; values come in through `env`, never spliced in. */
  script: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Lets the script write /proc/sys (net.ipv4 settings of that namespace). */
  writableProcSys?: boolean;
}

/** The host's tool directories, as the firewall helper mounts them. */
const HOST_TOOL_MOUNTS = ['/usr', '/lib', '/lib64', '/etc/alternatives'].filter((p) => fs.existsSync(p)).map((p) => `${p}:${p}:ro`);

/**
 * Runs the script to completion; rejects with its output when it exits non-zero. `BUSYBOX_IMAGE`
 * means hafen's own busybox, run by its content id (loaded the first time an engine lacks it), never
 * by the tag: a tag on an engine is only a name, and a tenant's archive must not decide what runs here.
 */
export async function runEngineHelper(docker: Docker, image: string, options: EngineHelperOptions): Promise<string> {
  if (image !== BUSYBOX_IMAGE) return runOnce(docker, image, options);
  try {
    return await runOnce(docker, await helperImage(docker), options);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    forgetHelperImage(docker);
    return runOnce(docker, await helperImage(docker), options);
  }
}

async function runOnce(docker: Docker, image: string, options: EngineHelperOptions): Promise<string> {
  const helper = await docker.createContainer({
    Image: image,
    // The entrypoint is ours, whatever the image says.
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: [options.script],
    Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { 'hafen.managed': 'true', ...(options.labels ?? {}) },
    HostConfig: {
      NetworkMode: options.networkMode,
      CapAdd: ['NET_ADMIN', 'NET_RAW'],
      // Host rights in the host's or a container's network namespace: outside the engine's user-namespace remap.
      UsernsMode: 'host',
      Binds: HOST_TOOL_MOUNTS,
      ...(options.writableProcSys ? { ReadonlyPaths: [], MaskedPaths: [] } : {}),
      AutoRemove: false,
    },
  });
  try {
    await helper.start();
    const { StatusCode } = (await helper.wait()) as { StatusCode: number };
    const logs = demux((await helper.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    if (StatusCode !== 0) throw new Error(`helper in ${options.networkMode} failed (${StatusCode}): ${logs.trim()}`);
    return logs;
  } finally {
    await helper.remove({ force: true }).catch(() => {});
  }
}

/** The text of a non-TTY log: frames of an 8-byte header (stream, 0, 0, 0, length) and the payload. */
function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length && buf[at]! <= 2 && buf[at + 1] === 0) {
    const len = buf.readUInt32BE(at + 4);
    parts.push(buf.subarray(at + 8, at + 8 + len));
    at += 8 + len;
  }
  return (at === 0 ? buf : Buffer.concat(parts)).toString('utf8');
}
