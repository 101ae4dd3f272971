// Runs the type check and then every test file with Node's own test runner (Node 20 has no globs).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);

function find(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) find(p, out);
    else if (entry.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = [...find('src'), ...find('test')].sort();
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));

if (filter.length === 0) {
  const tsc = spawnSync('npx', ['--no-install', 'tsc', '--noEmit'], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('type check failed');
    process.exit(tsc.status ?? 1);
  }
}

fs.mkdirSync('.hafen-test', { recursive: true });
const services = sharedServices();
const runMark = registerRun();

// Test files run side by side, each in its own Node process (HAFEN_TEST_CONCURRENCY, default 3 for a whole run: most
// of a test's time is spent waiting on engines and CLIs). A file whose first lines say
// `// test: exclusive` changes machine-wide state that others would see; it runs alone, after the rest.
// A run of chosen files (a developer's, beside others' on a shared machine) goes one at a time unless asked.
const concurrency = Math.max(1, Number(process.env.HAFEN_TEST_CONCURRENCY ?? (filter.length > 0 ? 1 : 3)) || 1);
const exclusive = (f) => fs.readFileSync(f, 'utf8').split('\n', 8).some((l) => /^\/\/ test: exclusive/.test(l));
const parallel = files.filter((f) => !exclusive(f));
const alone = files.filter((f) => exclusive(f));
// One report directory per run: runs side by side (several developers on one machine) must not share it.
const reports = path.join('.hafen-test', `reports-${process.pid}`);
fs.rmSync(reports, { recursive: true, force: true });
fs.mkdirSync(reports, { recursive: true });
if (concurrency > 1 && files.length > 1) await prestartEngine();

const started = Date.now();
let status = 0;
let index = 0;
const results = [];
async function worker(queue) {
  while (queue.length > 0) {
    const file = queue.shift();
    const n = index++;
    const r = await runFile(file, n);
    results.push(r);
    if (r.code !== 0) status = 1;
  }
}
const queue = [...parallel];
await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, () => worker(queue)));
for (const file of alone) await worker([file]);

function runFile(file, n) {
  const spec = path.join(reports, `${n}.spec`);
  const tap = path.join(reports, `${n}.tap`);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import', 'tsx', '--test',
        // A test that leaves a handle open (a server, a timer) must not hang the run; none may run forever
        // (a file's long end-to-end paths get twenty minutes on a busy machine).
        '--test-force-exit', '--test-timeout=1200000',
        '--test-reporter=spec', `--test-reporter-destination=${spec}`,
        '--test-reporter=tap', `--test-reporter-destination=${tap}`,
        file,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HAFEN_TEST: '1', FORCE_COLOR: process.stdout.isTTY ? '1' : '0' } },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => {
      // A file's report is printed whole when it ends, so files running side by side do not interleave.
      const text = fs.existsSync(spec) ? fs.readFileSync(spec, 'utf8') : '';
      process.stdout.write(`\n# ${file} (${((Date.now() - t0) / 1000).toFixed(1)} s, exit ${code})\n${text}${output ? output.replace(/^/gm, '  | ') + '\n' : ''}`);
      resolve({ file, code: code ?? 1, tap });
    });
  });
}

// The closing line CI reads, taken from the TAP reports of the same run. The TAP summary comments
// may be cut when a file is forced to exit, so tests are counted from their result lines
// (suites, whose YAML block says type: 'suite', are not tests).
let passed = 0;
let failed = 0;
let skipped = 0;
const failedFiles = [];
for (const r of results) {
  const summary = fs.existsSync(r.tap) ? fs.readFileSync(r.tap, 'utf8').split('\n') : [];
  let fileFailed = 0;
  for (let i = 0; i < summary.length; i++) {
    const m = /^(\s*)(not ok|ok) \d+ - .*?(# SKIP.*)?$/.exec(summary[i]);
    if (!m) continue;
    let suite = false;
    for (let j = i + 1; j < summary.length && !/^\s*\.\.\.$/.test(summary[j]); j++) {
      if (/^\s*type: 'suite'$/.test(summary[j])) suite = true;
      if (/^\s*(not ok|ok) \d+ - /.test(summary[j])) break;
    }
    if (suite) continue;
    if (m[2] === 'not ok') fileFailed++;
    else if (m[3]) skipped++;
    else passed++;
  }
  // A file that died before reporting any failure (a crash at load) still counts as one.
  if (r.code !== 0 && fileFailed === 0) fileFailed = 1;
  failed += fileFailed;
  if (fileFailed > 0) failedFiles.push(r.file);
}
fs.rmSync(reports, { recursive: true, force: true });
stopSharedServices(services, runMark);
if (failedFiles.length > 0) console.log(`\nfailed files:\n${failedFiles.map((f) => `  ${f}`).join('\n')}`);
console.log(`\n${files.length} files in ${((Date.now() - started) / 60000).toFixed(1)} min, ${concurrency} at a time`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status);

/** Starts the shared test engine once, before files that would otherwise race to start it. */
async function prestartEngine() {
  const code = "import('./test/helpers/engine.ts').then((m) => m.testEngineSocket()).catch((e) => { console.error(e.message); process.exit(1); })";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { stdio: 'inherit' });
  if (r.status !== 0) console.error('could not start the shared test engine; tests that need it will try again');
}

