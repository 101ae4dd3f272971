// Runs a `script` software config inside a server's container, as Heat's script hook does on a
// server: the config written to a file and run (by its #! line, or sh), its inputs as environment
// variables, `heat_outputs_path` where it writes its outputs. One exec of a small POSIX-sh wrapper
// does it all and frames what came back (exit code, stdout, stderr, each declared output), each
// piece cut to a bound, so the result is read from one bounded buffer.
import { randomUUID } from 'node:crypto';

/** The most of stdout and of stderr kept (their ends), and of each output. */
export const MAX_STREAM_BYTES = 256 * 1024;
export const MAX_OUTPUT_BYTES = 64 * 1024;
export const MAX_OUTPUTS = 64;
/** An input becomes one argument of the exec; Linux refuses a single argument over 128 KiB. */
export const MAX_INPUT_BYTES = 32 * 1024;
export const MAX_INPUTS = 64;
export const MAX_CONFIG_BYTES = 100 * 1024;

export interface ScriptRun {
  config: string;
  /** Environment of the script: input name -> value (names are shell names). */
  env: Record<string, string>;
  /** Declared output names: each is read from `$heat_outputs_path.<name>` if the script wrote it. */
  outputs: string[];
}

export interface ScriptResult {
  statusCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

export const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The wrapper: $1 the mark, $2 the script, $3 the number of NAME=VALUE arguments that follow, then output names. */
const WRAPPER = `
mark=$1; script=$2; n=$3; shift 3
d=$(mktemp -d 2>/dev/null) || { d=/tmp/.hafen-deploy-$$; mkdir -m 700 "$d"; } || { echo "hafen: no writable temporary directory" >&2; exit 125; }
i=0
while [ "$i" -lt "$n" ]; do export "$1"; shift; i=$((i+1)); done
export heat_outputs_path="$d/out"
printf '%s' "$script" > "$d/run" && chmod 700 "$d/run" || exit 125
case "$script" in
  '#!'*) "$d/run" > "$d/stdout" 2> "$d/stderr" < /dev/null ;;
  *) sh "$d/run" > "$d/stdout" 2> "$d/stderr" < /dev/null ;;
esac
code=$?
emit() { tail -c "$3" "$2" > "$d/cut" 2>/dev/null || : > "$d/cut"; printf '\\n%s %s %s\\n' "$mark" "$1" "$(wc -c < "$d/cut")"; cat "$d/cut"; }
printf '\\n%s status %s\\n' "$mark" "$code"
emit stdout "$d/stdout" ${MAX_STREAM_BYTES}
emit stderr "$d/stderr" ${MAX_STREAM_BYTES}
for o in "$@"; do if [ -f "$heat_outputs_path.$o" ]; then emit "output:$o" "$heat_outputs_path.$o" ${MAX_OUTPUT_BYTES}; fi; done
rm -rf "$d"
`;

/** The exec's command line for a run, and the mark its frames carry. */
export function scriptCommand(run: ScriptRun): { argv: string[]; mark: string; maxOutputBytes: number } {
  const mark = `@@hafen-deploy-${randomUUID()}@@`;
  const env = Object.entries(run.env).filter(([k]) => SHELL_NAME.test(k)).map(([k, v]) => `${k}=${v}`);
  const outputs = run.outputs.filter((o) => SHELL_NAME.test(o) || /^[A-Za-z0-9_.-]+$/.test(o)).slice(0, MAX_OUTPUTS);
  const argv = ['sh', '-c', WRAPPER, 'hafen-deploy', mark, run.config, String(env.length), ...env, ...outputs];
  return { argv, mark, maxOutputBytes: 2 * MAX_STREAM_BYTES + outputs.length * MAX_OUTPUT_BYTES + 64 * 1024 };
}

/**
 * Reads the frames back. Undefined when the wrapper never reached the script (no shell in the
 * image, no writable /tmp): the caller reports the raw output.
 */
export function parseScriptOutput(output: Buffer, mark: string): ScriptResult | undefined {
  const head = Buffer.from(`\n${mark} `);
  let at = output.indexOf(head);
  if (at < 0) return undefined;
  const result: ScriptResult = { statusCode: -1, stdout: '', stderr: '', outputs: {} };
  while (at >= 0) {
    const lineEnd = output.indexOf(0x0a, at + head.length);
    if (lineEnd < 0) break;
    const line = output.subarray(at + head.length, lineEnd).toString('utf8');
    const status = /^status (\d+)$/.exec(line);
    if (status) {
      result.statusCode = Number(status[1]);
      at = output.indexOf(head, lineEnd);
      continue;
    }
    const frame = /^(\S+)\s+(\d+)$/.exec(line);
    if (!frame) break;
    const len = Number(frame[2]);
    const body = output.subarray(lineEnd + 1, lineEnd + 1 + len).toString('utf8');
    const name = frame[1]!;
    if (name === 'stdout') result.stdout = body;
    else if (name === 'stderr') result.stderr = body;
    else if (name.startsWith('output:')) result.outputs[name.slice('output:'.length)] = body;
    at = output.indexOf(head, lineEnd + 1 + len);
  }
  return result.statusCode >= 0 ? result : undefined;
}
