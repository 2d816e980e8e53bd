// Builds one migrated, seeded SQLite database per test run through the real `migrate deploy`
// (with the offline engine fallback where the native engine is missing); each test file then
// works on its own copy (setup.ts).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { runPrisma } from "../../prisma/cli.mjs";

export default async function setup(project: TestProject) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-test-"));
  const template = path.join(dir, "template.db");
  const status = runPrisma(["migrate", "deploy"], { env: { ...process.env, DATABASE_URL: `file:${template}` }, stdio: "pipe" });
  if (status !== 0) throw new Error(`prisma migrate deploy failed with status ${status}`);
  const { createDb } = await import("@/lib/db.ts");
  const { seedDemo } = await import("../../prisma/seed.ts");
  const client = createDb(template);
  await seedDemo(client, "demo-web-secret");
  await client.$disconnect();
  project.provide("templateDb", template);
  return () => fs.rmSync(dir, { recursive: true, force: true });
}

declare module "vitest" {
  export interface ProvidedContext {
    templateDb: string;
  }
}
