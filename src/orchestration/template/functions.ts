// Intrinsic functions of each template version (HOT by date, CFN 2010-09-09), evaluated against a
// stack, plus the references they make (for the dependency graph) and the conditions section.
import { createHash } from 'node:crypto';
import { TemplateError, type Template } from './model.ts';

const HOT_BASE = ['get_attr', 'get_file', 'get_param', 'get_resource', 'list_join', 'resource_facade', 'str_replace'];
const CFN_IN_HOT = ['Fn::Base64', 'Fn::GetAZs', 'Fn::Join', 'Fn::MemberListToMap', 'Fn::Replace', 'Fn::ResourceFacade', 'Fn::Select', 'Fn::Split', 'Ref'];
export const CFN_FUNCTIONS = ['Ref', 'Fn::GetAtt', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::Base64', 'Fn::FindInMap', 'Fn::Replace', 'Fn::GetAZs', 'Fn::MemberListToMap', 'Fn::ResourceFacade', 'Fn::If', 'Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or'];
const CFN_CONDITIONS = ['Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or', 'Ref', 'Fn::FindInMap', 'Condition'];

/** Functions (and condition functions) of each HOT version, cumulative as Heat added them. */
const HOT_FUNCTIONS: [string, string[], string[]][] = [
  ['2013-05-23', [...HOT_BASE, ...CFN_IN_HOT], []],
  ['2014-10-16', [...HOT_BASE, 'Fn::Select'], []],
  ['2015-04-30', [...HOT_BASE, 'Fn::Select', 'digest', 'repeat'], []],
  ['2015-10-15', [...HOT_BASE, 'Fn::Select', 'digest', 'repeat', 'str_split'], []],
  ['2016-04-08', [...HOT_BASE, 'Fn::Select', 'digest', 'repeat', 'str_split', 'map_merge'], []],
  ['2016-10-14', [...HOT_BASE, 'digest', 'repeat', 'str_split', 'map_merge', 'yaql', 'if'], ['equals', 'get_param', 'not', 'and', 'or']],
  ['2017-02-24', [...HOT_BASE, 'digest', 'repeat', 'str_split', 'map_merge', 'map_replace', 'yaql', 'if'], ['equals', 'get_param', 'not', 'and', 'or']],
  ['2017-09-01', [...HOT_BASE, 'digest', 'repeat', 'str_split', 'map_merge', 'map_replace', 'yaql', 'if', 'filter', 'make_url', 'list_concat', 'list_concat_unique', 'contains', 'str_replace_strict', 'str_replace_vstrict', 'equals', 'not', 'and', 'or'], ['equals', 'get_param', 'not', 'and', 'or', 'yaql', 'contains']],
];
for (const v of ['2018-03-02', '2018-08-31', '2021-04-16']) HOT_FUNCTIONS.push([v, HOT_FUNCTIONS[7]![1], HOT_FUNCTIONS[7]![2]]);

export const FUNCTION_DESCRIPTIONS: Record<string, string> = {
  get_attr: 'A function for resolving resource attributes.',
  get_file: 'A function for including a file inline.',
  get_param: 'A function for resolving parameter references.',
  get_resource: 'A function for resolving resource references.',
  list_join: 'A function for joining strings.',
  resource_facade: 'A function for retrieving data in a parent provider template.',
  str_replace: 'A function for performing string substitutions.',
  str_replace_strict: 'A function for performing string substitutions that fails when a key is not found.',
  str_replace_vstrict: 'Like str_replace_strict, and fails on empty values too.',
  digest: 'A function for performing digest operations.',
  repeat: 'A function for iterating over a list of items.',
  str_split: 'A function for splitting delimited strings into a list.',
  map_merge: 'A function for merging maps.',
  map_replace: 'A function for performing substitutions on maps.',
  yaql: 'A function for executing a yaql expression (not supported by hafen).',
  if: 'A function to return corresponding value based on condition evaluation.',
  filter: 'A function for filtering out values from lists.',
  make_url: 'A function for performing URL construction.',
  list_concat: 'A function for extending lists.',
  list_concat_unique: 'A function for extending lists with unique items.',
  contains: 'A function for checking whether the specific value is in the sequence.',
  equals: 'A function for comparing whether two values are equal.',
  not: 'A function for negating a boolean.',
  and: 'A function for acting as a AND operator.',
  or: 'A function for acting as a OR operator.',
};

export function functionsFor(t: Pick<Template, 'format' | 'version'>): { functions: string[]; conditions: string[] } {
  if (t.format === 'cfn') return { functions: CFN_FUNCTIONS, conditions: CFN_CONDITIONS };
  const row = HOT_FUNCTIONS.find(([v]) => v === t.version) ?? HOT_FUNCTIONS[HOT_FUNCTIONS.length - 1]!;
  return { functions: row[1], conditions: row[2] };
}

export interface FunctionContext {
  template: Pick<Template, 'format' | 'version' | 'mappings'>;
  parameters: Record<string, unknown>;
  stack: { id: string; name: string; projectId: string; region: string };
  files: Record<string, string>;
  /** Evaluated conditions by name. */
  conditions: Record<string, boolean>;
  /** The reference (physical id) of a resource: get_resource, Ref. */
  resourceId(name: string): unknown;
  /** An attribute of a resource: get_attr, Fn::GetAtt. */
  attribute(name: string, attr: string, path: (string | number)[]): unknown;
  /** The facade resource's metadata/deletion_policy/update_policy, inside a nested template. */
  facade?(section: string): unknown;
}

const isFn = (value: unknown, names: readonly string[]): [string, unknown] | undefined => {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || !names.includes(keys[0]!)) return undefined;
  return [keys[0]!, (value as Record<string, unknown>)[keys[0]!]];
};

