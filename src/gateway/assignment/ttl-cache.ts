// Lookups cached for a TTL (0 = off), bounded in size with least-recently-used eviction. Concurrent lookups of
// one key share a single load; a failed load is not kept, so the next request tries again.
import { LRUCache } from 'lru-cache';

/** How long assignments and app configurations are kept, as the OpenSRP gateway keeps them. */
export const DEFAULT_CACHE_TTL_SEC = 300;

export class TtlCache<V> {
  private readonly entries?: LRUCache<string, Promise<V>>;

  constructor(ttlSec: number, maxEntries = 5000) {
    if (ttlSec > 0) this.entries = new LRUCache({ max: maxEntries, ttl: ttlSec * 1000 });
  }

  /** The cached value for `key`, else the result of `load()`, cached. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const entries = this.entries;
    if (!entries) return load();
    const cached = entries.get(key);
    if (cached) return cached;
    const loading = load();
    entries.set(key, loading);
    loading.catch(() => {
      if (entries.peek(key) === loading) entries.delete(key);
    });
    return loading;
  }

  /** Drop the keys `match` accepts, or all of them. A load under way still answers its own callers. */
  invalidate(match?: (key: string) => boolean): void {
    if (!match) return this.entries?.clear();
    for (const key of [...(this.entries?.keys() ?? [])]) if (match(key)) this.entries?.delete(key);
  }
}
