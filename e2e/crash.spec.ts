import { spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { E2E } from "./env.ts";
import { spawnNpmStart } from "../lib/scripts/start-command.ts";

// A second production server, from the build the suite already made, on its own database.
const PORT = "3101";
const BASE = `http://127.0.0.1:${PORT}`;
const root = path.resolve(import.meta.dirname, "..");
const { ACCESS_TOKEN_TTL, ...settings } = E2E;
const env = {
  ...process.env,
  ...settings,
  PORT,
  APP_URL: BASE,
  DATABASE_URL: "file:e2e/.data/crash.db",
  NODE_ENV: "production" as const,
  // A client whose refresh was in flight at the crash retries with the token it holds.
  REFRESH_REUSE_GRACE_SECONDS: "30",
};
const BACKEND = `Basic ${Buffer.from("demo-backend:demo-backend-secret").toString("base64")}`;

async function startServer(): Promise<ChildProcess> {
  // `npm start`, from the launcher that the suite's build made.
  const child = spawnNpmStart(root, env);
  for (let i = 0; i < 200; i++) {
    const up = await fetch(`${BASE}/demo/default/.well-known/jwks.json`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("the server did not start");
}

const token = (body: Record<string, string>) =>
  fetch(`${BASE}/demo/default/oauth2/token`, { method: "POST", headers: { Authorization: BACKEND }, body: new URLSearchParams(body) });

test("killing the server mid-load loses no refresh token that a client had received", async () => {
  test.setTimeout(120_000);
  fs.rmSync(path.join(root, "e2e", ".data", "crash.db"), { force: true });
  const seed = spawnSync(process.execPath, [path.join(root, "prisma", "cli.mjs"), "migrate", "deploy"], { cwd: root, env, stdio: "ignore" });
  expect(seed.status).toBe(0);
  expect(spawnSync(process.execPath, ["--import", "tsx", "prisma/seed.ts"], { cwd: root, env, stdio: "ignore" }).status).toBe(0);

  let server = await startServer();
  const held: string[] = [];
  for (const user of ["alice", "bob"]) {
    for (let i = 0; i < 3; i++) {
      const res = await token({ grant_type: "password", username: user, password: `${user}-password-1` });
      expect(res.status).toBe(200);
      held.push((await res.json()).refresh_token);
    }
  }

  let refreshed = 0;
  let stop = false;
  const loops = held.map(async (_, i) => {
    while (!stop) {
      try {
        const res = await token({ grant_type: "refresh_token", refresh_token: held[i]! });
        if (res.status !== 200) throw new Error(`refresh answered ${res.status}: ${await res.text()}`);
        held[i] = (await res.json()).refresh_token;
        refreshed += 1;
      } catch (err) {
        if (err instanceof TypeError) return; // the connection died with the server
        throw err;
      }
    }
  });
  await new Promise((r) => setTimeout(r, 1500));
  server.kill("SIGKILL");
  stop = true;
  await Promise.all(loops);
  expect(refreshed).toBeGreaterThan(20);

  server = await startServer();
  try {
    for (const refreshToken of held) {
      const res = await token({ grant_type: "refresh_token", refresh_token: refreshToken });
      expect(res.status, await res.clone().text()).toBe(200);
    }
  } finally {
    server.kill("SIGKILL");
  }
});
