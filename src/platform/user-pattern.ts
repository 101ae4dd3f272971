// Regular expressions that users give (Heat's allowed_pattern, name filters) run on RE2's engine
// (re2js: no backtracking, so time grows linearly with the input) in a worker thread with a time
// bound: even a linear match of a large counted repetition against a long value is seconds of CPU,
// and it must not hold up other requests. RE2 has no back-references or look-arounds; such a
// pattern is refused as invalid.
import { Worker } from 'node:worker_threads';
import { BadRequestError } from './errors.ts';

/** Longer patterns are refused; RE2 also refuses repeat counts over 1000. */
export const MAX_PATTERN_LENGTH = 4096;
/** How long one check may take before it is abandoned (and answered 400). */
export const PATTERN_TIME_LIMIT_MS = 2000;

export class PatternError extends BadRequestError {
  override readonly name: string = 'InvalidPattern';
}

type Mode = 'whole' | 'find';
interface Job {
  source: string;
  inputs: string[];
  mode: Mode;
  timeLimitMs: number;
  resolve(results: boolean[]): void;
  reject(err: Error): void;
}

/** Checks wait in line for the one worker; beyond this many waiting, a check is refused at once. */
const MAX_QUEUED = 256;

let worker: Worker | undefined;
let ready = false;
const queue: Job[] = [];
/** The check the worker runs now; its time limit starts when it is handed over. */
let current: { job: Job; worker: Worker; timer: NodeJS.Timeout } | undefined;

function startWorker(): void {
  const w = new Worker(new URL('./user-pattern-worker.mjs', import.meta.url));
  w.unref();
  worker = w;
  ready = false;
  w.on('message', (msg: { ready?: true; results?: boolean[]; error?: string }) => {
    if (msg.ready) {
      if (worker === w) ready = true;
    } else if (current?.worker === w) {
      const { job, timer } = current;
      current = undefined;
      clearTimeout(timer);
      if (msg.error !== undefined) job.reject(new PatternError(`Invalid pattern: ${msg.error}`));
      else job.resolve(msg.results!);
    }
    pump();
  });
  const gone = (err: Error) => {
    if (worker === w) {
      worker = undefined;
      ready = false;
    }
    if (current?.worker === w) {
      clearTimeout(current.timer);
      current.job.reject(err);
      current = undefined;
    }
    pump();
  };
  w.on('error', gone);
  w.on('exit', () => gone(new PatternError('The pattern check was stopped.')));
}

function pump(): void {
  if (current || queue.length === 0) return;
  if (!worker) startWorker();
  if (!ready) return; // the worker's ready message pumps again
  const w = worker!;
  const job = queue.shift()!;
  const timer = setTimeout(() => {
    if (current?.worker !== w) return;
    current = undefined;
    const shown = job.source.length > 80 ? `${job.source.slice(0, 80)}...` : job.source;
    job.reject(new PatternError(`Checking the pattern ${JSON.stringify(shown)} took longer than ${job.timeLimitMs / 1000} s.`));
    // The worker is stuck in that match: a new one serves the checks after it.
    worker = undefined;
    ready = false;
    void w.terminate();
    pump();
  }, job.timeLimitMs);
  current = { job, worker: w, timer };
  w.postMessage({ source: job.source, inputs: job.inputs, mode: job.mode });
}

/**
 * Whether each input matches `source`: the whole input (`whole`, as Heat's anchored allowed_pattern)
 * or some part of it (`find`, a search). Throws PatternError (400) for a pattern that is too long,
 * not valid RE2, or whose check runs past the time limit (the worker is then replaced).
 */
export async function matchUserPattern(source: string, inputs: string[], mode: Mode, timeLimitMs = PATTERN_TIME_LIMIT_MS): Promise<boolean[]> {
  if (source.length > MAX_PATTERN_LENGTH) throw new PatternError(`The pattern is longer than ${MAX_PATTERN_LENGTH} characters.`);
  if (inputs.length === 0) return [];
  if (queue.length >= MAX_QUEUED) throw new PatternError('Too many pattern checks are waiting; try again.');
  return new Promise<boolean[]>((resolve, reject) => {
    queue.push({ source, inputs, mode, timeLimitMs, resolve, reject });
    pump();
  });
}

/** Stops the worker (tests, shutdown); the next check starts a new one. */
export async function stopPatternWorker(): Promise<void> {
  const w = worker;
  worker = undefined;
  ready = false;
  if (w) await w.terminate();
}
