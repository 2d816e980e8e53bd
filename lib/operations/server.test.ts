import { spawnSync } from "node:child_process";
import type { Server } from "node:http";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { flushAudit } from "@/lib/platform/audit.ts";
import { db, sqlExecute, sqlRows } from "@/lib/platform/db.ts";
import { createAppServer, type ServerSettings } from "@/lib/platform/http-server.ts";
import { logger } from "@/lib/platform/logger.ts";
import { resetMetrics } from "@/lib/platform/metrics.ts";
import { hashPassword } from "@/lib/platform/passwords.ts";
import { serveOAuth } from "@/lib/oauth/pipeline/node-adapter.ts";
import { readiness } from "@/lib/operations/health.ts";
import { createMetricsServer, metricsExposure, operationsHandler, type OperationsSettings } from "@/lib/operations/server.ts";

const TOKEN = "metrics-token-0123456789";
const SERVER: ServerSettings = { HEADERS_TIMEOUT_SECONDS: 10, REQUEST_TIMEOUT_SECONDS: 30, MAX_CONNECTIONS: 1024 };
const BACKEND = `Basic ${Buffer.from("demo-backend:demo-backend-secret").toString("base64")}`;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
beforeEach(() => resetMetrics());

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The production server's request path: operations, then the authorization server, then "Next" (418). */
function app(operations: OperationsSettings = {}, extra: Partial<ServerSettings> = {}, log = logger) {
  return listen(
    createAppServer({
      handle: (_req, res) => res.writeHead(418).end("next"),
      serveOAuth,
      serveOperations: operationsHandler(operations, log),
      settings: { ...SERVER, ...extra },
      log,
    }),
  );
}

const JSON_TYPE = "application/json;charset=UTF-8";