/** The resources a value refers to (get_resource, get_attr, Ref, Fn::GetAtt), for the graph. */
export function references(value: unknown, resourceNames: ReadonlySet<string>, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) references(v, resourceNames, out);
  } else if (value && typeof value === 'object') {
    const fn = isFn(value, ['get_resource', 'get_attr', 'Ref', 'Fn::GetAtt']);
    if (fn) {
      const name = Array.isArray(fn[1]) ? fn[1][0] : fn[1];
      if (typeof name === 'string' && (fn[0] !== 'Ref' || resourceNames.has(name))) out.add(name);
    }
    for (const v of Object.values(value)) references(v, resourceNames, out);
  }
  return out;
}

/** Every get_attr/Fn::GetAtt with a literal resource and attribute name, for validation. */
export function attributeReferences(value: unknown, at: string, out: { resource: string; attribute: string; at: string }[] = []): typeof out {
  if (Array.isArray(value)) value.forEach((v, i) => attributeReferences(v, `${at}[${i}]`, out));
  else if (value && typeof value === 'object') {
    const fn = isFn(value, ['get_attr', 'Fn::GetAtt']);
    if (fn && Array.isArray(fn[1]) && typeof fn[1][0] === 'string' && typeof fn[1][1] === 'string') out.push({ resource: fn[1][0], attribute: fn[1][1], at: `${at}.${fn[0]}` });
    for (const [k, v] of Object.entries(value)) attributeReferences(v, `${at}.${k}`, out);
  }
  return out;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function evaluate(value: unknown, ctx: FunctionContext, path = '', allowed = functionsFor(ctx.template).functions): unknown {
  if (Array.isArray(value)) return value.map((v, i) => evaluate(v, ctx, `${path}[${i}]`, allowed));
  if (!value || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const fnName = entries.length === 1 ? entries[0]![0] : undefined;
  const known = fnName !== undefined && (fnName in FUNCTION_DESCRIPTIONS || CFN_FUNCTIONS.includes(fnName));
  const plain = !fnName || !known || (!allowed.includes(fnName) && !/^(get_|Fn::|Ref$)/.test(fnName));
  if (plain) return Object.fromEntries(entries.map(([k, v]) => [k, evaluate(v, ctx, `${path}.${k}`, allowed)]));
  const at = path ? `${path}.${fnName}` : fnName;
  if (!allowed.includes(fnName)) {
    // get_*, Ref and Fn:: keys are always meant as functions: one the version lacks is an error.
    throw new TemplateError(`${at}: The function "${fnName}" is not supported in template version ${ctx.template.format === 'hot' ? `heat_template_version ${ctx.template.version}` : ctx.template.version}.`);
  }
  const rawArg = entries[0]![1];
  const bad = (why: string) => new TemplateError(`${at}: ${why}`);
  // `if` evaluates only the branch it takes; the others evaluate their arguments first.
  if (fnName === 'if' || fnName === 'Fn::If') {
    if (!Array.isArray(rawArg) || rawArg.length !== 3) throw bad(`Arguments to "${fnName}" must be of the form: [condition_name, value_if_true, value_if_false]`);
    const cond = conditionValue(rawArg[0], ctx, at);
    return evaluate(cond ? rawArg[1] : rawArg[2], ctx, at, allowed);
  }
  const arg = evaluate(rawArg, ctx, at, allowed);
  const result = apply(fnName, arg, ctx, at, bad);
  charge(ctx, sizeOf(result), at);
  return result;
}

/**
 * Bounds on what functions make: one value, and all values of one evaluation context together, so
 * that nested str_replace, repeat or list_join cannot grow a small template into gigabytes.
 */
export const MAX_FUNCTION_VALUE = 1 << 20;
export const MAX_EVALUATED = 16 << 20;
export const MAX_REPEAT_ITEMS = 10_000;
const evaluated = new WeakMap<FunctionContext, number>();

/** A cheap size: characters of strings, 16 per list item or map key, nested strings counted once more. */
function sizeOf(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return v.reduce<number>((n, x) => n + 16 + (typeof x === 'string' ? x.length : 0), 0);
  if (v && typeof v === 'object') return Object.values(v).reduce<number>((n, x) => n + 16 + (typeof x === 'string' ? x.length : 0), 0);
  return 0;
}

/** Every `key` in `text` replaced by `value`, refused before it is made when it would be too long. */
function replaceAll(text: string, key: string, value: string, bad: (why: string) => TemplateError): string {
  const parts = text.split(key);
  if (text.length + (parts.length - 1) * (value.length - key.length) > MAX_FUNCTION_VALUE) throw bad(`The function makes a value of more than ${MAX_FUNCTION_VALUE} characters.`);
  return parts.join(value);
}

function charge(ctx: FunctionContext, size: number, at: string): void {
  if (size > MAX_FUNCTION_VALUE) throw new TemplateError(`${at}: The function makes a value of more than ${MAX_FUNCTION_VALUE} characters.`);
  const total = (evaluated.get(ctx) ?? 0) + size;
  if (total > MAX_EVALUATED) throw new TemplateError(`${at}: The template's functions make more than ${MAX_EVALUATED} characters in all.`);
  evaluated.set(ctx, total);
}

function apply(fnName: string, arg: unknown, ctx: FunctionContext, at: string, bad: (why: string) => TemplateError): unknown {
  switch (fnName) {
    case 'get_param':
    case 'Ref': {
      const [name, ...keys] = Array.isArray(arg) && fnName === 'get_param' ? arg : [arg];
      if (typeof name !== 'string') throw bad(`Function "${fnName}" must be given a name.`);
      const pseudo: Record<string, unknown> = {
        'OS::stack_id': ctx.stack.id, 'OS::stack_name': ctx.stack.name, 'OS::project_id': ctx.stack.projectId,
        'AWS::StackId': ctx.stack.id, 'AWS::StackName': ctx.stack.name, 'AWS::Region': ctx.stack.region,
      };
      let v: unknown;
      if (name in ctx.parameters) v = ctx.parameters[name];
      else if (name in pseudo) v = pseudo[name];
      else if (fnName === 'Ref') return ctx.resourceId(name);
      else throw bad(`The Parameter (${name}) was not defined in template.`);
      for (const k of keys) {
        if (v && typeof v === 'object') v = (v as Record<string | number, unknown>)[k as string];
        else throw bad(`"${String(k)}" can't traverse path`);
      }
      return v;
    }
    case 'get_resource':
      if (typeof arg !== 'string') throw bad('Argument to "get_resource" must be a string');
      return ctx.resourceId(arg);
    case 'get_attr':
    case 'Fn::GetAtt': {
      const list = fnName === 'Fn::GetAtt' && typeof arg === 'string' ? arg.split('.') : arg;
      if (!Array.isArray(list) || list.length < 2 || typeof list[0] !== 'string') throw bad(`Arguments to "${fnName}" must be of the form [resource_name, attribute, (path), ...]`);
      return ctx.attribute(list[0], str(list[1]), list.slice(2) as (string | number)[]);
    }
    case 'get_file': {
      if (typeof arg !== 'string') throw bad('Argument to "get_file" must be a string');
      const found = arg in ctx.files ? ctx.files[arg] : Object.entries(ctx.files).find(([k]) => k.endsWith(`/${arg}`))?.[1];
      if (found === undefined) throw bad(`No content found in the "files" section for get_file path: ${arg}`);
      return found;
    }
    case 'resource_facade':
    case 'Fn::ResourceFacade': {
      if (!['metadata', 'deletion_policy', 'update_policy', 'Metadata', 'DeletionPolicy', 'UpdatePolicy'].includes(str(arg))) throw bad(`Incorrect arguments to "${fnName}" should be one of: metadata, deletion_policy, update_policy`);
      if (!ctx.facade) throw bad(`"${fnName}" is only valid in a nested (provider) template`);
      return ctx.facade(str(arg).toLowerCase().replace('deletionpolicy', 'deletion_policy').replace('updatepolicy', 'update_policy'));
    }
    case 'str_replace':
    case 'str_replace_strict':
    case 'str_replace_vstrict': {
      const a = arg as { template?: unknown; params?: Record<string, unknown> };
      if (!a || typeof a !== 'object' || typeof a.template !== 'string' || !a.params || typeof a.params !== 'object' || Array.isArray(a.params)) {
        throw bad(`Arguments to "${fnName}" must be a map with "template" (a string) and "params" (a map)`);
      }
      let out = a.template;
      for (const [k, v] of Object.entries(a.params).sort((x, y) => y[0].length - x[0].length)) {
        if (fnName !== 'str_replace' && !out.includes(k)) throw bad(`The following params were not found in the template: '${k}'`);
        if (fnName === 'str_replace_vstrict' && (v === '' || v === null || v === undefined)) throw bad(`str_replace_vstrict has an empty value for param '${k}'`);
        out = replaceAll(out, k, str(v), bad);
      }
      return out;
    }
    case 'list_join': {
      if (!Array.isArray(arg) || arg.length < 2 || typeof arg[0] !== 'string') throw bad('Arguments to "list_join" must be of the form: [delimiter, list]');
      const lists = arg.slice(1);
      if (lists.length > 1 && ctx.template.version < '2015-10-15') throw bad('"list_join" takes one list in this template version');
      const items: unknown[] = [];
      for (const l of lists) {
        if (typeof l === 'string') items.push(...(l === '' ? [] : [l]));
        else if (Array.isArray(l)) items.push(...l);
        else throw bad('"list_join" must operate on a list');
      }
      return items.map(str).join(arg[0]);
    }
    case 'Fn::Join': {
      if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string' || !Array.isArray(arg[1])) throw bad('Arguments to "Fn::Join" must be of the form: [delimiter, [value1, value2, ...]]');
      return (arg[1] as unknown[]).map(str).join(arg[0]);
    }
    case 'str_split':
    case 'Fn::Split': {
      if (!Array.isArray(arg) || arg.length < 2) throw bad(`Arguments to "${fnName}" must be of the form: [delimiter, string, (index)]`);
      const parts = str(arg[1]).split(str(arg[0]));
      if (arg.length > 2) {
        const i = Number(arg[2]);
        if (!Number.isInteger(i) || i < 0 || i >= parts.length) throw bad(`Incorrect index to "${fnName}": ${String(arg[2])}`);
        return parts[i];
      }
      return parts;
    }
    case 'Fn::Select': {
      if (!Array.isArray(arg) || arg.length !== 2) throw bad('Arguments to "Fn::Select" must be of the form: [index, collection]');
      const [index, coll] = arg;
      if (Array.isArray(coll)) {
        const i = Number(index);
        if (!Number.isInteger(i)) throw bad(`Index to "Fn::Select" must be an integer: ${String(index)}`);
        return coll[i] ?? '';
      }
      if (coll && typeof coll === 'object') return (coll as Record<string, unknown>)[str(index)] ?? '';
      if (typeof coll === 'string') {
        try {
          const parsed = JSON.parse(coll);
          return Array.isArray(parsed) ? (parsed[Number(index)] ?? '') : (parsed?.[str(index)] ?? '');
        } catch {
          return '';
        }
      }
      return '';
    }
    case 'Fn::Base64':
      return Buffer.from(str(arg)).toString('base64');
    case 'Fn::GetAZs':
      return ['nova'];
    case 'Fn::FindInMap': {
      if (!Array.isArray(arg) || arg.length !== 3) throw bad('Arguments to "Fn::FindInMap" must be of the form: [MapName, Key, Value]');
      const m = (ctx.template.mappings[str(arg[0])] as Record<string, Record<string, unknown>> | undefined)?.[str(arg[1])];
      if (!m || !(str(arg[2]) in m)) throw bad(`No mapping ${str(arg[0])}.${str(arg[1])}.${str(arg[2])}`);
      return m[str(arg[2])];
    }
    case 'Fn::Replace': {
      if (!Array.isArray(arg) || arg.length !== 2 || !arg[0] || typeof arg[0] !== 'object' || typeof arg[1] !== 'string') throw bad('Arguments to "Fn::Replace" must be of the form: [{"token": value, ...}, template string]');
      let out = arg[1];
      for (const [k, v] of Object.entries(arg[0] as Record<string, unknown>).sort((x, y) => y[0].length - x[0].length)) {
        out = replaceAll(out, k, str(v), bad);
      }
      return out;
    }
    case 'Fn::MemberListToMap': {
      if (!Array.isArray(arg) || arg.length !== 3 || !Array.isArray(arg[2])) throw bad('Arguments to "Fn::MemberListToMap" must be of the form: [key_name, value_name, list]');
      const keys = new Map<string, string>();
      const vals = new Map<string, string>();
      for (const item of arg[2] as string[]) {
        const m = /^\.member\.(\d+)\.([^=]+)=(.*)$/.exec(str(item));
        if (m) (m[2] === arg[0] ? keys : vals).set(m[1]!, m[3]!);
      }
      return Object.fromEntries([...keys].map(([i, k]) => [k, vals.get(i) ?? '']));
    }
    case 'digest': {
      if (!Array.isArray(arg) || arg.length !== 2) throw bad('Arguments to "digest" must be of the form: [algorithm, value]');
      const algorithm = str(arg[0]);
      if (!['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'].includes(algorithm)) throw bad(`Algorithm must be one of md5, sha1, sha224, sha256, sha384, sha512: ${algorithm}`);
      return createHash(algorithm).update(str(arg[1])).digest('hex');
    }
    case 'repeat': {
      const a = arg as { template?: unknown; for_each?: Record<string, unknown>; permutations?: boolean };
      if (!a || typeof a !== 'object' || !a.for_each || typeof a.for_each !== 'object' || !('template' in a)) throw bad('Arguments to "repeat" must be a map with "for_each" and "template"');
      const keys = Object.keys(a.for_each);
      const lists = keys.map((k) => {
        const l = a.for_each![k];
        if (!Array.isArray(l)) throw bad(`The values of the "for_each" argument to "repeat" must be lists`);
        return l;
      });
      const replace = (v: unknown, subs: [string, unknown][]): unknown => {
        if (typeof v === 'string') return subs.reduce((s, [k, x]) => replaceAll(s, k, str(x), bad), v);
        if (Array.isArray(v)) return v.map((e) => replace(e, subs));
        if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]) => [replace(k, subs) as string, replace(e, subs)]));
        return v;
      };
      const items = a.permutations === false ? (lists[0]?.length ?? 0) : lists.reduce((n, l) => n * l.length, 1);
      if (items > MAX_REPEAT_ITEMS) throw bad(`"repeat" would make ${items} items, more than ${MAX_REPEAT_ITEMS}`);
      charge(ctx, items * JSON.stringify(a.template ?? null).length, at);
      let combos: unknown[][];
      if (a.permutations === false) {
        const n = lists[0]?.length ?? 0;
        if (lists.some((l) => l.length !== n)) throw bad('With permutations false, all "for_each" lists must have the same length');
        combos = Array.from({ length: n }, (_, i) => lists.map((l) => l[i]));
      } else {
        combos = lists.reduce<unknown[][]>((acc, l) => acc.flatMap((c) => l.map((x) => [...c, x])), [[]]);
      }
      return combos.map((c) => replace(a.template, keys.map((k, i) => [k, c[i]])));
    }
    case 'map_merge': {
      if (!Array.isArray(arg) || arg.some((m) => !m || typeof m !== 'object' || Array.isArray(m))) throw bad('Incorrect arguments: Items to merge must be maps.');
      return Object.assign({}, ...arg);
    }
    case 'map_replace': {
      if (!Array.isArray(arg) || arg.length !== 2 || !arg[0] || typeof arg[0] !== 'object') throw bad('Arguments to "map_replace" must be of the form: [map, {"keys": {...}, "values": {...}}]');
      const { keys = {}, values = {} } = (arg[1] ?? {}) as { keys?: Record<string, string>; values?: Record<string, unknown> };
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(arg[0] as Record<string, unknown>)) {
        const nk = keys[k] ?? k;
        if (nk in out) throw bad(`key replacement ${nk} collides with a key in the input map`);
        out[nk] = typeof v === 'string' || typeof v === 'number' ? (values[String(v)] ?? v) : v;
      }
      return out;
    }
    case 'list_concat':
    case 'list_concat_unique': {
      if (!Array.isArray(arg) || arg.some((l) => !Array.isArray(l))) throw bad(`Incorrect arguments to "${fnName}": must be lists`);
      const all = (arg as unknown[][]).flat();
      if (fnName === 'list_concat') return all;
      const seen = new Set<string>();
      return all.filter((x) => !seen.has(JSON.stringify(x)) && seen.add(JSON.stringify(x)));
    }
    case 'filter': {
      if (!Array.isArray(arg) || arg.length !== 2 || !Array.isArray(arg[1])) throw bad('Arguments to "filter" must be of the form: [values_to_filter, sequence]');
      const drop = new Set((Array.isArray(arg[0]) ? arg[0] : [arg[0]]).map((x) => JSON.stringify(x)));
      return (arg[1] as unknown[]).filter((x) => !drop.has(JSON.stringify(x)));
    }
    case 'make_url': {
      const a = (arg ?? {}) as Record<string, unknown>;
      if (typeof a !== 'object' || Array.isArray(a)) throw bad('Arguments to "make_url" must be a map');
      const scheme = a.scheme ? `${str(a.scheme)}://` : '';
      const host = a.host ? (str(a.host).includes(':') ? `[${str(a.host)}]` : str(a.host)) : '';
      const port = a.port !== undefined && a.port !== '' ? `:${str(a.port)}` : '';
      const p = str(a.path ?? '');
      const query = a.query && typeof a.query === 'object' ? `?${new URLSearchParams(Object.entries(a.query).map(([k, v]) => [k, str(v)])).toString()}` : '';
      const fragment = a.fragment ? `#${str(a.fragment)}` : '';
      return `${scheme}${host}${port}${p && !p.startsWith('/') && host ? '/' : ''}${p}${query}${fragment}`;
    }
    case 'contains': {
      if (!Array.isArray(arg) || arg.length !== 2 || (!Array.isArray(arg[1]) && typeof arg[1] !== 'string')) throw bad('Arguments to "contains" must be of the form: [value, sequence]');
      return Array.isArray(arg[1]) ? arg[1].map((x) => JSON.stringify(x)).includes(JSON.stringify(arg[0])) : arg[1].includes(str(arg[0]));
    }
    case 'equals':
    case 'Fn::Equals':
      if (!Array.isArray(arg) || arg.length !== 2) throw bad(`Arguments to "${fnName}" must be of the form: [value_1, value_2]`);
      return JSON.stringify(arg[0]) === JSON.stringify(arg[1]);
    case 'not':
    case 'Fn::Not': {
      const v = namedCondition(Array.isArray(arg) && fnName === 'Fn::Not' ? arg[0] : arg, ctx);
      if (typeof v !== 'boolean') throw bad(`Argument to "${fnName}" must be a condition (a boolean or a condition's name)`);
      return !v;
    }
    case 'and':
    case 'Fn::And':
    case 'or':
    case 'Fn::Or': {
      const all = Array.isArray(arg) ? arg.map((x) => namedCondition(x, ctx)) : [];
      if (all.length < 2 || all.some((x) => typeof x !== 'boolean')) throw bad(`Arguments to "${fnName}" must be a list of at least two conditions`);
      return fnName.toLowerCase().endsWith('and') ? all.every(Boolean) : all.some(Boolean);
    }
    case 'yaql':
      throw bad('The function "yaql" is not supported by hafen.');
    default:
      throw bad(`The function ${fnName} is not supported.`);
  }
}

