// Access rules of application credentials (Keystone's): a token made from a credential that carries
// rules may be used only for the service types, methods and paths they name. Pure matching, used by
// `authenticate` on every request; the rules themselves are identity's and travel inside the token.

export interface AccessRule {
  id: string;
  service: string;
  method: string;
  path: string;
}

const patterns = new Map<string, RegExp>();
const MAX_PATTERNS = 4096;

/**
 * A rule's path as a pattern, as keystonemiddleware reads it: `*` and `{name}` stand for one path
 * segment, `**` for any number of them; everything else is literal.
 */
export function accessRulePattern(path: string): RegExp {
  let re = patterns.get(path);
  if (re) return re;
  let body = '';
  for (const m of path.matchAll(/(\{[^}]*\})|(\*\*)|(\*)|([^{}*]+)|([{}])/g)) {
    if (m[1] || m[3]) body += '[^/]+';
    else if (m[2]) body += '.*';
    else body += (m[4] ?? m[5]!).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  re = new RegExp(`^${body}$`);
  if (patterns.size >= MAX_PATTERNS) patterns.clear();
  patterns.set(path, re);
  return re;
}

/** Whether a request to `service` with `method` on `path` (as the service sees it, no query) is allowed. */
export function allowedByAccessRules(rules: readonly AccessRule[], service: string, method: string, path: string): boolean {
  return rules.some((r) => r.service === service && r.method === method && accessRulePattern(r.path).test(path));
}
