import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import pg from "pg";
import { E2E } from "./env.ts";
import { freshSeededDatabase } from "./postgres.ts";
import { spawnNpmStart } from "../lib/scripts/start-command.ts";

// Two production servers on one PostgreSQL database behind a real HAProxy (Debian's), as the
// README's "Deployment" section sets it up: round robin, health checks on /healthz, `option
// forwardfor`, retries with redispatch. The balancer connects to the backends from its own
// address (127.0.0.2) and TRUST_PROXY names it; end users connect from addresses of their own
// (127.0.0.10, ...: Linux routes all of 127.0.0.0/8 to the loopback interface).
// Conditional skips, never silent in CI: .ci/run starts PostgreSQL and installs HAProxy, so both
// hold there; on a developer's machine without them the file says what to install.
const server = process.env.TEST_POSTGRES_URL;
// Skipped only without a PostgreSQL server (never in CI, which starts one): the message says how to start it.
test.skip(!server, "needs TEST_POSTGRES_URL (.ci/run starts PostgreSQL; or `export TEST_POSTGRES_URL=$(.ci/postgres start)`)");

function findHaproxy(): string | undefined {
  const candidates = [process.env.HAPROXY_PATH, "/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"];
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (found) return found;
  return spawnSync("haproxy", ["-v"]).status === 0 ? "haproxy" : undefined;
}
const haproxy = findHaproxy();
// Skipped only where HAProxy is missing (never in CI, which installs it): the message says how to get it.
test.skip(!haproxy, "needs HAProxy: `apt-get install haproxy` (.ci/run installs it), or HAPROXY_PATH");

const root = path.resolve(import.meta.dirname, "..");
// Ports no other spec uses: the suite's server is 3100, crash 3101, instances 3102-3103.
const BALANCER = { port: 3110, source: "127.0.0.2" };
const BACKENDS = [
  { name: "app1", port: 3111 },
  { name: "app2", port: 3112 },
];
const STATS_PORT = 3113;
const PUBLIC = `http://127.0.0.1:${BALANCER.port}`;
// A proxy in front of the balancer (a CDN, say) that TRUST_PROXY names as well.
const UPSTREAM_PROXY = "127.0.0.20";
const DB = "ropc_balancer";
const { ACCESS_TOKEN_TTL, ...settings } = E2E;
const BACKEND_CLIENT = `Basic ${Buffer.from("demo-backend:demo-backend-secret").toString("base64")}`;

/** The balancer's configuration, as the README shows it (addresses and timings for this test). */
function haproxyConfig(): string {
  return `global
  maxconn 1024

defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  # The client's address, appended to any X-Forwarded-For it sent (TRUST_PROXY decides what is believed).
  option forwardfor
  # A connection refused, or closed before an answer (a backend stopping): try again, on another server.
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response

frontend login
  bind 127.0.0.1:${BALANCER.port}
  default_backend login_app

backend login_app
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
  # The balancer's own address towards the backends: what TRUST_PROXY names.
  source ${BALANCER.source}
  default-server check inter 300ms fall 2 rise 2
  http-response set-header X-Served-By %[srv_name]
${BACKENDS.map((b) => `  server ${b.name} 127.0.0.1:${b.port}`).join("\n")}

listen stats
  bind 127.0.0.1:${STATS_PORT}
  stats enable
  stats uri /stats
`;
}

let url: string;
let workdir: string;
let balancer: ChildProcess | undefined;
const backends = new Map<string, ChildProcess>();

function envFor(port?: number) {
  return {
    ...process.env,
    ...settings,
    NODE_ENV: "production" as const,
    DATABASE_URL: url,
    APP_URL: PUBLIC,
    TRUST_PROXY: `${BALANCER.source}, ${UPSTREAM_PROXY}`,
    ...(port ? { PORT: String(port) } : {}),
  };
}

