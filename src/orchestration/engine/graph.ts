// The dependency graph of a stack's resources (from depends_on and the references their properties
// and metadata make), cycle detection naming the cycle, and the walk that runs every resource as
// soon as what it needs is done, independent ones side by side.
import { yieldToOthers } from '../../platform/yield.ts';
import { TemplateError } from '../template/model.ts';

/** name -> the names it needs first. */
export type Graph = Map<string, Set<string>>;

export function findCycle(graph: Graph): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 'visiting');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 'visiting') return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.keys()) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return undefined;
}

export function assertAcyclic(graph: Graph): void {
  const cycle = findCycle(graph);
  if (cycle) throw new TemplateError(`Circular Dependency Found: ${cycle.join(' -> ')}`);
}

/** The graph turned around: name -> the names that need it (for deletes, and `required_by`). */
export function reverse(graph: Graph): Graph {
  const out: Graph = new Map([...graph.keys()].map((k) => [k, new Set<string>()]));
  for (const [n, deps] of graph) for (const d of deps) if (out.has(d)) out.get(d)!.add(n);
  return out;
}

export interface WalkResult {
  failed?: { name: string; error: Error };
  /** Names that ran to completion. */
  done: Set<string>;
}

/**
 * Runs `step` on every node once all its dependencies are done, up to `concurrency` at a time. After
 * the first failure (or an abort) no new node starts; those under way finish. The first failure is
 * returned, not thrown.
 */
export async function walk(graph: Graph, step: (name: string) => Promise<void>, opts: { concurrency: number; signal?: AbortSignal }): Promise<WalkResult> {
  const remaining = new Map([...graph].map(([n, deps]) => [n, new Set([...deps].filter((d) => graph.has(d)))]));
  const dependents = reverse(graph);
  const done = new Set<string>();
  const ready: string[] = [...remaining].filter(([, d]) => d.size === 0).map(([n]) => n);
  let running = 0;
  let failed: WalkResult['failed'];
  return new Promise<WalkResult>((resolve) => {
    const pump = () => {
      while (!failed && !opts.signal?.aborted && running < opts.concurrency && ready.length > 0) {
        const name = ready.shift()!;
        remaining.delete(name);
        running++;
        // A step may be only synchronous database calls: give the loop back between steps.
        yieldToOthers().then(() => step(name)).then(
          () => {
            done.add(name);
            for (const n of dependents.get(name) ?? []) {
              const deps = remaining.get(n);
              if (!deps) continue;
              deps.delete(name);
              if (deps.size === 0) ready.push(n);
            }
          },
          (err: unknown) => {
            failed ??= { name, error: err instanceof Error ? err : new Error(String(err)) };
          },
        ).finally(() => {
          running--;
          pump();
        });
      }
      if (running === 0) {
        if (!failed && opts.signal?.aborted && remaining.size > 0) failed = { name: '', error: abortReason(opts.signal) };
        resolve({ failed, done });
      }
    };
    pump();
  });
}

export function abortReason(signal: AbortSignal): Error {
  const r = signal.reason as unknown;
  return r instanceof Error ? r : new Error(typeof r === 'string' ? r : 'Operation cancelled');
}
