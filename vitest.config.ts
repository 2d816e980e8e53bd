import fs from "node:fs";
import path from "node:path";
import { configDefaults, defineConfig } from "vitest/config";
import { DATABASE_FREE } from "./lib/testing/database-free.ts";

// Files that change what only a whole process has: process.umask (sqlite-backup.test.ts) cannot
// be set in a worker thread. They run in a child process each; every other file in a worker
// thread of its own, which starts and imports about a sixth quicker than a child process.
const WHOLE_PROCESS = ["lib/platform/sqlite-backup.test.ts"];
// On PostgreSQL (`npm run test:pg`), not the files that use no database: they ran on SQLite.
for (const file of DATABASE_FREE) {
  if (!fs.existsSync(path.join(import.meta.dirname, file))) throw new Error(`lib/testing/database-free.ts lists ${file}, which does not exist: take it off`);
}
const SQLITE_RUN_ONLY = process.env.TEST_DATABASE === "postgres" ? DATABASE_FREE : [];

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    environment: "node",
    globalSetup: ["lib/testing/global-setup.ts"],
    setupFiles: ["lib/testing/setup.ts"],
    // argon2 runs on libuv's pool; two files at once is what two cores can take without noise.
    maxWorkers: 2,
    testTimeout: 30_000,
    projects: [
      // (Not `include` above: a project that extends the root adds its lists to the root's.)
      {
        extends: true,
        test: {
          name: "threads",
          pool: "threads",
          include: ["lib/**/*.test.ts", "prisma/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...WHOLE_PROCESS, ...SQLITE_RUN_ONLY],
        },
      },
      { extends: true, test: { name: "process", pool: "forks", include: WHOLE_PROCESS, exclude: [...configDefaults.exclude, ...SQLITE_RUN_ONLY] } },
    ],
  },
});
