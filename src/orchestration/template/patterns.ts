// Parameters' allowed_pattern constraints, checked as RE2 in a worker thread (platform's
// user-pattern): a template's pattern is a user's input and must not stall the controller.
import { matchUserPattern, PatternError } from '../../platform/user-pattern.ts';
import { TemplateError } from './model.ts';
import type { CustomCheck } from './parameters.ts';

/** Checks the allowed_pattern entries of `checks` (others are left to the caller); throws TemplateError. */
export async function checkPatterns(checks: CustomCheck[]): Promise<void> {
  const byPattern = new Map<string, CustomCheck[]>();
  for (const c of checks) {
    if (c.constraint !== 'allowed_pattern' || c.pattern === undefined) continue;
    if (String(c.value).includes('"__deferred":true')) continue; // made of what only exists later
    byPattern.set(c.pattern, [...(byPattern.get(c.pattern) ?? []), c]);
  }
  for (const [pattern, list] of byPattern) {
    const where = (c: CustomCheck) => (c.parameter.includes('.') ? c.parameter : `Parameter '${c.parameter}'`);
    let results: boolean[];
    try {
      results = await matchUserPattern(pattern, list.map((c) => String(c.value)), 'whole');
    } catch (err) {
      if (err instanceof PatternError) throw new TemplateError(`${where(list[0]!)} is invalid: allowed_pattern: ${err.message}`);
      throw err;
    }
    const i = results.indexOf(false);
    if (i >= 0) {
      const c = list[i]!;
      throw new TemplateError(`${where(c)} is invalid: ${c.description ?? `"${String(c.value)}" does not match pattern "${pattern}"`}`);
    }
  }
}
