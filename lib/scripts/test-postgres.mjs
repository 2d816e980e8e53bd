// `npm run test:pg`: the Vitest suites again, on PostgreSQL, when TEST_POSTGRES_URL names a
// server (`.ci/run` starts one with `.ci/postgres start`; so can you). Without it, says so. The
// files that use no database run on SQLite only (lib/testing/database-free.ts, vitest.config.ts).
import { spawnSync } from "node:child_process";

if (!process.env.TEST_POSTGRES_URL) {
  process.stdout.write("PostgreSQL suites not run: TEST_POSTGRES_URL is not set (`export TEST_POSTGRES_URL=$(.ci/postgres start)`).\n");
  process.exit(0);
}
const result = spawnSync(process.execPath, ["node_modules/vitest/vitest.mjs", "run"], { stdio: "inherit", env: { ...process.env, TEST_DATABASE: "postgres" } });
process.exit(result.status ?? 1);
