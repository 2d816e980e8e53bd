import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
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
  /** A backup of a database of 30 MB to `<name>-copy.db` in a process of its own, once its temporary copy has begun. */
  async function backupInChild(name: string) {
    const source = path.join(dir, `${name}.db`);
    const db = new Database(source);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)");
    const insert = db.prepare("INSERT INTO t (body) VALUES (randomblob(1000))");
    db.transaction(() => {
      for (let i = 0; i < 30_000; i++) insert.run();
    })();
    db.close();
    const dest = path.join(dir, `${name}-copy.db`);
    const backupModule = path.resolve(import.meta.dirname, "sqlite-backup.ts");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "-e", `import(${JSON.stringify(backupModule)}).then((m) => m.backupSqlite(${JSON.stringify(source)}, ${JSON.stringify(dest)}))`],
      {
        stdio: "ignore",
      },
    );
    // The copy and, once SQLite writes to it, its journal beside it.
    const temporary = () => fs.readdirSync(dir).filter((f) => f.startsWith(`.${name}-copy.db.`));
    const copies = () => temporary().filter((f) => f.endsWith(".tmp"));
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, by) => resolve(by)));
    // As soon as the copy has begun.
    for (let i = 0; i < 10_000 && copies().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(copies()).toHaveLength(1);
    return { source, dest, child, ended, temporary, copies };
  }

  it.each(["SIGTERM", "SIGHUP"] as const)("removes its temporary copy when %s interrupts it, then ends by the signal", async (signal) => {
    const { dest, child, ended, temporary } = await backupInChild(`large-${signal}`);
    child.kill(signal);
    expect(await ended).toBe(signal);
    expect(temporary()).toEqual([]);
    expect(fs.existsSync(dest)).toBe(false);
  });

  // SIGKILL gives a process no turn to remove anything: the copy stays, hidden beside the file it
  // was to become, with every secret of the database in it, until the next backup there.
  it("leaves its temporary copy when killed outright (SIGKILL), and the next backup to the same file removes it", async () => {
    const { source, dest, child, ended, temporary, copies } = await backupInChild("killed");
    const [left] = copies();
    child.kill("SIGKILL");
    expect(await ended).toBe("SIGKILL");
    expect(copies()).toEqual([left]);
    const done = await backupSqlite(source, dest);
    expect(done.removed).toEqual([path.join(dir, left!)]);
    expect(temporary()).toEqual([]);
    const copy = new Database(dest, { readonly: true });
    expect(copy.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 30_000 });
    copy.close();
  });

  it("leaves the temporary copies of a backup still under way (in another process) and of backups to other files, and what it cannot remove", async () => {
    const source = path.join(dir, "small.db");
    const db = new Database(source);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    db.close();
    const copy = (dest: string) => `.${dest}.${randomUUID()}.tmp`;
    // A backup under way elsewhere: its lock held by a process of its own.
    const live = copy("small-copy.db");
    const holder = spawn(
      process.execPath,
      [
        "-e",
        `const D = require("better-sqlite3"); new D(process.argv[1]).exec("BEGIN EXCLUSIVE"); console.log("held"); setInterval(() => {}, 60_000);`,
        path.join(dir, `${live}.lock`),
      ],
      { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on("data", () => resolve());
        holder.on("exit", () => reject(new Error("the lock's holder ended")));
      });
      const kept = [live, `${live}-journal`, `${live}.lock`, copy("other-copy.db"), ".small-copy.db.notes.tmp"];
      // Ended: one whose lock is no longer held, and one that never had one.
      const gone = [copy("small-copy.db"), copy("small-copy.db")];
      for (const name of [...kept.filter((n) => !n.endsWith(".lock")), ...gone, `${gone[0]}-journal`, `${gone[0]}.lock`])
        fs.writeFileSync(path.join(dir, name), "");
      // A directory under a copy's name cannot be removed as a file: left, and the backup goes on.
      const directory = copy("small-copy.db");
      fs.mkdirSync(path.join(dir, directory));
      const { removed } = await backupSqlite(source, path.join(dir, "small-copy.db"));
      expect(removed.sort()).toEqual(gone.map((name) => path.join(dir, name)).sort());
      for (const name of [...kept, directory]) expect(fs.existsSync(path.join(dir, name)), name).toBe(true);
      for (const name of [`${gone[0]}-journal`, `${gone[0]}.lock`]) expect(fs.existsSync(path.join(dir, name)), name).toBe(false);
    } finally {
      holder.kill();
    }
  });
});
