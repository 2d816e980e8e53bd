import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { messageOf } from "@/lib/platform/error-message.ts";

// SQLite files as wholes: an online copy, a check that a copy is sound, and a swap into place.
// Each opens its own short-lived connection; none goes through Prisma.

/**
 * Copies the database at `source` to `dest` with SQLite's online backup API: a consistent
 * snapshot (the WAL's committed frames included) taken while servers keep reading and writing.
 * The copy is written beside `dest` under a temporary name, checked, switched to the rollback
 * journal (one self-contained file, no -wal/-shm to carry along) and only then renamed to
 * `dest`: a failed or interrupted backup never leaves a half-written file under the name, nor
 * (on SIGINT, SIGTERM or SIGHUP) its temporary copy. A copy that a process killed outright left
 * (`kill -9`, a machine's crash) is removed by the next backup to `dest` (`removed`: their paths).
 */
export async function backupSqlite(source: string, dest: string): Promise<{ bytes: number; removed: string[] }> {
  const removed = removeAbandonedCopies(dest);
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomUUID()}.tmp`);
  // Held while the copy exists: the copy is this backup's as long as the lock is (removeAbandonedCopies).
  const lock = holdLock(`${tmp}.lock`);
  let made = false;
  const removeCopy = () => {
    if (made) for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`, `${tmp}-journal`]) fs.rmSync(f, { force: true });
  };
  // Interrupted (Ctrl-C, a supervisor's SIGTERM), the copy goes too: it is a whole database,
  // every secret in it. Unless someone else handles the signal, it then ends the process as it
  // would have: by the signal. Listening before the copy exists: a signal never finds it unwatched.
  const onSignal = (signal: NodeJS.Signals) => {
    removeCopy();
    releaseLock(lock);
    if (process.listenerCount(signal) > 1) return;
    stopListening();
    process.kill(process.pid, signal);
  };
  const stopListening = () => {
    for (const signal of INTERRUPTIONS) process.off(signal, onSignal);
  };
  for (const signal of INTERRUPTIONS) process.on(signal, onSignal);
  let db: Database.Database | undefined;
  try {
    // A backup holds every secret the database does: only its owner may read it, from its first
    // byte (SQLite would make it with the umask's mode, and keeps that of a file that exists).
    fs.closeSync(fs.openSync(tmp, "wx", 0o600));
    made = true;
    db = new Database(source, { fileMustExist: true, timeout: 5000 });
    // The rest of the pages in one step once the first is done: a step-by-step copy starts over
    // at every write another connection commits, so a busy server's database was never copied.
    // One step reads one snapshot (in WAL mode, writers go on meanwhile).
    await db.backup(tmp, { progress: ({ totalPages }) => Math.max(totalPages, 100) });
    // fileMustExist: a signal handled elsewhere may have removed it meanwhile (never an empty copy).
    const copy = new Database(tmp, { fileMustExist: true, timeout: 5000 });
    try {
      assertSound(copy, tmp);
      copy.pragma("journal_mode = DELETE");
    } finally {
      copy.close();
    }
    fsyncFile(tmp);
    // A signal that came meanwhile (the copy is one long synchronous step) is handled now, before
    // the copy is kept: its handler runs in the event loop's turn before this one's.
    await new Promise((resolve) => setImmediate(resolve));
    fs.renameSync(tmp, dest);
    return { bytes: fs.statSync(dest).size, removed };
  } catch (err) {
    removeCopy();
    throw err;
  } finally {
    stopListening();
    db?.close();
    releaseLock(lock);
  }
}

/**
 * A lock only this process holds, until it releases it or ends however it ends: an empty SQLite
 * database in an exclusive transaction. SQLite's locks are the system's advisory file locks, which
 * the kernel drops with their process, in any container or host that shares the directory (a
 * process id would not do: two containers' processes may have the same one).
 */
function holdLock(file: string): Database.Database {
  const lock = new Database(file);
  lock.exec("BEGIN EXCLUSIVE");
  return lock;
}

function releaseLock(lock: Database.Database): void {
  if (!lock.open) return;
  lock.close();
  fs.rmSync(lock.name, { force: true });
}

