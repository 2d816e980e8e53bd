import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { backupDatabase, restoreDatabase } from "@/lib/admin/backups.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { refusal } from "@/lib/testing/admin.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-backups-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const onSqlite = settings().databaseFile !== undefined;
const yes = async () => true;
const rows = (file: string, sql: string) => {
  const c = new Database(file, { readonly: true });
  try {
    return c.prepare(sql).all();
  } finally {
    c.close();
  }
};

describe("database backups", () => {
  it.each([
    ["backup", () => backupDatabase(path.join(dir, "pg.db"), { database: "postgresql://u@localhost:5432/x" }), "pg_dump -Fc"],
    ["restore", () => restoreDatabase(path.join(dir, "pg.db"), yes, { database: "postgres://u@localhost:5432/x" }), "pg_restore"],
  ])("on PostgreSQL, %s says what to use and does nothing", async (_what, run, tool) => {
    expect(await refusal(run())).toBe(`DATABASE_URL is a PostgreSQL database: use ${tool} (README, "Backups"); nothing was done`);
    expect(fs.existsSync(path.join(dir, "pg.db"))).toBe(false);
  });

  it.runIf(onSqlite)("copies the database while it is open and written to; refuses to replace a file unless forced", async () => {
    await db().tenant.create({ data: { slug: "written-before", name: "x" } });
    const file = path.join(dir, "online.db");
    const { bytes } = await backupDatabase(file);
    expect(bytes).toBe(fs.statSync(file).size);
    expect(rows(file, `SELECT slug FROM "Tenant" WHERE slug = 'written-before'`)).toHaveLength(1);
    // One self-contained file: no log beside it, no temporary file left.
    expect(rows(file, "PRAGMA journal_mode")).toEqual([{ journal_mode: "delete" }]);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("online") || f.startsWith(".online"))).toEqual(["online.db"]);

    await db().tenant.create({ data: { slug: "written-after", name: "x" } });
    expect(await refusal(backupDatabase(file))).toBe(`${file} exists already (--force replaces it)`);
    expect(rows(file, `SELECT slug FROM "Tenant" WHERE slug = 'written-after'`)).toHaveLength(0);
    await backupDatabase(file, { force: true });
    expect(rows(file, `SELECT slug FROM "Tenant" WHERE slug = 'written-after'`)).toHaveLength(1);
    expect(await db().auditEvent.count({ where: { event: "admin.database.backup", reason: file, clientId: "cli" } })).toBe(2);
    // It holds every secret of the database: only its owner may read it, whatever the umask.
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(await refusal(backupDatabase(path.join(dir, "no-such-dir", "x.db")))).toBe(`No directory ${path.join(dir, "no-such-dir")}`);
  });

  it.runIf(onSqlite)("refuses to restore over a database that is open", async () => {
    const backup = path.join(dir, "for-open.db");
    await backupDatabase(backup);
    const live = settings().databaseFile ?? "";
    expect(await refusal(restoreDatabase(backup, yes))).toBe(`${live} is in use (a server or another command has it open): stop every server on it first`);
  });

  it.runIf(onSqlite)("restores once confirmed, keeping the old file aside with what its log held; never replays a stale log", async () => {
    const backup = path.join(dir, "good.db");
    await backupDatabase(backup);
    const target = path.join(dir, "target.db");
    fs.copyFileSync(backup, target);
    // A server that died: its last commit only in the -wal file left beside the database.
    const server = new Database(target);
    server.pragma("journal_mode = WAL");
    server.pragma("wal_autocheckpoint = 0");
    server.prepare(`INSERT INTO "Tenant" ("id", "slug", "name") VALUES ('t-crash', 'only-in-the-log', 'x')`).run();
    fs.copyFileSync(`${target}-wal`, path.join(dir, "left-wal"));
    server.close();
    fs.copyFileSync(path.join(dir, "left-wal"), `${target}-wal`);

    expect(await refusal(restoreDatabase(path.join(dir, "nothing.db"), yes, { database: `file:${target}` }))).toBe(
      `No backup at ${path.join(dir, "nothing.db")}`,
    );
    fs.writeFileSync(path.join(dir, "junk.db"), "not a database");
    expect(await refusal(restoreDatabase(path.join(dir, "junk.db"), yes, { database: `file:${target}` }))).toMatch(/^\S+junk\.db is not a usable backup: /);
    expect(await refusal(restoreDatabase(backup, async () => false, { database: `file:${target}` }))).toBe("Nothing was restored");
    expect(rows(target, `SELECT slug FROM "Tenant" WHERE slug = 'only-in-the-log'`)).toHaveLength(1);

    // The restored file keeps the replaced one's mode (the operator's), not the backup's.
    fs.chmodSync(backup, 0o644);
    fs.chmodSync(target, 0o640);
    const { keptAside } = await restoreDatabase(backup, yes, { database: `file:${target}` });
    expect(fs.statSync(target).mode & 0o777).toBe(0o640);
    expect(keptAside).toMatch(/target\.db\.before-restore-\d{4}-\d\d-\d\dT/);
    expect(rows(keptAside ?? "", `SELECT slug FROM "Tenant" WHERE slug = 'only-in-the-log'`)).toHaveLength(1);
    expect(rows(target, `SELECT slug FROM "Tenant" WHERE slug = 'only-in-the-log'`)).toHaveLength(0);
    expect(rows(target, `SELECT event, reason FROM "AuditEvent" WHERE event = 'admin.database.restore'`)).toEqual([
      { event: "admin.database.restore", reason: backup },
    ]);
  });

  it.runIf(onSqlite)("restores a backup older than this build's schema, and says the restore could not be recorded in it", async () => {
    // A database of this app as its first five migrations left it (before AuditEvent had `count`).
    const old = path.join(dir, "old.db");
    const c = new Database(old);
    const migrations = path.join(import.meta.dirname, "..", "..", "prisma", "migrations");
    c.exec(`CREATE TABLE "_prisma_migrations" ("id" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "migration_name" TEXT NOT NULL)`);
    for (const name of fs
      .readdirSync(migrations)
      .filter((n) => /^\d/.test(n))
      .sort()
      .slice(0, 5)) {
      c.exec(fs.readFileSync(path.join(migrations, name, "migration.sql"), "utf8"));
      c.prepare(`INSERT INTO "_prisma_migrations" VALUES (?, '', ?)`).run(name, name);
    }
    c.close();
    const target = path.join(dir, "current.db");
    await backupDatabase(target);
    const done = await restoreDatabase(old, yes, { database: `file:${target}` });
    expect(done.keptAside).toMatch(/current\.db\.before-restore-/);
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);
    expect(done.unrecorded).toMatch(/count/);
    expect(rows(target, `SELECT migration_name FROM "_prisma_migrations"`)).toHaveLength(5);
    // The CLI says all of it: where the replaced file is, and why the restore is not in the trail.
    const { cli } = await import("@/lib/testing/cli.ts");
    const s = settings();
    const database = s.DATABASE_URL;
    s.DATABASE_URL = `file:${target}`;
    const res = await cli(["database", "restore", old, "--yes"]).finally(() => (s.DATABASE_URL = database));
    expect(res.err).toBe("");
    expect(res.status).toBe(0);
    expect(res.out).toMatch(
      /^Restored \S+current\.db from \S+old\.db\.\nThe database it replaced is kept at \S+: delete it once the restored one is known good\.\nThe restore is not in the restored database's audit trail: it could not be written there \(.+\)\. A backup older than this build is brought up to date by the servers when they start\.\n/,
    );
  });
});
