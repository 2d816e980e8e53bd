import fs from "node:fs";
import path from "node:path";
import { AdminError } from "@/lib/admin/errors.ts";
import { ADMIN_ACTOR } from "@/lib/admin/transaction.ts";
import { settings } from "@/lib/platform/env.ts";
import { audit } from "@/lib/platform/audit.ts";
import { createDb, sqliteFile } from "@/lib/platform/db.ts";
import { backupSqlite, restoreSqlite, sqliteFileProblem, sqliteInUse } from "@/lib/platform/sqlite-backup.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

// A backup holds every secret the server keeps: who may read one is who may sign tokens (README,
// "Backups").

/** Which database: DATABASE_URL unless given (a `file:` URL, a path, or a PostgreSQL URL). */
export interface DatabaseOption {
  database?: string;
}

/** The SQLite file of the database, or the refusal that says what PostgreSQL uses instead. */
function sqliteDatabase(database: string, tool: string): string {
  const file = sqliteFile(database);
  if (file === undefined) throw new AdminError(`DATABASE_URL is a PostgreSQL database: use ${tool} (README, "Backups"); nothing was done`);
  return file;
}

/**
 * The audit event of a backup or restore, written in the database it concerns on a connection of
 * its own (after a restore, a connection made earlier would still have the file kept aside open).
 */
async function recordIn(database: string, event: string, file: string): Promise<void> {
  const client = createDb(database);
  try {
    await audit({ event: `admin.${event}`, outcome: "success", clientId: ADMIN_ACTOR, reason: file }, undefined, client);
  } finally {
    await client.$disconnect();
  }
}

/**
 * Copies the SQLite database to `dest` while servers keep serving (a consistent snapshot);
 * refuses to replace an existing file unless `force`. Audited. `removed`: the temporary copies
 * that backups to `dest` killed outright had left beside it (backupSqlite).
 */
export async function backupDatabase(
  dest: string,
  { force = false, database = settings().DATABASE_URL }: DatabaseOption & { force?: boolean } = {},
): Promise<{ file: string; bytes: number; removed: string[] }> {
  const source = sqliteDatabase(database, "pg_dump -Fc");
  const file = path.resolve(dest);
  if (file === source) throw new AdminError("The backup cannot be the database itself");
  if (!fs.existsSync(source)) throw new AdminError(`No database at ${source}`);
  if (fs.existsSync(file) && !force) throw new AdminError(`${file} exists already (--force replaces it)`);
  if (!fs.existsSync(path.dirname(file))) throw new AdminError(`No directory ${path.dirname(file)}`);
  const { bytes, removed } = await backupSqlite(source, file);
  await recordIn(database, "database.backup", file);
  return { file, bytes, removed };
}

/**
 * Replaces the SQLite database with the backup at `from`: refused while any process has the
 * database open (stop the servers first) or when `from` is not a sound database of this app.
 * The file it replaces is kept beside it. The restore is audited in the restored database; when
 * that cannot be written (a backup older than this build's schema, which the servers bring up to
 * date when they start), `unrecorded` says why, and the restore stands.
 */
export async function restoreDatabase(
  from: string,
  confirm: (target: string) => Promise<boolean>,
  { database = settings().DATABASE_URL }: DatabaseOption = {},
): Promise<{ target: string; keptAside: string | null; unrecorded?: string }> {
  const target = sqliteDatabase(database, "pg_restore");
  const backup = path.resolve(from);
  if (!fs.existsSync(backup)) throw new AdminError(`No backup at ${backup}`);
  const problem = sqliteFileProblem(backup);
  if (problem !== null) throw new AdminError(`${backup} is not a usable backup: ${problem}`);
  if (backup === target) throw new AdminError("The backup is the database itself");
  if (sqliteInUse(target)) throw new AdminError(`${target} is in use (a server or another command has it open): stop every server on it first`);
  if (!(await confirm(target))) throw new AdminError("Nothing was restored");
  // Checked again: a server may have started while the operator was asked.
  if (sqliteInUse(target)) throw new AdminError(`${target} is in use (a server or another command has it open): stop every server on it first`);
  const { keptAside } = restoreSqlite(backup, target);
  try {
    await recordIn(`file:${target}`, "database.restore", backup);
  } catch (err) {
    // The file is in place by now: a failure to record it must not hide that, nor where the old one is.
    return { target, keptAside, unrecorded: messageOf(err).trim().split("\n").at(-1) ?? "" };
  }
  return { target, keptAside };
}