describe("health", () => {
  it("GET /healthz: the process answers", async () => {
    const res = await fetch(`${await app()}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-type")).toBe(JSON_TYPE);
    expect(await res.text()).toBe('{"status":"ok"}');
  });

  it("GET /readyz: database, migrations and a signing key", async () => {
    const res = await fetch(`${await app()}/readyz`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ status: "ready", checks: { database: "ok", migrations: "ok", signing_key: "ok" } });
  });

  it("503 naming the migrations when one of this build's is not applied", async () => {
    const [last] = await sqlRows<{ migration_name: string }>(
      db(),
      Prisma.sql`SELECT "migration_name" FROM "_prisma_migrations" ORDER BY "migration_name" DESC LIMIT 1`,
    );
    await sqlExecute(db(), Prisma.sql`UPDATE "_prisma_migrations" SET "rolled_back_at" = ${new Date()} WHERE "migration_name" = ${last?.migration_name}`);
    try {
      const res = await fetch(`${await app()}/readyz`);
      expect(res.status).toBe(503);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.json()).toEqual({
        status: "not_ready",
        failed: "migrations",
        checks: { database: "ok", migrations: "failed: 1 pending", signing_key: "skipped" },
      });
    } finally {
      await sqlExecute(db(), Prisma.sql`UPDATE "_prisma_migrations" SET "rolled_back_at" = NULL WHERE "migration_name" = ${last?.migration_name}`);
    }
  });

  it("names a failing check without its internal error, and skips those after it", async () => {
    const answer = await readiness([
      ["database", () => Promise.reject(new Error("connect ECONNREFUSED 10.0.0.5:5432 password=hunter2"))],
      ["migrations", () => Promise.resolve()],
    ]);
    expect(answer.status).toBe(503);
    expect(answer.body).toBe('{"status":"not_ready","failed":"database","checks":{"database":"failed","migrations":"skipped"}}');
  });

  it("is neither audited nor rate-limited, and answers GET and HEAD only", async () => {
    const url = await app();
    await flushAudit();
    const before = await db().auditEvent.count();
    const answers = await Promise.all(Array.from({ length: 40 }, () => fetch(`${url}/readyz`).then((r) => r.status)));
    expect(new Set(answers)).toEqual(new Set([200]));
    await flushAudit();
    expect(await db().auditEvent.count()).toBe(before);
    const head = await fetch(`${url}/healthz`, { method: "HEAD" });
    expect([head.status, await head.text()]).toEqual([200, ""]);
    const post = await fetch(`${url}/healthz`, { method: "POST" });
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
  });
});

async function token(url: string, body: Record<string, string>, authorization = BACKEND) {
  return fetch(`${url}/demo/default/oauth2/token`, { method: "POST", headers: { Authorization: authorization }, body: new URLSearchParams(body) });
}

const metricsOf = async (url: string) => (await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();

describe("metrics", () => {
  it("are not served without METRICS_PORT or METRICS_TOKEN (the path is Next's), and say so", async () => {
    const res = await fetch(`${await app()}/metrics`);
    expect(res.status).toBe(418);
    expect(metricsExposure({}, "0.0.0.0")).toEqual({ level: "info", message: "metrics: not served (set METRICS_PORT or METRICS_TOKEN to serve them)" });
    expect(metricsExposure({ METRICS_PORT: 9464, METRICS_TOKEN: TOKEN }, "0.0.0.0")).toEqual({
      level: "info",
      message: "metrics: served on port 9464 (bearer token) and at /metrics behind METRICS_TOKEN",
    });
  });

  it("warns at start when their own port answers anyone on the network without a token", () => {
    expect(metricsExposure({ METRICS_PORT: 9464 }, "0.0.0.0")).toEqual({
      level: "warn",
      message:
        "metrics: served on port 9464 of every interface (HOSTNAME) to anyone who reaches it, without a token: keep that port off the public network, or set METRICS_TOKEN",
    });
    expect(metricsExposure({ METRICS_PORT: 9464 }, "10.0.0.7").message).toMatch(/^metrics: served on port 9464 of 10\.0\.0\.7 \(HOSTNAME\) to anyone/);
    expect(metricsExposure({ METRICS_PORT: 9464 }, "127.0.0.1")).toEqual({ level: "info", message: "metrics: served on port 9464" });
  });

  it.each([
    ["no Authorization", undefined],
    ["a wrong token", `Bearer ${TOKEN}x`],
    ["a prefix of the token", `Bearer ${TOKEN.slice(0, -1)}`],
    ["Basic", `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}`],
  ])("/metrics refuses %s with 401", async (_, authorization) => {
    const res = await fetch(`${await app({ METRICS_TOKEN: TOKEN })}/metrics`, { headers: authorization ? { Authorization: authorization } : {} });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect(await res.text()).toBe('{"error":"unauthorized"}');
  });

  it("count sign-ins, refreshes, reuse, revocations and client failures by outcome, and requests by route and status, with no user, token or address", async () => {
    const url = await app({ METRICS_TOKEN: TOKEN });
    const signedIn = (await (
      await token(url, { grant_type: "password", username: "alice", password: "alice-password-1", scope: "openid offline_access" })
    ).json()) as {
      refresh_token: string;
    };
    expect((await token(url, { grant_type: "password", username: "alice", password: "wrong-password" })).status).toBe(400);
    expect((await token(url, { grant_type: "password", username: "nobody", password: "x" })).status).toBe(400);
    expect((await token(url, { grant_type: "password", username: "alice", password: "alice-password-1", scope: "nope" })).status).toBe(400);
    expect((await token(url, { grant_type: "refresh_token", refresh_token: signedIn.refresh_token })).status).toBe(200);
    expect((await token(url, { grant_type: "refresh_token", refresh_token: signedIn.refresh_token })).status).toBe(400);
    expect(
      (await token(url, { grant_type: "password", username: "alice", password: "x" }, `Basic ${Buffer.from("demo-backend:wrong").toString("base64")}`)).status,
    ).toBe(401);
    const revoke = await fetch(`${url}/demo/default/oauth2/revoke`, {
      method: "POST",
      headers: { Authorization: BACKEND },
      body: new URLSearchParams({ token: "opaque" }),
    });
    expect(revoke.status).toBe(200);

    const text = await metricsOf(url);
    const lines = text.split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        'ropc_sign_ins_total{outcome="success"} 1',
        'ropc_sign_ins_total{outcome="invalid_credentials"} 2',
        // invalid_scope, and the wrong client secret (invalid_client) on a password grant
        'ropc_sign_ins_total{outcome="refused"} 2',
        'ropc_refreshes_total{outcome="success"} 1',
        'ropc_refreshes_total{outcome="failure"} 1',
        "ropc_refresh_reuse_detections_total 1",
        'ropc_revocations_total{outcome="success"} 1',
        'ropc_client_authentication_failures_total{route="token"} 1',
        'ropc_http_request_duration_seconds_count{route="token",status="200"} 2',
        'ropc_http_request_duration_seconds_count{route="token",status="400"} 4',
        'ropc_http_request_duration_seconds_count{route="token",status="401"} 1',
        'ropc_http_request_duration_seconds_count{route="revocation",status="200"} 1',
      ]),
    );
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    for (const secret of ["alice", "nobody", "127.0.0.1", "demo-backend", signedIn.refresh_token, "/demo/default"]) expect(text).not.toContain(secret);
  });

  it("count the second step of sign-ins: challenged, passed and failed", async () => {
    const { countOutcome, metricsText } = await import("@/lib/platform/metrics.ts");
    countOutcome("token.password", "failure", "mfa_required");
    countOutcome("token.mfa_otp", "failure", "invalid_grant");
    countOutcome("token.mfa_otp", "success", undefined);
    countOutcome("token.mfa_recovery_code", "success", undefined);
    countOutcome("token.mfa_recovery_code", "locked", "too_many_attempts");
    const { body } = await metricsText();
    expect(body).toContain('ropc_sign_ins_total{outcome="mfa_required"} 1');
    expect(body).toContain('ropc_sign_ins_total{outcome="mfa_failed"} 1');
    expect(body).toContain('ropc_sign_ins_total{outcome="mfa_passed"} 2');
    expect(body).toContain('ropc_lockouts_total{event="token.mfa_recovery_code"} 1');
  });

  it("count lockouts by event", async () => {
    const { countOutcome, metricsText } = await import("@/lib/platform/metrics.ts");
    countOutcome("token.password", "locked", "too_many_attempts");
    const { body } = await metricsText();
    expect(body).toContain('ropc_lockouts_total{event="token.password"} 1');
    expect(body).toContain('ropc_sign_ins_total{outcome="locked"} 1');
  });

  it("show the password-hash queue: running on the pool's threads and waiting", async () => {
    const url = await app({ METRICS_TOKEN: TOKEN });
    // Enough hashes that some still wait when the scrape is answered, however busy the machine
    // (six were: the first four could end before a slow scrape arrived).
    const hashes = Array.from({ length: 44 }, (_, i) => hashPassword(`password-${i}`));
    const text = await metricsOf(url);
    await Promise.all(hashes);
    const gauge = (name: string, body: string) => Number(new RegExp(`^ropc_password_hashes_${name} (\\d+)$`, "m").exec(body)?.[1]);
    expect(gauge("running", text)).toBe(4);
    expect(gauge("waiting", text)).toBeGreaterThan(0);
    expect(gauge("waiting", text)).toBeLessThanOrEqual(40);
    const after = await metricsOf(url);
    expect([gauge("running", after), gauge("waiting", after)]).toEqual([0, 0]);
  });

  it("on their own port (METRICS_PORT): /metrics only, behind the token when one is set", async () => {
    const open = await listen(createMetricsServer({ METRICS_PORT: 1 }, logger));
    const res = await fetch(`${open}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const text = await res.text();
    expect(text).toContain("# TYPE ropc_sign_ins_total counter");
    expect(text).toContain("# TYPE nodejs_gc_duration_seconds histogram");
    expect((await fetch(`${open}/healthz`)).status).toBe(404);
    const guarded = await listen(createMetricsServer({ METRICS_PORT: 1, METRICS_TOKEN: TOKEN }, logger));
    expect((await fetch(`${guarded}/metrics`)).status).toBe(401);
    expect((await fetch(`${guarded}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
});

describe("the operations answers' headers", () => {
  const SECURITY = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
  };
  const JSON_CSP = "default-src 'none'; frame-ancestors 'none'";
  const headersOf = (res: Response) =>
    Object.fromEntries(Object.keys({ ...SECURITY, "content-security-policy": "" }).map((name) => [name, res.headers.get(name)]));

  it.each([
    ["GET /healthz", "/healthz", {}],
    ["GET /readyz", "/readyz", {}],
    ["POST /healthz (405)", "/healthz", { method: "POST" }],
    ["GET /metrics without the token (401)", "/metrics", {}],
  ])("are every response's security headers, and JSON's CSP: %s", async (_name, path, init) => {
    const res = await fetch(`${await app({ METRICS_TOKEN: TOKEN })}${path}`, init);
    expect(res.headers.get("content-type")).toBe(JSON_TYPE);
    expect(headersOf(res)).toEqual({ ...SECURITY, "content-security-policy": JSON_CSP });
  });

  it("are every response's security headers on the metrics, in the app's port and their own", async () => {
    const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
    for (const res of [
      await fetch(`${await app({ METRICS_TOKEN: TOKEN })}/metrics`, auth),
      await fetch(`${await listen(createMetricsServer({ METRICS_PORT: 1 }, logger))}/metrics`),
    ]) {
      expect(res.status).toBe(200);
      expect(headersOf(res)).toEqual({ ...SECURITY, "content-security-policy": null });
    }
    const notFound = await fetch(`${await listen(createMetricsServer({ METRICS_PORT: 1 }, logger))}/other`);
    expect(notFound.status).toBe(404);
    expect(headersOf(notFound)).toEqual({ ...SECURITY, "content-security-policy": JSON_CSP });
  });
});

describe("Node's metrics", () => {
  // In a process of its own: this file's other tests serve the metrics, and Node's metrics, once
  // collected, stay (prom-client has no way to stop its collectors).
  function inFreshProcess(steps: string): Record<string, boolean> {
    const script = `
      import pino from "pino";
      import { operationsHandler, createMetricsServer } from ${JSON.stringify(path.resolve("lib/operations/server.ts"))};
      import { metricsText } from ${JSON.stringify(path.resolve("lib/platform/metrics.ts"))};
      const log = pino({ level: "silent" });
      const seen = {};
      // Garbage enough for young-generation collections, then a turn for the GC observer's entries.
      // (Kept in an array for a while, so that the optimising compiler cannot drop them.)
      const collect = async () => {
        let kept = [];
        for (let i = 0; i < 2000000; i++) {
          kept.push({ i });
          if (kept.length === 1000) kept = [];
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      };
      const look = async (name) => {
        await collect();
        const { body } = await metricsText();
        seen[name] = /^nodejs_gc_duration_seconds_count\\{kind="minor"\\} [1-9]/m.test(body) && /^process_cpu_user_seconds_total /m.test(body);
        seen[name + " (any Node series)"] = /^(nodejs|process)_/m.test(body);
      };
      ${steps}
      console.log(JSON.stringify(seen));`;
    // A loaded machine starts a TypeScript loader slowly: the time limit is generous.
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    // A metric registered twice would throw here (prom-client refuses a name it has).
    expect({ stderr: child.stderr.trim(), status: child.status }).toEqual({ stderr: "", status: 0 });
    return JSON.parse(child.stdout) as Record<string, boolean>;
  }

  // Two processes of up to 60 s each.
  it(
    "are collected only once the metrics are served: then the GC histogram counts collections, and a second server adds nothing twice",
    { timeout: 130_000 },
    () => {
      expect(
        inFreshProcess(`
        operationsHandler({}, log);
        await look("not served");
        operationsHandler({ METRICS_TOKEN: "metrics-token-0123456789" }, log);
        await look("served on the app's port");
        createMetricsServer({ METRICS_PORT: 9464 }, log);
        await look("and on a port of their own");`),
      ).toEqual({
        "not served": false,
        "not served (any Node series)": false,
        "served on the app's port": true,
        "served on the app's port (any Node series)": true,
        "and on a port of their own": true,
        "and on a port of their own (any Node series)": true,
      });
      expect(inFreshProcess(`createMetricsServer({ METRICS_PORT: 9464 }, log); await look("served on their own port");`)).toEqual({
        "served on their own port": true,
        "served on their own port (any Node series)": true,
      });
    },
  );
});

describe("the access log", () => {
  function capture() {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    return { lines, log };
  }

  it("writes one line per request with its request id, route, status and path without the query (ACCESS_LOG=info)", async () => {
    const { lines, log } = capture();
    const url = await app({}, { ACCESS_LOG: "info" }, log);
    const res = await token(url, { grant_type: "password", username: "alice", password: "wrong-password" });
    const page = await fetch(`${url}/login?callbackUrl=secret-ish`);
    await fetch(`${url}/healthz`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const access = lines.filter((l) => l.event === "http.access");
    expect(access).toEqual([
      expect.objectContaining({ requestId: res.headers.get("x-request-id"), route: "token", method: "POST", path: "/demo/default/oauth2/token", status: 400 }),
      expect.objectContaining({ requestId: page.headers.get("x-request-id"), route: "app", method: "GET", path: "/login", status: 418 }),
      expect.objectContaining({ method: "GET", path: "/healthz", status: 200 }),
    ]);
    expect(page.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(access[0]?.durationMs).toEqual(expect.any(Number));
    expect(JSON.stringify(access)).not.toContain("secret-ish");
  });

  it("writes a line for a request whose client went away before the answer (aborted)", async () => {
    const { lines, log } = capture();
    const url = new URL(await app({}, { ACCESS_LOG: "info" }, log));
    // A body that never arrives in full: the server waits for it until the client closes.
    const socket = net.connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      "POST /demo/default/oauth2/token?x=secret-ish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=",
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await vi.waitFor(() => expect(lines.some((l) => l.event === "http.access")).toBe(true));
    const access = lines.filter((l) => l.event === "http.access");
    expect(access).toEqual([expect.objectContaining({ method: "POST", path: "/demo/default/oauth2/token", aborted: true })]);
    // Nothing was answered: no status is made up.
    expect(access[0]).not.toHaveProperty("status");
  });

  it("writes none when off (the default)", async () => {
    const { lines, log } = capture();
    const url = await app({}, {}, log);
    await fetch(`${url}/healthz`);
    await token(url, { grant_type: "password", username: "alice", password: "wrong-password" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lines.filter((l) => l.event === "http.access")).toEqual([]);
  });
});
