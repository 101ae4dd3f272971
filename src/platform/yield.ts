// Long work made of many small steps gives the event loop back every few milliseconds, so other
// requests are answered in between. Needed because SQLite's calls are synchronous: awaiting them
// resolves as microtasks, and a chain of such awaits never lets the loop poll its sockets. Work
// that must yield waits in line and one piece goes on per turn of the loop: many chains under way
// at once (a stack's resources side by side) cannot take one turn together.
import { performance } from 'node:perf_hooks';

/** How long work may hold the loop before it yields. */
const SLICE_MS = 8;
let sliceStart = performance.now();
const waiting: (() => void)[] = [];
let releasing = false;

function releaseOne(): void {
  const next = waiting.shift();
  sliceStart = performance.now();
  if (waiting.length > 0) setImmediate(releaseOne);
  else releasing = false;
  next?.();
}

/** Yields to I/O when the current slice is used up (or others wait to go on); otherwise returns at once. */
export async function yieldToOthers(): Promise<void> {
  if (waiting.length === 0 && performance.now() - sliceStart < SLICE_MS) return;
  await new Promise<void>((resolve) => {
    waiting.push(resolve);
    if (!releasing) {
      releasing = true;
      setImmediate(releaseOne);
    }
  });
}
