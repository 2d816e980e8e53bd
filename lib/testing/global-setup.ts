// Builds one migrated, seeded template database per test run through the real `migrate deploy`
// (with the offline engine fallback where the native engine is missing); each test file then
// works on its own copy (setup.ts). SQLite by default; PostgreSQL when TEST_DATABASE=postgres,
// on the server at TEST_POSTGRES_URL (`.ci/postgres start` makes one).
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { runPrisma } from "../../prisma/cli.mjs";

async function seed(url: string) {
  const { createDb } = await import("@/lib/platform/db.ts");
  const { seedDemo } = await import("../../prisma/seed.ts");
  const client = createDb(url);
  await seedDemo(client, "demo-web-secret");
  await client.$disconnect();
}

function migrate(url: string) {
  const status = runPrisma(["migrate", "deploy"], { env: { ...process.env, DATABASE_URL: url }, stdio: "pipe" });
  if (status !== 0) throw new Error(`prisma migrate deploy failed with status ${status}`);
}

export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE === "postgres") {
    const server = process.env.TEST_POSTGRES_URL;
    if (!server) throw new Error("TEST_DATABASE=postgres needs TEST_POSTGRES_URL (run `.ci/postgres start`)");
    // This run's databases share a prefix, so that its teardown drops them and no other run's.
    const run = randomUUID().replaceAll("-", "").slice(0, 16);
    const name = `ropc_t_${run}_template`;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = Object.assign(new URL(server), { pathname: `/${name}` }).toString();
    migrate(url);
    await seed(url);
    project.provide("template", { kind: "postgres", server, name, prefix: `ropc_t_${run}_` });
    return async () => {
      const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE $1", [`ropc\\_t\\_${run}\\_%`]);
      for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      await admin.end();
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-test-"));
  const template = path.join(dir, "template.db");
  migrate(`file:${template}`);
  await seed(template);
  project.provide("template", { kind: "sqlite", file: template });
  return () => fs.rmSync(dir, { recursive: true, force: true });
}

declare module "vitest" {
  export interface ProvidedContext {
    template: { kind: "sqlite"; file: string } | { kind: "postgres"; server: string; name: string; prefix: string };
  }
}
