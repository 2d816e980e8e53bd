import fs from "node:fs";
import path from "node:path";

// What `prisma migrate deploy` would apply, found without running it: the engine takes SQLite's
// write lock (and on a busy file can fail) even when there is nothing to apply. `npm start` reads
// the migrations table first and calls the engine only when something is pending; /readyz asks
// the same question of the running server's connection.

export type Provider = "sqlite" | "postgres";

/**
 * The migrations table's applied rows, as Prisma writes them (a failed or rolled-back one is not
 * applied), in the order they were shipped (their names begin with a timestamp): without ORDER BY
 * PostgreSQL answers in the order the rows lie in its table, which an update moves.
 */
export const APPLIED_MIGRATIONS_SQL = `SELECT "migration_name" FROM "_prisma_migrations" WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL ORDER BY "migration_name"`;

export function providerOf(databaseUrl: string): Provider {
  return /^postgres(ql)?:\/\//.test(databaseUrl) ? "postgres" : "sqlite";
}

const shipped = new Map<string, string[]>();

/** The migrations this build ships for a provider, oldest first (folders with a migration.sql). */
export function shippedMigrations(provider: Provider, root: string = process.cwd()): string[] {
  const dir = path.resolve(/*turbopackIgnore: true*/ root, "prisma", ...(provider === "postgres" ? ["postgres"] : []), "migrations");
  let names = shipped.get(dir);
  if (!names) {
    names = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, "migration.sql")))
      .map((entry) => entry.name)
      .sort();
    shipped.set(dir, names);
  }
  return names;
}

/** The shipped migrations missing from `applied`. */
export function pendingMigrations(applied: Iterable<string>, shippedNames: readonly string[]): string[] {
  const done = new Set(applied);
  return shippedNames.filter((name) => !done.has(name));
}

/** The applied migrations this build does not ship: a newer build's, when this one is a rollback. */
export function unknownMigrations(applied: Iterable<string>, shippedNames: readonly string[]): string[] {
  const known = new Set(shippedNames);
  return [...applied].filter((name) => !known.has(name)).sort();
}
