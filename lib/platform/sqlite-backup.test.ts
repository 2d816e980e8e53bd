import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { backupSqlite } from "@/lib/platform/sqlite-backup.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-sqlite-backup-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A WAL database of some thousands of pages (the backup copies it in many steps), open for writing. */
function busyDatabase(name: string): Database.Database {
  const db = new Database(path.join(dir, name));
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
  const insert = db.prepare("INSERT INTO t (body) VALUES (?)");
  db.transaction(() => {
    for (let i = 0; i < 20_000; i++) insert.run("x".repeat(400));
  })();
  return db;
}

describe("backupSqlite", () => {
  it("finishes while another connection writes every few milliseconds (SQLite restarts a stepwise copy at each write)", async () => {
    const db = busyDatabase("written.db");
    const insert = db.prepare("INSERT INTO t (body) VALUES ('during')");
    const writer = setInterval(() => insert.run(), 2);
    try {
      const done = backupSqlite(path.join(dir, "written.db"), path.join(dir, "written-copy.db"));
      const outcome = await Promise.race([done.then(() => "done"), new Promise((resolve) => setTimeout(() => resolve("still copying"), 10_000))]);
      expect(outcome).toBe("done");
    } finally {
      clearInterval(writer);
      db.close();
    }
    const copy = new Database(path.join(dir, "written-copy.db"), { readonly: true });
    try {
      expect((copy.prepare("SELECT COUNT(*) AS n FROM t WHERE body <> 'during'").get() as { n: number }).n).toBe(20_000);
    } finally {
      copy.close();
    }
  });

  it("never lets another user read the copy, even while it is being written", async () => {
    const db = busyDatabase("secret.db");
    db.close();
    const modes: number[] = [];
    const watcher = fs.watch(dir, (_event, name) => {
      const file = path.join(dir, String(name));
      if (String(name).startsWith(".secret-copy.db.") && String(name).endsWith(".tmp") && fs.existsSync(file)) modes.push(fs.statSync(file).mode & 0o777);
    });
    const umask = process.umask(0o022);
    try {
      await backupSqlite(path.join(dir, "secret.db"), path.join(dir, "secret-copy.db"));
    } finally {
      process.umask(umask);
      watcher.close();
    }
    expect(modes.length).toBeGreaterThan(0);
    expect(new Set(modes)).toEqual(new Set([0o600]));
    expect(fs.statSync(path.join(dir, "secret-copy.db")).mode & 0o777).toBe(0o600);
  });
});
