import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { E2E } from "./env.ts";
import { startCommand } from "../lib/scripts/start-command.ts";

// What `npm start` says of itself once it serves, from the build the suite already made, on a
// database of its own. Port 3104: no other spec uses it.
const root = path.resolve(import.meta.dirname, "..");
// What `npm start` runs: its environment settings and Node's arguments.
const npmStart = startCommand(root);
const DB = path.join("e2e", ".data", "start.db");

test("the production server says how many password hashes it runs at once, and warns when cores stay idle", async () => {
  test.setTimeout(60_000);
  for (const f of [DB, `${DB}-wal`, `${DB}-shm`]) fs.rmSync(path.join(root, f), { force: true });
  const { ACCESS_TOKEN_TTL, ...settings } = E2E;
  const env = { ...process.env, ...settings, PORT: "3104", APP_URL: "http://127.0.0.1:3104", DATABASE_URL: `file:${DB}`, NODE_ENV: "production" as const };
  // One thread of libuv's pool on a machine with more cores: a warning that names the fix.
  const child = spawn(process.execPath, npmStart.args, {
    cwd: root,
    env: { ...env, ...npmStart.env, UV_THREADPOOL_SIZE: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const found = out.split("\n").find((l) => l.includes('"event":"passwords.capacity"'));
        if (found) resolve(JSON.parse(found) as Record<string, unknown>);
      });
      child.on("exit", (code) => reject(new Error(`the server exited (${code}) before saying it:\n${out}`)));
    });
    const cores = os.availableParallelism();
    expect(cores, "this test needs a machine of two cores or more").toBeGreaterThan(1);
    expect(line).toMatchObject({
      level: 40,
      threads: 1,
      cores,
      msg: `password hashing: 1 at once on ${cores} cores (libuv's thread pool): set UV_THREADPOOL_SIZE=${cores} to use every core (each hash holds 19 MiB while it runs)`,
    });
  } finally {
    child.kill("SIGTERM");
  }
});
