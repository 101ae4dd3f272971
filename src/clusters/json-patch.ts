// Magnum's PATCH: a list of JSON-patch operations (add, replace, remove) on the top-level attributes
// of a template, cluster or node group, checked the way Magnum checks them before anything is looked up.
import { BadRequestError } from '../platform/errors.ts';

export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

const INTERNAL = ['/created_at', '/id', '/links', '/updated_at', '/uuid', '/project_id', '/user_id'];
/** Attributes whose value python-magnumclient sends as a Python literal (`str(dict)`). */
const LITERAL_PATHS = ['/labels', '/health_status_reason', '/node_labels', '/node_taints'];

/**
 * Checks the body's shape and each operation; `nonRemovable` are the mandatory attributes, `internal`
 * those of this resource that no patch may touch besides the common ones.
 */
export function parsePatch(body: unknown, nonRemovable: string[], internal: string[] = []): PatchOperation[] {
  if (!Array.isArray(body)) throw new BadRequestError('Invalid input for field/attribute patch. The patch must be a list of JSON-patch operations.');
  if (body.length > 100) throw new BadRequestError('Invalid input for field/attribute patch. At most 100 operations per request.');
  return body.map((raw, i) => {
    const p = raw as Record<string, unknown>;
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw new BadRequestError(`Invalid input for field/attribute patch[${i}]. Each operation is an object with op, path and value.`);
    for (const k of Object.keys(p)) if (!['op', 'path', 'value'].includes(k)) throw new BadRequestError(`Unknown attribute for argument patch: ${k}`);
    if (typeof p.path !== 'string' || !/^(\/[\w-]+)+$/.test(p.path)) throw new BadRequestError(`Invalid input for field/attribute path. Value: ${JSON.stringify(p.path ?? null)}. Value should match the pattern ^(/[\\w-]+)+$`);
    if (p.op !== 'add' && p.op !== 'replace' && p.op !== 'remove') throw new BadRequestError(`Invalid input for field/attribute op. Value: ${JSON.stringify(p.op ?? null)}. Value should be one of: add, remove, replace`);
    if (INTERNAL.includes(p.path) || internal.includes(p.path)) throw new BadRequestError(`'${p.path}' is an internal attribute and can not be updated`);
    if (p.op === 'remove' && nonRemovable.includes(p.path)) throw new BadRequestError(`'${p.path}' is a mandatory attribute and can not be removed`);
    if (p.op !== 'remove' && (p.value === undefined || p.value === null)) throw new BadRequestError("'add' and 'replace' operations needs value");
    return { op: p.op, path: p.path, ...(p.op !== 'remove' ? { value: p.value } : {}) };
  });
}

/**
 * Applies the operations to a flat document of wire attributes. Only top-level attributes and keys of
 * map attributes (`/labels/foo`) are addressed, as Magnum's documents are flat.
 */
export function applyPatch(doc: Record<string, unknown>, ops: PatchOperation[]): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(doc);
  for (const p of ops) {
    const parts = p.path.slice(1).split('/');
    let value = p.value;
    if (p.op === 'replace' && LITERAL_PATHS.includes(p.path) && typeof value === 'string') value = parsePythonLiteral(value);
    if (parts.length === 1) {
      const attr = parts[0]!;
      if (!(attr in out)) {
        if (p.op === 'add') throw new BadRequestError(`Adding a new attribute ${p.path} to the root of the resource is not allowed.`);
        throw new BadRequestError(`Couldn't apply patch '${JSON.stringify(ops)}'. Reason: can't remove a non-existent object '${attr}'`);
      }
      if (p.op === 'add' && out[attr] !== null && out[attr] !== undefined) throw new BadRequestError(`The attribute ${p.path} has existed, please use 'replace' operation instead.`);
      if (p.op === 'remove') out[attr] = null;
      else out[attr] = value;
      continue;
    }
    if (parts.length === 2) {
      const container = out[parts[0]!];
      if (!container || typeof container !== 'object' || Array.isArray(container)) {
        throw new BadRequestError(`Couldn't apply patch '${JSON.stringify(ops)}'. Reason: member '${parts[0]}' not found`);
      }
      const map = { ...(container as Record<string, unknown>) };
      if (p.op === 'remove') {
        if (!(parts[1]! in map)) throw new BadRequestError(`Couldn't apply patch '${JSON.stringify(ops)}'. Reason: can't remove a non-existent object '${parts[1]}'`);
        delete map[parts[1]!];
      } else {
        if (p.op === 'replace' && !(parts[1]! in map)) throw new BadRequestError(`Couldn't apply patch '${JSON.stringify(ops)}'. Reason: can't replace a non-existent object '${parts[1]}'`);
        map[parts[1]!] = value;
      }
      out[parts[0]!] = map;
      continue;
    }
    throw new BadRequestError(`Couldn't apply patch '${JSON.stringify(ops)}'. Reason: the path ${p.path} is too deep`);
  }
  return out;
}

/**
 * Reads the Python literal python-magnumclient sends for maps (`str(dict)`): a dict of strings,
 * numbers, booleans and None. A JSON object is accepted too.
 */
export function parsePythonLiteral(text: string): unknown {
  if (text.length > 65536) throw new BadRequestError('The value is too long.');
  let i = 0;
  const fail = (why: string): never => {
    throw new BadRequestError(`Couldn't apply patch. Reason: malformed literal (${why} at ${i})`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (depth: number): unknown => {
    if (depth > 8) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      for (;;) {
        const k = value(depth + 1);
        if (typeof k !== 'string') fail('a key must be a string');
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        out[k as string] = value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === '}') {
            i++;
            return out;
          }
          continue;
        }
        if (text[i] === '}') {
          i++;
          return out;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const out: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') {
            i++;
            return out;
          }
          continue;
        }
        if (text[i] === ']') {
          i++;
          return out;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === "'" || c === '"') {
      i++;
      let s = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') {
          i++;
          const e = text[i];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : (e ?? '');
          i++;
          continue;
        }
        s += text[i];
        i++;
      }
      if (text[i] !== c) fail('unterminated string');
      i++;
      return s;
    }
    const word = /^(True|False|None|true|false|null|-?\d+(\.\d+)?)/.exec(text.slice(i));
    if (!word) return fail('unexpected character');
    i += word[0].length;
    if (word[0] === 'True' || word[0] === 'true') return true;
    if (word[0] === 'False' || word[0] === 'false') return false;
    if (word[0] === 'None' || word[0] === 'null') return null;
    return Number(word[0]);
  };
  const result = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return result;
}
