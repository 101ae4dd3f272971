// Load generator thread for bench/load.ts: keep-alive HTTP/1.1 loops against one URL for a fixed time,
// reporting the number of answers and each latency. Plain .mjs so that it needs no loader.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { url, method, headers, body, connections, durationMs, warmupMs, expectStatus } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const target = new URL(url);

function once() {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: target.hostname, port: target.port, path: target.pathname + target.search, method, headers },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function loop(until, latencies, counters) {
  while (performance.now() < until) {
    const start = performance.now();
    const status = await once();
    if (status !== expectStatus) counters.unexpected++;
    if (latencies) latencies.push(performance.now() - start);
  }
}

const counters = { unexpected: 0 };
const warmEnd = performance.now() + warmupMs;
const warm = [];
await Promise.all(Array.from({ length: connections }, () => loop(warmEnd, warm, counters)));
counters.unexpected = 0;
const latencies = [];
const start = performance.now();
const end = start + durationMs;
await Promise.all(Array.from({ length: connections }, () => loop(end, latencies, counters)));
const elapsed = performance.now() - start;
agent.destroy();
parentPort.postMessage({ warmupCount: warm.length, count: latencies.length, elapsedMs: elapsed, latencies: Float64Array.from(latencies), unexpected: counters.unexpected });
