import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { shippedMigrations } from "@/lib/platform/migrations.ts";
import { applyPendingMigrations, MigrationFailure, readAppliedMigrations } from "@/lib/scripts/migrate.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-migrate-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const out: string[] = [];
const options = (databaseUrl: string, busyTimeoutSeconds = 1) => ({ databaseUrl, busyTimeoutSeconds, out: (line: string) => out.push(line) });
const sqlite = (process.env.DATABASE_URL ?? "").startsWith("file:");

describe.runIf(sqlite)("the migration step of npm start (SQLite)", () => {
  it("applies every migration to a new file, then finds nothing to apply", async () => {
    const url = `file:${path.join(dir, "new.db")}`;
    expect(await applyPendingMigrations(options(url, 30))).toEqual(shippedMigrations("sqlite"));
    const shipped = shippedMigrations("sqlite");
    expect(shipped.length).toBeGreaterThan(1);
    expect(out.at(-1)).toBe(`Applying ${shipped.length} database migration(s): ${shipped.join(", ")}`);
    expect(await readAppliedMigrations(url, 1000)).toEqual(shippedMigrations("sqlite"));
    expect(await applyPendingMigrations(options(url))).toEqual([]);
    // It will hold every secret the server keeps: only its owner may read it, whatever the umask.
    expect(fs.statSync(path.join(dir, "new.db")).mode & 0o777).toBe(0o600);
  }, 60_000);

  it("applies them through a project folder that is a link to the real one (the Prisma CLI's script, named through it)", async () => {
    const linked = path.join(dir, "linked-project");
    fs.mkdirSync(linked);
    fs.symlinkSync(path.resolve("prisma"), path.join(linked, "prisma"));
    const url = `file:${path.join(dir, "through-a-link.db")}`;
    expect(await applyPendingMigrations({ ...options(url, 30), root: linked })).toEqual(shippedMigrations("sqlite"));
    expect(await readAppliedMigrations(url, 1000)).toEqual(shippedMigrations("sqlite"));
  }, 60_000);

  it("fails, naming what is left, when the migration command ends well but applied nothing", async () => {
    // A project whose Prisma CLI script does nothing and exits 0.
    const project = path.join(dir, "idle-cli");
    fs.mkdirSync(path.join(project, "prisma"), { recursive: true });
    fs.symlinkSync(path.resolve("prisma", "migrations"), path.join(project, "prisma", "migrations"));
    fs.writeFileSync(path.join(project, "prisma", "cli.mjs"), "process.exit(0);\n");
    const url = `file:${path.join(dir, "idle.db")}`;
    const failure = await applyPendingMigrations({ ...options(url, 30), root: project }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(MigrationFailure);
    const shipped = shippedMigrations("sqlite");
    expect((failure as Error).message).toBe(
      `Applying the migrations failed: prisma migrate deploy ended without an error, yet ${shipped.length} migration(s) are still not applied (${shipped.join(", ")}). Run \`npm run db:migrate\` in ${project} to see why.`,
    );
  }, 60_000);

  it("warns of migrations a newer build applied, and serves on the database as it is", async () => {
    const file = path.join(dir, "newer.db");
    await applyPendingMigrations(options(`file:${file}`, 30));
    const newer = new Database(file);
    const row = { id: "newer", checksum: "0", name: "29991231000000_from_a_newer_build", at: Date.now() };
    newer
      .prepare(
        `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "finished_at", "applied_steps_count") VALUES (@id, @checksum, @name, @at, @at, 1)`,
      )
      .run(row);
    newer.close();
    out.length = 0;
    expect(await applyPendingMigrations(options(`file:${file}`))).toEqual([]);
    expect(out).toEqual([
      "Warning: the database has 1 migration(s) this build does not ship (29991231000000_from_a_newer_build), applied by a newer build: this one serves on it as it is. Should it fail on what they changed, deploy the newer build again.",
    ]);
  }, 60_000);

  it("names the database file and the setting when the file cannot be created", async () => {
    // A folder that cannot be made: its parent is a file.
    const parent = path.join(dir, "a-file");
    fs.writeFileSync(parent, "");
    const file = path.join(parent, "app.db");
    await expect(applyPendingMigrations(options(`file:${file}`))).rejects.toThrow(
      new MigrationFailure(
        `Cannot create the database file ${file} (EEXIST: file already exists, mkdir '${parent}'): point DATABASE_URL at a file in a folder this process can write, or create the folder and give this process write access.`,
      ),
    );
  });

  it("writes nothing and waits for nothing when a serving process holds the write lock and nothing is pending", async () => {
    // The test's own database is migrated; another connection holds its write lock, as a
    // serving instance in the middle of a write does.
    const file = (process.env.DATABASE_URL ?? "").slice("file:".length);
    const holder = new Database(file);
    holder.pragma("journal_mode = WAL");
    const before = holder.pragma("data_version", { simple: true });
    holder.exec("BEGIN IMMEDIATE");
    try {
      const started = Date.now();
      expect(await applyPendingMigrations(options(`file:${file}`))).toEqual([]);
      expect(Date.now() - started).toBeLessThan(900);
    } finally {
      holder.exec("COMMIT");
    }
    expect(holder.pragma("data_version", { simple: true })).toBe(before);
    holder.close();
  });

  it("waits a bounded time for a locked file, then says so in plain words", async () => {
    const file = path.join(dir, "locked.db");
    const holder = new Database(file);
    holder.exec("CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);");
    try {
      const started = Date.now();
      await expect(applyPendingMigrations(options(`file:${file}`, 1))).rejects.toThrow(
        `The database file ${file} stayed locked by another process for more than 1 s. Stop the process that is migrating or writing to it (or raise DATABASE_BUSY_TIMEOUT_SECONDS), then start again.`,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
  });
});

describe.runIf(!sqlite)("the migration step of npm start (PostgreSQL)", () => {
  it("reads the applied migrations of a migrated database without writing", async () => {
    const url = process.env.DATABASE_URL ?? "";
    expect(await readAppliedMigrations(url, 5000)).toEqual(shippedMigrations("postgres"));
    expect(await applyPendingMigrations(options(url))).toEqual([]);
  });
});
