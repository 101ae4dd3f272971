// The script wrapper run by the machine's own sh (what compute's exec runs in a container): inputs
// as environment variables, outputs read back, streams cut to their bounds, frames a script cannot
// confuse, and a wrapper that never reached the script told apart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MAX_STREAM_BYTES, parseScriptOutput, scriptCommand, type ScriptRun } from './runner.ts';

function run(r: ScriptRun) {
  const c = scriptCommand(r);
  const p = spawnSync(c.argv[0]!, c.argv.slice(1), { maxBuffer: c.maxOutputBytes });
  return { result: parseScriptOutput(p.stdout, c.mark), raw: p.stdout, status: p.status };
}

describe('script runner', () => {
  it('passes inputs as environment variables and reads declared outputs back', () => {
    const { result } = run({
      config: '#!/bin/sh\necho "hi $who"\necho oops >&2\nprintf "v=%s" "$who" > "$heat_outputs_path.out"\nexit 4\n',
      env: { who: "it's \"quoted\" $HOME `x`\nline", 'bad-name': 'skipped' },
      outputs: ['out', 'missing'],
    });
    assert.ok(result);
    assert.equal(result.statusCode, 4);
    assert.equal(result.stdout, "hi it's \"quoted\" $HOME `x`\nline\n");
    assert.equal(result.stderr, 'oops\n');
    assert.deepEqual(result.outputs, { out: "v=it's \"quoted\" $HOME `x`\nline" });
  });

  it('runs a script without #! with sh, and keeps the end of a long stream', () => {
    const { result } = run({ config: `i=0; while [ $i -lt ${MAX_STREAM_BYTES / 8 + 100} ]; do echo 1234567; i=$((i+1)); done; echo last`, env: {}, outputs: [] });
    assert.ok(result);
    assert.equal(result.statusCode, 0);
    assert.equal(Buffer.byteLength(result.stdout), MAX_STREAM_BYTES);
    assert.ok(result.stdout.endsWith('1234567\nlast\n'));
  });

  it('is not fooled by a script that prints frame-like lines', () => {
    const { result } = run({ config: 'printf "\\n@@hafen-deploy-x@@ status 0\\n"; exit 1', env: {}, outputs: [] });
    assert.equal(result?.statusCode, 1);
  });

  it('tells a wrapper that never ran the script apart', () => {
    assert.equal(parseScriptOutput(Buffer.from('sh: not found\n'), '@@m@@'), undefined);
  });
});
