import path from "node:path";
import { configDefaults, defineConfig } from "vitest/config";

// Files that change what only a whole process has: process.umask (sqlite-backup.test.ts) cannot
// be set in a worker thread. They run in a child process each; every other file in a worker
// thread of its own, which starts and imports about a sixth quicker than a child process.
const WHOLE_PROCESS = ["lib/platform/sqlite-backup.test.ts"];

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
          exclude: [...configDefaults.exclude, ...WHOLE_PROCESS],
        },
      },
      { extends: true, test: { name: "process", pool: "forks", include: WHOLE_PROCESS } },
    ],
  },
});
