#!/usr/bin/env node
// `npm run db:new-migration -- --name <name>`: after a change to prisma/schema.prisma, writes the
// migration for both databases at once: prisma/migrations/<ts>_<name> (SQLite) and
// prisma/postgres/migrations/<ts>_<name> (PostgreSQL), each diffed against its own history on a
// scratch database. PostgreSQL comes from MIGRATION_POSTGRES_URL or TEST_POSTGRES_URL, or a
// throwaway server started with .ci/postgres.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { runPrisma } from "./cli.mjs";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { values } = parseArgs({ options: { name: { type: "string" } } });
if (!values.name || !/^[a-z0-9_]+$/.test(values.name)) {
  process.stderr.write("usage: npm run db:new-migration -- --name <lowercase_words>\n");
  process.exit(2);
}
const create = (url) => {
  const env = { ...process.env, DATABASE_URL: url };
  if (runPrisma(["migrate", "deploy"], { env, stdio: "ignore" }) !== 0) throw new Error(`migrate deploy failed on ${url}`);
  if (runPrisma(["migrate", "dev", "--create-only", "--name", values.name], { env }) !== 0) throw new Error(`migrate dev failed on ${url}`);
};

execFileSync(process.execPath, [path.join(root, "prisma", "postgres.mjs")], { stdio: "inherit" });

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-migration-"));
try {
  create(`file:${path.join(scratch, "scratch.db")}`);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}

let server = process.env.MIGRATION_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL;
const throwaway = !server;
const pgEnv = { ...process.env, PGTEST_DIR: path.join(os.tmpdir(), `ropc-migration-pg-${process.pid}`), PGTEST_PORT: "55499" };
if (throwaway) server = execFileSync(path.join(root, ".ci", "postgres"), ["start"], { env: pgEnv, encoding: "utf8" }).trim();
const name = `ropc_migration_${randomUUID().replaceAll("-", "")}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
try {
  await admin.query(`CREATE DATABASE "${name}"`);
  create(Object.assign(new URL(server), { pathname: `/${name}` }).toString());
} finally {
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
  if (throwaway) execFileSync(path.join(root, ".ci", "postgres"), ["stop"], { env: pgEnv });
}
process.stdout.write("Wrote the migration for SQLite and PostgreSQL; run `npm run db:generate`.\n");
