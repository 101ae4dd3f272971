// The client side of bench/compute on a thread of its own, as a real client runs in a process of its
// own: Nova boots polled to ACTIVE and deletes polled to 404 (or out of the list) through the API, and the raw twin (what a
// user types to get the same container by hand: `docker run -d -i` with the same options, `docker rm
// -f -v`) through the Engine API, each timed here. The controller keeps the main thread to itself.
// Plain .mjs so that it needs no loader.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import Docker from 'dockerode';

const { url, token, socket, engineVersion, pollMs } = workerData;
const docker = new Docker({ socketPath: socket, version: engineVersion });
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
// Node's http with kept-alive connections: fetch cost 0.4-1.0 ms more CPU a request here (2,000
// GETs of a server each way, load 22), CPU that on this machine the engine and the controller lose.
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One API request: its status and its parsed JSON body (undefined when empty). */
function api(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(`${url}${path}`, { method, agent, headers: { 'x-auth-token': token, ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode, body: text ? JSON.parse(text) : undefined, text });
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** CPU time of this thread (Linux's per-thread counters, in clock ticks of 10 ms). */
function threadCpuMs() {
  const fields = fs.readFileSync('/proc/thread-self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function pool(items, concurrency, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/**
 * One poller for many waiters, as a client watching a burst of its servers polls the project's list
 * rather than each server: every `pollMs`, while anyone waits, one GET of `path`; a waiter is answered
 * when `seen` (given its server in the list, or undefined when absent) says true, or fails on an Error.
 */
class ListWatch {
  waiting = new Map();
  polling = false;

  constructor(path, seen) {
    this.path = path;
    this.seen = seen;
  }

  wait(id) {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (!this.polling) void this.poll();
    });
  }

  async poll() {
    this.polling = true;
    try {
      while (this.waiting.size > 0) {
        await sleep(pollMs);
        const r = await api('GET', this.path);
        if (r.status !== 200) throw new Error(`list: ${r.status} ${r.text}`);
        const listed = new Map(r.body.servers.map((s) => [s.id, s]));
        for (const [id, w] of this.waiting) {
          const done = this.seen(listed.get(id));
          if (done === false) continue;
          this.waiting.delete(id);
          if (done instanceof Error) w.reject(done);
          else w.resolve(id);
        }
      }
    } catch (err) {
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    } finally {
      this.polling = false;
    }
  }
}

const activeInList = new ListWatch('/compute/v2.1/servers/detail', (s) => (s?.status === 'ACTIVE' ? true : s?.status === 'ERROR' ? new Error(`boot failed: ${JSON.stringify(s)}`) : false));
const goneFromList = new ListWatch('/compute/v2.1/servers', (s) => s === undefined);

/** Polls the one server until `done` says so: GET /servers/{id} every pollMs. */
async function pollServer(id, done) {
  for (;;) {
    await sleep(pollMs);
    const res = await api('GET', `/compute/v2.1/servers/${id}`);
    const d = done(res.status, res.status === 200 ? res.body.server : undefined);
    if (d instanceof Error) throw d;
    if (d) return id;
  }
}

/** POST /servers, then ACTIVE seen by polling the server (`each`) or the project's list (`list`). */
async function bootOne(imageId, name, watch) {
  const r = await api('POST', '/compute/v2.1/servers', { server: { name, imageRef: imageId, flavorRef: '1', networks: 'none' } });
  if (r.status !== 202) throw new Error(`boot: ${r.status} ${r.text}`);
  const id = r.body.server.id;
  if (watch === 'list') return activeInList.wait(id);
  return pollServer(id, (status, s) => (status !== 200 ? new Error(`boot: server answered ${status}`) : s.status === 'ACTIVE' ? true : s.status === 'ERROR' ? new Error(`boot failed: ${JSON.stringify(s)}`) : false));
}

/** DELETE, then the server's absence seen by polling it (404, `each`) or the project's list (`list`). */
async function deleteOne(id, watch) {
  const r = await api('DELETE', `/compute/v2.1/servers/${id}`);
  if (r.status !== 204) throw new Error(`delete: ${r.status} ${r.text}`);
  if (watch === 'list') return goneFromList.wait(id);
  return pollServer(id, (status) => status === 404);
}

/**
 * The raw twin of a server booted with flavor m1.tiny and `networks: none`: `docker run -d -i --name
 * N --hostname N --memory 64m --memory-swap 64m --cpus 1 --pids-limit 1024 --cap-drop ALL --cap-add
 * <hafen's 12> --security-opt no-new-privileges --ipc private --network none <image>`, which is the
 * Engine API's create and start (and nothing else: `-d` attaches nothing).
 */
async function rawOne(image, capabilities) {
  const name = `bench-raw-${randomUUID()}`;
  const c = await docker.createContainer({
    name,
    Hostname: name.slice(0, 63),
    Image: image,
    OpenStdin: true,
    Labels: { 'hafen.bench': 'raw' },
    HostConfig: { Memory: 64 << 20, MemorySwap: 64 << 20, NanoCpus: 1e9, PidsLimit: 1024, CapDrop: ['ALL'], CapAdd: capabilities, SecurityOpt: ['no-new-privileges'], IpcMode: 'private', NetworkMode: 'none' },
  });
  await c.start();
  return c.id;
}

/** Runs `fn` over `items`, `concurrency` at once: the ids made, each one's time, the whole time. */
async function timed(items, concurrency, fn) {
  const out = [];
  const each = [];
  const t0 = performance.now();
  const cpu0 = threadCpuMs();
  await pool(items, concurrency, async (item) => {
    const t = performance.now();
    out.push(await fn(item));
    each.push(performance.now() - t);
  });
  return { ids: out, each, totalMs: performance.now() - t0, clientCpuMs: threadCpuMs() - cpu0 };
}

const ops = {
  boot: ({ imageId, names, concurrency, watch }) => timed(names, concurrency, (name) => bootOne(imageId, name, watch)),
  delete: ({ ids, concurrency, watch }) => timed(ids, concurrency, (id) => deleteOne(id, watch)),
  raw: ({ image, capabilities, count, concurrency }) => timed(Array.from({ length: count }, (_, i) => i), concurrency, () => rawOne(image, capabilities)),
  rawRemove: ({ ids, concurrency }) => timed(ids, concurrency, (id) => docker.getContainer(id).remove({ force: true, v: true })),
};

parentPort.on('message', async ({ seq, op, args }) => {
  try {
    parentPort.postMessage({ seq, result: await ops[op](args) });
  } catch (err) {
    parentPort.postMessage({ seq, error: err.message });
  }
});
