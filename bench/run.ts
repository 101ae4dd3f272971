// The benchmark runner: `npm run bench -- <name> [--connections N] [--duration S]` runs bench/<name>.ts;
// with no name it lists the benchmarks. Each prints its own figures and ratios against a baseline.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchOptions {
  connections: number;
  durationMs: number;
  warmupMs: number;
}

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const notBenchmarks = new Set(['run.ts', 'load.ts', 'cloud.ts']);

function benchmarks(): string[] {
  return fs
    .readdirSync(benchDir)
    .filter((f) => f.endsWith('.ts') && !notBenchmarks.has(f) && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function parse(argv: string[]): { names: string[]; options: BenchOptions } {
  const options: BenchOptions = { connections: 16, durationMs: 5000, warmupMs: 1000 };
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
      return v;
    };
    if (a === '--connections') options.connections = Math.min(256, Math.floor(value()));
    else if (a === '--duration') options.durationMs = Math.min(60, value()) * 1000;
    else if (a === '--warmup') options.warmupMs = Math.min(30, value()) * 1000;
    else names.push(a);
  }
  return { names, options };
}

/**
 * Benchmarks use the shared test engine: registered as a run, so that a test run ending meanwhile
 * does not stop it under them (scripts/run-tests.mjs stops it when the last run ends).
 */
function registerRun(): void {
  const dir = path.join(benchDir, '..', '.hafen-test', 'runs');
  fs.mkdirSync(dir, { recursive: true });
  const mark = path.join(dir, String(process.pid));
  fs.writeFileSync(mark, String(process.pid));
  process.on('exit', () => fs.rmSync(mark, { force: true }));
}

async function main(): Promise<void> {
  const { names, options } = parse(process.argv.slice(2));
  registerRun();
  const known = benchmarks();
  if (names.length === 0) {
    console.log('usage: npm run bench -- <name> [--connections N] [--duration S] [--warmup S]\nbenchmarks:');
    for (const n of known) {
      const mod = (await import(path.join(benchDir, `${n}.ts`))) as { description?: string };
      console.log(`  ${n.padEnd(20)} ${mod.description ?? ''}`);
    }
    return;
  }
  for (const name of names) {
    if (!known.includes(name)) throw new Error(`no benchmark "${name}" (have: ${known.join(', ')})`);
    const mod = (await import(path.join(benchDir, `${name}.ts`))) as { run: (o: BenchOptions) => Promise<void> };
    console.log(`# ${name}: ${options.connections} connections, ${options.durationMs / 1000}s each after ${options.warmupMs / 1000}s warm-up`);
    await mod.run(options);
  }
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
