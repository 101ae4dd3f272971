// Request thread for count-bounded benches: sends `count` identical keep-alive HTTP/1.1 requests over
// `connections` loops and reports each latency and the answers that were not `expectStatus`.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { url, method, headers, body, count, connections, expectStatus } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const target = new URL(url);

function once() {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: target.hostname, port: target.port, path: target.pathname + target.search, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let next = 0;
const latencies = [];
const unexpected = [];
let unexpectedCount = 0;
const start = performance.now();
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (next < count) {
      next++;
      const t0 = performance.now();
      const { status, text } = await once();
      latencies.push(performance.now() - t0);
      if (status !== expectStatus && unexpectedCount++ < 5) unexpected.push(`${status} ${text.slice(0, 300)}`);
    }
  }),
);
const elapsedMs = performance.now() - start;
agent.destroy();
parentPort.postMessage({ elapsedMs, latencies: Float64Array.from(latencies), unexpected, unexpectedCount });
