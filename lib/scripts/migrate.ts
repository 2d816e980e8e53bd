// The migration step of `npm start` and `npm run setup`. A second server started on the same
// SQLite file while the first one serves (a restart that starts the new process before stopping
// the old one) must neither write nor fail when there is nothing to apply: the migrations table
// is read first, read-only, and the engine runs only for pending migrations, waiting a bounded
// time for a busy file.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { APPLIED_MIGRATIONS_SQL, pendingMigrations, providerOf, shippedMigrations, unknownMigrations } from "@/lib/platform/migrations.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

export class MigrationFailure extends Error {
  override name = "MigrationFailure";
}

/** The applied migrations' names, read without writing anything; empty for a new database. */
export async function readAppliedMigrations(databaseUrl: string, busyTimeoutMs: number): Promise<string[]> {
  if (providerOf(databaseUrl) === "postgres") {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: busyTimeoutMs });
    try {
      await client.connect();
      const { rows } = await client.query<{ migration_name: string }>(APPLIED_MIGRATIONS_SQL);
      return rows.map((r) => r.migration_name);
    } catch (err) {
      // 42P01: no migrations table yet, a new database.
      if ((err as { code?: string }).code === "42P01") return [];
      throw new MigrationFailure(`Cannot read the database at DATABASE_URL: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const file = sqliteFile(databaseUrl);
  if (!fs.existsSync(file)) return [];
  let connection: Database.Database | undefined;
  try {
    // Read-only, with a busy timeout: a file that another process is writing is waited for.
    connection = new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
    const table = connection.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'").get();
    if (!table) return [];
    return (connection.prepare(APPLIED_MIGRATIONS_SQL).all() as Array<{ migration_name: string }>).map((r) => r.migration_name);
  } catch (err) {
    throw new MigrationFailure(describeSqliteFailure(file, err, busyTimeoutMs));
  } finally {
    connection?.close();
  }
}

export function sqliteFile(databaseUrl: string): string {
  return path.resolve(process.cwd(), databaseUrl.replace(/^file:/, "").replace(/\?.*$/, ""));
}

/**
 * Makes a new database's folder and an empty file, as the migration engine would, or throws a
 * MigrationFailure that says so, where the engine's own output would be its stack trace.
 */
function created(file: string): void {
  if (fs.existsSync(file)) return;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // An empty file is an empty SQLite database. It will hold every secret the server keeps, so
    // only its owner may read it (SQLite gives its -wal and -shm files the same mode).
    fs.closeSync(fs.openSync(file, "a", 0o600));
  } catch (err) {
    throw new MigrationFailure(
      `Cannot create the database file ${file} (${(err as Error).message}): point DATABASE_URL at a file in a folder this process can write, or create the folder and give this process write access.`,
    );
  }
}

function describeSqliteFailure(file: string, err: unknown, busyTimeoutMs: number): string {
  const code = (err as { code?: string }).code ?? "";
  const message = messageOf(err);
  if (code.startsWith("SQLITE_BUSY") || /SocketTimeout|database is locked/.test(message)) {
    return `The database file ${file} stayed locked by another process for more than ${busyTimeoutMs / 1000} s. Stop the process that is migrating or writing to it (or raise DATABASE_BUSY_TIMEOUT_SECONDS), then start again.`;
  }
  if (code === "SQLITE_NOTADB") return `${file} is not an SQLite database: check DATABASE_URL.`;
  if (code === "SQLITE_CANTOPEN" || code.startsWith("SQLITE_READONLY"))
    return `Cannot open the database file ${file} (${code}): check DATABASE_URL and the file's permissions.`;
  return `Cannot read the database file ${file}: ${message}`;
}

export interface MigrateOptions {
  databaseUrl: string;
  busyTimeoutSeconds: number;
  /** Progress lines. */
  out: (line: string) => void;
  /** The project folder (prisma/ is there). */
  root?: string;
}

/** Applies the pending migrations, if any; returns their names. Throws a MigrationFailure in plain words. */
export async function applyPendingMigrations({ databaseUrl, busyTimeoutSeconds, out, root = process.cwd() }: MigrateOptions): Promise<string[]> {
  const busyTimeoutMs = busyTimeoutSeconds * 1000;
  const applied = await readAppliedMigrations(databaseUrl, busyTimeoutMs);
  const provider = providerOf(databaseUrl);
  const shipped = shippedMigrations(provider, root);
  const unknown = unknownMigrations(applied, shipped);
  if (unknown.length > 0) {
    out(
      `Warning: the database has ${unknown.length} migration(s) this build does not ship (${unknown.join(", ")}), applied by a newer build: this one serves on it as it is. Should it fail on what they changed, deploy the newer build again.`,
    );
  }
  const pending = pendingMigrations(applied, shipped);
  if (pending.length === 0) return [];
  if (provider === "sqlite") created(sqliteFile(databaseUrl));
  out(`Applying ${pending.length} database migration(s): ${pending.join(", ")}`);
  const result = spawnSync(process.execPath, [path.join(root, "prisma", "cli.mjs"), "migrate", "deploy"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_SHIM_SQLITE_TIMEOUT_MS: String(busyTimeoutMs) },
    encoding: "utf8",
  });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  if (result.status === 0) {
    // Read back, not taken on the exit status' word: a server must not start on tables it lacks.
    const left = pendingMigrations(await readAppliedMigrations(databaseUrl, busyTimeoutMs), shipped);
    if (left.length === 0) return pending;
    throw new MigrationFailure(
      `Applying the migrations failed: prisma migrate deploy ended without an error, yet ${left.length} migration(s) are still not applied (${left.join(", ")}). Run \`npm run db:migrate\` in ${root} to see why.`,
    );
  }
  const detail = output.trim().split("\n").slice(-15).join("\n");
  if (/SocketTimeout|database is locked|SQLITE_BUSY/.test(output)) {
    throw new MigrationFailure(
      `Applying the migrations failed: the database file ${sqliteFile(databaseUrl)} stayed locked by another process for more than ${busyTimeoutSeconds} s. Stop the process writing to it (or raise DATABASE_BUSY_TIMEOUT_SECONDS), then start again.\n${detail}`,
    );
  }
  throw new MigrationFailure(`Applying the migrations failed (prisma migrate deploy exited with status ${result.status ?? "none"}). Its output:\n${detail}`);
}
