import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { E2E } from "./env.ts";
import { spawnNpmStart, startCommand } from "../lib/scripts/start-command.ts";
import { poolSizeFor } from "../lib/scripts/thread-pool.ts";

// What `npm start` says of itself once it serves, from the build the suite already made, on a
// database of its own. Port 3104: no other spec uses it.
const root = path.resolve(import.meta.dirname, "..");
const DB = path.join("e2e", ".data", "start.db");
const PORT = 3104;

test.describe.configure({ mode: "serial" });

const removeDatabase = () => {
  for (const f of [DB, `${DB}-wal`, `${DB}-shm`]) fs.rmSync(path.join(root, f), { force: true });
};
test.beforeAll(removeDatabase);

/** `npm start`'s environment: the suite's settings, this spec's port and database, and `extra`. */
function startEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { ACCESS_TOKEN_TTL, ...settings } = E2E;
  return {
    ...process.env,
    ...settings,
    PORT: String(PORT),
    APP_URL: `http://127.0.0.1:${PORT}`,
    DATABASE_URL: `file:${DB}`,
    NODE_ENV: "production",
    LOG_LEVEL: "info",
    ...extra,
  };
}

/**
 * `npm start`'s server with `pool` as UV_THREADPOOL_SIZE (unset for undefined) and `extra` in its
 * environment, once it has said its capacity (logged at info: the suite's LOG_LEVEL of warn shows
 * only the warning).
 */
async function started(pool: string | undefined, extra: Record<string, string> = {}): Promise<{ child: ChildProcess; line: Record<string, unknown> }> {
  const env = startEnv(extra);
  delete env.UV_THREADPOOL_SIZE;
  if (pool !== undefined) env.UV_THREADPOOL_SIZE = pool;
  const child = spawnNpmStart(root, env, ["ignore", "pipe", "inherit"]);
  try {
    const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const found = out.split("\n").find((l) => l.includes('"event":"passwords.capacity"'));
        if (found) resolve(JSON.parse(found) as Record<string, unknown>);
      });
      child.on("exit", (code) => reject(new Error(`the server exited (${code}) before saying it:\n${out}`)));
    });
    return { child, line };
  } catch (err) {
    child.kill("SIGTERM");
    throw err;
  }
}

/** The server's threads once it has answered a request that reads the database (its pool and its workers all started). */
async function threadsOf(child: ChildProcess): Promise<number> {
  await expect.poll(async () => (await fetch(`http://127.0.0.1:${PORT}/readyz`).catch(() => undefined))?.status).toBe(200);
  await new Promise((r) => setTimeout(r, 500));
  return fs.readdirSync(`/proc/${child.pid}/task`).length;
}

