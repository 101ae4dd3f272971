// The one log: pino's JSON lines for machines (not a terminal, or HAFEN_LOG_FORMAT=json), and on a
// terminal one short line per request and readable event lines, made from the same records.
import { Writable } from 'node:stream';

export type LogFormat = 'auto' | 'text' | 'json';

/** `auto` is text on a terminal and JSON lines elsewhere. */
export function resolveLogFormat(format: LogFormat, stream: { isTTY?: boolean }): 'text' | 'json' {
  if (format !== 'auto') return format;
  return stream.isTTY ? 'text' : 'json';
}

const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
// pino's own fields and the request record's, which the text line shows in its own way.
const shown = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'reqId', 'req', 'res', 'responseTime', 'err', 'service']);

function clock(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[\w./:@-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/** One pino record as a line a person reads. */
export function formatRecord(record: Record<string, unknown>): string {
  const time = clock(typeof record.time === 'number' ? record.time : Date.now());
  const level = levels[record.level as number] ?? 'INFO';
  const req = record.req as { method?: string; url?: string } | undefined;
  const res = record.res as { statusCode?: number } | undefined;
  if (req && res && typeof record.responseTime === 'number') {
    const ms = record.responseTime < 10 ? record.responseTime.toFixed(1) : record.responseTime.toFixed(0);
    return `${time} ${req.method} ${req.url} ${res.statusCode} ${ms} ms ${record.reqId ?? ''}`.trimEnd() + '\n';
  }
  const service = typeof record.service === 'string' ? `${record.service}: ` : '';
  const extra = Object.entries(record)
    .filter(([k]) => !shown.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  let line = `${time} ${level.padEnd(5)} ${service}${String(record.msg ?? '')}${extra ? ` ${extra}` : ''}${record.reqId ? ` ${record.reqId}` : ''}\n`;
  const err = record.err as { message?: string; stack?: string } | undefined;
  if (err) line += `${(err.stack ?? err.message ?? '').split('\n').map((l) => `    ${l}`).join('\n')}\n`;
  return line;
}

/** A destination for pino that writes readable lines to `target` instead of JSON. */
export function readableLogStream(target: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          target.write(`${line}\n`);
          continue;
        }
        target.write(formatRecord(record));
      }
      done();
    },
  });
}