/** A boolean operand as Heat reads it: a condition's name stands for that condition's value. */
function namedCondition(v: unknown, ctx: FunctionContext): unknown {
  return typeof v === 'string' && v in ctx.conditions ? ctx.conditions[v] : v;
}

/** A condition reference: a condition's name, a boolean, or a condition expression. */
function conditionValue(ref: unknown, ctx: FunctionContext, at: string): boolean {
  if (typeof ref === 'boolean') return ref;
  if (typeof ref === 'string') {
    if (!(ref in ctx.conditions)) throw new TemplateError(`${at}: Invalid condition "${ref}"`);
    return ctx.conditions[ref]!;
  }
  const v = evaluate(ref, ctx, at, functionsFor(ctx.template).conditions.concat(['get_param', 'Ref', 'Condition']));
  if (typeof v !== 'boolean') throw new TemplateError(`${at}: A condition must evaluate to a boolean`);
  return v;
}

/** Evaluates the conditions section; a condition may name another one. */
export function evaluateConditions(template: Template, ctx: Omit<FunctionContext, 'conditions'>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  const pending = new Set<string>();
  const section = template.format === 'hot' ? 'conditions' : 'Conditions';
  const full: FunctionContext = { ...ctx, conditions: new Proxy(out, {
    has: (_t, name: string) => name in template.conditions,
    get: (_t, name: string) => resolve(name),
  }) };
  const resolve = (name: string): boolean => {
    if (name in out) return out[name]!;
    if (pending.has(name)) throw new TemplateError(`${section}.${name}: Circular definition of condition`);
    pending.add(name);
    const def = template.conditions[name];
    const fns = functionsFor(template).conditions;
    let v: unknown;
    if (typeof def === 'boolean' || typeof def === 'string') v = conditionValue(def, full, `${section}.${name}`);
    else {
      const cond = isFn(def, ['Condition']);
      v = cond ? resolve(String(cond[1])) : evaluate(def, full, `${section}.${name}`, fns.concat(['Condition']));
    }
    if (typeof v !== 'boolean') throw new TemplateError(`${section}.${name}: A condition must evaluate to a boolean`);
    pending.delete(name);
    out[name] = v;
    return v;
  };
  for (const name of Object.keys(template.conditions)) resolve(name);
  return out;
}

/** Whether a resource or output with this `condition` is part of the stack. */
export function isEnabled(condition: unknown, ctx: FunctionContext, at: string): boolean {
  if (condition === undefined) return true;
  return conditionValue(condition, ctx, `${at}.condition`);
}