async function stopped(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/**
 * `npm start`'s status and what it wrote to stderr while another listener holds `port` on
 * 127.0.0.1 (0: any free one); `extra` gets the port held, for the settings.
 */
async function startBesideHolder(port: number, extra: (held: number) => Record<string, string> = () => ({})) {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
  const held = (holder.address() as net.AddressInfo).port;
  try {
    const child = spawnNpmStart(root, startEnv({ HOSTNAME: "127.0.0.1", ...extra(held) }), ["ignore", "ignore", "pipe"]);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise((resolve) => child.once("exit", resolve));
    return { held, status, stderr };
  } finally {
    holder.close();
  }
}

test("on a port in use, npm start says so in one line that names PORT, and ends with status 1", async () => {
  test.setTimeout(60_000);
  const { status, stderr } = await startBesideHolder(PORT);
  expect({ status, stderr }).toEqual({
    status: 1,
    stderr: `Cannot start: 127.0.0.1:${PORT} is in use: stop what listens there, or set PORT to a free port.\n`,
  });
});

test("on a metrics port in use, npm start says so in one line that names METRICS_PORT, and ends with status 1", async () => {
  test.setTimeout(60_000);
  const { held, status, stderr } = await startBesideHolder(0, (metricsPort) => ({ METRICS_PORT: String(metricsPort) }));
  expect({ status, stderr }).toEqual({
    status: 1,
    stderr: `Cannot start: 127.0.0.1:${held} is in use: stop what listens there, or set METRICS_PORT to a free port.\n`,
  });
});

test("started from another folder (a service manager's), the server runs from its own, a relative DATABASE_URL included", async () => {
  test.setTimeout(60_000);
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-start-"));
  // The tests before made this spec's database: without it, the one this start makes is seen.
  removeDatabase();
  const command = startCommand(root);
  const args = command.args.map((arg) => (arg.endsWith(".cjs") ? path.join(root, arg) : arg));
  // startEnv's DATABASE_URL is relative: file:e2e/.data/start.db.
  const child = spawn(process.execPath, args, { cwd: elsewhere, env: { ...startEnv(), ...command.env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    // Once the server has ended, its status and what it said instead of readyz's.
    const ready = async () =>
      (child.exitCode ?? child.signalCode) === null ? (await fetch(`http://127.0.0.1:${PORT}/readyz`).catch(() => undefined))?.status : `ended: ${stderr}`;
    await expect.poll(ready, { timeout: 30_000 }).toBe(200);
    expect((await fetch(`http://127.0.0.1:${PORT}/login`)).status).toBe(200);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    expect(fs.existsSync(path.join(root, DB))).toBe(true);
  } finally {
    if ((child.exitCode ?? child.signalCode) === null) await stopped(child);
    fs.rmSync(elsewhere, { recursive: true, force: true });
  }
  expect(stderr).toBe("");
});

test("the production server says how many password hashes it runs at once, and warns when cores stay idle", async () => {
  test.setTimeout(60_000);
  // One thread of libuv's pool on a machine with more cores: a warning that names the fix.
  const { child, line } = await started("1");
  try {
    const cores = os.availableParallelism();
    expect(cores, "this test needs a machine of two cores or more").toBeGreaterThan(1);
    expect(line).toMatchObject({
      level: 40,
      threads: 1,
      cores,
      msg: `password hashing: 1 at once on ${cores} cores (libuv's thread pool): set UV_THREADPOOL_SIZE=${cores} to use every core (each hash holds 19 MiB while it runs)`,
    });
  } finally {
    await stopped(child);
  }
});

test("without UV_THREADPOOL_SIZE, npm start gives libuv's pool one thread per core (two at least), before anything starts the pool", async () => {
  test.setTimeout(90_000);
  const cores = os.availableParallelism();
  const expected = poolSizeFor(cores);
  // The same server with a pool of one thread, for its count of threads.
  const one = await started("1");
  const withOne = await threadsOf(one.child).finally(() => stopped(one.child));
  const { child, line } = await started(undefined);
  try {
    expect(line).toMatchObject({
      level: 30,
      threads: expected,
      cores,
      msg: `password hashing: up to ${expected} at once (UV_THREADPOOL_SIZE), up to ${expected * 19} MiB, on ${cores} cores`,
    });
    // What libuv made, not only what the variable says: the pool's threads are the difference.
    expect(await threadsOf(child)).toBe(withOne - 1 + expected);
  } finally {
    await stopped(child);
  }
});

test("the production server never loads Next's copies of the authorization server's routes, and loads a page when it is first asked for", async () => {
  test.setTimeout(60_000);
  const loaded = path.join(root, "e2e", ".data", "start-loaded-modules.txt");
  fs.rmSync(loaded, { force: true });
  const { child } = await started(undefined, {
    NODE_OPTIONS: `--import ${JSON.stringify(path.join(root, "e2e", "loaded-modules.mjs"))}`,
    LOADED_MODULES_FILE: loaded,
  });
  const built = (route: string) => path.join(root, ".next", "server", "app", ...route.split("/"));
  try {
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${PORT}/readyz`).catch(() => undefined))?.status).toBe(200);
    // Answered by the launcher (lib/oauth/pipeline/node-adapter.ts): this database has no workspace.
    const token = await fetch(`http://127.0.0.1:${PORT}/demo/default/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "grant_type=password",
    });
    expect(token.status).toBe(404);
    expect(await token.json()).toEqual({ error: "not_found", error_description: "no such tenant or workspace" });
    expect((await fetch(`http://127.0.0.1:${PORT}/login`)).status).toBe(200);
  } finally {
    await stopped(child);
  }
  const files = new Set(fs.readFileSync(loaded, "utf8").split("\n"));
  expect(files.has(built("login/page.js"))).toBe(true);
  for (const route of ["[tenant]/[workspace]/oauth2/token/route.js", "[tenant]/[workspace]/userinfo/route.js", "healthz/route.js", "readyz/route.js"]) {
    expect(files.has(built(route)), route).toBe(false);
  }
});
