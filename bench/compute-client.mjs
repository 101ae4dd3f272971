// The client side of bench/compute on a thread of its own, as a real client runs in a process of its
// own: Nova boots polled to ACTIVE and deletes polled to 404 through the API, and the raw twin (what a
// user types to get the same container by hand: `docker run -d -i` with the same options, `docker rm
// -f -v`) through the Engine API, each timed here. The controller keeps the main thread to itself.
// Plain .mjs so that it needs no loader.
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import Docker from 'dockerode';

const { url, token, socket, engineVersion, pollMs } = workerData;
const h = { 'x-auth-token': token, 'content-type': 'application/json' };
const docker = new Docker({ socketPath: socket, version: engineVersion });
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

async function pool(items, concurrency, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function bootOne(imageId, name) {
  const r = await fetch(`${url}/compute/v2.1/servers`, { method: 'POST', headers: h, body: JSON.stringify({ server: { name, imageRef: imageId, flavorRef: '1', networks: 'none' } }) });
  if (r.status !== 202) throw new Error(`boot: ${r.status} ${await r.text()}`);
  const id = (await r.json()).server.id;
  for (;;) {
    await sleep(pollMs);
    const s = (await (await fetch(`${url}/compute/v2.1/servers/${id}`, { headers: h })).json()).server;
    if (s.status === 'ACTIVE') return id;
    if (s.status === 'ERROR') throw new Error(`boot failed: ${JSON.stringify(s)}`);
  }
}

async function deleteOne(id) {
  const r = await fetch(`${url}/compute/v2.1/servers/${id}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
  if (r.status !== 204) throw new Error(`delete: ${r.status} ${await r.text()}`);
  for (;;) {
    await sleep(pollMs);
    const res = await fetch(`${url}/compute/v2.1/servers/${id}`, { headers: h });
    await res.arrayBuffer();
    if (res.status === 404) return;
  }
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
  await pool(items, concurrency, async (item) => {
    const t = performance.now();
    out.push(await fn(item));
    each.push(performance.now() - t);
  });
  return { ids: out, each, totalMs: performance.now() - t0 };
}

const ops = {
  boot: ({ imageId, names, concurrency }) => timed(names, concurrency, (name) => bootOne(imageId, name)),
  delete: ({ ids, concurrency }) => timed(ids, concurrency, deleteOne),
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
