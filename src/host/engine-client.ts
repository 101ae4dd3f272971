// A dockerode client for one Docker endpoint as hafen names them (a socket path, unix:///path or
// tcp://host:port), pinned to Engine API 1.41 so that Debian's dockerd 20.10 and newer ones all answer.
import Docker from 'dockerode';

export const ENGINE_API_VERSION = 'v1.41';

export function engineClient(endpoint: string): Docker {
  if (endpoint.startsWith('tcp://')) {
    const u = new URL(endpoint.replace(/^tcp:/, 'http:'));
    return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: 'http', version: ENGINE_API_VERSION });
  }
  const socketPath = endpoint.startsWith('unix://') ? endpoint.slice('unix://'.length) : endpoint;
  return new Docker({ socketPath, version: ENGINE_API_VERSION });
}

/** Resolves when a streamed Engine API answer (pull, import, load, build) ends; rejects on its first error. */
export function followEngineStream(docker: Docker, stream: NodeJS.ReadableStream): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: unknown[]) => {
      if (err) return reject(err);
      const failed = output.find((o) => (o as { error?: string }).error) as { error?: string } | undefined;
      if (failed) return reject(new Error(failed.error));
      resolve(output);
    });
  });
}
