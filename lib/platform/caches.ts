/**
 * Every module-level cache of the app, by name, so that all of them can be cleared at once: by
 * tests, and by the admin CLI after it changes what they hold in its own process. Each cache is
 * per process, bounded, and safe to lose (it holds what the database says, for a few seconds).
 */
export interface Clearable {
  clear(): void;
}

/**
 * `settings`: copies of what the database says (clients, workspaces, keys), to drop after an admin
 * change; `state`: what the process counts or has under way (attempts being verified, budgets,
 * the login app's checks and refreshes), which only tests clear.
 */
export type CacheKind = "settings" | "state";

const registry = ((globalThis as Record<symbol, unknown>)[Symbol.for("ropc.caches")] ??= new Map<string, { kind: CacheKind; cache: Clearable }>()) as Map<
  string,
  { kind: CacheKind; cache: Clearable }
>;

/** Registers a cache under a name (a module loaded again, as by `next dev`, replaces its own). */
export function registerCache<C extends Clearable>(name: string, cache: C, kind: CacheKind = "settings"): C {
  registry.set(name, { kind, cache });
  return cache;
}

/** Clears every registered cache, or those of one kind. */
export function clearCaches(kind?: CacheKind): void {
  for (const entry of registry.values()) if (kind === undefined || entry.kind === kind) entry.cache.clear();
}

/** The names of the registered caches (for tests and diagnostics). */
export function cacheNames(): string[] {
  return [...registry.keys()].sort();
}
