// The one policy engine every service enforces through: oslo.policy-style rules by role and scope
// ("role:reader and project_id:%(project_id)s"), registered as defaults by each service and
// overridable by an operator file ($HAFEN_DATA_DIR/policy.yaml). Rules compile once.
import fs from 'node:fs';
import YAML from 'yaml';
import { ForbiddenError } from '../errors.ts';
import type { RequestContext } from './context.ts';

export type Target = Record<string, unknown>;

type Credentials = {
  user_id: string;
  project_id: string | undefined;
  domain_id: string | undefined;
  /** The domain of the project a project-scoped token is for (Keystone's token.project.domain.id). */
  project_domain_id: string | undefined;
  system_scope: string | undefined;
  user_domain_id: string;
  roles: string[];
};

type Check = (creds: Credentials, target: Target, engine: PolicyEngine) => boolean;

export class PolicyEngine {
  private readonly sources = new Map<string, string>();
  private readonly compiled = new Map<string, Check>();
  private readonly overrides = new Set<string>();

  constructor(overrideFile?: string) {
    if (overrideFile && fs.existsSync(overrideFile)) {
      const parsed = YAML.parse(fs.readFileSync(overrideFile, 'utf8')) ?? {};
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new Error(`${overrideFile}: a policy file must be a mapping of rule name to rule`);
      }
      for (const [name, rule] of Object.entries(parsed)) {
        if (typeof rule !== 'string') throw new Error(`${overrideFile}: rule ${name} must be a string`);
        this.set(name, rule);
        this.overrides.add(name);
      }
    }
  }

  /** Registers a service's default rules; operator overrides win. */
  registerDefaults(rules: Record<string, string>): void {
    for (const [name, rule] of Object.entries(rules)) {
      if (!this.overrides.has(name)) this.set(name, rule);
    }
  }

  private set(name: string, rule: string): void {
    this.sources.set(name, rule);
    this.compiled.set(name, compile(rule));
  }

  rule(name: string): string | undefined {
    return this.sources.get(name);
  }

  authorize(action: string, ctx: RequestContext, target: Target = {}): boolean {
    const check = this.compiled.get(action);
    // An action with no rule is denied: forgetting to register a rule must not open anything up.
    if (!check) return false;
    return check(credentialsOf(ctx), target, this);
  }

  enforce(action: string, ctx: RequestContext, target: Target = {}): void {
    if (!this.authorize(action, ctx, target)) {
      throw new ForbiddenError(`You are not authorized to perform the requested action: ${action}.`);
    }
  }

  /** Used by `rule:name` checks. */
  evaluate(name: string, creds: Credentials, target: Target): boolean {
    const check = this.compiled.get(name);
    return check ? check(creds, target, this) : false;
  }
}

/** A token's context is frozen (one object serves every request of the token): its credentials are made once. */
const frozenCredentials = new WeakMap<RequestContext, Credentials>();

function credentialsOf(ctx: RequestContext): Credentials {
  if (!Object.isFrozen(ctx)) return credentialsFrom(ctx);
  let creds = frozenCredentials.get(ctx);
  if (!creds) frozenCredentials.set(ctx, (creds = Object.freeze(credentialsFrom(ctx))));
  return creds;
}

function credentialsFrom(ctx: RequestContext): Credentials {
  return {
    user_id: ctx.userId,
    user_domain_id: ctx.userDomainId,
    project_id: ctx.scope.kind === 'project' ? ctx.scope.projectId : undefined,
    domain_id: ctx.scope.kind === 'domain' ? ctx.scope.domainId : undefined,
    project_domain_id: ctx.scope.kind === 'project' ? ctx.scope.projectDomainId : undefined,
    system_scope: ctx.scope.kind === 'system' ? 'all' : undefined,
    roles: ctx.roles,
  };
}

// ---- rule compiler: or / and / not / parentheses / @ / ! / kind:match

export function compile(rule: string): Check {
  const tokens = tokenize(rule);
  if (tokens.length === 0) return () => true; // "" means always allowed, as in oslo.policy
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];

  function parseOr(): Check {
    const parts = [parseAnd()];
    while (peek() === 'or') {
      next();
      parts.push(parseAnd());
    }
    return parts.length === 1 ? parts[0] : (c, t, e) => parts.some((p) => p(c, t, e));
  }
  function parseAnd(): Check {
    const parts = [parseNot()];
    while (peek() === 'and') {
      next();
      parts.push(parseNot());
    }
    return parts.length === 1 ? parts[0] : (c, t, e) => parts.every((p) => p(c, t, e));
  }
  function parseNot(): Check {
    if (peek() === 'not') {
      next();
      const inner = parseNot();
      return (c, t, e) => !inner(c, t, e);
    }
    return parseAtom();
  }
  function parseAtom(): Check {
    const tok = next();
    if (tok === undefined) throw new Error(`policy rule "${rule}" ends too early`);
    if (tok === '(') {
      const inner = parseOr();
      if (next() !== ')') throw new Error(`policy rule "${rule}" has an unclosed parenthesis`);
      return inner;
    }
    if (tok === '@') return () => true;
    if (tok === '!') return () => false;
    return parseCheck(tok, rule);
  }
  const check = parseOr();
  if (pos !== tokens.length) throw new Error(`policy rule "${rule}" has unexpected "${tokens[pos]}"`);
  return check;
}

function tokenize(rule: string): string[] {
  // Protect %(name)s substitutions from the parenthesis split.
  const subs: string[] = [];
  const protectedRule = rule.replace(/%\(([^)]+)\)s/g, (whole) => `\u0000${subs.push(whole) - 1}\u0000`);
  return protectedRule
    .replace(/\(/g, ' ( ')
    .replace(/\)/g, ' ) ')
    .split(/\s+/)
    .filter(Boolean)
    .map((tok) => tok.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => subs[Number(i)]));
}

function parseCheck(tok: string, rule: string): Check {
  const colon = tok.indexOf(':');
  if (colon <= 0) throw new Error(`policy rule "${rule}": "${tok}" is not kind:match`);
  const kind = tok.slice(0, colon);
  const match = tok.slice(colon + 1);
  if (kind === 'rule') return (c, t, e) => e.evaluate(match, c, t);
  if (kind === 'role') return (c) => c.roles.includes(match.toLowerCase()) || c.roles.includes(match);
  return (c, t) => {
    const want = resolve(match, t);
    if (want === undefined) return false;
    const have = (c as unknown as Record<string, unknown>)[kind];
    if (have === undefined || have === null) return false;
    return String(have).toLowerCase() === String(want).toLowerCase();
  };
}

function resolve(match: string, target: Target): unknown {
  const m = /^%\((.+)\)s$/.exec(match);
  if (!m) return match;
  const key = m[1];
  if (key in target) return target[key];
  let cur: unknown = target;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