// ---- shared test services (the one test dockerd, the test PostgreSQL cluster)
// Test helpers start them lazily. A run that found one not running marks it as started within a test
// run; the last run to finish stops what is so marked, by its pid, and nothing else.

function alivePid(pidFile, command) {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0].trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    // A pid reused by another program after a crash is not ours.
    if (command && !fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(command)) return undefined;
    return pid;
  } catch {
    return undefined;
  }
}

function sharedServices() {
  const list = [
    {
      name: 'test engine',
      command: 'dockerd',
      pidFile: path.join('.hafen-test', 'engine-shared', 'engine', 'docker.pid'),
      stop(pid) {
        const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const execRoot = args[args.indexOf('--exec-root') + 1];
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 200 && alivePid(this.pidFile, this.command) === pid; i++) spawnSync('sleep', ['0.1']);
        // Its exec root is under /run, outside the checkout.
        if (execRoot?.startsWith('/run/hafen-') && alivePid(this.pidFile, this.command) === undefined) fs.rmSync(execRoot, { recursive: true, force: true });
      },
    },
    {
      name: 'test postgres',
      command: 'postgres',
      pidFile: path.join('.hafen-test', 'pg', 'data', 'postmaster.pid'),
      stop() {
        const bin = fs.readdirSync('/usr/lib/postgresql').sort().reverse()[0];
        spawnSync('runuser', ['-u', 'postgres', '--', `/usr/lib/postgresql/${bin}/bin/pg_ctl`, '-D', fs.realpathSync('.hafen-test/pg/data'), '-m', 'fast', '-w', 'stop'], { stdio: 'ignore', cwd: '/' });
      },
    },
  ];
  // Marks live outside the services' own directories (initdb replaces the cluster directory).
  const marks = path.join('.hafen-test', 'runs-started');
  for (const s of list) {
    s.mark = path.join(marks, s.name.replace(/ /g, '-'));
    if (!alivePid(s.pidFile, s.command)) {
      fs.mkdirSync(path.dirname(s.mark), { recursive: true });
      fs.writeFileSync(s.mark, String(process.pid));
    }
  }
  return list;
}

function registerRun() {
  const dir = path.join('.hafen-test', 'runs');
  fs.mkdirSync(dir, { recursive: true });
  const mark = path.join(dir, String(process.pid));
  fs.writeFileSync(mark, String(process.pid));
  return mark;
}

function stopSharedServices(list, mark) {
  fs.rmSync(mark, { force: true });
  const dir = path.dirname(mark);
  // Test runs and benchmark runs (bench/run.ts registers itself too) both use the shared services.
  const alive = (p) => alivePid(path.join(dir, p), 'run-tests') ?? alivePid(path.join(dir, p), 'bench/run.ts');
  const others = fs.readdirSync(dir).filter((p) => (alive(p) === undefined ? (fs.rmSync(path.join(dir, p), { force: true }), false) : true));
  if (others.length > 0 || process.env.HAFEN_TEST_KEEP_SERVICES === '1') return;
  for (const s of list) {
    const pid = alivePid(s.pidFile, s.command);
    if (pid && fs.existsSync(s.mark)) {
      try {
        s.stop(pid);
      } catch (err) {
        console.error(`could not stop the ${s.name}: ${err.message}`);
      }
    }
    if (!alivePid(s.pidFile, s.command)) fs.rmSync(s.mark, { force: true });
  }
}
