// The worker thread of user-pattern.ts: compiles and runs users' RE2 patterns, away from the event
// loop. Plain JavaScript, so that it starts without a TypeScript loader.
import { parentPort } from 'node:worker_threads';
import { RE2JS } from 're2js';

const compiled = new Map();
const CACHE_SIZE = 256;

function compile(source) {
  let re = compiled.get(source);
  if (!re) {
    re = RE2JS.compile(source);
    if (compiled.size >= CACHE_SIZE) compiled.delete(compiled.keys().next().value);
    compiled.set(source, re);
  }
  return re;
}

parentPort.on('message', (msg) => {
  try {
    const re = compile(msg.source);
    const results = msg.inputs.map((input) => (msg.mode === 'whole' ? re.matches(input) : re.matcher(input).find()));
    parentPort.postMessage({ results });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message ? err.message : err) });
  }
});
parentPort.postMessage({ ready: true });
