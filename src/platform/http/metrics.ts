// Prometheus request counts and latency histograms by route; one registry per server so that
// several clouds in one test process do not share counters. A request adds to plain numbers kept
// per route, method and status; they become Prometheus series only when /metrics is read.
import { Registry, collectDefaultMetrics, type Metric } from 'prom-client';

export interface HttpMetrics {
  observe(method: string, route: string, status: number, seconds: number): void;
  render(): Promise<string>;
  contentType: string;
}

/** Upper bounds (seconds) of the latency buckets; one more bucket above the last is +Inf. */
const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One method on one route: the latency histogram (per-bucket counts, not cumulative) and the count per status. */
interface RouteSeries {
  count: number;
  sum: number;
  buckets: number[];
  statuses: Map<number, number>;
}

type Value = { metricName?: string; labels: Record<string, string | number>; value: number };

export function createHttpMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // route -> method -> series: a few short look-ups a request, no label hashing.
  const routes = new Map<string, Map<string, RouteSeries>>();
  const each = function* () {
    for (const [route, methods] of routes) for (const [method, s] of methods) yield { route, method, s };
  };
  const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => Value[]) =>
    ({ name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: values() }) }) as unknown as Metric;

  registry.registerMetric(
    metric('hafen_http_requests_total', 'HTTP requests by method, route and status', 'counter', () => {
      const out: Value[] = [];
      for (const { route, method, s } of each()) for (const [status, n] of s.statuses) out.push({ labels: { method, route, status: String(status) }, value: n });
      return out;
    }),
  );
  registry.registerMetric(
    metric('hafen_http_request_duration_seconds', 'HTTP request latency by method and route', 'histogram', () => {
      const out: Value[] = [];
      const name = 'hafen_http_request_duration_seconds';
      for (const { route, method, s } of each()) {
        let cumulative = 0;
        for (let i = 0; i <= BOUNDS.length; i++) {
          cumulative += s.buckets[i]!;
          out.push({ metricName: `${name}_bucket`, labels: { le: i < BOUNDS.length ? BOUNDS[i]! : '+Inf', method, route }, value: cumulative });
        }
        out.push({ metricName: `${name}_sum`, labels: { method, route }, value: s.sum });
        out.push({ metricName: `${name}_count`, labels: { method, route }, value: s.count });
      }
      return out;
    }),
  );

  return {
    observe(method, route, status, seconds) {
      let methods = routes.get(route);
      if (!methods) routes.set(route, (methods = new Map()));
      let s = methods.get(method);
      if (!s) methods.set(method, (s = { count: 0, sum: 0, buckets: new Array<number>(BOUNDS.length + 1).fill(0), statuses: new Map() }));
      s.count++;
      s.sum += seconds;
      let i = 0;
      while (i < BOUNDS.length && seconds > BOUNDS[i]!) i++;
      s.buckets[i]!++;
      s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