/** Whether a process holds the lock `file` (holdLock); false when there is none. */
function lockHeld(file: string): boolean {
  let probe: Database.Database | undefined;
  try {
    probe = new Database(file, { fileMustExist: true, timeout: 0 });
    probe.exec("BEGIN IMMEDIATE");
    probe.exec("ROLLBACK");
    return false;
  } catch (err) {
    return (err as { code?: unknown }).code === "SQLITE_BUSY";
  } finally {
    probe?.close();
  }
}

// `.<dest>.<uuid>.tmp`, the journal files SQLite may make beside it, and its backup's lock.
const TEMPORARY_COPY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp(-wal|-shm|-journal|\.lock)?$/;

/**
 * Removes the temporary copies of backups to `dest` (their journals and locks with them) whose
 * backup no longer holds its lock: one killed outright (`kill -9`, the machine's crash) could not
 * remove its own, a whole database with every secret in it. A file that cannot be removed is left
 * as it was. Returns the copies' paths.
 */
export function removeAbandonedCopies(dest: string): string[] {
  const dir = path.dirname(dest);
  const prefix = `.${path.basename(dest)}.`;
  const removed: string[] = [];
  const held = new Map<string, boolean>();
  for (const name of fs.readdirSync(dir)) {
    const match = name.startsWith(prefix) ? TEMPORARY_COPY.exec(name.slice(prefix.length)) : null;
    if (!match) continue;
    const file = path.join(dir, name);
    const copy = file.slice(0, file.length - (match[1]?.length ?? 0));
    if (!held.has(copy)) held.set(copy, lockHeld(`${copy}.lock`));
    if (held.get(copy)) continue;
    try {
      fs.rmSync(file);
    } catch {
      continue;
    }
    if (match[1] === undefined) removed.push(file);
  }
  return removed;
}

/** The signals that end a command line's process: a backup's temporary copy is removed first. */
const INTERRUPTIONS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Why `file` is not a sound SQLite database of this app (null when it is one). */
export function sqliteFileProblem(file: string): string | null {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    return messageOf(err);
  }
  try {
    assertSound(db, file);
    const migrations = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'`).get();
    return migrations ? null : "it has no _prisma_migrations table: not a database of this app";
  } catch (err) {
    return messageOf(err);
  } finally {
    db.close();
  }
}

function assertSound(db: Database.Database, file: string): void {
  const result = db.pragma("quick_check", { simple: true });
  if (result !== "ok") throw new Error(`${file} fails SQLite's quick_check: ${String(result)}`);
}

/**
 * Whether some connection (a running server, its checkpoint worker, another CLI) has `file` open:
 * an exclusive lock is then refused at once. When none has, the probe's own connection is the
 * last to close, so SQLite copies any write-ahead log left by a crash into the file and deletes
 * the -wal and -shm files: the file alone then holds every committed write.
 */
export function sqliteInUse(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
    db.exec("COMMIT");
    return false;
  } catch (err) {
    if ((err as { code?: string }).code === "SQLITE_BUSY" || (err as { code?: string }).code === "SQLITE_LOCKED") return true;
    throw err;
  } finally {
    db.close();
  }
}

/**
 * Puts a copy of `backup` at `target` and returns where the file that was there went (null when
 * there was none): `{target}.before-restore-{time}`, with its -wal and -shm files if any were
 * left, so that a stale log is never replayed onto the restored file.
 */
export function restoreSqlite(backup: string, target: string, now = new Date()): { keptAside: string | null } {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.tmp`);
  fs.copyFileSync(backup, tmp);
  // The restored file keeps the mode of the one it replaces (the operator's), else only its owner
  // may read it: not the backup's, which may have been copied around with another.
  fs.chmodSync(tmp, fs.existsSync(target) ? fs.statSync(target).mode & 0o777 : 0o600);
  fsyncFile(tmp);
  let keptAside: string | null = null;
  try {
    if (fs.existsSync(target)) {
      keptAside = `${target}.before-restore-${now.toISOString().replace(/[:.]/g, "-")}`;
      for (const suffix of ["", "-wal", "-shm"]) if (fs.existsSync(`${target}${suffix}`)) fs.renameSync(`${target}${suffix}`, `${keptAside}${suffix}`);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { keptAside };
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, "r+");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
