// Runs before each test file, before it imports anything: gives the file its own copy of the
// seeded template database and quiet, deterministic settings.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, inject } from "vitest";

const template = inject("templateDb");
const file = path.join(path.dirname(template), `${randomUUID()}.db`);
fs.copyFileSync(template, file);

process.env.DATABASE_URL = `file:${file}`;
process.env.APP_URL = "http://localhost:3000";
process.env.LOG_LEVEL = "silent";
// Suites fail many sign-ins from one in-process "address"; the brute-force suite sets its own
// limits (brute-force.test.ts).
process.env.LOCKOUT_USER_IP_LIMIT = "1000";
process.env.LOCKOUT_IP_LIMIT = "100000";

afterAll(async () => {
  const cache = globalThis as typeof globalThis & { __ropcDb?: { $disconnect(): Promise<void> } };
  await cache.__ropcDb?.$disconnect();
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
});
