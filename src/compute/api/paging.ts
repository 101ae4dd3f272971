// Nova's paging links: a full page ends with a `next` link that carries the query and the marker.
import { MAX_LIMIT } from '../listing.ts';

/** `{ <name>_links: [{ rel: 'next', href }] }` when the page is full, else nothing. */
export function nextLinks(name: string, url: string, query: Record<string, unknown>, page: { id: string }[]): Record<string, { rel: string; href: string }[]> {
  const limit = Math.min(typeof query.limit === 'number' ? query.limit : MAX_LIMIT, MAX_LIMIT);
  if (page.length === 0 || page.length < limit) return {};
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (k === 'marker' || v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) params.append(k, String(one));
  }
  params.set('limit', String(limit));
  params.set('marker', page[page.length - 1]!.id);
  return { [`${name}_links`]: [{ rel: 'next', href: `${url}?${params.toString()}` }] };
}
