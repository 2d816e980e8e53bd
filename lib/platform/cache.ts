/**
 * A per-process cache of values loaded from the database, each kept at most `ttlMs`: a change
 * made elsewhere (another instance, the admin CLI) takes effect here within that bound. Loads
 * in flight are shared; a failed load is not kept. Bounded: past `max` entries it starts over.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { at: number; value: Promise<V> }>();

  constructor(
    private readonly ttlMs: () => number,
    private readonly max = 10_000,
  ) {}

  get(key: string, load: () => Promise<V>, now = Date.now()): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs()) return hit.value;
    if (this.entries.size >= this.max) this.entries.clear();
    const value = load();
    const entry = { at: now, value };
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  /** Forgets one key: its next `get` loads it again. */
  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
