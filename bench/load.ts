// Measures one HTTP target with the load generator on its own thread (so that the server under test
// keeps the main thread): requests/s and latency percentiles over a bounded run on loopback.
import { Worker } from 'node:worker_threads';

export interface LoadOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Request body sent with every request (e.g. a JSON document). */
  body?: string;
  connections: number;
  durationMs: number;
  warmupMs: number;
  expectStatus: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  count: number;
  /** Answers during the warm-up (not in the figures above), for CPU a request measured around the whole call. */
  warmupCount?: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function measure(url: string, options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), {
      workerData: { url, method: options.method ?? 'GET', headers: options.headers ?? {}, ...options },
      execArgv: [],
    });
    worker.once('error', reject);
    worker.once('message', (m: { warmupCount: number; count: number; elapsedMs: number; latencies: Float64Array; unexpected: number }) => {
      if (m.unexpected > 0) return reject(new Error(`${url}: ${m.unexpected} answers were not ${options.expectStatus}`));
      const sorted = m.latencies.sort();
      resolve({ requestsPerSecond: (m.count * 1000) / m.elapsedMs, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), count: m.count, warmupCount: m.warmupCount });
    });
  });
}
