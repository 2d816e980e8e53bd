/**
 * Every module-level cache of the app, by name, so that all of them can be cleared at once: by
 * tests, and by the admin CLI after it changes what they hold in its own process. Each cache is
 * per process, bounded, and safe to lose (it holds what the database says, for a few seconds).
 */
export interface Clearable {
  clear(): void;
}

const registry = ((globalThis as Record<symbol, unknown>)[Symbol.for("ropc.caches")] ??= new Map<string, Clearable>()) as Map<string, Clearable>;

/** Registers a cache under a name (a module loaded again, as by `next dev`, replaces its own). */
export function registerCache<C extends Clearable>(name: string, cache: C): C {
  registry.set(name, cache);
  return cache;
}

/** Clears every registered cache. */
export function clearCaches(): void {
  for (const cache of registry.values()) cache.clear();
}

/** The names of the registered caches (for tests and diagnostics). */
export function cacheNames(): string[] {
  return [...registry.keys()].sort();
}
