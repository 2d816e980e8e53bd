// Runs before each test file, before it imports anything: gives the file its own copy of the
// seeded template database and quiet, deterministic settings.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, expect, inject } from "vitest";
import { settleLeftoverWork } from "@/lib/platform/leftover-work.ts";
import { DATABASE_FREE } from "@/lib/testing/database-free.ts";

const template = inject("template");
const ROOT = path.resolve(import.meta.dirname, "../..");
let cleanup: () => Promise<void>;
/** On SQLite: whether the file wrote to its copy of the template (a connection open now, or a write since). */
let wroteToCopy = () => false;

if (template.kind === "sqlite") {
  const file = path.join(path.dirname(template.file), `${randomUUID()}.db`);
  fs.copyFileSync(template.file, file);
  const copied = fs.statSync(file).mtimeMs;
  wroteToCopy = () => fs.existsSync(`${file}-wal`) || fs.statSync(file).mtimeMs !== copied;
  process.env.DATABASE_URL = `file:${file}`;
  cleanup = async () => {
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  };
} else {
  // PostgreSQL copies a database from a template in milliseconds.
  const name = `${template.prefix}${randomUUID().replaceAll("-", "").slice(0, 24)}`;
  const admin = new pg.Client({ connectionString: template.server });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template.name}"`);
  process.env.DATABASE_URL = Object.assign(new URL(template.server), { pathname: `/${name}` }).toString();
  cleanup = async () => {
    // pg's pool.end() resolves before its sockets have closed: give their sessions a moment to
    // end, so that FORCE only ends a connection something left open.
    for (let i = 0; i < 40; i++) {
      const { rows } = await admin.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE datname = $1", [name]);
      if (rows[0]!.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  };
}

process.env.APP_URL = "http://localhost:3000";
process.env.LOG_LEVEL = "silent";
// Suites fail many sign-ins from one in-process "address"; the brute-force suite sets its own
// limits (brute-force.test.ts).
process.env.LOCKOUT_USER_IP_LIMIT = "1000";
process.env.LOCKOUT_IP_LIMIT = "100000";
process.env.LOCKOUT_ACCOUNT_LIMIT = "1000000";
// The hostile-input corpus sends thousands of unauthenticated failures from one address; the
// budget's own suite sets its real limit (request-budget.test.ts).
process.env.UNAUTHENTICATED_FAILURE_LIMIT = "1000000";

afterAll(async () => {
  // Before the connection closes: the audit's timer, or a background job, would otherwise open
  // another after it, which the drop of the file's database kills mid-query.
  await settleLeftoverWork();
  const cache = globalThis as typeof globalThis & { __ropcDb?: { $disconnect(): Promise<void> } };
  const file = path.relative(ROOT, expect.getState().testPath ?? "");
  if (template.kind === "sqlite" && DATABASE_FREE.includes(file) && (cache.__ropcDb !== undefined || wroteToCopy())) {
    throw new Error(
      `${file} used its database, and lib/testing/database-free.ts lists it as a file that uses none (so \`npm run test:pg\` leaves it out): take it off that list`,
    );
  }
  await cache.__ropcDb?.$disconnect();
  await cleanup();
});
