// Zun's list paging parameters, checked as Zun checks them (containers and capsules alike).
import { InvalidValue } from './errors.ts';

/** `limit` (a positive integer) and `sort_dir` (`asc` by default) of a list request. */
export function listPage(q: { limit?: string; sort_dir?: string }): { limit: number | undefined; dir: 'asc' | 'desc' } {
  let limit: number | undefined;
  if (q.limit !== undefined) {
    if (!/^\d+$/.test(q.limit)) throw new InvalidValue(`Invalid input for limit: ${q.limit}.`);
    limit = Number(q.limit);
    if (limit <= 0) throw new InvalidValue('Limit must be positive');
  }
  const dir = q.sort_dir ?? 'asc';
  if (dir !== 'asc' && dir !== 'desc') throw new InvalidValue(`Invalid sort direction: ${dir}. Acceptable values are 'asc' or 'desc'`);
  return { limit, dir };
}
