// Second-chance (CLOCK) eviction for bounded in-memory maps whose entries carry a `used` mark: the
// map's insertion order is the clock hand's path. Token caches use it to stay bounded without an LRU
// list's per-hit reordering.

/** Something a bounded map keeps: marked `used` by each hit since the hand last passed it. */
export interface ClockEntry {
  used: boolean;
}

/**
 * Drops the oldest entry not used since the hand last passed it; each used entry it passes loses its
 * mark and moves to the end (its second chance). Removes exactly one entry from a non-empty map.
 */
export function evictOne<K, V extends ClockEntry>(map: Map<K, V>): void {
  for (const [key, entry] of map) {
    map.delete(key);
    if (!entry.used) return;
    entry.used = false;
    map.set(key, entry);
  }
}
