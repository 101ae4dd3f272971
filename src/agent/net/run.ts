// Runs the host's network tools (ip, iptables, iptables-restore), on the host or in a container's
// network namespace, without a shell: one place, so every command the data plane issues is visible
// and its failure names the command.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';

/**
 * Runs `cmd args` with `input` on its stdin; resolves its stdout when it exits 0. The tools are
 * started by one long-lived helper (tool-runner.py), because a spawn from this large process forks
 * all of it; where the helper cannot run (no python3), they are spawned from here.
 */
export function runTool(cmd: string, args: string[], input?: string): Promise<string> {
  return runVia(undefined, cmd, args, input);
}

/** runTool in the network namespace of process `pid` (a container's init), as `nsenter -t pid -n`. */
export function runToolIn(pid: number, cmd: string, args: string[], input?: string): Promise<string> {
  return runVia(pid, cmd, args, input);
}

function runVia(netns: number | undefined, cmd: string, args: string[], input?: string): Promise<string> {
  const direct = () => (netns === undefined ? spawnTool(cmd, args, input) : spawnTool('nsenter', ['-t', String(netns), '-n', cmd, ...args], input));
  if (runner === undefined) runner = ToolRunner.start();
  if (!runner) return direct();
  return runner.run([cmd, ...args], input ?? '', netns).then(
    ({ code, stdout, stderr }) => (code === 0 ? stdout : Promise.reject(new Error(`${netns === undefined ? '' : `in ${netns}: `}${[cmd, ...args].join(' ')}: exit ${code}: ${stderr.trim()}`))),
    (err: Error) => (err instanceof RunnerMissing ? direct() : Promise.reject(err)),
  );
}

/** runTool spawned from this process itself (what runTool does where the runner cannot run). */
export function spawnTool(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    // A tool that is missing or exits early must not turn our write into an unhandled EPIPE.
    child.stdin.on('error', () => {});
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${[cmd, ...args].join(' ')}: exit ${code}: ${err.trim()}`))));
    child.stdin.end(input ?? '');
  });
}

/** The helper could not start or ended before it was ready: nothing ran, the tool may be spawned here. */
class RunnerMissing extends Error {}

interface Answer { id: number; code: number; stdout: string; stderr: string }

/** undefined: not tried yet; null: not available in this process. */
let runner: ToolRunner | null | undefined;

class ToolRunner {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  /** The helper said it is ready: before that it has run nothing (and may not run here at all). */
  private ready = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    const failure = (message: string) => (this.ready ? new Error(message) : new RunnerMissing(message));
    child.on('error', (err: Error) => this.gone(failure(`tool runner: ${err.message}`)));
    child.on('close', (code, signal) => this.gone(failure(`tool runner exited (${signal ?? code})`)));
    child.stdin.on('error', () => {});
    child.stderr.resume();
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let answer: Answer & { ready?: boolean };
      try {
        answer = JSON.parse(line) as Answer & { ready?: boolean };
      } catch {
        // Not the runner's protocol: end it (its tools in flight fail) rather than guess.
        child.kill('SIGKILL');
        return;
      }
      if (answer.ready) {
        this.ready = true;
        return;
      }
      const waiter = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      this.hold();
      waiter?.resolve(answer);
    });
    this.hold();
  }

  /** The helper keeps this process alive only while a tool runs; idle, it ends when our end closes. */
  private hold(): void {
    const busy = this.waiting.size > 0;
    for (const handle of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as unknown as { ref?: () => void; unref?: () => void }[]) {
      if (busy) handle.ref?.();
      else handle.unref?.();
    }
  }

  static start(): ToolRunner {
    const script = fileURLToPath(new URL('./tool-runner.py', import.meta.url));
    return new ToolRunner(spawn('python3', ['-u', script], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  run(argv: string[], input: string, netns?: number): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      this.hold();
      this.child.stdin.write(`${JSON.stringify({ id, argv, input, ...(netns === undefined ? {} : { netns }) })}\n`);
    });
  }

  /** Requests in flight fail (they may have run: not retried); the next tool starts a new helper. */
  private gone(err: Error): void {
    if (runner === this) runner = err instanceof RunnerMissing ? null : undefined;
    for (const waiter of this.waiting.values()) waiter.reject(err);
    this.waiting.clear();
  }
}
