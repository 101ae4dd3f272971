// Prometheus request counts and latency histograms by route; one registry per server so that
// several clouds in one test process do not share counters.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface HttpMetrics {
  observe(method: string, route: string, status: number, seconds: number): void;
  render(): Promise<string>;
  contentType: string;
}

export function createHttpMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'hafen_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'hafen_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // The labelled series, looked up once per method, route and status rather than hashed per request.
  const series = new Map<string, { count: { inc(): void }; latency: { observe(v: number): void } }>();
  return {
    observe(method, route, status, seconds) {
      const key = `${method} ${status} ${route}`;
      let s = series.get(key);
      if (!s) {
        s = { count: requests.labels({ method, route, status: String(status) }), latency: latency.labels({ method, route }) };
        series.set(key, s);
      }
      s.count.inc();
      s.latency.observe(seconds);
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
