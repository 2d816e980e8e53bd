import { spawn } from "node:child_process";
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

  it("leaves no temporary file when the source does not open", async () => {
    await expect(backupSqlite(path.join(dir, "missing.db"), path.join(dir, "missing-copy.db"))).rejects.toThrow(/unable to open database file|does not exist/);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(".missing-copy.db."))).toEqual([]);
  });

  // Ctrl-C during a backup left its temporary copy, a whole database with every secret in it,
  // hidden beside the destination. SIGINT takes the same way, but a process started in the
  // background by a shell inherits it ignored, and so would this test's child: SIGTERM and SIGHUP.
  it.each(["SIGTERM", "SIGHUP"] as const)("removes its temporary copy when %s interrupts it, then ends by the signal", async (signal) => {
    const source = path.join(dir, `large-${signal}.db`);
    const db = new Database(source);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)");
    const insert = db.prepare("INSERT INTO t (body) VALUES (randomblob(1000))");
    db.transaction(() => {
      for (let i = 0; i < 30_000; i++) insert.run();
    })();
    db.close();
    const dest = path.join(dir, `large-${signal}-copy.db`);
    const backupModule = path.resolve(import.meta.dirname, "sqlite-backup.ts");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "-e", `import(${JSON.stringify(backupModule)}).then((m) => m.backupSqlite(${JSON.stringify(source)}, ${JSON.stringify(dest)}))`],
      {
        stdio: "ignore",
      },
    );
    // The copy and, once SQLite writes to it, its journal beside it.
    const temporary = () => fs.readdirSync(dir).filter((f) => f.startsWith(`.large-${signal}-copy.db.`));
    const copies = () => temporary().filter((f) => f.endsWith(".tmp"));
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, by) => resolve(by)));
    // As soon as the copy has begun.
    for (let i = 0; i < 10_000 && copies().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(copies()).toHaveLength(1);
    child.kill(signal);
    expect(await ended).toBe(signal);
    expect(temporary()).toEqual([]);
    expect(fs.existsSync(dest)).toBe(false);
  });
});
