import { spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { E2E } from "./env.ts";
import { freshSeededDatabase } from "./postgres.ts";
import { spawnNpmStart } from "../lib/scripts/start-command.ts";

// Two production servers on one PostgreSQL database behave as one authorization server.
// Needs a PostgreSQL server: .ci/run starts one and sets TEST_POSTGRES_URL; without it this
// file is skipped with that reason (it and the balancer spec are the only ones that need it).
const server = process.env.TEST_POSTGRES_URL;
// Skipped only without a PostgreSQL server (never in CI, which starts one): the message says how to start it.
test.skip(!server, "needs TEST_POSTGRES_URL (.ci/run starts PostgreSQL; or `export TEST_POSTGRES_URL=$(.ci/postgres start)`)");

const root = path.resolve(import.meta.dirname, "..");
const PORTS = [3102, 3103];
const DB = "ropc_instances";
const BOUND_SECONDS = 2;
const { ACCESS_TOKEN_TTL, ...settings } = E2E;
const BACKEND = `Basic ${Buffer.from("demo-backend:demo-backend-secret").toString("base64")}`;

let url: string;
let servers: ChildProcess[] = [];

function envFor(port?: number) {
  return {
    ...process.env,
    ...settings,
    NODE_ENV: "production" as const,
    DATABASE_URL: url,
    // The documented staleness bounds, shortened so the test can watch them pass.
    KEY_CACHE_SECONDS: String(BOUND_SECONDS),
    CONFIG_CACHE_SECONDS: String(BOUND_SECONDS),
    ...(port ? { PORT: String(port), APP_URL: "http://127.0.0.1:3102" } : {}),
  };
}

async function start(port: number): Promise<ChildProcess> {
  const child = spawnNpmStart(root, envFor(port));
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/demo/default/.well-known/jwks.json`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server on ${port} did not start`);
}

const token = (port: number, body: Record<string, string>) =>
  fetch(`http://127.0.0.1:${port}/demo/default/oauth2/token`, { method: "POST", headers: { Authorization: BACKEND }, body: new URLSearchParams(body) });

const kids = async (port: number) =>
  ((await (await fetch(`http://127.0.0.1:${port}/demo/default/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

test.describe("two instances on one PostgreSQL database", () => {
  test.describe.configure({ mode: "serial", timeout: 120_000 });

  test.beforeAll(async () => {
    url = await freshSeededDatabase(server!, DB, (at) => ({ ...envFor(), DATABASE_URL: at }));
    servers = await Promise.all(PORTS.map(start));
  });

  test.afterAll(() => {
    for (const s of servers) s.kill("SIGTERM");
  });

  test("a refresh token issued by one instance works on the other", async () => {
    const issued = await (await token(PORTS[0]!, { grant_type: "password", username: "alice", password: "alice-password-1" })).json();
    const res = await token(PORTS[1]!, { grant_type: "refresh_token", refresh_token: issued.refresh_token });
    expect(res.status).toBe(200);
  });

  test("a refresh token presented to both at once succeeds exactly once", async () => {
    for (let round = 0; round < 5; round++) {
      const issued = await (await token(PORTS[0]!, { grant_type: "password", username: "bob", password: "bob-password-1" })).json();
      const results = await Promise.all(PORTS.map((port) => token(port, { grant_type: "refresh_token", refresh_token: issued.refresh_token })));
      expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    }
  });

  test("a lockout triggered through one instance holds on the other", async () => {
    for (let i = 0; i < 5; i++) expect((await token(PORTS[0]!, { grant_type: "password", username: "carol", password: "wrong" })).status).toBe(400);
    const res = await token(PORTS[1]!, { grant_type: "password", username: "carol", password: "wrong" });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("a key rotated through the CLI is published by both instances within the bound", async () => {
    const before = await kids(PORTS[0]!);
    const cli = spawnSync(process.execPath, ["--import", "tsx", "lib/cli/main.ts", "key", "rotate", "--delay", "0"], {
      cwd: root,
      env: envFor(),
      encoding: "utf8",
    });
    expect(cli.status).toBe(0);
    const kid = /New ES256 key (\S+):/.exec(cli.stdout)![1]!;
    expect(before).not.toContain(kid);
    const started = Date.now();
    for (const port of PORTS) {
      while (!(await kids(port)).includes(kid)) {
        expect(Date.now() - started).toBeLessThan((BOUND_SECONDS + 2) * 1000);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // And both sign with it once it is active.
    for (const port of PORTS) {
      const { access_token } = await (await token(port, { grant_type: "password", username: "alice", password: "alice-password-1" })).json();
      expect(JSON.parse(Buffer.from(access_token.split(".")[0], "base64url").toString()).kid).toBe(kid);
    }
  });
});