async function until(what: string, ready: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startBackend(name: string, port: number): Promise<void> {
  const child = spawnNpmStart(root, envFor(port));
  backends.set(name, child);
  await until(`the backend on ${port}`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 60_000);
}

interface Answer {
  status: number;
  servedBy: string | undefined;
  body: Record<string, string>;
}

// Keep-alive connections to the balancer, one pool per end-user address, like browsers and apps.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** A request to the balancer from the end-user address `from`. */
function request(
  method: string,
  pathname: string,
  { from = "127.0.0.1", headers = {}, body }: { from?: string; headers?: Record<string, string>; body?: string },
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: BALANCER.port,
        method,
        path: pathname,
        localAddress: from,
        agent,
        headers: { ...headers, ...(body ? { "Content-Length": Buffer.byteLength(body) } : {}) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          const servedBy = res.headers["x-served-by"];
          resolve({
            status: res.statusCode ?? 0,
            servedBy: typeof servedBy === "string" ? servedBy : undefined,
            body: text.startsWith("{") ? JSON.parse(text) : {},
          });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const token = (fields: Record<string, string>, from?: string, headers: Record<string, string> = {}) =>
  request("POST", "/demo/default/oauth2/token", {
    from,
    headers: { Authorization: BACKEND_CLIENT, "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });

type Row = { ip: string; outcome: string; count: number };

/** The audit trail's password-grant rows of `username`, one per attempt, once `count` are written (rows are written in batches). */
async function passwordRows(username: string, count: number): Promise<{ ip: string; outcome: string }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let rows: Row[] = [];
    await until(`${count} audit rows for ${username}`, async () => {
      const sql = `SELECT "ip", "outcome", "count" FROM "AuditEvent" WHERE "username" = $1 AND "event" = 'token.password' ORDER BY "createdAt"`;
      rows = (await client.query<Row>(sql, [username])).rows;
      return rows.reduce((n, r) => n + r.count, 0) >= count;
    });
    return rows.flatMap(({ ip, outcome, count: n }) => Array.from({ length: n }, () => ({ ip, outcome })));
  } finally {
    await client.end();
  }
}

/** HAProxy's view of each server: its status (UP, DOWN, ...) and the last health check's. */
async function serverStates(): Promise<Record<string, { status: string; check: string }>> {
  const csv = await (await fetch(`http://127.0.0.1:${STATS_PORT}/stats;csv`)).text();
  const [header = "", ...lines] = csv.trim().split("\n");
  const columns = header.replace(/^# /, "").split(",");
  const column = (name: string) => columns.indexOf(name);
  return Object.fromEntries(
    lines
      .map((line) => line.split(","))
      .filter((f) => f[column("pxname")] === "login_app" && BACKENDS.some((b) => b.name === f[column("svname")]))
      // HAProxy puts "* " before the last check's status while the next check is under way.
      .map((f) => [f[column("svname")], { status: f[column("status")] ?? "", check: (f[column("check_status")] ?? "").replace(/^\* /, "") }]),
  );
}

test.describe("two instances behind HAProxy", () => {
  test.describe.configure({ mode: "serial", timeout: 180_000 });

  test.beforeAll(async () => {
    url = await freshSeededDatabase(server!, DB, (at) => ({ ...envFor(), DATABASE_URL: at }));

    workdir = mkdtempSync(path.join(os.tmpdir(), "ropc-haproxy-"));
    const config = path.join(workdir, "haproxy.cfg");
    writeFileSync(config, haproxyConfig());
    const valid = spawnSync(haproxy!, ["-c", "-f", config], { encoding: "utf8" });
    expect(valid.status, valid.stderr + valid.stdout).toBe(0);
    balancer = spawn(haproxy!, ["-db", "-f", config], { stdio: "ignore" });
    await Promise.all(BACKENDS.map((b) => startBackend(b.name, b.port)));
    await until("both servers UP at the balancer", async () => Object.values(await serverStates()).filter((s) => s.status === "UP").length === 2);
  });

  test.afterAll(async () => {
    for (const child of backends.values()) child.kill("SIGTERM");
    balancer?.kill("SIGTERM");
    agent.destroy();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  test("spreads requests round robin over both backends, which pass the /healthz check", async () => {
    const served = [];
    for (let i = 0; i < 4; i++) {
      const res = await request("GET", "/demo/default/.well-known/openid-configuration", {});
      expect(res.status).toBe(200);
      expect(res.body.issuer).toBe(`${PUBLIC}/demo/default`);
      served.push(res.servedBy);
    }
    expect(new Set(served)).toEqual(new Set(["app1", "app2"]));
    expect(served[0]).not.toBe(served[1]);
    expect(await serverStates()).toEqual({ app1: { status: "UP", check: "L7OK" }, app2: { status: "UP", check: "L7OK" } });
  });

  test("the brute-force defence counts each end user's address, not the balancer's", async () => {
    for (let i = 0; i < 5; i++) expect((await token({ grant_type: "password", username: "alice", password: "wrong" }, "127.0.0.10")).status).toBe(400);
    // Locked for alice from 127.0.0.10, on both backends, even with her password...
    const locked = await Promise.all([0, 1].map(() => token({ grant_type: "password", username: "alice", password: "alice-password-1" }, "127.0.0.10")));
    expect(locked.map((r) => [r.status, r.body.error])).toEqual([
      [429, "too_many_attempts"],
      [429, "too_many_attempts"],
    ]);
    expect(new Set(locked.map((r) => r.servedBy)).size).toBe(2);
    // ...not from another address, which the server would share with the first if it saw the balancer's.
    expect((await token({ grant_type: "password", username: "alice", password: "alice-password-1" }, "127.0.0.11")).status).toBe(200);
    const rows = await passwordRows("alice", 8);
    expect(rows.filter((r) => r.ip === "127.0.0.10").map((r) => r.outcome)).toEqual([...Array<string>(5).fill("failure"), "locked", "locked"]);
    expect(rows.filter((r) => r.ip === "127.0.0.11").map((r) => r.outcome)).toEqual(["success"]);
    expect(rows.map((r) => r.ip)).not.toContain(BALANCER.source);
  });

  test("a client's own X-Forwarded-For does not pass through the balancer; a trusted proxy's does", async () => {
    // A guesser naming a new address in every request is still counted at its own.
    for (let i = 1; i <= 5; i++) {
      const res = await token({ grant_type: "password", username: "bob", password: "wrong" }, "127.0.0.12", { "X-Forwarded-For": `203.0.113.${i}` });
      expect(res.status).toBe(400);
    }
    const sixth = await token({ grant_type: "password", username: "bob", password: "bob-password-1" }, "127.0.0.12", { "X-Forwarded-For": "203.0.113.99" });
    expect([sixth.status, sixth.body.error]).toEqual([429, "too_many_attempts"]);
    // A user behind the proxy TRUST_PROXY also names: the address it forwards for counts.
    const behind = await token({ grant_type: "password", username: "bob", password: "bob-password-1" }, UPSTREAM_PROXY, { "X-Forwarded-For": "198.51.100.7" });
    expect(behind.status).toBe(200);
    const rows = await passwordRows("bob", 7);
    expect(rows.map((r) => r.ip).sort()).toEqual([...Array<string>(6).fill("127.0.0.12"), "198.51.100.7"]);
  });

  test("a refresh token presented through the balancer twice at once succeeds exactly once, on two backends", async () => {
    for (let round = 0; round < 5; round++) {
      const issued = await token({ grant_type: "password", username: "bob", password: "bob-password-1" });
      expect(issued.status).toBe(200);
      const results = await Promise.all([0, 1].map(() => token({ grant_type: "refresh_token", refresh_token: issued.body.refresh_token! })));
      expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
      expect(results.find((r) => r.status === 400)?.body.error).toBe("invalid_grant");
      expect(new Set(results.map((r) => r.servedBy))).toEqual(new Set(["app1", "app2"]));
    }
  });

  test("stopping a backend under load loses no request and no issued refresh token", async () => {
    const failures: string[] = [];
    const held: string[] = [];
    const servedBy = new Map<string, number>();
    let stopLoad = false;
    const answer = (res: Answer, what: string) => {
      servedBy.set(res.servedBy ?? "?", (servedBy.get(res.servedBy ?? "?") ?? 0) + 1);
      if (res.status !== 200) failures.push(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.status === 200 ? res.body.refresh_token : undefined;
    };
    // Each worker signs in, then spends and renews its refresh token; it keeps the latest.
    const worker = async (n: number) => {
      while (!stopLoad) {
        let current = answer(await token({ grant_type: "password", username: "alice", password: "alice-password-1" }, `127.0.1.${n}`), "password");
        for (let i = 0; i < 8 && current; i++) {
          const next = answer(await token({ grant_type: "refresh_token", refresh_token: current }, `127.0.1.${n}`), "refresh");
          if (!next) held.push(current);
          current = next;
        }
        if (current) held.push(current);
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, (_, n) => worker(n + 1)));
    await new Promise((r) => setTimeout(r, 1500));
    const stopped = backends.get("app2")!;
    const exited = new Promise<number | null>((resolve) => stopped.once("exit", (code) => resolve(code)));
    // A sign-in app2 has begun reading when it is told to stop (its body still on the way) is answered.
    const body = new URLSearchParams({ grant_type: "password", username: "alice", password: "alice-password-1" }).toString();
    const begun = net.connect(BACKENDS[1]!.port, "127.0.0.1");
    await new Promise((resolve) => begun.once("connect", resolve));
    let raw = "";
    begun.on("data", (chunk: Buffer) => (raw += chunk.toString("latin1")));
    const begunClosed = new Promise((resolve) => begun.once("close", resolve));
    begun.write(
      `POST /demo/default/oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${BACKEND_CLIENT}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    await new Promise((r) => setTimeout(r, 200));
    stopped.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    begun.write(body);
    await begunClosed;
    expect(raw.split("\r\n", 1)[0]).toBe("HTTP/1.1 200 OK");
    expect(raw.toLowerCase()).toContain("\r\nconnection: close\r\n");
    expect(await exited).toBe(0);
    backends.delete("app2");
    await until("app2 DOWN at the balancer", async () => (await serverStates()).app2?.status === "DOWN");
    await new Promise((r) => setTimeout(r, 1500));
    stopLoad = true;
    await load;

    expect(failures).toEqual([]);
    // Both served during the load; app1 alone after the stop.
    expect(servedBy.get("app1")).toBeGreaterThan(10);
    expect(servedBy.get("app2")).toBeGreaterThan(10);
    // Every refresh token a client holds still works, once.
    expect(held.length).toBeGreaterThan(6);
    const spent = await Promise.all(held.map((t) => token({ grant_type: "refresh_token", refresh_token: t })));
    expect(spent.filter((r) => r.status !== 200).map((r) => `${r.status} ${JSON.stringify(r.body)}`)).toEqual([]);
    expect(new Set(spent.map((r) => r.servedBy))).toEqual(new Set(["app1"]));
  });
});
